//! adasample-trainer: the seed's training scenarios on libtorch (CUDA when
//! present, else CPU), with sampling through the `adasample` core.
//!
//!   adasample-trainer dqn --env cartpole-v1 --sampler all --seeds 5
//!   adasample-trainer env replay --env cartpole-v1 --state 0,0,0.1,0 --actions 1,1,0
//!
//! Every run writes metrics.csv, summary.json, PNG plots and report.md into
//! --out; Ctrl-C stops early and still writes them.

use adasample::iw::{IwDirection, IwMode, IwSftConfig};
use adasample::reward::RewardConfig;
use adasample_trainer::arith::Task;
use adasample_trainer::classifier::{ClsConfig, ClsSampler};
use adasample_trainer::cliffwalk::{CliffConfig, CliffSampler};
use adasample_trainer::datasets;
use adasample_trainer::dqn::{self, DqnConfig};
use adasample_trainer::envs::EnvId;
use adasample_trainer::replay::Sampler;
use adasample_trainer::report;
use adasample_trainer::runner;
use adasample_trainer::scenario::{execute, CliffScenario, ClsScenario, DqnScenario, ModelFiles, SftScenario};
use adasample_trainer::sft::{Method, RwrConfig, SftConfig};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use tch::Device;

#[derive(Parser)]
#[command(
    name = "adasample-trainer",
    version,
    about = "DQN with prioritized replay (and more scenarios) on libtorch, sampling through adasample"
)]
struct Cli {
    /// Where tensors live: auto = CUDA when available.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto, global = true)]
    device: DeviceArg,
    /// Base seed; seed k of a multi-seed run is seed + k.
    #[arg(long, default_value_t = 1, global = true)]
    seed: u64,
    /// Output folder (default: runs/<scenario>-<env>-<unix time>).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Subcommand)]
enum Command {
    /// Double DQN with uniform, stratified, proportional or rank-based replay.
    /// Hyperparameters have CleanRL's `dqn.py` names; each defaults to the
    /// preset's value (see `--preset`), then `--quick`'s.
    Dqn(Box<DqnArgs>),
    /// An MLP classifier on imbalanced data, batches from uniform, adaptive
    /// (EMA of losses), AdaBoost, OHEM, class-balanced or balanced-adaptive sampling.
    Classifier {
        /// Samplers to compare (comma-separated: uniform, adaptive, adaboost, ohem,
        /// class-balanced, balanced-adaptive), or `all`.
        #[arg(long, value_delimiter = ',', default_value = "all", value_parser = one_or_all::<ClsSampler>)]
        sampler: Vec<OneOrAll<ClsSampler>>,
        #[arg(long, value_enum, default_value_t = DatasetArg::WineQuality)]
        dataset: DatasetArg,
        /// long-tail: largest over smallest class size.
        #[arg(long, default_value_t = 100.0)]
        imbalance: f64,
        /// long-tail: number of classes.
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// A CSV file with a header row (overrides --dataset).
        #[arg(long, requires = "label_column")]
        csv: Option<PathBuf>,
        /// The label column of --csv; every other column is a numeric feature.
        #[arg(long, requires = "csv")]
        label_column: Option<String>,
        /// Seeds per sampler (default 5; --quick 2).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: Option<u64>,
        /// Epochs per run (default 60; --quick 6).
        #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        epochs: Option<usize>,
        /// A short run that checks the whole pipeline in seconds.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        jobs: Option<usize>,
        /// Data-parallel over the ranks of `mpirun -np K` (feature `mpi`):
        /// each rank a shard of the training set, the global batch drawn
        /// exactly, gradients all-reduced; rank 0 writes the folder.
        #[arg(long)]
        distributed: bool,
    },
    /// Under `mpirun`: exact global sampling over the ranks, checked
    /// against one buffer (bit for bit), a chi-square test over unequal
    /// shards, and injected faults (feature `mpi`; `make test-mpi`).
    MpiCheck {
        /// Slots (examples) per rank in the equality checks: a power of two.
        #[arg(long, default_value_t = 256, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1 << 24))]
        slots: usize,
        #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1 << 16))]
        batch: usize,
        /// Sample-update steps of the equality checks.
        #[arg(long, default_value_t = 200)]
        steps: usize,
        /// Break something on one rank on purpose.
        #[arg(long, value_enum, default_value = "none")]
        fault: FaultArg,
        /// The rank that breaks.
        #[arg(long, default_value_t = 1)]
        fault_rank: usize,
    },
    /// SFT vs importance-weighted SFT on reward-curated data of a task with a
    /// checkable answer (addition), with a GPT trained here or loaded from disk.
    IwSft {
        /// Methods, comma-separated (sft, iw-sft, rwr), `both` (sft,iw-sft) or `all`.
        #[arg(long, value_delimiter = ',', default_value = "both", value_parser = method_choice)]
        method: Vec<OneOrAll<Method>>,
        /// One weight per sequence (the paper's default) or per token.
        #[arg(long, value_enum, default_value_t = ModeArg::Sequence)]
        mode: ModeArg,
        /// iw-SFT: the log ratio is divided by T (the published code multiplies by its `temp` = 1/T).
        /// rwr: the temperature of the reward weights, unless --rwr-temperature is given.
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        /// rwr only: the reward weights' temperature, exp((R - max R) / T) [default: --temperature].
        #[arg(long, value_parser = parse_positive)]
        rwr_temperature: Option<f64>,
        /// rwr as AWR: weights exp(A / T) from normalised advantages A, clipped at 20.
        #[arg(long)]
        advantage: bool,
        /// Label smoothing of the loss (the seed's `epsilon`; the paper's runs use 0).
        #[arg(long, default_value_t = 0.0)]
        epsilon: f64,
        /// `seed-inverse` weighs by pi_ref / pi_theta as the seed's sketch does: NOT the paper's method.
        #[arg(long, value_enum, default_value_t = DirectionArg::Paper)]
        direction: DirectionArg,
        /// A Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json) to use as the reference.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Digits per operand (default 2; --quick 1).
        #[arg(long)]
        digits: Option<u32>,
        /// Fine-tuning steps (default 600; --quick 60).
        #[arg(long)]
        steps: Option<usize>,
        /// Pre-training steps of the reference (default 3000; --quick 1000).
        #[arg(long)]
        pretrain_steps: Option<usize>,
        /// Transformer layers of the model trained from scratch (default 2; --quick 1).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=48))]
        layers: Option<i64>,
        /// Attention heads (default 4); the width must be a multiple.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=64))]
        heads: Option<i64>,
        /// Embedding width (default 64; --quick 32).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=8192))]
        width: Option<i64>,
        /// Seeds (default 3; --quick 1).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: Option<u64>,
        /// A small run that checks the whole pipeline in seconds.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// The three scenarios: DQN with PER on CartPole, iw-SFT, and the
    /// adaptive classifier on wine quality, in sequence, with one combined
    /// report linking the three run folders.
    All {
        /// Small sizes: seconds on 2 CPU cores.
        #[arg(long)]
        quick: bool,
        /// Seeds of every scenario (default: DQN 3, iw-SFT 3, classifier 5;
        /// --quick 2, 1, 2); intervals are printed from 5 seeds.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: Option<u64>,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// The Blind Cliffwalk of Schaul et al. (2016, Figure 1): updates until
    /// tabular Q-learning has learned, replaying through uniform, proportional
    /// PER, rank PER, or a hindsight oracle; no torch, seconds on a laptop.
    Cliffwalk {
        /// Samplers to compare (comma-separated: uniform, per, rank, oracle), or `all`.
        #[arg(long, value_delimiter = ',', default_value = "all", value_parser = one_or_all::<CliffSampler>)]
        sampler: Vec<OneOrAll<CliffSampler>>,
        /// Shortest chain.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(2..=20))]
        min_n: u64,
        /// Longest chain (the memory holds about 2^(n+1) transitions).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(2..=20))]
        max_n: u64,
        /// Seeds per chain length; each fixes a memory shared by every sampler.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        /// Q-learning step size.
        #[arg(long, default_value_t = 0.25, value_parser = parse_fraction)]
        lr: f64,
        /// Learned when the mean squared error to Q* is below this.
        #[arg(long, default_value_t = 1e-3, value_parser = parse_positive)]
        threshold: f64,
        /// Proportional PER's alpha.
        #[arg(long, default_value_t = 0.6, value_parser = parse_unit)]
        alpha: f64,
        /// A run stops unlearned after this many updates.
        #[arg(long, default_value_t = 20_000_000)]
        max_updates: u64,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Environment tools.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
}

/// What `mpi-check` breaks.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FaultArg {
    None,
    /// A NaN priority fed back on one rank.
    NanPriority,
    /// A rank whose shard holds no examples.
    EmptyShard,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Preset {
    /// Learns CartPole-v1 in tens of thousands of steps: total 60000, lr 5e-4,
    /// buffer 50000, batch 64, train every step, Huber, clip 10, hidden 128,128.
    Default,
    /// CleanRL's dqn.py: total 500000, lr 2.5e-4, buffer 10000, batch 128,
    /// learning starts 10000, train frequency 10, MSE, no clipping, hidden 120,84.
    Cleanrl,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SamplerArg {
    Uniform,
    Stratified,
    Per,
    Rank,
    All,
}

fn parse_unit(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err("a number in [0, 1]".into()),
    }
}

fn parse_positive(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err("a finite number > 0".into()),
    }
}

fn parse_non_negative(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err("a finite number >= 0".into()),
    }
}

fn parse_fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err("a number in (0, 1]".into()),
    }
}

