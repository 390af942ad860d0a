//! adasample-trainer: the seed's training scenarios on libtorch (CUDA when
//! present, else CPU), with sampling through the `adasample` core.
//!
//!   adasample-trainer dqn --env cartpole-v1 --sampler all --seeds 5
//!   adasample-trainer env replay --env cartpole-v1 --state 0,0,0.1,0 --actions 1,1,0
//!
//! Every run writes metrics.csv, summary.json, PNG plots and report.md into
//! --out; Ctrl-C stops early and still writes them.

use adasample::iw::{IwDirection, IwMode, IwSftConfig};
use adasample_trainer::arith::Task;
use adasample_trainer::classifier::{self, ClsConfig, ClsSampler};
use adasample_trainer::datasets::{self, Split};
use adasample_trainer::dqn::{self, DqnConfig};
use adasample_trainer::envs::EnvId;
use adasample_trainer::replay::Sampler;
use adasample_trainer::report::{self, Metrics};
use adasample_trainer::runner::{self, Progress};
use adasample_trainer::sft::{self, Hooks, Method, SftConfig};
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
    /// Double DQN with uniform, proportional or rank-based replay.
    Dqn {
        #[arg(long, value_enum, default_value_t = EnvId::CartPole)]
        env: EnvId,
        /// Samplers to compare (comma-separated), or `all`.
        #[arg(long, default_value = "all")]
        sampler: String,
        /// Seeds per sampler.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Training environment steps per run (default 60000; --quick 4000).
        #[arg(long)]
        steps: Option<u64>,
        /// A short run that checks the whole pipeline in seconds.
        #[arg(long)]
        quick: bool,
        /// Runs in parallel (default: the number of CPU cores on CPU, 1 on CUDA).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// An MLP classifier on imbalanced data, batches from uniform, adaptive
    /// (EMA of losses), AdaBoost or OHEM sampling.
    Classifier {
        /// Samplers to compare (comma-separated), or `all`.
        #[arg(long, default_value = "all")]
        sampler: String,
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
        #[arg(long)]
        seeds: Option<u64>,
        /// Epochs per run (default 60; --quick 6).
        #[arg(long)]
        epochs: Option<usize>,
        /// A short run that checks the whole pipeline in seconds.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// SFT vs importance-weighted SFT on reward-curated data of a task with a
    /// checkable answer (addition), with a GPT trained here or loaded from disk.
    IwSft {
        #[arg(long, value_enum, default_value_t = MethodArg::Both)]
        method: MethodArg,
        /// One weight per sequence (the paper's default) or per token.
        #[arg(long, value_enum, default_value_t = ModeArg::Sequence)]
        mode: ModeArg,
        /// The log ratio is divided by T (the published code multiplies by its `temp` = 1/T).
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
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
        /// Seeds (default 3; --quick 1).
        #[arg(long)]
        seeds: Option<u64>,
        /// A small run that checks the whole pipeline in seconds.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// The seed's `training_example.py`: DQN with PER on CartPole, iw-SFT, and
    /// the adaptive classifier on wine quality, in sequence, with one combined
    /// report linking the three run folders.
    All {
        /// Small sizes: a few minutes on 2 CPU cores.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Environment tools.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DatasetArg {
    /// Red wine quality (1,599 wines, 6 classes of 10..681), shipped in linfa-datasets.
    WineQuality,
    /// Long-tailed Gaussian classes, balanced test set.
    LongTail,
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    Sft,
    IwSft,
    Both,
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

fn dqn_config(env: EnvId, steps: Option<u64>, quick: bool) -> DqnConfig {
    let mut cfg = DqnConfig::new(env, steps.unwrap_or(if quick { 4_000 } else { 60_000 }));
    if quick {
        cfg.learning_starts = 500;
        cfg.eval_every = 1_000;
        cfg.eval_episodes = 3;
    }
    cfg
}

/// A comma-separated list of samplers, or `all`.
fn parse_samplers<T: ValueEnum + Copy>(list: &str, all: &[T], expected: &str) -> Result<Vec<T>> {
    if list == "all" {
        return Ok(all.to_vec());
    }
    list.split(',')
        .map(|s| T::from_str(s.trim(), true).map_err(|_| anyhow::anyhow!("--sampler: `{s}` is not {expected}")))
        .collect()
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
        Command::Dqn { env, sampler, seeds, steps, quick, jobs } => {
            let samplers = parse_samplers(&sampler, &Sampler::ALL, "uniform, per, rank or all")?;
            if seeds == 0 {
                bail!("--seeds must be at least 1");
            }
            let device = device(cli.device)?;
            let cfg = dqn_config(env, steps, quick);
            let dir = out_dir(cli.out, &format!("dqn-{}", env.name()))?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            run_dqn(&cfg, &samplers, cli.seed, seeds, device, jobs, &dir).map(drop)
        }
        Command::IwSft {
            method,
            mode,
            temperature,
            epsilon,
            direction,
            model,
            digits,
            steps,
            pretrain_steps,
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
            let methods = match method {
                MethodArg::Sft => vec![Method::Sft],
                MethodArg::IwSft => vec![Method::IwSft],
                MethodArg::Both => vec![Method::Sft, Method::IwSft],
            };
            let mut cfg = if quick { SftConfig::quick(iw, methods) } else { SftConfig::standard(iw, methods) };
            if let Some(d) = digits {
                cfg.task = Task::new(d)?;
            }
            cfg.finetune_steps = steps.unwrap_or(cfg.finetune_steps);
            cfg.pretrain_steps = pretrain_steps.unwrap_or(cfg.pretrain_steps);
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
            if seeds == 0 {
                bail!("--seeds must be at least 1");
            }
            let device = device(cli.device)?;
            let dir = out_dir(cli.out, "iw-sft")?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            run_sft(&cfg, cli.seed, seeds, device, jobs, &dir).map(drop)
        }
        Command::All { quick, jobs } => {
            let device = device(cli.device)?;
            let dir = out_dir(cli.out, "all")?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            run_all(quick, cli.seed, device, jobs, &dir)
        }
        Command::Classifier { sampler, dataset, imbalance, classes, csv, label_column, seeds, epochs, quick, jobs } => {
            let samplers = parse_samplers(&sampler, &ClsSampler::ALL, "uniform, adaptive, adaboost, ohem or all")?;
            let seeds = seeds.unwrap_or(if quick { 2 } else { 5 });
            if seeds == 0 {
                bail!("--seeds must be at least 1");
            }
            let split = match (csv, label_column) {
                (Some(path), Some(label)) => datasets::csv_file(&path, &label)?,
                _ => match dataset {
                    DatasetArg::WineQuality => datasets::wine_quality(),
                    DatasetArg::LongTail => datasets::long_tail(classes, imbalance, 500, 100)?,
                },
            };
            let cfg = ClsConfig { epochs: epochs.unwrap_or(if quick { 6 } else { 60 }), ..ClsConfig::default() };
            if cfg.epochs == 0 {
                bail!("--epochs must be at least 1");
            }
            let device = device(cli.device)?;
            let dir = out_dir(cli.out, &format!("classifier-{}", split.name))?;
            let jobs = jobs.unwrap_or(runner::default_jobs(device)).max(1);
            run_classifier(&cfg, &split, &samplers, cli.seed, seeds, device, jobs, &dir).map(drop)
        }
    }
}

fn run_dqn(
    cfg: &DqnConfig,
    samplers: &[Sampler],
    seed: u64,
    seeds: u64,
    device: Device,
    jobs: usize,
    dir: &Path,
) -> Result<Vec<dqn::RunResult>> {
    // Small networks: one intra-op thread per run, runs in parallel instead.
    tch::set_num_threads(1);
    let stop = runner::stop_flag();
    let metrics = Metrics::create(dir, report::DQN_HEADER)?;
    let (work, what) = runner::grid(samplers, seed, seeds);
    let progress = Progress::new(cfg.steps * work.len() as u64, "env steps")?;
    let device_name = format!("{device:?}");
    eprintln!(
        "dqn on {}: {} runs ({what}), {} steps each, device {device_name}, {jobs} in parallel -> {}",
        cfg.env.name(),
        work.len(),
        cfg.steps,
        dir.display()
    );
    let (mut runs, errors) = runner::parallel(work, jobs, runner::label, |&(sampler, seed)| {
        let mut last = 0;
        dqn::run(
            cfg,
            sampler,
            seed,
            device,
            stop,
            |step| {
                if step % 100 == 0 {
                    progress.inc(step - last);
                    last = step;
                }
            },
            |p| {
                metrics.row(&report::dqn_row(sampler, seed, p));
                progress.log(format!(
                    "[{} seed {seed}] step {}: eval return {:.1} ± {:.1}, loss {:.4}, eps {:.3}, beta {:.3}",
                    sampler.name(),
                    p.env_step,
                    p.return_mean,
                    p.return_std,
                    p.loss_mean,
                    p.epsilon,
                    p.beta
                ));
            },
        )
    });
    progress.finish();
    runs.sort_by_key(|r| (r.sampler.name(), r.seed));
    let files = report::write_dqn(dir, cfg, &device_name, &runs)?;
    for s in report::summarize(&runs, cfg.threshold()) {
        eprintln!(
            "{:8} final return {:.1} (95% CI ± {:.1}), reached {} in {}/{} seeds, mean steps to reach {:.0}",
            s.sampler.name(),
            s.final_return_mean,
            s.final_return_ci95,
            cfg.threshold(),
            s.reached,
            s.seeds,
            s.steps_to_threshold_mean
        );
    }
    wrote(&files);
    fail_on(errors)?;
    Ok(runs)
}

fn wrote(files: &[PathBuf]) {
    eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
}

fn fail_on(errors: Vec<String>) -> Result<()> {
    if !errors.is_empty() {
        bail!("{} run(s) failed:\n{}", errors.len(), errors.join("\n"));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_classifier(
    cfg: &ClsConfig,
    split: &Split,
    samplers: &[ClsSampler],
    seed: u64,
    seeds: u64,
    device: Device,
    jobs: usize,
    dir: &Path,
) -> Result<Vec<report::ClsSummary>> {
    tch::set_num_threads(1);
    let stop = runner::stop_flag();
    let metrics = Metrics::create(dir, &report::cls_header(split))?;
    let (work, what) = runner::grid(samplers, seed, seeds);
    let progress = Progress::new((cfg.epochs * work.len()) as u64, "epochs")?;
    let device_name = format!("{device:?}");
    let k = split.classes();
    eprintln!(
        "classifier on {} (train {:?}, test {:?}): {} runs ({what}), {} epochs each, device {device_name}, {jobs} in parallel -> {}",
        split.name,
        split.train.counts(k),
        split.test.counts(k),
        work.len(),
        cfg.epochs,
        dir.display()
    );
    let (mut runs, errors) = runner::parallel(work, jobs, runner::label, |&(sampler, seed)| {
        classifier::run(cfg, split, sampler, seed, device, stop, |p| {
            metrics.row(&report::cls_row(sampler, seed, p));
            progress.inc(1);
            if p.epoch % 10 == 0 || p.epoch == cfg.epochs {
                progress.log(format!(
                    "[{} seed {seed}] epoch {}: loss {:.4}, accuracy {:.3}, balanced {:.3}, macro-F1 {:.3}",
                    sampler.name(),
                    p.epoch,
                    p.train_loss,
                    p.accuracy,
                    p.balanced_accuracy,
                    p.macro_f1
                ));
            }
        })
    });
    progress.finish();
    runs.sort_by_key(|r| (r.sampler.name(), r.seed));
    let (files, summary) = report::write_classifier(dir, cfg, split, &device_name, &runs)?;
    for s in &summary {
        eprintln!(
            "{:9} balanced accuracy {:.3} (95% CI ± {:.3}), accuracy {:.3}, macro-F1 {:.3} over {} seeds",
            s.sampler.name(),
            s.balanced_accuracy.0,
            s.balanced_accuracy.1,
            s.accuracy.0,
            s.macro_f1.0,
            s.seeds
        );
    }
    wrote(&files);
    fail_on(errors)?;
    Ok(summary)
}

fn run_sft(
    cfg: &SftConfig,
    seed: u64,
    seeds: u64,
    device: Device,
    jobs: usize,
    dir: &Path,
) -> Result<Vec<report::SftSummary>> {
    tch::set_num_threads(if device == Device::Cpu {
        (runner::cpus() / jobs.min(seeds as usize)).max(1) as i32
    } else {
        1
    });
    let stop = runner::stop_flag();
    let metrics = Metrics::create(dir, report::SFT_HEADER)?;
    let per_seed =
        if cfg.model_dir.is_some() { 0 } else { cfg.pretrain_steps } + cfg.methods.len() * cfg.finetune_steps;
    let progress = Progress::new(per_seed as u64 * seeds, "steps")?;
    let device_name = format!("{device:?}");
    eprintln!(
        "iw-sft: {} seed(s), {}-digit addition, {} pre-training + {} fine-tuning steps ({}), device {device_name} -> {}",
        seeds,
        cfg.task.digits,
        if cfg.model_dir.is_some() { 0 } else { cfg.pretrain_steps },
        cfg.finetune_steps,
        cfg.methods.iter().map(|m| m.name()).collect::<Vec<_>>().join(" and "),
        dir.display()
    );
    let tick = |n: u64| progress.inc(n);
    let log = |line: String| progress.log(line);
    let point = |seed: u64, m: Method, p: &sft::Point| {
        metrics.row(&report::sft_row(seed, m, p));
        progress.log(format!(
            "[seed {seed} {}] step {}: greedy {:.3}, sampled {:.3}, loss {:.4}, mean weight {:.3}",
            m.name(),
            p.step,
            p.greedy,
            p.sampled,
            p.loss,
            p.mean_weight
        ));
    };
    let hooks = Hooks { stop, tick: &tick, point: &point, log: &log };
    let (mut runs, errors) = runner::parallel(
        (seed..seed + seeds).collect(),
        jobs,
        |s| format!("seed {s}"),
        |&s| {
            let save = (s == seed && cfg.model_dir.is_none()).then(|| dir.join(format!("reference-seed{s}")));
            sft::run_seed(cfg, s, device, save.as_deref(), &hooks)
        },
    );
    progress.finish();
    runs.sort_by_key(|r| r.seed);
    let (files, summary) = report::write_sft(dir, cfg, &device_name, &runs)?;
    for s in &summary {
        eprintln!(
            "{:7} held-out greedy accuracy {:.3} (95% CI ± {:.3}), sampled {:.3} (± {:.3}), {:.1} ms/step over {} seed(s)",
            s.method.name(),
            s.greedy.0,
            s.greedy.1,
            s.sampled.0,
            s.sampled.1,
            s.ms_per_step,
            s.seeds
        );
    }
    wrote(&files);
    fail_on(errors)?;
    Ok(summary)
}

/// The three scenarios in sequence; after Ctrl-C the remaining ones are skipped
/// and the combined report says so.
fn run_all(quick: bool, seed: u64, device: Device, jobs: usize, dir: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    let (dqn_seeds, sft_seeds, cls_seeds) = if quick { (2, 1, 2) } else { (3, 3, 5) };
    let mut sections = Vec::new();

    let dqn_cfg = dqn_config(EnvId::CartPole, None, quick);
    let dqn_dir = out_dir(Some(dir.join("dqn")), "")?;
    let runs = run_dqn(&dqn_cfg, &Sampler::ALL, seed, dqn_seeds, device, jobs, &dqn_dir)?;
    let md = report::md_table(
        &["sampler", "final eval return", "reached 475"],
        report::summarize(&runs, dqn_cfg.threshold()).iter().map(|s| {
            vec![
                s.sampler.name().into(),
                report::fmt_ci(s.final_return_mean, s.final_return_ci95, 1),
                format!("{}/{}", s.reached, s.seeds),
            ]
        }),
    );
    sections.push(report::Section {
        title: "Double DQN with prioritized replay (CartPole-v1)",
        folder: "dqn",
        table: md,
    });

    if !runner::stopped() {
        let cfg = if quick { SftConfig::quick } else { SftConfig::standard }(
            IwSftConfig::default(),
            vec![Method::Sft, Method::IwSft],
        );
        let sft_dir = out_dir(Some(dir.join("iw-sft")), "")?;
        let summary = run_sft(&cfg, seed, sft_seeds, device, jobs, &sft_dir)?;
        let table = report::ci_table(
            ["method", "greedy accuracy", "sampled accuracy"],
            summary.iter().map(|s| (s.method.name(), s.greedy, s.sampled)),
        );
        sections.push(report::Section { title: "SFT vs iw-SFT on curated data (addition)", folder: "iw-sft", table });
    }

    if !runner::stopped() {
        let cfg = ClsConfig { epochs: if quick { 6 } else { 60 }, ..ClsConfig::default() };
        let split = datasets::wine_quality();
        let cls_dir = out_dir(Some(dir.join("classifier")), "")?;
        let summary = run_classifier(&cfg, &split, &ClsSampler::ALL, seed, cls_seeds, device, jobs, &cls_dir)?;
        let table = report::ci_table(
            ["sampler", "balanced accuracy", "macro-F1"],
            summary.iter().map(|s| (s.sampler.name(), s.balanced_accuracy, s.macro_f1)),
        );
        sections.push(report::Section { title: "Adaptive batch sampling (wine quality)", folder: "classifier", table });
    }
    let files = report::write_all(dir, quick, &format!("{device:?}"), start.elapsed().as_secs_f64(), &sections)?;
    wrote(&files);
    Ok(())
}
