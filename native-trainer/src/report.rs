//! A run folder: `metrics.csv` (appended and flushed at every evaluation, so
//! an interrupted run leaves a readable file), `summary.json`, PNG plots
//! (plotters, with a bundled font: no system fonts needed) and `report.md`.

use crate::classifier::{ClsConfig, ClsRun, ClsSampler, EpochPoint};
use crate::cliffwalk;
use crate::datasets::Split;
use crate::dqn::{DqnConfig, RunResult};
use crate::replay::Sampler;
use crate::sft::{Method, MethodRun, Point as SftPoint, SeedRun, SftConfig, WeightStats, WEIGHT_BIN, WEIGHT_BINS};
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;
use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A CSV file of serde rows (the `csv` crate), shared by parallel runs and
/// flushed at every row, so an interrupted run leaves a readable file.
pub struct Metrics {
    writer: Mutex<csv::Writer<File>>,
}

impl Metrics {
    /// `dir/metrics.csv` with these columns.
    pub fn create(dir: &Path, header: &[String]) -> Result<Self> {
        Self::create_named(&dir.join("metrics.csv"), header)
    }

    /// A CSV file at `path` with these columns.
    pub fn create_named(path: &Path, header: &[String]) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(file);
        writer.write_record(header)?;
        writer.flush()?;
        Ok(Metrics { writer: Mutex::new(writer) })
    }

    pub fn row<R: Serialize>(&self, row: &R) {
        if let Ok(mut w) = self.writer.lock() {
            // A failed write leaves a shorter file; summary.json still lands.
            let _ = w.serialize(row);
            let _ = w.flush();
        }
    }
}

/// `keys` then the columns of `R`: the header of rows written as a tuple
/// `(key, ..., &R)`, which the `csv` crate writes as one flat record.
pub fn keyed_header<R: Serialize + Default>(keys: &[&str]) -> Result<Vec<String>> {
    Ok(keys.iter().map(|k| k.to_string()).chain(header_of::<R>()?).collect())
}

/// The column names of a row type: its field names, as the `csv` crate
/// writes them for a header.
pub fn header_of<R: Serialize + Default>() -> Result<Vec<String>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(R::default())?;
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
    let first = r.records().next().context("no header")??;
    Ok(first.iter().map(str::to_string).collect())
}

/// Seeds (values) from which a 95% interval is computed: below it a
/// t-interval is too wide to read (with 2 seeds its factor is 12.7), so
/// reports give means only, `summary.json` a null half-width, plots no band.
pub const MIN_SEEDS_FOR_CI: usize = 5;

/// The two-sided 95% quantile of Student's t with `dof` degrees of freedom (statrs).
pub fn t975(dof: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, dof.max(1) as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// Mean and half-width of the 95% confidence interval (t-distribution); the
/// half-width is NaN for fewer than `MIN_SEEDS_FOR_CI` values.
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < MIN_SEEDS_FOR_CI {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t975(n - 1) * (var / n as f64).sqrt())
}

/// Per-sampler aggregate over seeds.
#[derive(Debug, serde::Serialize)]
pub struct SamplerSummary {
    pub sampler: Sampler,
    pub seeds: usize,
    pub final_return_mean: f64,
    pub final_return_ci95: f64,
    /// Runs whose mean of the last 10 training-episode returns reached the threshold.
    pub reached: usize,
    /// Over the runs that reached it (NaN, written `null`, when none did).
    pub steps_to_threshold_mean: f64,
    pub steps_to_threshold_ci95: f64,
    /// Runs whose greedy evaluation reached the threshold.
    pub eval_reached: usize,
    /// The first evaluation step at or above the threshold, over the runs that reached it.
    pub eval_steps_to_threshold_mean: f64,
    pub steps_per_second_mean: f64,
}

/// The first greedy-evaluation step whose mean return reaches `threshold`.
pub fn eval_steps_to(run: &RunResult, threshold: f64) -> Option<u64> {
    run.evals.iter().find(|p| p.return_mean >= threshold).map(|p| p.env_step)
}

pub fn summarize(runs: &[RunResult], threshold: f64) -> Vec<SamplerSummary> {
    Sampler::ALL
        .iter()
        .filter_map(|&s| {
            let mine: Vec<&RunResult> = runs.iter().filter(|r| r.sampler == s).collect();
            if mine.is_empty() {
                return None;
            }
            let finals: Vec<f64> = mine.iter().filter_map(|r| r.evals.last().map(|p| p.return_mean)).collect();
            let reach: Vec<f64> = mine.iter().filter_map(|r| r.steps_to_threshold).map(|x| x as f64).collect();
            let eval_reach: Vec<f64> =
                mine.iter().filter_map(|r| eval_steps_to(r, threshold)).map(|x| x as f64).collect();
            let (fm, fc) = mean_ci(&finals);
            let (sm, sc) = mean_ci(&reach);
            Some(SamplerSummary {
                sampler: s,
                seeds: mine.len(),
                final_return_mean: fm,
                final_return_ci95: fc,
                reached: reach.len(),
                steps_to_threshold_mean: sm,
                steps_to_threshold_ci95: sc,
                eval_reached: eval_reach.len(),
                eval_steps_to_threshold_mean: mean_ci(&eval_reach).0,
                steps_per_second_mean: mine.iter().map(|r| r.steps_per_second).sum::<f64>() / mine.len() as f64,
            })
        })
        .collect()
}

fn color(s: Sampler) -> RGBColor {
    match s {
        Sampler::Uniform => RGBColor(120, 120, 120),
        Sampler::Stratified => RGBColor(44, 160, 44),
        Sampler::Per => RGBColor(214, 39, 40),
        Sampler::Rank => RGBColor(31, 119, 180),
    }
}

/// One line of a plot: per-x mean with a 95% band (half-width, 0 for none).
pub struct Curve {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64, f64)>,
}

/// Mean and 95% interval over seeds at each x where every seed has a value;
/// `series` holds one `(x, y)` list per seed, sharing their x values.
pub fn band(series: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64)> {
    let len = series.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|k| {
            let vals: Vec<f64> = series.iter().map(|s| s[k].1).collect();
            let (m, ci) = mean_ci(&vals);
            (series[0][k].0, m, if ci.is_nan() { 0.0 } else { ci })
        })
        .collect()
}

/// The legend every plot here draws, at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 15))
        .position(position)
        .draw()
        .map_err(plot_err)
}

fn plot_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting: {e}")
}

/// A line plot of `curves` with their bands, and an optional labelled
/// horizontal reference line. Bands are cut to `bounds`, the range the
/// quantity can take (a t-interval over few seeds can reach past it). Uses
/// the bundled Ubuntu font, so plots render the same on any machine.
pub fn plot_curves(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    curves: &[Curve],
    hline: Option<(f64, String)>,
    (floor, ceiling): (f64, f64),
) -> Result<()> {
    let clamp = |y: f64| y.clamp(floor, ceiling);
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let max_x = xs.fold(1f64, f64::max);
    let ys: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.points.iter().flat_map(|p| [clamp(p.1 - p.2), clamp(p.1 + p.2)]))
        .chain(hline.as_ref().map(|h| h.0))
        .filter(|y| y.is_finite())
        .collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-3 * hi.abs().max(1.0));
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..max_x, (lo - pad)..(hi + pad))
        .map_err(plot_err)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).label_style(("sans-serif", 15)).draw().map_err(plot_err)?;
    if let Some((y, label)) = hline {
        chart
            .draw_series(LineSeries::new([(0.0, y), (max_x, y)], BLACK.mix(0.4)))
            .map_err(plot_err)?
            .label(label)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    }
    for c in curves.iter().filter(|c| !c.points.is_empty()) {
        let pts = &c.points;
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|&(x, m, ci)| (x, clamp(m + ci)))
            .chain(pts.iter().rev().map(|&(x, m, ci)| (x, clamp(m - ci))))
            .collect();
        let color = c.color;
        chart.draw_series([Polygon::new(band, color.mix(0.15).filled())]).map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|&(x, m, _)| (x, m)), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// The mean curve, with its band, of one group's runs (one `(x, y)` list
