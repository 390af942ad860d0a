//! One way to run every scenario: its work items (a sampler and a seed, a
//! seed, a memory) in parallel on `jobs` threads, a progress bar, one
//! `metrics.csv` row type written as it comes, then the scenario's own
//! report. A scenario says what its work is, how one item runs (a call into
//! its module: `dqn::run`, `classifier::run`, `sft::run_seed`,
//! `cliffwalk::run_point`, each readable top to bottom) and what its report
//! holds; [`execute`] does the rest, the same way for all of them.

use crate::classifier::{self, ClsConfig, ClsRun, ClsSampler};
use crate::cliffwalk::{self, CliffConfig};
use crate::datasets::Split;
use crate::dqn::{self, DqnConfig, RunResult};
use crate::replay::Sampler;
use crate::report::{self, Metrics};
use crate::runner::{self, Progress};
use crate::sft::{self, Hooks, Method, SftConfig};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use tch::Device;

/// What a running work item can reach.
pub struct Ctx<'a> {
    pub metrics: &'a Metrics,
    pub progress: &'a Progress,
    pub stop: &'static AtomicBool,
}

/// A scenario: its work, one item's run, and its report.
pub trait Scenario: Sync {
    type Work: Send;
    type Run: Send;
    /// What the report returns to the caller (for `all`'s combined report).
    type Summary;
    /// The columns of `metrics.csv`.
    fn header(&self) -> Result<Vec<String>>;
    fn work(&self) -> Vec<Self::Work>;
    fn label(&self, w: &Self::Work) -> String;
    /// The progress bar's length for `items` work items, and its unit.
    fn progress(&self, items: usize) -> (u64, &'static str);
    /// The first log line.
    fn describe(&self, items: usize, jobs: usize, dir: &Path) -> String;
    fn run(&self, w: &Self::Work, ctx: &Ctx) -> Result<Self::Run>;
    /// Writes the report of the runs that finished (in completion order) and
    /// prints its summary lines; returns the files written.
    fn report(&self, dir: &Path, runs: Vec<Self::Run>) -> Result<(Vec<PathBuf>, Self::Summary)>;
}

/// Runs every work item of `s`, then its report. Failed items are reported
/// after the report of the others is written.
pub fn execute<S: Scenario>(s: &S, jobs: usize, dir: &Path) -> Result<S::Summary> {
    // Small networks: one intra-op thread per run, runs in parallel instead;
    // libtorch's float reductions depend on the thread count, and results
    // must not depend on `--jobs`.
    tch::set_num_threads(1);
    let stop = runner::stop_flag();
    let metrics = Metrics::create(dir, &s.header()?)?;
    let work = s.work();
    let (total, unit) = s.progress(work.len());
    let progress = Progress::new(total, unit)?;
    eprintln!("{}", s.describe(work.len(), jobs, dir));
    let ctx = Ctx { metrics: &metrics, progress: &progress, stop };
    let (runs, errors) = runner::parallel(work, jobs, |w| s.label(w), |w| s.run(w, &ctx));
    progress.finish();
    let (files, summary) = s.report(dir, runs)?;
    eprintln!("wrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    if !errors.is_empty() {
        bail!("{} run(s) failed:\n{}", errors.len(), errors.join("\n"));
    }
    Ok(summary)
}

// ---------------------------------------------------------------- DQN

/// Where DQN models are loaded from and saved to.
#[derive(Default)]
pub struct ModelFiles {
    pub load: Option<PathBuf>,
    pub save: Option<PathBuf>,
}

impl ModelFiles {
    /// `--save-model` as given for a single run, else with
    /// `-<sampler>-<seed>` before the extension.
    fn save_path(&self, single: bool, sampler: Sampler, seed: u64) -> Option<PathBuf> {
        let p = self.save.as_ref()?;
        if single {
            return Some(p.clone());
        }
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = p.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        Some(p.with_file_name(format!("{stem}-{}-{seed}{ext}", sampler.name())))
    }
}

/// Double DQN, one run per (sampler, seed).
pub struct DqnScenario<'a> {
    pub cfg: &'a DqnConfig,
    pub samplers: &'a [Sampler],
    pub seed: u64,
    pub seeds: u64,
    pub device: Device,
    pub models: &'a ModelFiles,
    /// Ape-X over the ranks of `mpirun` (feature `mpi`; rank 0, the learner, runs the scenario).
    pub distributed: bool,
}

