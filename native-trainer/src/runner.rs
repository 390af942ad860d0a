//! Running many independent runs (scenario x sampler x seed): a work queue over
//! a few threads, one progress bar on a terminal (plain log lines otherwise),
//! and one process-wide Ctrl-C flag that ends every run early, keeping what it
//! did, so each scenario still writes its whole folder.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<()> = OnceLock::new();

/// The Ctrl-C flag; the first call installs the handler (a process may only
/// have one, and `all` runs several scenarios).
pub fn stop_flag() -> &'static AtomicBool {
    HANDLER.get_or_init(|| {
        let installed = ctrlc::set_handler(|| {
            eprintln!("\ninterrupted: finishing the current step and writing the run folder");
            STOP.store(true, Ordering::Relaxed);
        });
        if let Err(e) = installed {
            eprintln!("warning: Ctrl-C will not stop cleanly ({e})");
        }
    });
    &STOP
}

/// Whether Ctrl-C was pressed.
pub fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// A progress bar on a terminal, log lines on stderr otherwise.
pub struct Progress {
    bar: ProgressBar,
    tty: bool,
}

impl Progress {
    pub fn new(total: u64, unit: &str) -> Result<Self> {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty { ProgressBar::new(total) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, eta {{eta}}) {{msg}}"
            ))?
            .progress_chars("=> "),
        );
        Ok(Progress { bar, tty })
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// A status line: the bar's message on a terminal, a log line otherwise.
    pub fn log(&self, line: String) {
        if self.tty {
            self.bar.set_message(line)
        } else {
            eprintln!("{line}")
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Runs `f` on every work item with `jobs` threads; returns the results in
/// completion order and the errors, each labelled by `label`. Items not yet
/// started when Ctrl-C is pressed are skipped.
pub fn parallel<W: Send, R: Send>(
    work: Vec<W>,
    jobs: usize,
    label: impl Fn(&W) -> String + Sync,
    f: impl Fn(&W) -> Result<R> + Sync,
) -> (Vec<R>, Vec<String>) {
    let queue = Mutex::new(work.into_iter());
    let results = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                while let Some(w) = queue.lock().ok().and_then(|mut q| q.next()) {
                    if stopped() {
                        break;
                    }
                    match f(&w) {
                        Ok(r) => results.lock().map(|mut v| v.push(r)).unwrap_or(()),
                        Err(e) => errors.lock().map(|mut v| v.push(format!("{}: {e:#}", label(&w)))).unwrap_or(()),
                    }
                }
            });
        }
    });
    (results.into_inner().unwrap_or_default(), errors.into_inner().unwrap_or_default())
}

/// A sampler (or method) with a short name, for labels and logs.
pub trait Named: Copy {
    fn name(self) -> &'static str;
}

/// Every (sampler, seed) pair, seeds `seed..seed + seeds`, and a description
/// such as `uniform/per x 5 seeds`.
pub fn grid<S: Named>(samplers: &[S], seed: u64, seeds: u64) -> (Vec<(S, u64)>, String) {
    let work = samplers.iter().flat_map(|&s| (0..seeds).map(move |k| (s, seed + k))).collect();
    let names: Vec<&str> = samplers.iter().map(|s| s.name()).collect();
    (work, format!("{} x {seeds} seeds", names.join("/")))
}

/// `name seed k`, the label of a failed run.
pub fn label<S: Named>(&(s, seed): &(S, u64)) -> String {
    format!("{} seed {seed}", s.name())
}

/// The CPU cores this process may use (1 when unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs in parallel: the CPU count on CPU (small networks, one intra-op thread
/// each), one on CUDA.
pub fn default_jobs(device: tch::Device) -> usize {
    if device == tch::Device::Cpu {
        cpus()
    } else {
        1
    }
}