/// per run); `None` for a group without runs.
pub fn group_curve(name: &str, color: RGBColor, series: Vec<Vec<(f64, f64)>>) -> Option<Curve> {
    (!series.is_empty()).then(|| Curve { label: format!("{name} (n={})", series.len()), color, points: band(&series) })
}

/// Mean eval return vs env steps per sampler, with the 95% band over seeds
/// (cut to the returns the env can give).
pub fn plot_returns(path: &Path, title: &str, runs: &[RunResult], threshold: f64, bounds: (f64, f64)) -> Result<()> {
    let curves: Vec<Curve> = Sampler::ALL
        .iter()
        .filter_map(|&s| {
            let series: Vec<Vec<(f64, f64)>> = runs
                .iter()
                .filter(|r| r.sampler == s && !r.evals.is_empty())
                .map(|r| r.evals.iter().map(|p| (p.env_step as f64, p.return_mean)).collect())
                .collect();
            group_curve(s.name(), color(s), series)
        })
        .collect();
    plot_curves(
        path,
        title,
        ("environment steps", "evaluation return (greedy)"),
        &curves,
        Some((threshold, format!("threshold {threshold}"))),
        bounds,
    )
}

/// A Markdown table: the first column left-aligned, the others right-aligned.
pub fn md_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut md = format!("| {} |\n|---|{}\n", header.join(" | "), "---:|".repeat(header.len().saturating_sub(1)));
    for row in rows {
        md += &format!("| {} |\n", row.join(" | "));
    }
    md
}

/// A table of named rows with two (mean, 95% half-width) columns, 3 digits.
pub fn ci_table<'a>(header: [&str; 3], rows: impl Iterator<Item = (&'a str, (f64, f64), (f64, f64))>) -> String {
    md_table(&header, rows.map(|(name, a, b)| vec![name.to_string(), fmt_ci(a.0, a.1, 3), fmt_ci(b.0, b.1, 3)]))
}

/// A number for a person: `n/a` where it is not defined (NaN).
pub fn fmt_num(x: f64, digits: usize) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:.digits$}")
    }
}

/// A number for a CSV file: an empty field where it is not defined (NaN).
pub fn fmt_ci(m: f64, ci: f64, digits: usize) -> String {
    if m.is_nan() {
        "n/a".into()
    } else if ci.is_nan() {
        format!("{m:.digits$}")
    } else {
        format!("{m:.digits$} ± {ci:.digits$}")
    }
}

/// A plain sentence on what a table of `(name, mean, ci95)` rows over `seeds`
/// seeds each can support, every row against the first (the baseline):
/// nothing below `MIN_SEEDS_FOR_CI`, else which 95% intervals do not overlap
/// the baseline's (a conservative test: overlapping intervals can still
/// differ, non-overlapping ones differ at well below 5%).
pub fn verdict(seeds: usize, metric: &str, rows: &[(&str, f64, f64)]) -> String {
    if seeds < MIN_SEEDS_FOR_CI {
        return format!(
            "{seeds} seed(s) per row: means only, no intervals (they need at least {MIN_SEEDS_FOR_CI}). \
             This checks the pipeline; it cannot rank the rows."
        );
    }
    let Some(&(base, m0, c0)) = rows.first() else { return String::new() };
    let apart: Vec<String> = rows[1..]
        .iter()
        .filter(|(_, m, c)| m.is_finite() && m0.is_finite() && (m - m0).abs() > c + c0)
        .map(|(name, m, _)| format!("{name} is {} {base}", if *m > m0 { "above" } else { "below" }))
        .collect();
    if apart.is_empty() {
        format!("Every 95% interval ({seeds} seeds) overlaps {base}'s: no difference in {metric} is shown.")
    } else {
        format!(
            "With 95% intervals over {seeds} seeds that do not overlap: {}; the other rows are not distinguishable from {base}.",
            apart.join(", ")
        )
    }
}

/// `summary.json`, `returns.png` and `report.md`; returns the files written.
pub fn write_dqn(dir: &Path, cfg: &DqnConfig, device: &str, runs: &[RunResult]) -> Result<Vec<PathBuf>> {
    let threshold = cfg.threshold();
    let summary = summarize(runs, threshold);
    let interrupted = runs.iter().any(|r| r.interrupted);
    let json = serde_json::json!({
        "scenario": "dqn",
        "env": cfg.env.name(),
        "device": device,
        "threshold": threshold,
        "interrupted": interrupted,
        "config": cfg,
        "samplers": summary,
        "runs": runs.iter().map(|r| serde_json::json!({
            "sampler": r.sampler, "seed": r.seed, "env_steps": r.env_steps,
            "steps_per_second": r.steps_per_second, "interrupted": r.interrupted,
            "steps_to_threshold": r.steps_to_threshold,
            "eval_steps_to_threshold": eval_steps_to(r, threshold),
            "final_return": r.evals.last().map(|p| p.return_mean),
            "best_return": r.evals.iter().map(|p| p.return_mean).fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v)))),
        })).collect::<Vec<_>>(),
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    let plot_path = dir.join("returns.png");
    plot_returns(
        &plot_path,
        &format!("Double DQN on {}: replay samplers", cfg.env.name()),
        runs,
        threshold,
        cfg.env.return_range(),
    )?;

    let mut md = String::new();
    md += &format!("# DQN on {} ({})\n\n", cfg.env.name(), device);
    if interrupted {
        md += "**Interrupted**: the numbers below cover the steps done so far.\n\n";
    }
    md += &format!(
        "Double DQN, {} env steps per run, a gradient update every {} steps on batches of {} ({:?} loss, {}-step returns), \
         target network updated every {} steps (tau {}), replay through `adasample` (uniform: independent draws; \
         stratified: one draw per stratum; PER alpha 0.6, beta 0.4 -> 1; rank alpha 0.7, beta 0.5 -> 1), IS weights on the loss. \
         *Reached* is the first env step at which the mean of the last 10 training-episode returns reaches {threshold}; \
         greedy evaluation ({} episodes) every {} steps gives the final return. Means over seeds with 95% t-intervals \
         (none with one seed); steps to reach are over the seeds that reached it.\n\n",
        cfg.total_timesteps,
        cfg.train_frequency,
        cfg.batch_size,
        cfg.loss,
        cfg.n_step,
        cfg.target_network_frequency,
        cfg.tau,
        cfg.eval_episodes,
        cfg.eval_every
    );
    md += &format!("| sampler | seeds | final eval return | reached {threshold} | env steps to reach it | env steps/s |\n|---|---:|---:|---:|---:|---:|\n");
    for s in &summary {
        let steps = if s.reached == 0 {
            "never".into()
        } else {
            fmt_ci(s.steps_to_threshold_mean, s.steps_to_threshold_ci95, 0)
        };
        md += &format!(
            "| {} | {} | {} | {}/{} | {} | {:.0} |\n",
            s.sampler.name(),
            s.seeds,
            fmt_ci(s.final_return_mean, s.final_return_ci95, 1),
            s.reached,
            s.seeds,
            steps,
            s.steps_per_second_mean
        );
    }
    let rows: Vec<(&str, f64, f64)> =
        summary.iter().map(|s| (s.sampler.name(), s.final_return_mean, s.final_return_ci95)).collect();
    md += &format!("\n{}\n", verdict(summary.first().map_or(0, |s| s.seeds), "final eval return", &rows));
    md += "\n![returns](returns.png)\n\nFiles: `metrics.csv` (every evaluation), `summary.json` (config, per-run and per-sampler results).\n";
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    Ok(vec![dir.join("metrics.csv"), summary_path, plot_path, report_path])
}

