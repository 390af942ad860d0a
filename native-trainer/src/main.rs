//! adasample-trainer: the seed's training scenarios on libtorch (CUDA when
//! present, else CPU), with sampling through the `adasample` core.
//!
//!   adasample-trainer dqn --env cartpole-v1 --sampler all --seeds 5
//!   adasample-trainer env replay --env cartpole-v1 --state 0,0,0.1,0 --actions 1,1,0
//!
//! Every run writes metrics.csv, summary.json, PNG plots and report.md into
//! --out; Ctrl-C stops early and still writes them.

use adasample_trainer::dqn::{self, DqnConfig, RunResult};
use adasample_trainer::envs::EnvId;
use adasample_trainer::replay::Sampler;
use adasample_trainer::report::{self, Metrics};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Environment tools.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
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
            let samplers: Vec<Sampler> = if sampler == "all" {
                Sampler::ALL.to_vec()
            } else {
                sampler
                    .split(',')
                    .map(|s| {
                        Sampler::from_str(s.trim(), true)
                            .map_err(|_| anyhow::anyhow!("--sampler: `{s}` is not uniform, per, rank or all"))
                    })
                    .collect::<Result<_>>()?
            };
            if seeds == 0 {
                bail!("--seeds must be at least 1");
            }
            let device = device(cli.device)?;
            let mut cfg = DqnConfig::new(env, steps.unwrap_or(if quick { 4_000 } else { 60_000 }));
            if quick {
                cfg.learning_starts = 500;
                cfg.eval_every = 1_000;
                cfg.eval_episodes = 3;
            }
            let dir = out_dir(cli.out, &format!("dqn-{}", env.name()))?;
            let jobs = jobs
                .unwrap_or(if device == Device::Cpu {
                    std::thread::available_parallelism().map_or(1, |n| n.get())
                } else {
                    1
                })
                .max(1);
            run_dqn(&cfg, &samplers, cli.seed, seeds, device, jobs, &dir)
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
    dir: &std::path::Path,
) -> Result<()> {
    // Small networks: one intra-op thread per run, runs in parallel instead.
    tch::set_num_threads(1);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || {
            eprintln!("\ninterrupted: finishing the current step and writing the run folder");
            stop.store(true, Ordering::Relaxed);
        })?;
    }
    let metrics = Metrics::create(dir)?;
    let work: Vec<(Sampler, u64)> = samplers.iter().flat_map(|&s| (0..seeds).map(move |k| (s, seed + k))).collect();
    let total = cfg.steps * work.len() as u64;
    let tty = std::io::stderr().is_terminal();
    let bar = if tty { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} env steps ({per_sec}, eta {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let device_name = format!("{device:?}");
    eprintln!(
        "dqn on {}: {} runs ({} x {} seeds), {} steps each, device {device_name}, {jobs} in parallel -> {}",
        cfg.env.name(),
        work.len(),
        samplers.iter().map(|s| s.name()).collect::<Vec<_>>().join("/"),
        seeds,
        cfg.steps,
        dir.display()
    );
    let queue = Mutex::new(work.into_iter());
    let results = Mutex::new(Vec::<RunResult>::new());
    let errors = Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some((sampler, seed)) = queue.lock().ok().and_then(|mut q| q.next()) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut last = 0;
                let r = dqn::run(
                    cfg,
                    sampler,
                    seed,
                    device,
                    &stop,
                    |step| {
                        if step % 100 == 0 {
                            bar.inc(step - last);
                            last = step;
                        }
                    },
                    |p| {
                        metrics.row(sampler, seed, p);
                        let line = format!("[{} seed {seed}] step {}: eval return {:.1} ± {:.1}, loss {:.4}, eps {:.3}, beta {:.3}",
                            sampler.name(), p.env_step, p.return_mean, p.return_std, p.loss_mean, p.epsilon, p.beta);
                        if tty { bar.set_message(line) } else { eprintln!("{line}") }
                    },
                );
                match r {
                    Ok(r) => results.lock().map(|mut v| v.push(r)).unwrap_or(()),
                    Err(e) => errors.lock().map(|mut v| v.push(format!("{} seed {seed}: {e:#}", sampler.name()))).unwrap_or(()),
                }
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut runs = results.into_inner().unwrap_or_default();
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
    eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    let errors = errors.into_inner().unwrap_or_default();
    if !errors.is_empty() {
        bail!("{} run(s) failed:\n{}", errors.len(), errors.join("\n"));
    }
    Ok(())
}