impl Scenario for DqnScenario<'_> {
    type Work = (Sampler, u64);
    type Run = RunResult;
    type Summary = Vec<RunResult>;

    fn header(&self) -> Result<Vec<String>> {
        report::keyed_header::<dqn::EvalPoint>(&["sampler", "seed"])
    }

    fn work(&self) -> Vec<(Sampler, u64)> {
        runner::grid(self.samplers, self.seed, self.seeds).0
    }

    fn label(&self, w: &(Sampler, u64)) -> String {
        runner::label(w)
    }

    fn progress(&self, items: usize) -> (u64, &'static str) {
        (self.cfg.total_timesteps * items as u64, "env steps")
    }

    fn describe(&self, items: usize, jobs: usize, dir: &Path) -> String {
        format!(
            "dqn on {}: {items} runs ({}), {} steps each, device {:?}, {jobs} in parallel -> {}",
            self.cfg.env.name(),
            runner::grid(self.samplers, self.seed, self.seeds).1,
            self.cfg.total_timesteps,
            self.device,
            dir.display()
        )
    }

    fn run(&self, &(sampler, seed): &(Sampler, u64), ctx: &Ctx) -> Result<RunResult> {
        let mut last = 0;
        let single = self.samplers.len() == 1 && self.seeds == 1;
        let save = self.models.save_path(single, sampler, seed);
        let models = dqn::Models { load: self.models.load.as_deref(), save: save.as_deref() };
        let on_step = |step: u64| {
            if step.is_multiple_of(100) {
                ctx.progress.inc(step - last);
                last = step;
            }
        };
        let on_eval = |p: &dqn::EvalPoint| {
            ctx.metrics.row(&(sampler.name(), seed, p));
            ctx.progress.log(format!(
                "[{} seed {seed}] step {}: eval return {:.1} ± {:.1}, last-10 train return {}, loss {}, eps {:.3}, beta {:.3}",
                sampler.name(),
                p.env_step,
                p.return_mean,
                p.return_std,
                p.train_return_mean10.map_or("n/a".into(), |r| format!("{r:.1}")),
                p.loss_mean.map_or("n/a".into(), |l| format!("{l:.4}")),
                p.epsilon,
                p.beta
            ));
        };
        if !self.distributed {
            return dqn::run(self.cfg, sampler, seed, self.device, models, ctx.stop, on_step, on_eval);
        }
        #[cfg(feature = "mpi")]
        return crate::apex::run(
            &crate::distributed::Group::world(),
            self.cfg,
            sampler,
            seed,
            self.device,
            ctx.stop,
            on_step,
            on_eval,
        );
        #[cfg(not(feature = "mpi"))]
        bail!("--distributed needs the `mpi` feature")
    }

    fn report(&self, dir: &Path, mut runs: Vec<RunResult>) -> Result<(Vec<PathBuf>, Vec<RunResult>)> {
        runs.sort_by_key(|r| (r.sampler.name(), r.seed));
        let files = report::write_dqn(dir, self.cfg, &format!("{:?}", self.device), &runs)?;
        #[cfg(feature = "mpi")]
        if self.distributed {
            let k = crate::distributed::Group::world().size();
            crate::apex::note(&dir.join("report.md"), self.cfg, k)?;
        }
        for s in report::summarize(&runs, self.cfg.threshold()) {
            eprintln!(
                "{:10} final eval return {}, last-10 training mean reached {} in {}/{} seeds, steps to reach it {}",
                s.sampler.name(),
                report::fmt_ci(s.final_return_mean, s.final_return_ci95, 1),
                self.cfg.threshold(),
                s.reached,
                s.seeds,
                if s.reached == 0 {
                    "never".into()
                } else {
                    report::fmt_ci(s.steps_to_threshold_mean, s.steps_to_threshold_ci95, 0)
                }
            );
        }
        Ok((files, runs))
    }
}

// ---------------------------------------------------------------- classifier

/// The classifier, one run per (sampler, seed); per-class recall goes to
/// `recall.csv` beside `metrics.csv`.
pub struct ClsScenario<'a> {
    pub cfg: &'a ClsConfig,
    pub split: &'a Split,
    pub samplers: &'a [ClsSampler],
    pub seed: u64,
    pub seeds: u64,
    pub device: Device,
    pub recall: Metrics,
    /// Over the ranks of `mpirun` (feature `mpi`; rank 0 runs the scenario).
    pub distributed: bool,
}

impl<'a> ClsScenario<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: &'a ClsConfig,
        split: &'a Split,
        samplers: &'a [ClsSampler],
        seed: u64,
        seeds: u64,
        device: Device,
        dir: &Path,
    ) -> Result<Self> {
        let recall = Metrics::create_named(&dir.join("recall.csv"), &report::header_of::<report::RecallRow>()?)?;
        Ok(ClsScenario { cfg, split, samplers, seed, seeds, device, recall, distributed: false })
    }

    /// Each run over the ranks of `mpirun`, this process being rank 0.
    pub fn distributed(self) -> Self {
        ClsScenario { distributed: true, ..self }
    }

    /// One run, here or over the ranks.
    fn run_one(
        &self,
        sampler: ClsSampler,
        seed: u64,
        stop: &AtomicBool,
        on_epoch: impl FnMut(&classifier::EpochPoint),
    ) -> Result<ClsRun> {
        let job = classifier::Job { cfg: self.cfg, split: self.split, sampler, seed, device: self.device };
        if !self.distributed {
            return classifier::run(job, stop, on_epoch);
        }
        #[cfg(feature = "mpi")]
        return crate::distributed::classifier(&crate::distributed::Group::world(), job, stop, on_epoch);
        #[cfg(not(feature = "mpi"))]
        bail!("--distributed needs the `mpi` feature")
    }
}

