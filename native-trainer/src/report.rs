//! A run folder: `metrics.csv` (appended and flushed at every evaluation, so
//! an interrupted run leaves a readable file), `summary.json`, PNG plots
//! (plotters, with a bundled font: no system fonts needed) and `report.md`.

use crate::dqn::{DqnConfig, EvalPoint, RunResult};
use crate::replay::Sampler;
use anyhow::{Context, Result};
use plotters::prelude::*;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `metrics.csv`, one row per evaluation of any run, shared by parallel runs.
pub struct Metrics {
    file: Mutex<File>,
}

impl Metrics {
    pub const HEADER: &'static str =
        "sampler,seed,env_step,eval_return_mean,eval_return_std,train_episodes,loss_mean,epsilon,beta,elapsed_s";

    pub fn create(dir: &Path) -> Result<Self> {
        let mut file = File::create(dir.join("metrics.csv")).context("creating metrics.csv")?;
        writeln!(file, "{}", Self::HEADER)?;
        Ok(Metrics { file: Mutex::new(file) })
    }

    pub fn row(&self, sampler: Sampler, seed: u64, p: &EvalPoint) {
        if let Ok(mut f) = self.file.lock() {
            // A failed write is reported once the run ends (summary.json still lands).
            let _ = writeln!(
                f,
                "{},{},{},{:.3},{:.3},{},{:.6},{:.4},{:.4},{:.2}",
                sampler.name(),
                seed,
                p.env_step,
                p.return_mean,
                p.return_std,
                p.train_episodes,
                p.loss_mean,
                p.epsilon,
                p.beta,
                p.elapsed_s
            );
            let _ = f.flush();
        }
    }
}

/// Two-sided 95% Student-t quantiles for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// Mean and half-width of the 95% confidence interval (t-distribution); the
/// half-width is NaN for fewer than two values.
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T95.get(n - 2).copied().unwrap_or(1.96);
    (mean, t * (var / n as f64).sqrt())
}

/// Per-sampler aggregate over seeds.
#[derive(Debug, serde::Serialize)]
pub struct SamplerSummary {
    pub sampler: Sampler,
    pub seeds: usize,
    pub final_return_mean: f64,
    pub final_return_ci95: f64,
    /// Runs whose evaluation reached the threshold.
    pub reached: usize,
    /// Over the runs that reached it.
    pub steps_to_threshold_mean: f64,
    pub steps_to_threshold_ci95: f64,
    pub steps_per_second_mean: f64,
}

/// The first evaluation step whose mean return reaches `threshold`.
pub fn steps_to(run: &RunResult, threshold: f64) -> Option<u64> {
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
            let reach: Vec<f64> = mine.iter().filter_map(|r| steps_to(r, threshold)).map(|x| x as f64).collect();
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
                steps_per_second_mean: mine.iter().map(|r| r.steps_per_second).sum::<f64>() / mine.len() as f64,
            })
        })
        .collect()
}

fn color(s: Sampler) -> RGBColor {
    match s {
        Sampler::Uniform => RGBColor(120, 120, 120),
        Sampler::Per => RGBColor(214, 39, 40),
        Sampler::Rank => RGBColor(31, 119, 180),
    }
}

/// Mean eval return vs env steps per sampler, with the 95% band over seeds.
pub fn plot_returns(path: &Path, title: &str, runs: &[RunResult], threshold: f64) -> Result<()> {
    // The bundled Ubuntu font: plots render the same on any machine.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    let max_step = runs.iter().flat_map(|r| r.evals.iter().map(|p| p.env_step)).max().unwrap_or(1).max(1);
    let all: Vec<f64> = runs.iter().flat_map(|r| r.evals.iter().map(|p| p.return_mean)).chain([threshold]).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(1.0);
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..max_step as f64, (lo - pad)..(hi + pad))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .x_desc("environment steps")
        .y_desc("evaluation return (greedy)")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new([(0.0, threshold), (max_step as f64, threshold)], BLACK.mix(0.4)))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .label(format!("threshold {threshold}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    for s in Sampler::ALL {
        let mine: Vec<&RunResult> = runs.iter().filter(|r| r.sampler == s && !r.evals.is_empty()).collect();
        if mine.is_empty() {
            continue;
        }
        // Points where every seed has an evaluation.
        let len = mine.iter().map(|r| r.evals.len()).min().unwrap_or(0);
        let pts: Vec<(f64, f64, f64)> = (0..len)
            .map(|k| {
                let vals: Vec<f64> = mine.iter().map(|r| r.evals[k].return_mean).collect();
                let (m, ci) = mean_ci(&vals);
                (mine[0].evals[k].env_step as f64, m, if ci.is_nan() { 0.0 } else { ci })
            })
            .collect();
        let c = color(s);
        let band: Vec<(f64, f64)> =
            pts.iter().map(|&(x, m, ci)| (x, m + ci)).chain(pts.iter().rev().map(|&(x, m, ci)| (x, m - ci))).collect();
        chart.draw_series([Polygon::new(band, c.mix(0.15).filled())]).map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|&(x, m, _)| (x, m)), c.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .label(format!("{} (n={})", s.name(), mine.len()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn fmt_ci(m: f64, ci: f64) -> String {
    if m.is_nan() {
        "n/a".into()
    } else if ci.is_nan() {
        format!("{m:.1}")
    } else {
        format!("{m:.1} ± {ci:.1}")
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
            "steps_to_threshold": steps_to(r, threshold),
            "final_return": r.evals.last().map(|p| p.return_mean),
            "best_return": r.evals.iter().map(|p| p.return_mean).fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v)))),
        })).collect::<Vec<_>>(),
    });
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)? + "\n")?;
    let plot_path = dir.join("returns.png");
    plot_returns(&plot_path, &format!("Double DQN on {}: replay samplers", cfg.env.name()), runs, threshold)?;

    let mut md = String::new();
    md += &format!("# DQN on {} ({})\n\n", cfg.env.name(), device);
    if interrupted {
        md += "**Interrupted**: the numbers below cover the steps done so far.\n\n";
    }
    md += &format!(
        "Double DQN, target network synced every {} steps, {} training steps per run, replay through `adasample` \
         (uniform = alpha 0; PER alpha 0.6, beta 0.4 -> 1; rank alpha 0.7, beta 0.5 -> 1), IS weights on the Huber loss. \
         Greedy evaluation ({} episodes) every {} steps. Means over seeds with 95% t-intervals.\n\n",
        cfg.target_every, cfg.steps, cfg.eval_episodes, cfg.eval_every
    );
    md += &format!("| sampler | seeds | final eval return | reached {threshold} | env steps to reach it | env steps/s |\n|---|---:|---:|---:|---:|---:|\n");
    for s in &summary {
        md += &format!(
            "| {} | {} | {} | {}/{} | {} | {:.0} |\n",
            s.sampler.name(),
            s.seeds,
            fmt_ci(s.final_return_mean, s.final_return_ci95),
            s.reached,
            s.seeds,
            fmt_ci(s.steps_to_threshold_mean, s.steps_to_threshold_ci95),
            s.steps_per_second_mean
        );
    }
    md += "\n![returns](returns.png)\n\nFiles: `metrics.csv` (every evaluation), `summary.json` (config, per-run and per-sampler results).\n";
    let report_path = dir.join("report.md");
    std::fs::write(&report_path, md)?;
    Ok(vec![dir.join("metrics.csv"), summary_path, plot_path, report_path])
}