// ---------------------------------------------------------------- classifier

/// The classifier scenario's `metrics.csv` row: one per epoch of a run.
#[derive(Debug, Default, Serialize)]
pub struct ClsRow {
    pub sampler: &'static str,
    pub seed: u64,
    pub epoch: usize,
    pub train_loss: f64,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_f1: f64,
    /// The epoch's drawn indices, digested: equal on every rank count.
    pub draws_digest: String,
    pub elapsed_s: f64,
}

/// `recall.csv`: one row per (epoch, class), long format; the recall of a
/// class absent from the test set is empty.
#[derive(Debug, Default, Serialize)]
pub struct RecallRow<'a> {
    pub sampler: &'static str,
    pub seed: u64,
    pub epoch: usize,
    pub class: &'a str,
    pub recall: Option<f64>,
}

impl ClsRow {
    pub fn new(sampler: ClsSampler, seed: u64, p: &EpochPoint) -> Self {
        ClsRow {
            sampler: sampler.name(),
            seed,
            epoch: p.epoch,
            train_loss: p.train_loss,
            accuracy: p.accuracy,
            balanced_accuracy: p.balanced_accuracy,
            macro_f1: p.macro_f1,
            draws_digest: p.draws_digest.clone(),
            elapsed_s: p.elapsed_s,
        }
    }
}

fn cls_color(s: ClsSampler) -> RGBColor {
    match s {
        ClsSampler::Uniform => RGBColor(120, 120, 120),
        ClsSampler::Adaptive => RGBColor(214, 39, 40),
        ClsSampler::Adaboost => RGBColor(44, 160, 44),
        ClsSampler::Ohem => RGBColor(31, 119, 180),
        ClsSampler::ClassBalanced => RGBColor(148, 103, 189),
        ClsSampler::BalancedAdaptive => RGBColor(255, 127, 14),
    }
}

/// Per-sampler means and 95% intervals of the last epoch's scores.
#[derive(Debug, serde::Serialize)]
pub struct ClsSummary {
    pub sampler: ClsSampler,
    pub seeds: usize,
    pub accuracy: (f64, f64),
    pub balanced_accuracy: (f64, f64),
    pub macro_f1: (f64, f64),
    pub recall: Vec<(f64, f64)>,
    pub steps_per_second: f64,
    /// Over the runs that got there: the first epoch whose balanced accuracy
    /// reaches 95% of uniform's final mean (speed of learning).
    pub epochs_to_95_of_uniform: (f64, f64),
    /// How many runs got there.
    pub reached_95_of_uniform: usize,
}

/// The first epoch of `run` whose balanced accuracy is at least `level`.
pub fn epochs_to(run: &ClsRun, level: f64) -> Option<usize> {
    run.epochs.iter().find(|p| p.balanced_accuracy >= level).map(|p| p.epoch)
}

/// `a` minus `b` in final balanced accuracy, paired by seed: mean and 95%
/// half-width over the seeds both ran.
pub fn paired_cls(runs: &[ClsRun], a: ClsSampler, b: ClsSampler) -> Option<(f64, f64, usize)> {
    let last = |s: ClsSampler, seed: u64| {
        runs.iter()
            .find(|r| r.sampler == s && r.seed == seed)
            .and_then(|r| r.epochs.last())
            .map(|p| p.balanced_accuracy)
    };
    let diffs: Vec<f64> =
        runs.iter().filter(|r| r.sampler == a).filter_map(|r| Some(last(a, r.seed)? - last(b, r.seed)?)).collect();
    if diffs.is_empty() {
        return None;
    }
    let (m, ci) = mean_ci(&diffs);
    Some((m, ci, diffs.len()))
}