#[derive(clap::Args)]
struct DqnArgs {
    #[arg(long, value_enum, default_value_t = EnvId::CartPole)]
    env: EnvId,
    /// The defaults every hyperparameter flag starts from.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// Samplers to compare, comma-separated: uniform (iid with replacement), stratified, per, rank, or all.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    sampler: Vec<SamplerArg>,
    /// Seeds per sampler (seed, seed + 1, ...).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Runs in parallel (default: the number of CPU cores on CPU, 1 on CUDA); results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// A short run that checks the whole pipeline in seconds (total 4000, learning starts 500).
    #[arg(long)]
    quick: bool,
    /// Environment steps per run [default 60000; cleanrl 500000; --quick 4000].
    #[arg(long, alias = "steps", value_parser = clap::value_parser!(u64).range(1..))]
    total_timesteps: Option<u64>,
    /// Adam's learning rate [default 5e-4; cleanrl 2.5e-4].
    #[arg(long, value_parser = parse_positive, allow_negative_numbers = true)]
    learning_rate: Option<f64>,
    /// Replay capacity in transitions [default 50000; cleanrl 10000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..u64::from(u32::MAX)))]
    buffer_size: Option<u64>,
    /// Discount [0.99].
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    gamma: Option<f64>,
    /// Target update rate, in (0, 1]; 1 copies the online network [1].
    #[arg(long, value_parser = parse_fraction, allow_negative_numbers = true)]
    tau: Option<f64>,
    /// Env steps between target updates [500].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    target_network_frequency: Option<u64>,
    /// Transitions per gradient update [default 64; cleanrl 128].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..1 << 24))]
    batch_size: Option<u64>,
    /// Epsilon at the start [1].
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    start_e: Option<f64>,
    /// Epsilon at the end of exploration [0.05].
    #[arg(long, value_parser = parse_unit, allow_negative_numbers = true)]
    end_e: Option<f64>,
    /// Fraction of the run over which epsilon decays, in (0, 1] [default 0.2; cleanrl 0.5].
    #[arg(long, value_parser = parse_fraction, allow_negative_numbers = true)]
    exploration_fraction: Option<f64>,
    /// Env steps before the first update [default 1000; cleanrl 10000; --quick 500].
    #[arg(long)]
    learning_starts: Option<u64>,
    /// Env steps between gradient updates [default 1; cleanrl 10].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    train_frequency: Option<u64>,
    /// Loss on the TD error [default huber; cleanrl mse].
    #[arg(long, value_enum)]
    loss: Option<dqn::Loss>,
    /// Gradient-norm clip, 0 for none [default 10; cleanrl 0].
    #[arg(long, value_parser = parse_non_negative, allow_negative_numbers = true)]
    max_grad_norm: Option<f64>,
    /// Hidden layer sizes, comma-separated [default 128,128; cleanrl 120,84].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(i64).range(1..1 << 20))]
    hidden: Option<Vec<i64>>,
    /// n-step returns through the core's windows, 1 to 1024 [1].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    n_step: Option<u64>,
    /// Env steps between greedy evaluations, 0 for none [default total/20; cleanrl 25000; --quick 1000].
    #[arg(long)]
    eval_every: Option<u64>,
    /// Episodes per greedy evaluation [default 5; --quick 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    eval_episodes: Option<u64>,
    /// Write each run's online network as safetensors: PATH for one run, PATH with
    /// `-<sampler>-<seed>` before the extension for several.
    #[arg(long)]
    save_model: Option<PathBuf>,
    /// Start every run's online (and target) network from a safetensors file.
    #[arg(long)]
    load_model: Option<PathBuf>,
    /// Ape-X over the ranks of `mpirun -np K` (feature `mpi`): rank 0 the
    /// learner, ranks 1..K actors with replay shards, sampled exactly as one
    /// buffer (--sampler per only; --total-timesteps, --buffer-size and
    /// --learning-starts count over all actors).
    #[arg(long)]
    distributed: bool,
}