impl Scenario for ClsScenario<'_> {
    type Work = (ClsSampler, u64);
    type Run = ClsRun;
    type Summary = Vec<report::ClsSummary>;

    fn header(&self) -> Result<Vec<String>> {
        report::header_of::<report::ClsRow>()
    }

    fn work(&self) -> Vec<(ClsSampler, u64)> {
        runner::grid(self.samplers, self.seed, self.seeds).0
    }

    fn label(&self, w: &(ClsSampler, u64)) -> String {
        runner::label(w)
    }

    fn progress(&self, items: usize) -> (u64, &'static str) {
        ((self.cfg.epochs * items) as u64, "epochs")
    }

    fn describe(&self, items: usize, jobs: usize, dir: &Path) -> String {
        let k = self.split.classes();
        format!(
            "classifier on {} (train {:?}, test {:?}): {items} runs ({}), {} epochs each, device {:?}, {jobs} in parallel -> {}",
            self.split.name,
            self.split.train.counts(k),
            self.split.test.counts(k),
            runner::grid(self.samplers, self.seed, self.seeds).1,
            self.cfg.epochs,
            self.device,
            dir.display()
        )
    }

    fn run(&self, &(sampler, seed): &(ClsSampler, u64), ctx: &Ctx) -> Result<ClsRun> {
        self.run_one(sampler, seed, ctx.stop, |p| {
            ctx.metrics.row(&report::ClsRow::new(sampler, seed, p));
            for (class, &r) in self.split.class_names.iter().zip(&p.recall) {
                let recall = (!r.is_nan()).then_some(r);
                self.recall.row(&report::RecallRow { sampler: sampler.name(), seed, epoch: p.epoch, class, recall });
            }
            ctx.progress.inc(1);
            if p.epoch.is_multiple_of(10) || p.epoch == self.cfg.epochs {
                ctx.progress.log(format!(
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
    }

    fn report(&self, dir: &Path, mut runs: Vec<ClsRun>) -> Result<(Vec<PathBuf>, Vec<report::ClsSummary>)> {
        runs.sort_by_key(|r| (r.sampler.name(), r.seed));
        let (mut files, summary) =
            report::write_classifier(dir, self.cfg, self.split, &format!("{:?}", self.device), &runs)?;
        files.insert(1, dir.join("recall.csv"));
        for s in &summary {
            eprintln!(
                "{:17} balanced accuracy {}, accuracy {:.3}, macro-F1 {:.3} over {} seeds",
                s.sampler.name(),
                report::fmt_ci(s.balanced_accuracy.0, s.balanced_accuracy.1, 3),
                s.accuracy.0,
                s.macro_f1.0,
                s.seeds
            );
        }
        Ok((files, summary))
    }
}

// ---------------------------------------------------------------- iw-SFT

/// SFT, iw-SFT and rwr: one work item per seed (a reference model, then
/// every method on it).
pub struct SftScenario<'a> {
    pub cfg: &'a SftConfig,
    pub seed: u64,
    pub seeds: u64,
    pub device: Device,
    /// Where the first seed's reference model is saved (when trained here).
    pub save_dir: PathBuf,
}

impl Scenario for SftScenario<'_> {
    type Work = u64;
    type Run = sft::SeedRun;
    type Summary = Vec<report::SftSummary>;

    fn header(&self) -> Result<Vec<String>> {
        report::header_of::<report::SftRow>()
    }

    fn work(&self) -> Vec<u64> {
        (self.seed..self.seed + self.seeds).collect()
    }

    fn label(&self, s: &u64) -> String {
        format!("seed {s}")
    }

    fn progress(&self, items: usize) -> (u64, &'static str) {
        let pretrain = if self.cfg.model_dir.is_some() { 0 } else { self.cfg.pretrain_steps };
        ((pretrain + self.cfg.methods.len() * self.cfg.finetune_steps) as u64 * items as u64, "steps")
    }

    fn describe(&self, items: usize, _jobs: usize, dir: &Path) -> String {
        format!(
            "iw-sft: {items} seed(s), {}-digit addition, {} pre-training + {} fine-tuning steps ({}), device {:?} -> {}",
            self.cfg.task.digits,
            if self.cfg.model_dir.is_some() { 0 } else { self.cfg.pretrain_steps },
            self.cfg.finetune_steps,
            self.cfg.methods.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
            self.device,
            dir.display()
        )
    }

    fn run(&self, &s: &u64, ctx: &Ctx) -> Result<sft::SeedRun> {
        let tick = |n: u64| ctx.progress.inc(n);
        let log = |line: String| ctx.progress.log(line);
        let point = |seed: u64, m: Method, p: &sft::Point| {
            ctx.metrics.row(&report::SftRow::new(seed, m, p));
            ctx.progress.log(format!(
                "[seed {seed} {}] step {}: greedy {:.3}, sampled {:.3}, reward {:.3}, loss {}, mean weight {:.3}",
                m.name(),
                p.step,
                p.greedy,
                p.sampled,
                p.reward,
                report::fmt_num(p.loss, 4),
                p.mean_weight
            ));
        };
        let hooks = Hooks { stop: ctx.stop, tick: &tick, point: &point, log: &log };
        let save =
            (s == self.seed && self.cfg.model_dir.is_none()).then(|| self.save_dir.join(format!("reference-seed{s}")));
        sft::run_seed(self.cfg, s, self.device, save.as_deref(), &hooks)
    }

    fn report(&self, dir: &Path, mut runs: Vec<sft::SeedRun>) -> Result<(Vec<PathBuf>, Vec<report::SftSummary>)> {
        runs.sort_by_key(|r| r.seed);
        let (files, summary) = report::write_sft(dir, self.cfg, &format!("{:?}", self.device), &runs)?;
        for s in &summary {
            eprintln!(
                "{:7} held-out greedy accuracy {}, sampled {}, reward {}, {:.1} ms/step over {} seed(s)",
                s.method.name(),
                report::fmt_ci(s.greedy.0, s.greedy.1, 3),
                report::fmt_ci(s.sampled.0, s.sampled.1, 3),
                report::fmt_ci(s.reward.0, s.reward.1, 3),
                s.ms_per_step,
                s.seeds
            );
        }
        Ok((files, summary))
    }
}

// ---------------------------------------------------------------- cliffwalk

/// The Blind Cliffwalk: one work item per (n, seed) memory, the longest
/// chains first (they take the longest).
pub struct CliffScenario<'a> {
    pub cfg: &'a CliffConfig,
    pub start: std::time::Instant,
}

impl Scenario for CliffScenario<'_> {
    type Work = (usize, u64);
    type Run = cliffwalk::Point;
    /// The headline table.
    type Summary = String;

    fn header(&self) -> Result<Vec<String>> {
        report::header_of::<report::CliffRow>()
    }

    fn work(&self) -> Vec<(usize, u64)> {
        let (ns, seeds, base) = (&self.cfg.ns, self.cfg.seeds, self.cfg.base_seed);
        ns.iter().rev().flat_map(|&n| (0..seeds).map(move |k| (n, base + k))).collect()
    }

    fn label(&self, &(n, seed): &(usize, u64)) -> String {
        format!("n {n} seed {seed}")
    }

    fn progress(&self, items: usize) -> (u64, &'static str) {
        (items as u64, "memories")
    }

    fn describe(&self, _items: usize, jobs: usize, dir: &Path) -> String {
        format!(
            "cliffwalk: n = {}..{}, {} seeds, samplers {}, {jobs} in parallel -> {}",
            self.cfg.ns.first().copied().unwrap_or(0),
            self.cfg.ns.last().copied().unwrap_or(0),
            self.cfg.seeds,
            self.cfg.samplers.iter().map(|s| s.name()).collect::<Vec<_>>().join("/"),
            dir.display()
        )
    }

    fn run(&self, &(n, seed): &(usize, u64), ctx: &Ctx) -> Result<cliffwalk::Point> {
        let p = cliffwalk::run_point(n, seed, self.cfg, &runner::stopped)?;
        for row in report::cliff_rows(&p) {
            ctx.metrics.row(&row);
        }
        ctx.progress.inc(1);
        ctx.progress.log(format!(
            "[n {n} seed {seed}] {}",
            p.runs.iter().map(|(s, o)| format!("{} {}", s.name(), o.updates)).collect::<Vec<_>>().join(", ")
        ));
        Ok(p)
    }

    fn report(&self, dir: &Path, mut points: Vec<cliffwalk::Point>) -> Result<(Vec<PathBuf>, String)> {
        points.sort_by_key(|p| (p.n, p.seed));
        let elapsed = self.start.elapsed().as_secs_f64();
        let (files, table) = report::write_cliffwalk(dir, self.cfg, &points, elapsed, runner::stopped())?;
        eprintln!("{table}");
        Ok((files, table))
    }
}