/// Where a paired difference's 95% interval `d ± ci` lies: above 0
/// (`Greater`: ahead), below it (`Less`: behind), or across it (`Equal`: no
/// difference shown).
fn paired_side(d: f64, ci: f64) -> Ordering {
    if d - ci > 0.0 {
        Ordering::Greater
    } else if d + ci < 0.0 {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

/// A sentence on a paired difference: which is ahead, or that none is shown.
fn paired_cls_sentence(a: &str, b: &str, (m, ci, n): (f64, f64, usize)) -> String {
    if ci.is_nan() {
        return format!("`{a}` − `{b}`: {m:+.3} (means only: {n} seeds, intervals from {MIN_SEEDS_FOR_CI}).");
    }
    let how = match paired_side(m, ci) {
        Ordering::Greater => format!("`{a}` is ahead of `{b}`"),
        Ordering::Less => format!("`{a}` is behind `{b}`"),
        Ordering::Equal => format!("no difference between `{a}` and `{b}` is shown"),
    };
    format!("`{a}` − `{b}`, paired by seed: {m:+.3} ± {ci:.3} balanced accuracy over {n} seeds: {how}.")
}

pub fn summarize_cls(runs: &[ClsRun], classes: usize) -> Vec<ClsSummary> {
    let uniform: Vec<f64> = runs
        .iter()
        .filter(|r| r.sampler == ClsSampler::Uniform)
        .filter_map(|r| r.epochs.last())
        .map(|p| p.balanced_accuracy)
        .collect();
    let level = 0.95 * mean_ci(&uniform).0;
    ClsSampler::ALL
        .iter()
        .filter_map(|&s| {
            let last: Vec<&EpochPoint> =
                runs.iter().filter(|r| r.sampler == s).filter_map(|r| r.epochs.last()).collect();
            if last.is_empty() {
                return None;
            }
            let stat = |f: &dyn Fn(&EpochPoint) -> f64| mean_ci(&last.iter().map(|p| f(p)).collect::<Vec<_>>());
            let mine: Vec<&ClsRun> = runs.iter().filter(|r| r.sampler == s).collect();
            let reached: Vec<f64> = mine.iter().filter_map(|r| epochs_to(r, level)).map(|e| e as f64).collect();
            Some(ClsSummary {
                epochs_to_95_of_uniform: mean_ci(&reached),
                reached_95_of_uniform: reached.len(),
                sampler: s,
                seeds: last.len(),
                accuracy: stat(&|p| p.accuracy),
                balanced_accuracy: stat(&|p| p.balanced_accuracy),
                macro_f1: stat(&|p| p.macro_f1),
                recall: (0..classes).map(|c| stat(&|p| p.recall[c])).collect(),
                steps_per_second: mine.iter().map(|r| r.steps_per_second).sum::<f64>() / mine.len() as f64,
            })
        })
        .collect()
}

/// Row-normalised confusion matrices summed over seeds, one panel per sampler.
pub fn plot_confusion(path: &Path, split: &Split, runs: &[ClsRun]) -> Result<()> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    let k = split.classes();
    let samplers: Vec<ClsSampler> =
        ClsSampler::ALL.iter().copied().filter(|&s| runs.iter().any(|r| r.sampler == s)).collect();
    let root = BitMapBackend::new(path, (420 * samplers.len().max(1) as u32, 470)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((1, samplers.len().max(1)));
    for (panel, &s) in panels.iter().zip(&samplers) {
        let mut sum = vec![vec![0u64; k]; k];
        for r in runs.iter().filter(|r| r.sampler == s) {
            for (a, row) in r.confusion.iter().enumerate() {
                for (b, v) in row.iter().enumerate() {
                    sum[a][b] += v;
                }
            }
        }
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{} (true rows, predicted columns)", s.name()), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())
            .map_err(plot_err)?;
        // Rows top-down in class order: row a sits at y = k - 1 - a.
        let name = |i: &SegmentValue<usize>, flip: bool| match i {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                let c = if flip { (k - 1).checked_sub(*i) } else { Some(*i) };
                c.and_then(|c| split.class_names.get(c).cloned()).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(k)
            .y_labels(k)
            .x_label_formatter(&|i| name(i, false))
            .y_label_formatter(&|i| name(i, true))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(plot_err)?;
        for (a, row) in sum.iter().enumerate() {
            let support = row.iter().sum::<u64>().max(1) as f64;
            for (b, &v) in row.iter().enumerate() {
                let share = v as f64 / support;
                let shade = (255.0 * (1.0 - share)) as u8;
                let y = k - 1 - a;
                let cell = [
                    (SegmentValue::Exact(b), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(b + 1), SegmentValue::Exact(y + 1)),
                ];
                chart.draw_series([Rectangle::new(cell, RGBColor(shade, shade, 255).filled())]).map_err(plot_err)?;
                if k <= 12 {
                    let ink = if share > 0.5 { WHITE } else { BLACK };
                    let style = ("sans-serif", 13).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                    chart
                        .draw_series([Text::new(
                            format!("{:.0}%", share * 100.0),
                            (SegmentValue::CenterOf(b), SegmentValue::CenterOf(y)),
                            style,
                        )])
                        .map_err(plot_err)?;
                }
            }
        }
    }
    root.present().map_err(plot_err)?;
    Ok(())
}

/// `summary.json`, `balanced_accuracy.png`, `confusion.png` and `report.md`.
pub fn write_classifier(
    dir: &Path,
    cfg: &ClsConfig,
    split: &Split,
    device: &str,
    runs: &[ClsRun],
) -> Result<(Vec<PathBuf>, Vec<ClsSummary>)> {
    let k = split.classes();
    let summary = summarize_cls(runs, k);
    let interrupted = runs.iter().any(|r| r.interrupted);
    let json = serde_json::json!({
        "scenario": "classifier",
        "dataset": split.name,
        "classes": split.class_names,
        "train_counts": split.train.counts(k),
        "test_counts": split.test.counts(k),
        "device": device,
        "interrupted": interrupted,
        "config": cfg,
        "samplers": summary,
        "runs": runs.iter().map(|r| serde_json::json!({
            "sampler": r.sampler, "seed": r.seed, "epochs": r.epochs.len(), "interrupted": r.interrupted,
            "steps_per_second": r.steps_per_second, "final": r.epochs.last(), "confusion": r.confusion,
        })).collect::<Vec<_>>(),
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    let curves: Vec<Curve> = ClsSampler::ALL
        .iter()
        .filter_map(|&s| {
            let series: Vec<Vec<(f64, f64)>> = runs
                .iter()
                .filter(|r| r.sampler == s && !r.epochs.is_empty())
                .map(|r| r.epochs.iter().map(|p| (p.epoch as f64, p.balanced_accuracy)).collect())
                .collect();
            group_curve(s.name(), cls_color(s), series)
        })
        .collect();
    let plot_path = dir.join("balanced_accuracy.png");
    plot_curves(
        &plot_path,
        &format!("MLP on {}: balanced test accuracy", split.name),
        ("epoch", "balanced accuracy"),
        &curves,
        Some((1.0 / k as f64, "chance".into())),
        (0.0, 1.0),
    )?;
    let confusion_path = dir.join("confusion.png");
    plot_confusion(&confusion_path, split, runs)?;

    let mut md = format!("# Adaptive batch sampling: MLP on {} ({device})\n\n", split.name);
    if interrupted {
        md += "**Interrupted**: the numbers below cover the epochs done so far.\n\n";
    }
    md += &format!(
        "Train counts per class {:?}, test {:?} ({}). MLP {}-{}-{}-{}, AdamW lr {}, batch {}, {} epochs. \
         Batches from `adasample::adaptive` (uniform: floor 1; adaptive: EMA of losses, step {}; adaboost; \
         ohem: top-B of 4B; class-balanced: prior 1 / class size, floor 1, no loss feedback; balanced-adaptive: \
         that prior times the EMA scores, weights toward the balanced objective), IS weights (beta 0.5) on the \
         cross-entropy. Last-epoch test scores, means over seeds \
         with 95% t-intervals.\n\n",
        split.train.counts(k),
        split.test.counts(k),
        split.class_names.join(", "),
        split.train.dim,
        cfg.hidden,
        cfg.hidden,
        k,
        cfg.learning_rate,
        cfg.batch,
        cfg.epochs,
        cfg.sampler_learning_rate,
    );
    md += "| sampler | seeds | accuracy | balanced accuracy | macro-F1 | epochs to 95% of uniform | steps/s |\n\
           |---|---:|---:|---:|---:|---:|---:|\n";
    for s in &summary {
        md += &format!(
            "| {} | {} | {} | {} | {} | {} ({}/{}) | {:.0} |\n",
            s.sampler.name(),
            s.seeds,
            fmt_ci(s.accuracy.0, s.accuracy.1, 3),
            fmt_ci(s.balanced_accuracy.0, s.balanced_accuracy.1, 3),
            fmt_ci(s.macro_f1.0, s.macro_f1.1, 3),
            fmt_ci(s.epochs_to_95_of_uniform.0, s.epochs_to_95_of_uniform.1, 1),
            s.reached_95_of_uniform,
            s.seeds,
            s.steps_per_second
        );
    }
    let rows: Vec<(&str, f64, f64)> =
        summary.iter().map(|s| (s.sampler.name(), s.balanced_accuracy.0, s.balanced_accuracy.1)).collect();
    md += &format!("\n{}\n", verdict(summary.first().map_or(0, |s| s.seeds), "balanced accuracy", &rows));
    md += "\n\"Epochs to 95% of uniform\": the first epoch whose test balanced accuracy reaches 95% of uniform's \
           final mean, averaged over the runs that reach it (their count after it).\n";
    let mut pairs: Vec<(ClsSampler, ClsSampler)> = summary
        .iter()
        .map(|s| s.sampler)
        .filter(|&s| s != ClsSampler::Uniform)
        .map(|s| (s, ClsSampler::Uniform))
        .collect();
    pairs.push((ClsSampler::BalancedAdaptive, ClsSampler::ClassBalanced));
    let sentences: Vec<String> = pairs
        .into_iter()
        .filter_map(|(a, b)| {
            paired_cls(runs, a, b).map(|d| format!("- {}", paired_cls_sentence(a.name(), b.name(), d)))
        })
        .collect();
    if !sentences.is_empty() {
        md += &format!("\n{}\n", sentences.join("\n"));
    }
    // The rarest classes of the training set, by count.
    let counts = split.train.counts(k);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&c| counts[c]);
    let rare: Vec<usize> = order.into_iter().take(2.min(k)).collect();
    for s in &summary {
        let cells: Vec<String> = rare
            .iter()
            .map(|&c| {
                format!("{} ({} train) {}", split.class_names[c], counts[c], fmt_ci(s.recall[c].0, s.recall[c].1, 2))
            })
            .collect();
        md += &format!(
            "{}- rarest classes' recall under `{}`: {}\n",
            if s.sampler == summary[0].sampler { "\n" } else { "" },
            s.sampler.name(),
            cells.join(", ")
        );
    }
    md += &format!(
        "\nPer-class recall:\n\n| sampler | {} |\n|---|{}\n",
        split.class_names.join(" | "),
        "---:|".repeat(k)
    );
    for s in &summary {
        let cells: Vec<String> = s.recall.iter().map(|&(m, ci)| fmt_ci(m, ci, 2)).collect();
        md += &format!("| {} | {} |\n", s.sampler.name(), cells.join(" | "));
    }
    md += "\n![balanced accuracy](balanced_accuracy.png)\n\n![confusion](confusion.png)\n\n\
           Files: `metrics.csv` (every epoch of every run), `summary.json` (config, per-run and per-sampler results).\n";
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    Ok((vec![dir.join("metrics.csv"), summary_path, plot_path, confusion_path, report_path], summary))
}

// ---------------------------------------------------------------- iw-SFT

/// The iw-SFT scenario's `metrics.csv` row: one per evaluation; the weight
/// columns are empty for methods without iw weights.
#[derive(Debug, Default, Serialize)]
pub struct SftRow {
    pub seed: u64,
    pub method: &'static str,
    pub step: usize,
    pub greedy_accuracy: f64,
    pub sampled_accuracy: f64,
    pub mean_reward: f64,
    pub loss: Option<f64>,
    pub mean_weight: f64,
    pub weight_sd: Option<f64>,
    pub weight_p10: Option<f64>,
    pub weight_p50: Option<f64>,
    pub weight_p90: Option<f64>,
    pub elapsed_s: f64,
}

impl SftRow {
    pub fn new(seed: u64, method: Method, p: &SftPoint) -> Self {
        let w = |f: fn(&WeightStats) -> f64| p.weights.as_ref().map(f);
        SftRow {
            seed,
            method: method.name(),
            step: p.step,
            greedy_accuracy: p.greedy,
            sampled_accuracy: p.sampled,
            mean_reward: p.reward,
            loss: (!p.loss.is_nan()).then_some(p.loss),
            mean_weight: p.mean_weight,
            weight_sd: w(|s| s.sd),
            weight_p10: w(|s| s.p10),
            weight_p50: w(|s| s.p50),
            weight_p90: w(|s| s.p90),
            elapsed_s: p.elapsed_s,
        }
    }
}

fn method_color(m: Method) -> RGBColor {
    match m {
        Method::Sft => RGBColor(120, 120, 120),
        Method::IwSft => RGBColor(214, 39, 40),
        Method::Rwr => RGBColor(31, 119, 180),
    }
}

/// Per-method means and 95% intervals over seeds of the final scores.
#[derive(Debug, serde::Serialize)]
pub struct SftSummary {
    pub method: Method,
    pub seeds: usize,
    pub greedy: (f64, f64),
    pub sampled: (f64, f64),
    /// Mean graded reward of the sampled held-out answers.
    pub reward: (f64, f64),
    pub ms_per_step: f64,
}

fn finals(runs: &[SeedRun], m: Method) -> Vec<&SftPoint> {
    runs.iter().flat_map(|r| r.methods.iter().filter(|x| x.method == m)).filter_map(|r| r.points.last()).collect()
}

pub fn summarize_sft(runs: &[SeedRun]) -> Vec<SftSummary> {
    Method::ALL
        .iter()
        .filter_map(|&m| {
            let mine: Vec<&MethodRun> = runs.iter().flat_map(|r| r.methods.iter().filter(|x| x.method == m)).collect();
            let last = finals(runs, m);
            if last.is_empty() {
                return None;
            }
            let stat = |f: fn(&SftPoint) -> f64| mean_ci(&last.iter().map(|p| f(p)).collect::<Vec<_>>());
            Some(SftSummary {
                method: m,
                seeds: last.len(),
                greedy: stat(|p| p.greedy),
                sampled: stat(|p| p.sampled),
                reward: stat(|p| p.reward),
                ms_per_step: mine.iter().map(|r| r.ms_per_step).sum::<f64>() / mine.len() as f64,
            })
        })
        .collect()
}

/// A method's final scores minus SFT's, paired by seed (same reference, same problems).
#[derive(Debug, serde::Serialize)]
pub struct SftPaired {
    pub method: Method,
    pub seeds: usize,
    pub greedy: (f64, f64),
    pub sampled: (f64, f64),
    pub reward: (f64, f64),
}

pub fn paired_vs_sft(runs: &[SeedRun]) -> Vec<SftPaired> {
    let final_of =
        |r: &SeedRun, m: Method| r.methods.iter().find(|x| x.method == m).and_then(|x| x.points.last().cloned());
    [Method::IwSft, Method::Rwr]
        .into_iter()
        .filter_map(|m| {
            let pairs: Vec<(SftPoint, SftPoint)> =
                runs.iter().filter_map(|r| Some((final_of(r, m)?, final_of(r, Method::Sft)?))).collect();
            let diff = |f: fn(&SftPoint) -> f64| mean_ci(&pairs.iter().map(|(a, b)| f(a) - f(b)).collect::<Vec<_>>());
            (!pairs.is_empty()).then(|| SftPaired {
                method: m,
                seeds: pairs.len(),
                greedy: diff(|p| p.greedy),
                sampled: diff(|p| p.sampled),
                reward: diff(|p| p.reward),
            })
        })
        .collect()
}

/// The plain answer: per method, ahead of SFT, behind it, or no difference,
/// from the paired 95% interval of the difference in sampled accuracy.
fn paired_sentence(p: &SftPaired) -> String {
    let (d, ci) = p.sampled;
    let name = p.method.name();
    if ci.is_nan() {
        return format!(
            "- {name} − sft, sampled accuracy: {d:+.3} over {} seed(s); no interval below {MIN_SEEDS_FOR_CI} seeds, so no verdict.",
            p.seeds
        );
    }
    let (lo, hi) = (d - ci, d + ci);
    let verdict = match paired_side(d, ci) {
        Ordering::Greater => format!("{name} is ahead of SFT by {:.1} points", 100.0 * d),
        Ordering::Less => format!("{name} is behind SFT by {:.1} points", -100.0 * d),
        Ordering::Equal => "no difference is shown".to_string(),
    };
    format!(
        "- {name} − sft, sampled accuracy, paired over {} seeds: {d:+.3} (95% interval {lo:+.3} to {hi:+.3}): {verdict}.",
        p.seeds
    )
}

/// Pooled over seeds, the histogram of the iw-SFT weights used before the
/// first evaluation and before the last one.
fn weight_windows(runs: &[SeedRun]) -> Option<(Vec<u64>, Vec<u64>, usize, usize)> {
    let mut first = vec![0u64; WEIGHT_BINS];
    let mut last = vec![0u64; WEIGHT_BINS];
    let (mut first_step, mut last_step) = (usize::MAX, 0);
    for r in runs {
        let Some(m) = r.methods.iter().find(|x| x.method == Method::IwSft) else { continue };
        let with: Vec<&SftPoint> = m.points.iter().filter(|p| p.weights.is_some()).collect();
        if let (Some(f), Some(l)) = (with.first(), with.last()) {
            for (acc, p) in [(&mut first, f), (&mut last, l)] {
                for (a, c) in acc.iter_mut().zip(&p.weights.as_ref()?.histogram) {
                    *a += c;
                }
            }
            first_step = first_step.min(f.step);
            last_step = last_step.max(l.step);
        }
    }
    (first.iter().sum::<u64>() > 0).then_some((first, last, first_step, last_step))
}

fn plot_weights(path: &Path, first: &[u64], last: &[u64], steps: (usize, usize)) -> Result<()> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    let share = |h: &[u64]| {
        let n = h.iter().sum::<u64>().max(1) as f64;
        h.iter().map(|&c| c as f64 / n).collect::<Vec<_>>()
    };
    let (f, l) = (share(first), share(last));
    let top = f.iter().chain(&l).copied().fold(0.0f64, f64::max).max(0.01) * 1.1;
    let root = BitMapBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("iw-SFT weights (pooled over seeds)", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..WEIGHT_BINS as f64 * WEIGHT_BIN, 0.0..top)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("weight (the last bin: 3 and above)")
        .y_desc("share of weights")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(plot_err)?;
    for (values, color, label, offset) in [
        (&f, RGBColor(120, 120, 120), format!("steps 1..{}", steps.0), 0.0),
        (&l, RGBColor(214, 39, 40), format!("last window, to step {}", steps.1), 0.5),
    ] {
        chart
            .draw_series(values.iter().enumerate().map(|(k, &v)| {
                let x0 = k as f64 * WEIGHT_BIN + offset * WEIGHT_BIN;
                Rectangle::new([(x0, 0.0), (x0 + 0.5 * WEIGHT_BIN, v)], color.mix(0.8).filled())
            }))
            .map_err(plot_err)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// `summary.json`, `accuracy_greedy.png`, `accuracy_sampled.png`, `reward.png`,
/// `iw_weights.png` (with iw-SFT), `report.md`.
pub fn write_sft(
    dir: &Path,
    cfg: &SftConfig,
    device: &str,
    runs: &[SeedRun],
) -> Result<(Vec<PathBuf>, Vec<SftSummary>)> {
    let summary = summarize_sft(runs);
    let paired = paired_vs_sft(runs);
    let interrupted = runs.iter().any(|r| r.interrupted);
    let reference = |f: fn(&SeedRun) -> f64| mean_ci(&runs.iter().map(f).collect::<Vec<_>>());
    let reference =
        (reference(|r| r.reference.greedy), reference(|r| r.reference.sampled), reference(|r| r.reference.reward));
    let weights_last: Vec<&WeightStats> =
        finals(runs, Method::IwSft).into_iter().filter_map(|p| p.weights.as_ref()).collect();
    let json = serde_json::json!({
        "scenario": "iw-sft",
        "device": device,
        "interrupted": interrupted,
        "config": cfg,
        "reference": {"greedy": reference.0, "sampled": reference.1, "reward": reference.2},
        "methods": summary,
        "paired_vs_sft": paired,
        "runs": runs,
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    let mut files = vec![dir.join("metrics.csv"), summary_path];
    for (name, pick, what, axis) in [
        (
            "accuracy_greedy.png",
            (|p: &SftPoint| p.greedy) as fn(&SftPoint) -> f64,
            "exact match, greedy",
            "exact-match accuracy",
        ),
        ("accuracy_sampled.png", |p: &SftPoint| p.sampled, "exact match, sampled at T = 1", "exact-match accuracy"),
        ("reward.png", |p: &SftPoint| p.reward, "graded reward, sampled at T = 1", "mean graded reward"),
    ] {
        let curves: Vec<Curve> = Method::ALL
            .iter()
            .filter_map(|&m| {
                let series: Vec<Vec<(f64, f64)>> = runs
                    .iter()
                    .flat_map(|r| r.methods.iter().filter(|x| x.method == m))
                    .map(|x| x.points.iter().map(|p| (p.step as f64, pick(p))).collect())
                    .collect();
                group_curve(m.name(), method_color(m), series)
            })
            .collect();
        let path = dir.join(name);
        plot_curves(
            &path,
            &format!("{}-digit addition, held out: {what}", cfg.task.digits),
            ("fine-tuning steps", axis),
            &curves,
            None,
            (0.0, 1.0),
        )?;
        files.push(path);
    }
    let windows = weight_windows(runs);
    if let Some((first, last, f, l)) = &windows {
        let path = dir.join("iw_weights.png");
        plot_weights(&path, first, last, (*f, *l))?;
        files.push(path);
    }
    let curated: Vec<f64> = runs.iter().map(|r| r.curated as f64 / r.curation_samples.max(1) as f64).collect();
    let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut md = format!("# SFT, iw-SFT and reward-weighted SFT ({device})\n\n");
    if interrupted {
        md += "**Interrupted**: the numbers below cover the steps done so far.\n\n";
    }
    let source = match &cfg.model_dir {
        Some(d) => format!("the GPT-2 checkpoint in `{}`", d.display()),
        None => format!(
            "a GPT ({} layers, {} heads, width {}) trained from scratch for {} steps on addition data where {:.0}% of \
             the answers are right (the others forget the carry or miss a digit by one)",
            cfg.gpt.n_layer,
            cfg.gpt.n_head,
            cfg.gpt.n_embd,
            cfg.pretrain_steps,
            cfg.pretrain_correct * 100.0
        ),
    };
    md += &format!(
        "Reference: {source}. Curation: {} sampled completions (T = 1) of training problems, each with a graded \
         reward (the share of answer digits right; mean {:.3}); the right ones kept for SFT and iw-SFT ({} of them, \
         {:.0}% on average). rwr fine-tunes on all of them, batches drawn by `adasample::reward::RewardWeightedSampler` \
         ({}, temperature {}). Fine-tuning: {} steps of batch {} at lr {}, SFT and iw-SFT on the same batches; \
         iw-SFT weights from `adasample::iw` ({:?} mode, {:?} direction, T = {}, label smoothing {}). Exact match and \
         mean graded reward on {} held-out problems; means over {} seed(s), with 95% t-intervals from {MIN_SEEDS_FOR_CI} \
         seeds.\n\n",
        runs.first().map_or(0, |r| r.curation_samples),
        mean_of(&runs.iter().map(|r| r.curation_reward).collect::<Vec<_>>()),
        runs.iter().map(|r| r.curated).sum::<usize>() / runs.len().max(1),
        100.0 * mean_of(&curated),
        if cfg.rwr.advantage { "AWR: normalised advantages, clipped at 20" } else { "RWR: exp((R - max R) / T)" },
        cfg.rwr.temperature,
        cfg.finetune_steps,
        cfg.batch,
        cfg.finetune_lr,
        cfg.iw.mode,
        cfg.iw.direction,
        cfg.iw.temperature,
        cfg.iw.epsilon,
        cfg.eval_problems,
        runs.len()
    );
    md += "| model | seeds | greedy accuracy | sampled accuracy | mean reward | ms per step |\n|---|---:|---:|---:|---:|---:|\n";
    let pre_ms = runs.iter().map(|r| r.pretrain_ms_per_step).sum::<f64>() / runs.len().max(1) as f64;
    md += &format!(
        "| reference | {} | {} | {} | {} | {:.1} (pre-training) |\n",
        runs.len(),
        fmt_ci(reference.0 .0, reference.0 .1, 3),
        fmt_ci(reference.1 .0, reference.1 .1, 3),
        fmt_ci(reference.2 .0, reference.2 .1, 3),
        pre_ms
    );
    for s in &summary {
        md += &format!(
            "| {} | {} | {} | {} | {} | {:.1} |\n",
            s.method.name(),
            s.seeds,
            fmt_ci(s.greedy.0, s.greedy.1, 3),
            fmt_ci(s.sampled.0, s.sampled.1, 3),
            fmt_ci(s.reward.0, s.reward.1, 3),
            s.ms_per_step
        );
    }
    // Same seed, same reference, same problems: the paired difference is the sharper comparison.
    for p in &paired {
        md += &format!(
            "| {} − sft (paired by seed) | {} | {} | {} | {} | |\n",
            p.method.name(),
            p.seeds,
            fmt_ci(p.greedy.0, p.greedy.1, 3),
            fmt_ci(p.sampled.0, p.sampled.1, 3),
            fmt_ci(p.reward.0, p.reward.1, 3)
        );
    }
    md += "\n";
    for p in &paired {
        md += &(paired_sentence(p) + "\n");
    }
    if !weights_last.is_empty() {
        let avg = |f: fn(&WeightStats) -> f64| mean_of(&weights_last.iter().map(|w| f(w)).collect::<Vec<_>>());
        md += &format!(
            "\niw-SFT weights over the last evaluation window (averaged over seeds): mean {:.3}, sd {:.3}, \
             10th/50th/90th percentiles {:.3} / {:.3} / {:.3}, range {:.3} to {:.3}. A spread near 0 makes iw-SFT \
             plain SFT with the step size scaled by the mean weight.\n",
            avg(|w| w.mean),
            avg(|w| w.sd),
            avg(|w| w.p10),
            avg(|w| w.p50),
            avg(|w| w.p90),
            avg(|w| w.min),
            avg(|w| w.max)
        );
    }
    md += "\n![greedy](accuracy_greedy.png)\n\n![sampled](accuracy_sampled.png)\n\n![reward](reward.png)\n\n";
    if windows.is_some() {
        md += "![iw-SFT weights](iw_weights.png)\n\n";
    }
    md += "Files: `metrics.csv` (every evaluation, with the iw-SFT weights' spread), `summary.json` (config, \
           per-seed curves with the weight histograms, paired differences), `reference-seed*/` (the first seed's \
           reference as a Hugging Face GPT-2 folder, when trained here).\n";
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    files.push(report_path);
    Ok((files, summary))
}

// ---------------------------------------------------------------- all

/// One scenario of `all`: its folder and headline table.
pub struct Section {
    pub title: &'static str,
    pub folder: &'static str,
    pub table: String,
}

/// The combined `report.md` and `summary.json` of `all`, linking each scenario's folder.
pub fn write_all(dir: &Path, quick: bool, device: &str, seconds: f64, sections: &[Section]) -> Result<Vec<PathBuf>> {
    let mut md = format!(
        "# adasample: the three scenarios{} ({device}, {:.0} s)\n\n\
         Replay, batch selection and weights come from the `adasample` core in each of them. \
         Each folder holds its own `report.md`, `metrics.csv`, `summary.json` and plots.\n\n",
        if quick { ", quick sizes" } else { "" },
        seconds
    );
    for s in sections {
        md += &format!("## {}\n\n{}\nDetails: [{}/report.md]({}/report.md)\n\n", s.title, s.table, s.folder, s.folder);
    }
    let run = ["dqn", "iw-sft", "classifier"];
    let missing: Vec<&str> = run.iter().copied().filter(|f| !sections.iter().any(|s| s.folder == *f)).collect();
    if !missing.is_empty() {
        md += &format!("**Interrupted**: not run: {}.\n", missing.join(", "));
    }
    if quick {
        md += "Quick sizes are small runs (short trainings); each table says what its seeds support. The \
               scenarios' own commands with more seeds and steps give the figures in `native-trainer/README.md`.\n";
    }
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    let json = serde_json::json!({
        "scenario": "all",
        "quick": quick,
        "device": device,
        "seconds": seconds,
        "folders": sections.iter().map(|s| s.folder).collect::<Vec<_>>(),
        "interrupted": !missing.is_empty(),
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    Ok(vec![summary_path, report_path])
}

// ---------------------------------------------------------------- cliffwalk

/// The Blind Cliffwalk's `metrics.csv` columns.
/// The cliffwalk's `metrics.csv` row: one per (memory, sampler).
#[derive(Debug, Default, Serialize)]
pub struct CliffRow {
    pub n: usize,
    pub seed: u64,
    pub transitions: usize,
    pub sampler: &'static str,
    pub updates: u64,
    pub learned: bool,
}

pub fn cliff_rows(p: &cliffwalk::Point) -> impl Iterator<Item = CliffRow> + '_ {
    p.runs.iter().map(|(s, o)| CliffRow {
        n: p.n,
        seed: p.seed,
        transitions: p.transitions,
        sampler: s.name(),
        updates: o.updates,
        learned: o.learned,
    })
}

/// Geometric mean and its 95% interval (a t-interval on the logs),
/// `(mean, lo, hi)`; the bounds are NaN below `MIN_SEEDS_FOR_CI` values.
pub fn geo_mean_ci(values: &[f64]) -> (f64, f64, f64) {
    let logs: Vec<f64> = values.iter().map(|v| v.max(1.0).ln()).collect();
    let (m, ci) = mean_ci(&logs);
    (m.exp(), (m - ci).exp(), (m + ci).exp())
}

/// One (n, sampler) cell of the experiment.
#[derive(Debug, serde::Serialize)]
pub struct CliffCell {
    pub n: usize,
    pub sampler: cliffwalk::CliffSampler,
    pub seeds: usize,
    pub learned: usize,
    /// Geometric mean of the updates to learn, with its 95% interval (null below 5 seeds).
    pub updates_geo_mean: f64,
    pub updates_ci95: (f64, f64),
    /// Uniform's updates over this sampler's, paired by seed (same memory): geometric mean and 95% interval.
    pub fewer_than_uniform: Option<(f64, f64, f64)>,
}

pub fn summarize_cliff(points: &[cliffwalk::Point], samplers: &[cliffwalk::CliffSampler]) -> Vec<CliffCell> {
    let mut ns: Vec<usize> = points.iter().map(|p| p.n).collect();
    ns.sort_unstable();
    ns.dedup();
    let mut cells = Vec::new();
    for &n in &ns {
        let mine: Vec<&cliffwalk::Point> = points.iter().filter(|p| p.n == n).collect();
        let outcome = |p: &cliffwalk::Point, s| p.runs.iter().find(|r| r.0 == s).map(|r| r.1);
        for &s in samplers {
            let runs: Vec<cliffwalk::Outcome> = mine.iter().filter_map(|p| outcome(p, s)).collect();
            if runs.is_empty() {
                continue;
            }
            let (g, lo, hi) = geo_mean_ci(&runs.iter().map(|o| o.updates as f64).collect::<Vec<_>>());
            let fewer = (s != cliffwalk::CliffSampler::Uniform)
                .then(|| {
                    let ratios: Vec<f64> = mine
                        .iter()
                        .filter_map(|p| {
                            let (u, o) = (outcome(p, cliffwalk::CliffSampler::Uniform)?, outcome(p, s)?);
                            Some(u.updates.max(1) as f64 / o.updates.max(1) as f64)
                        })
                        .collect();
                    (!ratios.is_empty()).then(|| geo_mean_ci(&ratios))
                })
                .flatten();
            cells.push(CliffCell {
                n,
                sampler: s,
                seeds: runs.len(),
                learned: runs.iter().filter(|o| o.learned).count(),
                updates_geo_mean: g,
                updates_ci95: (lo, hi),
                fewer_than_uniform: fewer,
            });
        }
    }
    cells
}

fn fmt_count(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `g (lo–hi)` or, below `MIN_SEEDS_FOR_CI`, `g`.
fn fmt_geo(g: f64, lo: f64, hi: f64, ratio: bool) -> String {
    let f = |x: f64| if ratio { format!("{x:.1}x") } else { fmt_count(x) };
    if lo.is_nan() || f(lo) == f(hi) {
        f(g)
    } else {
        format!("{} ({}–{})", f(g), f(lo), f(hi))
    }
}

/// Updates to learn vs chain length, log-log, one line per sampler with its 95% band.
pub fn plot_cliff(path: &Path, cells: &[CliffCell], samplers: &[cliffwalk::CliffSampler]) -> Result<()> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    let colors = |s: cliffwalk::CliffSampler| match s {
        cliffwalk::CliffSampler::Uniform => RGBColor(120, 120, 120),
        cliffwalk::CliffSampler::Per => RGBColor(214, 39, 40),
        cliffwalk::CliffSampler::Rank => RGBColor(31, 119, 180),
        cliffwalk::CliffSampler::Oracle => RGBColor(44, 160, 44),
    };
    let xs = cells.iter().map(|c| c.n as f64);
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, 1.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let ys: Vec<f64> = cells
        .iter()
        .flat_map(|c| [c.updates_geo_mean, c.updates_ci95.0, c.updates_ci95.1])
        .filter(|y| y.is_finite() && *y > 0.0)
        .collect();
    let y_lo = ys.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
    let y_hi = ys.iter().copied().fold(1.0f64, f64::max);
    let x_lo = if x_lo.is_finite() { x_lo } else { 1.0 };
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Blind Cliffwalk: updates until Q is learned", ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(x_lo - 0.3..x_hi + 0.3, (y_lo / 1.5..y_hi * 1.5).log_scale())
        .map_err(plot_err)?;
    // The memory grows as 2^n, so a linear n axis is already logarithmic in the memory's size.
    chart
        .configure_mesh()
        .x_labels((x_hi - x_lo) as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| fmt_count(*y))
        .x_desc("number of states n (the memory holds about 2^(n+1) transitions)")
        .y_desc("updates (geometric mean over seeds)")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(plot_err)?;
    for &s in samplers {
        let pts: Vec<&CliffCell> = cells.iter().filter(|c| c.sampler == s).collect();
        if pts.is_empty() {
            continue;
        }
        let color = colors(s);
        if pts.iter().all(|c| c.updates_ci95.0.is_finite()) {
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|c| (c.n as f64, c.updates_ci95.1))
                .chain(pts.iter().rev().map(|c| (c.n as f64, c.updates_ci95.0.max(1.0))))
                .collect();
            chart.draw_series([Polygon::new(band, color.mix(0.15).filled())]).map_err(plot_err)?;
        }
        chart
            .draw_series(LineSeries::new(pts.iter().map(|c| (c.n as f64, c.updates_geo_mean)), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(format!("{} ({} seeds)", s.name(), pts[0].seeds))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|c| Circle::new((c.n as f64, c.updates_geo_mean), 3, color.filled())))
            .map_err(plot_err)?;
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// `summary.json`, `updates.png` and `report.md`; returns the files and the
/// headline table with its plain sentence (for `all`'s report).
pub fn write_cliffwalk(
    dir: &Path,
    cfg: &cliffwalk::CliffConfig,
    points: &[cliffwalk::Point],
    seconds: f64,
    interrupted: bool,
) -> Result<(Vec<PathBuf>, String)> {
    use cliffwalk::CliffSampler;
    let cells = summarize_cliff(points, &cfg.samplers);
    let mut files = Vec::new();
    let json = serde_json::json!({
        "scenario": "cliffwalk",
        "config": cfg,
        "seconds": seconds,
        "interrupted": interrupted,
        "cells": cells,
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    files.push(summary_path);
    let png = dir.join("updates.png");
    plot_cliff(&png, &cells, &cfg.samplers)?;
    files.push(png);

    let mut ns: Vec<usize> = cells.iter().map(|c| c.n).collect();
    ns.dedup();
    let seeds = cells.first().map_or(0, |c| c.seeds);
    let with_ci = seeds >= MIN_SEEDS_FOR_CI;
    let mut header: Vec<String> = vec!["n".into(), "transitions".into()];
    header.extend(cfg.samplers.iter().map(|s| s.name().to_string()));
    header.extend(
        cfg.samplers.iter().filter(|&&s| s != CliffSampler::Uniform).map(|s| format!("uniform / {}", s.name())),
    );
    let rows = ns.iter().map(|&n| {
        let transitions: Vec<f64> = points.iter().filter(|p| p.n == n).map(|p| p.transitions as f64).collect();
        let mut row = vec![n.to_string(), fmt_count(geo_mean_ci(&transitions).0)];
        let mine: Vec<&CliffCell> = cells.iter().filter(|c| c.n == n).collect();
        for c in &mine {
            let not_all =
                if c.learned < c.seeds { format!(" ({}/{} learned)", c.learned, c.seeds) } else { String::new() };
            row.push(fmt_geo(c.updates_geo_mean, c.updates_ci95.0, c.updates_ci95.1, false) + &not_all);
        }
        for c in mine.iter().filter(|c| c.sampler != CliffSampler::Uniform) {
            row.push(c.fewer_than_uniform.map_or("n/a".into(), |(g, lo, hi)| fmt_geo(g, lo, hi, true)));
        }
        row
    });
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let table = md_table(&header_refs, rows);

    // The plain sentence: PER against uniform at the largest n.
    let mut plainly = String::new();
    if let Some(&n) = ns.last() {
        for s in [CliffSampler::Per, CliffSampler::Rank] {
            let Some(c) = cells.iter().find(|c| c.n == n && c.sampler == s) else { continue };
            let Some((g, lo, hi)) = c.fewer_than_uniform else { continue };
            let verdict = if !with_ci {
                format!("with {seeds} seed(s) there is no interval; run `--seeds 10` to know how certain this is")
            } else if lo > 1.0 {
                format!("95% interval {lo:.1}x to {hi:.1}x over {seeds} seeds paired by memory: it excludes 1, so at this size the direction is certain")
            } else if hi < 1.0 {
                format!("95% interval {lo:.1}x to {hi:.1}x over {seeds} seeds: uniform is certainly ahead here")
            } else {
                format!(
                    "95% interval {lo:.1}x to {hi:.1}x over {seeds} seeds: it includes 1, so no difference is shown"
                )
            };
            let name = if s == CliffSampler::Per { "Proportional PER" } else { "Rank PER" };
            plainly += &format!("- {name} needed {g:.1}x fewer updates than uniform at n = {n} ({verdict}).\n");
        }
        let unlearned: usize = cells.iter().map(|c| c.seeds - c.learned).sum();
        if unlearned > 0 {
            plainly += &format!(
                "- {unlearned} run(s) stopped at {} updates without learning: their counts are lower bounds.\n",
                fmt_count(cfg.max_updates as f64)
            );
        }
    }
    let summary_table = format!("{table}\n{plainly}");
    let md = format!(
        "# Blind Cliffwalk (Schaul et al. 2016, Figure 1){}\n\n\
         Tabular Q-learning (step size {}, gamma 1 - 1/n) replaying, one transition per update, from a memory of \
         every transition of 2^n random episodes, until the mean squared error to Q* is below {}. \
         Each cell is the geometric mean of the updates over {seeds} seeds{}; a seed fixes the memory, shared by \
         every sampler, so the ratios are paired. Proportional PER alpha {}, rank alpha 0.7, no IS correction \
         (beta 0), as in the paper. The oracle picks, with hindsight, the update that most lowers the error: a \
         bound, not a method. {:.1} s.\n\n{summary_table}\n![updates](updates.png)\n\n\
         Files: `metrics.csv` (every run), `summary.json` (config and every cell).\n",
        if interrupted { " (interrupted)" } else { "" },
        cfg.lr,
        cfg.threshold,
        if with_ci { ", with its 95% interval (t on the logs)" } else { " (no intervals below 5 seeds)" },
        cfg.alpha,
        seconds
    );
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    files.push(report_path);
    Ok((files, summary_table))
}