impl DqnArgs {
    /// Flag, else preset, else `--quick`'s value.
    fn config(&self) -> DqnConfig {
        let base = match self.preset {
            Preset::Default => DqnConfig::new(self.env, 60_000),
            Preset::Cleanrl => DqnConfig::cleanrl(self.env),
        };
        let base = if self.quick { base.quicken() } else { base };
        let total = self.total_timesteps.unwrap_or(base.total_timesteps);
        DqnConfig {
            total_timesteps: total,
            learning_rate: self.learning_rate.unwrap_or(base.learning_rate),
            buffer_size: self.buffer_size.map_or(base.buffer_size, |b| b as usize),
            gamma: self.gamma.unwrap_or(base.gamma),
            tau: self.tau.unwrap_or(base.tau),
            target_network_frequency: self.target_network_frequency.unwrap_or(base.target_network_frequency),
            batch_size: self.batch_size.map_or(base.batch_size, |b| b as usize),
            start_e: self.start_e.unwrap_or(base.start_e),
            end_e: self.end_e.unwrap_or(base.end_e),
            exploration_fraction: self.exploration_fraction.unwrap_or(base.exploration_fraction),
            learning_starts: self.learning_starts.unwrap_or(base.learning_starts),
            train_frequency: self.train_frequency.unwrap_or(base.train_frequency),
            loss: self.loss.unwrap_or(base.loss),
            max_grad_norm: self.max_grad_norm.map_or(base.max_grad_norm, |m| (m > 0.0).then_some(m)),
            hidden: self.hidden.clone().unwrap_or(base.hidden.clone()),
            n_step: self.n_step.map_or(base.n_step, |n| n as usize),
            // The default preset evaluates 20 times a run, whatever its length.
            eval_every: self.eval_every.unwrap_or(match (self.quick, self.preset) {
                (false, Preset::Default) => (total / 20).max(500),
                _ => base.eval_every,
            }),
            eval_episodes: self.eval_episodes.map_or(base.eval_episodes, |e| e as usize),
            env: self.env,
        }
    }

    fn samplers(&self) -> Vec<Sampler> {
        let mut out = Vec::new();
        for s in &self.sampler {
            let add: &[Sampler] = match s {
                SamplerArg::Uniform => &[Sampler::Uniform],
                SamplerArg::Stratified => &[Sampler::Stratified],
                SamplerArg::Per => &[Sampler::Per],
                SamplerArg::Rank => &[Sampler::Rank],
                SamplerArg::All => &Sampler::ALL,
            };
            for &x in add {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
        out
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DatasetArg {
    /// Red wine quality (1,599 wines, 6 classes of 10..681), shipped in linfa-datasets.
    WineQuality,
    /// Long-tailed Gaussian classes, balanced test set.
    LongTail,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Sequence,
    Token,
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Paper,
    SeedInverse,
}

#[derive(Subcommand)]
enum EnvCommand {
    /// Sets the state, applies the actions, prints one JSON object per step
    /// (stops at termination or truncation): compare with Gymnasium.
    Replay {
        #[arg(long, value_enum)]
        env: EnvId,
        /// The raw state, comma-separated (CartPole: x, x_dot, theta, theta_dot;
        /// Acrobot: theta1, theta2, dtheta1, dtheta2; MountainCar: position, velocity).
        #[arg(long, allow_hyphen_values = true)]
        state: String,
        /// Actions, comma-separated.
        #[arg(long)]
        actions: String,
    },
}

/// The linker's --as-needed drops libtorch_cuda.so, so CUDA would never
/// register; loading it first makes it available (failure: no CUDA here).
fn load_cuda() {
    for lib in [c"libtorch_cuda.so", c"libtorch_cuda_cpp.so"] {
        // SAFETY: dlopen with a valid C string; the handle is kept for the process lifetime.
        unsafe { libc::dlopen(lib.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    }
}

fn device(arg: DeviceArg) -> Result<Device> {
    Ok(match arg {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Auto => Device::cuda_if_available(),
        DeviceArg::Cuda => {
            if !tch::Cuda::is_available() {
                bail!("--device cuda: no CUDA device is available (libtorch_cuda could not be loaded or no GPU)");
            }
            Device::Cuda(0)
        }
    })
}

fn parse_list<T: std::str::FromStr>(what: &str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| x.parse::<T>().map_err(|_| anyhow::anyhow!("--{what}: `{x}` is not a number")))
        .collect()
}

/// One entry of a comma list that clap splits (`value_delimiter`): a value
/// of `T`, every value (`all`), or a named group of them.
#[derive(Clone)]
enum OneOrAll<T: 'static> {
    One(T),
    Group(&'static [T]),
    All,
}

/// `a, b, c or all`: the names of `T`'s values.
fn names_of<T: ValueEnum>() -> String {
    let names: Vec<String> =
        T::value_variants().iter().filter_map(|v| v.to_possible_value()).map(|p| p.get_name().to_string()).collect();
    names.join(", ")
}

fn one_or_all<T: ValueEnum + Clone + Send + Sync + 'static>(s: &str) -> std::result::Result<OneOrAll<T>, String> {
    if s == "all" {
        return Ok(OneOrAll::All);
    }
    T::from_str(s, true).map(OneOrAll::One).map_err(|_| format!("expected {} or all", names_of::<T>()))
}

fn method_choice(s: &str) -> std::result::Result<OneOrAll<Method>, String> {
    if s == "both" {
        return Ok(OneOrAll::Group(&[Method::Sft, Method::IwSft]));
    }
    one_or_all::<Method>(s).map_err(|_| format!("expected {}, both or all", names_of::<Method>()))
}

/// The values of a parsed list, each once, in the order given.
fn expand<T: Copy + PartialEq + 'static>(list: &[OneOrAll<T>], all: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for entry in list {
        let add: &[T] = match entry {
            OneOrAll::One(t) => std::slice::from_ref(t),
            OneOrAll::Group(group) => group,
            OneOrAll::All => all,
        };
        for &x in add {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    out
}

fn out_dir(out: Option<PathBuf>, name: &str) -> Result<PathBuf> {
    let dir = out.unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        PathBuf::from("runs").join(format!("{name}-{t}"))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn main() -> Result<()> {
    load_cuda();
    let cli = Cli::parse();
    match cli.command {
        Command::Env { command: EnvCommand::Replay { env, state, actions } } => {
            let mut e = env.make();
            e.set_state(&parse_list::<f64>("state", &state)?)?;
            for a in parse_list::<usize>("actions", &actions)? {
                let step = e.step(a)?;
                println!("{}", serde_json::to_string(&step)?);
                if step.terminated || step.truncated {
                    break;
                }
            }
            Ok(())
        }
        Command::Cliffwalk { sampler, min_n, max_n, seeds, lr, threshold, alpha, max_updates, jobs } => {
            if min_n > max_n {
                bail!("--min-n {min_n} is above --max-n {max_n}");
            }
            let cfg = CliffConfig {
                ns: (min_n as usize..=max_n as usize).collect(),
                samplers: expand(&sampler, &CliffSampler::ALL),
                seeds,
                base_seed: cli.seed,
                lr,
                threshold,
                max_updates,
                alpha,
            };
            let dir = out_dir(cli.out, "cliffwalk")?;
            let jobs = jobs.unwrap_or(runner::cpus()).max(1);
            execute(&CliffScenario { cfg: &cfg, start: std::time::Instant::now() }, jobs, &dir).map(drop)
        }
        Command::Dqn(args) => {
            let samplers = args.samplers();
            let device = device(cli.device)?;
            let cfg = args.config();
            let name = format!("dqn-{}", args.env.name());
            if args.distributed {
                #[cfg(feature = "mpi")]
                return over_ranks(
                    cli.out,
                    &name,
                    |dir| {
                        let models = ModelFiles::default();
                        let (seed, seeds) = (cli.seed, args.seeds);
                        let scenario = DqnScenario {
                            cfg: &cfg,
                            samplers: &samplers,
                            seed,
                            seeds,
                            device,
                            models: &models,
                            distributed: true,
                        };
                        execute(&scenario, 1, dir).map(drop)
                    },
                    |group| {
                        let stop = runner::stop_flag();
                        for (sampler, seed) in runner::grid(&samplers, cli.seed, args.seeds).0 {
                            adasample_trainer::apex::run(group, &cfg, sampler, seed, device, stop, |_| (), |_| ())?;
                        }
                        Ok(())
                    },
                );
                #[cfg(not(feature = "mpi"))]
                bail!("dqn --distributed: {NO_MPI}");
            }
            let dir = out_dir(cli.out, &name)?;
            let jobs = args.jobs.map_or(runner::default_jobs(device), |j| j as usize).max(1);
            let models = ModelFiles { load: args.load_model.clone(), save: args.save_model.clone() };
            let scenario = DqnScenario {
                cfg: &cfg,
                samplers: &samplers,
                seed: cli.seed,
                seeds: args.seeds,
                device,
                models: &models,
                distributed: false,
            };
            execute(&scenario, jobs, &dir).map(drop)
        }
        Command::IwSft {
            method,
            mode,
            temperature,
            rwr_temperature,
            advantage,
            epsilon,
            direction,
            model,
            digits,
            steps,
            pretrain_steps,
            layers,
            heads,
            width,
            seeds,
            quick,
            jobs,
        } => {
            let iw = IwSftConfig {
                temperature,
                epsilon,
                mode: match mode {
                    ModeArg::Sequence => IwMode::Sequence,
                    ModeArg::Token => IwMode::Token,
                },
                direction: match direction {
                    DirectionArg::Paper => IwDirection::Paper,
                    DirectionArg::SeedInverse => IwDirection::SeedInverse,
                },
                ..IwSftConfig::default()
            };
            iw.validate().map_err(|e| anyhow::anyhow!("--temperature/--epsilon: {e}"))?;
            let methods = expand(&method, &Method::ALL);
            let mut cfg = if quick { SftConfig::quick(iw, methods) } else { SftConfig::standard(iw, methods) };
            cfg.rwr = RwrConfig { temperature: rwr_temperature.unwrap_or(temperature), advantage };
            RewardConfig { temperature: cfg.rwr.temperature, ..RewardConfig::new(1) }
                .validate()
                .map_err(|e| anyhow::anyhow!("--temperature/--rwr-temperature: {e}"))?;
            if let Some(d) = digits {
                cfg.task = Task::new(d)?;
            }
            cfg.finetune_steps = steps.unwrap_or(cfg.finetune_steps);
            cfg.pretrain_steps = pretrain_steps.unwrap_or(cfg.pretrain_steps);
            cfg.gpt.n_layer = layers.unwrap_or(cfg.gpt.n_layer);
            cfg.gpt.n_head = heads.unwrap_or(cfg.gpt.n_head);
            cfg.gpt.n_embd = width.unwrap_or(cfg.gpt.n_embd);
            if cfg.gpt.n_embd % cfg.gpt.n_head != 0 {
                bail!("--width {} is not a multiple of --heads {}", cfg.gpt.n_embd, cfg.gpt.n_head);
            }
            if model.is_some() && (layers.is_some() || heads.is_some() || width.is_some()) {
                bail!("--layers/--heads/--width size a model trained here; --model brings its own config.json");
            }
            cfg.eval_every = cfg.eval_every.min(cfg.finetune_steps.max(1));
            if let Some(dir) = &model {
                for f in ["config.json", "model.safetensors", "tokenizer.json"] {
                    if !dir.join(f).is_file() {
                        bail!("--model {}: no {f} there (a Hugging Face GPT-2 folder has config.json, model.safetensors, tokenizer.json)", dir.display());
                    }
                }
            }
            cfg.model_dir = model;
            let seeds = seeds.unwrap_or(if quick { 1 } else { 3 });
            let device = device(cli.device)?;
            let dir = out_dir(cli.out, "iw-sft")?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            let scenario = SftScenario { cfg: &cfg, seed: cli.seed, seeds, device, save_dir: dir.clone() };
            execute(&scenario, jobs, &dir).map(drop)
        }
        Command::All { quick, seeds, jobs } => {
            let device = device(cli.device)?;
            let dir = out_dir(cli.out, "all")?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            run_all(quick, seeds, cli.seed, device, jobs, &dir)
        }
        Command::MpiCheck { slots, batch, steps, fault, fault_rank } => {
            mpi_check(slots, batch, steps, fault, fault_rank, cli.seed)
        }
        Command::Classifier {
            sampler,
            dataset,
            imbalance,
            classes,
            csv,
            label_column,
            seeds,
            epochs,
            quick,
            jobs,
            distributed,
        } => {
            let samplers = expand(&sampler, &ClsSampler::ALL);
            let seeds = seeds.unwrap_or(if quick { 2 } else { 5 });
            let split = match (csv, label_column) {
                (Some(path), Some(label)) => datasets::csv_file(&path, &label)?,
                _ => match dataset {
                    DatasetArg::WineQuality => datasets::wine_quality(),
                    DatasetArg::LongTail => datasets::long_tail(classes, imbalance, 500, 100)?,
                },
            };
            let cfg = ClsConfig { epochs: epochs.unwrap_or(if quick { 6 } else { 60 }), ..ClsConfig::default() };
            let device = device(cli.device)?;
            let name = format!("classifier-{}", split.name);
            if distributed {
                #[cfg(feature = "mpi")]
                return over_ranks(
                    cli.out,
                    &name,
                    |dir| {
                        let scenario = ClsScenario::new(&cfg, &split, &samplers, cli.seed, seeds, device, dir)?;
                        execute(&scenario.distributed(), 1, dir).map(drop)
                    },
                    |group| {
                        let stop = runner::stop_flag();
                        for (sampler, seed) in runner::grid(&samplers, cli.seed, seeds).0 {
                            let job =
                                adasample_trainer::classifier::Job { cfg: &cfg, split: &split, sampler, seed, device };
                            adasample_trainer::distributed::classifier(group, job, stop, |_| ())?;
                        }
                        Ok(())
                    },
                );
                #[cfg(not(feature = "mpi"))]
                bail!("--distributed: {NO_MPI}");
            }
            let dir = out_dir(cli.out, &name)?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            let scenario = ClsScenario::new(&cfg, &split, &samplers, cli.seed, seeds, device, &dir)?;
            execute(&scenario, jobs, &dir).map(drop)
        }
    }
}

#[cfg(not(feature = "mpi"))]
const NO_MPI: &str = "this binary was built without MPI: build it with `cargo build --release -p adasample-trainer --features mpi` (Open MPI and libclang installed; `make test-mpi` does both) and run it under `mpirun -np K`";

/// MPI for the length of a distributed command (finalised on drop);
/// serialized threading, since the runs' calls come from a worker thread.
#[cfg(feature = "mpi")]
fn init_mpi() -> Result<mpi::environment::Universe> {
    let (universe, _) =
        mpi::initialize_with_threading(mpi::Threading::Serialized).context("MPI is already initialised")?;
    Ok(universe)
}

/// `--distributed`: under MPI (finalised on return), rank 0 runs `root`
/// into the run folder, the other ranks `follow` (the same runs, no files).
#[cfg(feature = "mpi")]
fn over_ranks(
    out: Option<PathBuf>,
    name: &str,
    root: impl FnOnce(&Path) -> Result<()>,
    follow: impl FnOnce(&adasample_trainer::distributed::Group) -> Result<()>,
) -> Result<()> {
    let _universe = init_mpi()?;
    let group = adasample_trainer::distributed::Group::world();
    tch::set_num_threads(1);
    if group.is_root() {
        root(&out_dir(out, name)?)
    } else {
        follow(&group)
    }
}

#[cfg(feature = "mpi")]
fn mpi_check(slots: usize, batch: usize, steps: usize, fault: FaultArg, fault_rank: usize, seed: u64) -> Result<()> {
    use adasample_trainer::shardcheck::{self, CheckConfig, Fault};
    let _universe = init_mpi()?;
    let group = adasample_trainer::distributed::Group::world();
    let fault = match fault {
        FaultArg::None => Fault::None,
        FaultArg::NanPriority => Fault::NanPriority,
        FaultArg::EmptyShard => Fault::EmptyShard,
    };
    shardcheck::run(&group, &CheckConfig { slots, batch, steps, seed, fault, fault_rank })
}

#[cfg(not(feature = "mpi"))]
fn mpi_check(_: usize, _: usize, _: usize, _: FaultArg, _: usize, _: u64) -> Result<()> {
    bail!("mpi-check: {NO_MPI}")
}

/// The three scenarios in sequence; after Ctrl-C the remaining ones are skipped
/// and the combined report says so.
fn run_all(quick: bool, seeds: Option<u64>, seed: u64, device: Device, jobs: usize, dir: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    let (dqn_seeds, sft_seeds, cls_seeds) = match seeds {
        Some(k) => (k, k, k),
        None if quick => (2, 1, 2),
        None => (3, 3, 5),
    };
    let mut sections = Vec::new();

    let dqn_cfg = DqnConfig::new(EnvId::CartPole, 60_000);
    let dqn_cfg = if quick { dqn_cfg.quicken() } else { dqn_cfg };
    let dqn_dir = out_dir(Some(dir.join("dqn")), "")?;
    let models = ModelFiles::default();
    let scenario = DqnScenario {
        cfg: &dqn_cfg,
        samplers: &Sampler::ALL,
        seed,
        seeds: dqn_seeds,
        device,
        models: &models,
        distributed: false,
    };
    let runs = execute(&scenario, jobs, &dqn_dir)?;
    let summary = report::summarize(&runs, dqn_cfg.threshold());
    let md = report::md_table(
        &["sampler", "final eval return", "reached 475"],
        summary.iter().map(|s| {
            vec![
                s.sampler.name().into(),
                report::fmt_ci(s.final_return_mean, s.final_return_ci95, 1),
                format!("{}/{}", s.reached, s.seeds),
            ]
        }),
    );
    let rows: Vec<(&str, f64, f64)> =
        summary.iter().map(|s| (s.sampler.name(), s.final_return_mean, s.final_return_ci95)).collect();
    sections.push(report::Section {
        title: "Double DQN with prioritized replay (CartPole-v1)",
        folder: "dqn",
        table: format!("{md}\n{}\n", report::verdict(dqn_seeds as usize, "final return", &rows)),
    });

    if !runner::stopped() {
        let cfg =
            if quick { SftConfig::quick } else { SftConfig::standard }(IwSftConfig::default(), Method::ALL.to_vec());
        let sft_dir = out_dir(Some(dir.join("iw-sft")), "")?;
        let scenario = SftScenario { cfg: &cfg, seed, seeds: sft_seeds, device, save_dir: sft_dir.clone() };
        let summary = execute(&scenario, jobs, &sft_dir)?;
        let table = report::ci_table(
            ["method", "greedy accuracy", "sampled accuracy"],
            summary.iter().map(|s| (s.method.name(), s.greedy, s.sampled)),
        );
        let rows: Vec<(&str, f64, f64)> = summary.iter().map(|s| (s.method.name(), s.sampled.0, s.sampled.1)).collect();
        let table = format!("{table}\n{}\n", report::verdict(sft_seeds as usize, "sampled accuracy", &rows));
        sections.push(report::Section {
            title: "SFT, iw-SFT and reward-weighted SFT (addition)",
            folder: "iw-sft",
            table,
        });
    }

    if !runner::stopped() {
        let cfg = ClsConfig { epochs: if quick { 6 } else { 60 }, ..ClsConfig::default() };
        let split = datasets::wine_quality();
        let cls_dir = out_dir(Some(dir.join("classifier")), "")?;
        let scenario = ClsScenario::new(&cfg, &split, &ClsSampler::ALL, seed, cls_seeds, device, &cls_dir)?;
        let summary = execute(&scenario, jobs, &cls_dir)?;
        let table = report::ci_table(
            ["sampler", "balanced accuracy", "macro-F1"],
            summary.iter().map(|s| (s.sampler.name(), s.balanced_accuracy, s.macro_f1)),
        );
        let rows: Vec<(&str, f64, f64)> =
            summary.iter().map(|s| (s.sampler.name(), s.balanced_accuracy.0, s.balanced_accuracy.1)).collect();
        let table = format!("{table}\n{}\n", report::verdict(cls_seeds as usize, "balanced accuracy", &rows));
        sections.push(report::Section { title: "Adaptive batch sampling (wine quality)", folder: "classifier", table });
    }
    let files = report::write_all(dir, quick, &format!("{device:?}"), start.elapsed().as_secs_f64(), &sections)?;
    eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    Ok(())
}
