//! The adaptive-sampling classifier (the seed's third example): an MLP whose
//! batches come from `adasample`'s `AdaptiveBatchSampler`. Each step draws
//! indices and importance weights from the core, trains on the IS-weighted
//! cross-entropy, and feeds the per-example losses back with `update_weights`.
//! The six samplers differ only in their core config; "uniform" is the same
//! sampler with a uniform floor of 1 (every probability 1/N, every weight 1),
//! "class-balanced" the same with the prior `q_i = min class size / size of
//! i's class` (every class an equal share, every weight 1, no loss feedback:
//! PyTorch's `WeightedRandomSampler` with class weights), and
//! "balanced-adaptive" the EMA sampler over that prior, its importance
//! weights correcting toward the balanced objective.

use crate::datasets::{Split, Table};
use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode, WeightTarget};
use adasample::storage::Heap;
use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// How batches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClsSampler {
    /// Uniform with replacement (the baseline).
    Uniform,
    /// The seed's sampler: EMA of losses, `P ∝ s`, IS weights.
    Adaptive,
    /// Multiplicative AdaBoost-style scores, IS weights.
    Adaboost,
    /// Online hard example mining: top-B losses of a uniform pool of 4B.
    Ohem,
    /// Each class an equal share (prior 1 / class size), no loss feedback.
    ClassBalanced,
    /// The class-balanced prior times EMA loss scores, weights toward the balanced objective.
    BalancedAdaptive,
}

impl ClsSampler {
    pub const ALL: [ClsSampler; 6] = [
        ClsSampler::Uniform,
        ClsSampler::Adaptive,
        ClsSampler::Adaboost,
        ClsSampler::Ohem,
        ClsSampler::ClassBalanced,
        ClsSampler::BalancedAdaptive,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClsSampler::Uniform => "uniform",
            ClsSampler::Adaptive => "adaptive",
            ClsSampler::Adaboost => "adaboost",
            ClsSampler::Ohem => "ohem",
            ClsSampler::ClassBalanced => "class-balanced",
            ClsSampler::BalancedAdaptive => "balanced-adaptive",
        }
    }

    /// Whether batches follow the class-balanced prior.
    pub fn balanced(self) -> bool {
        matches!(self, ClsSampler::ClassBalanced | ClsSampler::BalancedAdaptive)
    }

    /// Whether the sampler is fed the batch losses.
    pub fn feedback(self) -> bool {
        !matches!(self, ClsSampler::Uniform | ClsSampler::ClassBalanced)
    }

    /// The core config for a dataset of `n` examples; `learning_rate` moves the
    /// scores (EMA step, or AdaBoost's exponent).
    pub fn config(self, n: usize, learning_rate: f64, seed: u64) -> AdaptiveConfig {
        let base = AdaptiveConfig { seed, ..AdaptiveConfig::new(n, learning_rate) };
        match self {
            ClsSampler::Uniform => AdaptiveConfig { uniform_floor: 1.0, ..base },
            ClsSampler::Adaptive => base,
            ClsSampler::Adaboost => AdaptiveConfig { mode: AdaptiveMode::AdaBoost, ..base },
            ClsSampler::Ohem => AdaptiveConfig { mode: AdaptiveMode::Ohem, ..base },
            ClsSampler::ClassBalanced => AdaptiveConfig { uniform_floor: 1.0, target: WeightTarget::Prior, ..base },
            ClsSampler::BalancedAdaptive => AdaptiveConfig { target: WeightTarget::Prior, ..base },
        }
    }
}

/// Training settings (an epoch is `ceil(N / batch)` steps).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClsConfig {
    pub epochs: usize,
    pub batch: usize,
    pub hidden: i64,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// The sampler's score step.
    pub sampler_learning_rate: f64,
}

impl Default for ClsConfig {
    fn default() -> Self {
        ClsConfig {
            epochs: 60,
            batch: 64,
            hidden: 64,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            sampler_learning_rate: 0.3,
        }
    }
}

/// Test-set scores after one epoch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_f1: f64,
    /// Per class; NaN for a class absent from the test set.
    pub recall: Vec<f64>,
    /// The epoch's drawn global indices, digested ([`draw_digest`] summed
    /// over its batches): equal digests, equal draws, however many ranks.
    pub draws_digest: String,
    pub elapsed_s: f64,
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClsRun {
    pub sampler: ClsSampler,
    pub seed: u64,
    pub epochs: Vec<EpochPoint>,
    /// `confusion[true][predicted]` on the test set after the last epoch.
    pub confusion: Vec<Vec<u64>>,
    pub steps_per_second: f64,
    pub interrupted: bool,
}

/// Accuracy, balanced accuracy (mean recall over classes present in the test
/// set), macro-F1 (over the same classes; F1 is 0 for a class never predicted
/// right) and per-class recall, from `confusion[true][predicted]`.
pub fn scores(confusion: &[Vec<u64>]) -> (f64, f64, f64, Vec<f64>) {
    let k = confusion.len();
    let total: u64 = confusion.iter().flatten().sum();
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
    let mut recall = vec![f64::NAN; k];
    let (mut f1_sum, mut present) = (0.0, 0usize);
    for c in 0..k {
        let support: u64 = confusion[c].iter().sum();
        if support == 0 {
            continue;
        }
        let predicted: u64 = (0..k).map(|r| confusion[r][c]).sum();
        let tp = confusion[c][c] as f64;
        recall[c] = tp / support as f64;
        f1_sum += if tp > 0.0 { 2.0 * tp / (support + predicted) as f64 } else { 0.0 };
        present += 1;
    }
    let balanced = recall.iter().filter(|r| !r.is_nan()).sum::<f64>() / present.max(1) as f64;
    (correct as f64 / total.max(1) as f64, balanced, f1_sum / present.max(1) as f64, recall)
}

fn tensors(t: &Table, device: Device) -> (Tensor, Tensor) {
    let x = Tensor::from_slice(&t.features).view([t.len() as i64, t.dim as i64]).to(device);
    (x, Tensor::from_slice(&t.labels).to(device))
}

/// The class-balanced prior of each example: the smallest class size over
/// its class's size, in (0, 1] (absent classes do not count).
pub fn class_prior(labels: &[i64], classes: usize) -> Vec<f64> {
    let mut size = vec![0usize; classes];
    for &l in labels {
        size[l as usize] += 1;
    }
    let smallest = size.iter().copied().filter(|&c| c > 0).min().unwrap_or(1) as f64;
    labels.iter().map(|&l| smallest / size[l as usize] as f64).collect()
}

/// The core sampler a run of `seed` draws its batches from, over the
/// training `labels`.
pub fn batch_sampler(
    cfg: &ClsConfig,
    sampler: ClsSampler,
    labels: &[i64],
    classes: usize,
    seed: u64,
) -> Result<AdaptiveBatchSampler<Heap>> {
    let config = sampler.config(labels.len(), cfg.sampler_learning_rate, seed ^ 0xC1A5);
    Ok(if sampler.balanced() {
        AdaptiveBatchSampler::with_prior(config, &class_prior(labels, classes))?
    } else {
        AdaptiveBatchSampler::new(config)?
    })
}

/// Where a run's batches come from: one core sampler over the whole
/// training set, or (feature `mpi`, `crate::distributed`) this rank's
/// part of a global batch drawn exactly over every rank's shard.
pub trait Batches {
    /// The next batch's draws held here: indices into this process's
    /// training rows and their importance weights.
    fn sample(&mut self, batch: usize) -> Result<(Vec<usize>, Vec<f64>)>;
    /// Feeds back the per-example losses of those draws.
    fn update(&mut self, indices: &[usize], losses: &[f64]) -> Result<()>;
    /// The global batch's gradients and loss from this process's part of
    /// them (an all-reduce over ranks; nothing to do in one process).
    fn reduce(&mut self, _vs: &nn::VarStore, loss: f64) -> Result<f64> {
        Ok(loss)
    }
    /// Whether to stop (Ctrl-C here or, over ranks, on any rank).
    fn stop(&mut self, local: bool) -> Result<bool> {
        Ok(local)
    }
    /// Whether this process evaluates, reports and writes files.
    fn reports(&self) -> bool {
        true
    }
    /// A digest of the global indices of the last batch, the same for the
    /// same draws however they are split over ranks.
    fn digest(&self) -> u64;
    /// After the last step: a failure not yet reported (over ranks, on every rank).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The digest of draw `j` of a batch landing on global example `i`:
/// summed (wrapping) over a batch, in any order or split.
pub fn draw_digest(j: usize, i: usize) -> u64 {
    // SplitMix64's finaliser: every bit of (j, i) moves every output bit.
    let mut z = ((j as u64) << 32 ^ i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One process's sampler over the whole training set.
pub struct Local {
    sampler: AdaptiveBatchSampler<Heap>,
    digest: u64,
}

impl Local {
    pub fn new(sampler: AdaptiveBatchSampler<Heap>) -> Self {
        Local { sampler, digest: 0 }
    }
}

impl Batches for Local {
    fn sample(&mut self, batch: usize) -> Result<(Vec<usize>, Vec<f64>)> {
        let (idx, w) = self.sampler.sample(batch)?;
        self.digest = idx.iter().enumerate().fold(0u64, |d, (j, &i)| d.wrapping_add(draw_digest(j, i)));
        Ok((idx, w))
    }

    fn update(&mut self, indices: &[usize], losses: &[f64]) -> Result<()> {
        Ok(self.sampler.update_weights(indices, losses)?)
    }

    fn digest(&self) -> u64 {
        self.digest
    }
}

/// What one run is: its settings, data, sampler, seed and device.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub cfg: &'a ClsConfig,
    pub split: &'a Split,
    pub sampler: ClsSampler,
    pub seed: u64,
    pub device: Device,
}

/// One training run; `on_epoch` sees every epoch's scores as they come, `stop`
/// ends it early (Ctrl-C) keeping what was done.
pub fn run(job: Job<'_>, stop: &AtomicBool, on_epoch: impl FnMut(&EpochPoint)) -> Result<ClsRun> {
    let labels = &job.split.train.labels;
    let mut batches = Local::new(batch_sampler(job.cfg, job.sampler, labels, job.split.classes(), job.seed)?);
    train(job, &job.split.train, &mut batches, stop, on_epoch)
}

/// The training loop over `rows` (the whole training set, or this rank's
/// shard of it) with batches from `batches`; the test set is the job's.
/// The loss is the IS-weighted cross-entropy summed over the draws held
/// here over the global batch size, so that the ranks' parts add up to the
/// one-process loss.
pub fn train(
    job: Job<'_>,
    rows: &Table,
    batches: &mut dyn Batches,
    stop: &AtomicBool,
    mut on_epoch: impl FnMut(&EpochPoint),
) -> Result<ClsRun> {
    let Job { cfg, split, sampler, seed, device } = job;
    let k = split.classes();
    let n = split.train.len();
    let (x, y) = tensors(rows, device);
    let (x_test, y_test) = tensors(&split.test, device);
    let vs = nn::VarStore::new(device);
    let net = crate::layers::seeded(seed, || {
        crate::layers::mlp(&vs.root(), split.train.dim as i64, &[cfg.hidden, cfg.hidden], k as i64)
    });
    let mut opt = nn::AdamW { wd: cfg.weight_decay, ..Default::default() }.build(&vs, cfg.learning_rate)?;
    let steps_per_epoch = n.div_ceil(cfg.batch);
    let start = Instant::now();
    let (mut epochs, mut steps, mut confusion) = (Vec::new(), 0u64, vec![vec![0u64; k]; k]);
    for epoch in 1..=cfg.epochs {
        if batches.stop(stop.load(Ordering::Relaxed))? {
            break;
        }
        let (mut loss_sum, mut digest) = (0.0, 0u64);
        for _ in 0..steps_per_epoch {
            let (idx, w) = batches.sample(cfg.batch)?;
            digest = digest.wrapping_add(batches.digest());
            let idx_t = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>()).to(device);
            let w_t = Tensor::from_slice(&w).to_kind(Kind::Float).to(device);
            let ce = net.forward(&x.index_select(0, &idx_t)).cross_entropy_loss::<Tensor>(
                &y.index_select(0, &idx_t),
                None,
                tch::Reduction::None,
                -100,
                0.0,
            );
            let loss = (&ce * &w_t).sum(Kind::Float) / cfg.batch as f64;
            opt.zero_grad();
            loss.backward();
            loss_sum += batches.reduce(&vs, loss.double_value(&[]))?;
            opt.step();
            if sampler.feedback() {
                let losses: Vec<f64> =
                    Vec::<f32>::try_from(ce.detach().to(Device::Cpu))?.into_iter().map(f64::from).collect();
                batches.update(&idx, &losses)?;
            }
            steps += 1;
        }
        if !batches.reports() {
            continue;
        }
        let predicted = tch::no_grad(|| net.forward(&x_test).argmax(1, false)).to(Device::Cpu);
        let (truth, predicted) = (Vec::<i64>::try_from(y_test.to(Device::Cpu))?, Vec::<i64>::try_from(predicted)?);
        confusion = vec![vec![0u64; k]; k];
        for (&t, &p) in truth.iter().zip(&predicted) {
            confusion[t as usize][p as usize] += 1;
        }
        let (accuracy, balanced_accuracy, macro_f1, recall) = scores(&confusion);
        let point = EpochPoint {
            epoch,
            train_loss: loss_sum / steps_per_epoch as f64,
            accuracy,
            balanced_accuracy,
            macro_f1,
            recall,
            draws_digest: format!("{digest:016x}"),
            elapsed_s: start.elapsed().as_secs_f64(),
        };
        on_epoch(&point);
        epochs.push(point);
    }
    batches.finish()?;
    Ok(ClsRun {
        sampler,
        seed,
        interrupted: steps < (steps_per_epoch * cfg.epochs) as u64,
        epochs,
        confusion,
        steps_per_second: steps as f64 / start.elapsed().as_secs_f64().max(1e-9),
    })
}

impl crate::runner::Named for ClsSampler {
    fn name(self) -> &'static str {
        ClsSampler::name(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_a_hand_computed_matrix() {
        // truth 0: 8 right, 2 as 1; truth 1: 1 as 0, 4 right; class 2 absent.
        let m = vec![vec![8, 2, 0], vec![1, 4, 0], vec![0, 0, 0]];
        let (acc, bal, f1, rec) = scores(&m);
        assert!((acc - 12.0 / 15.0).abs() < 1e-12);
        assert!((bal - (0.8 + 0.8) / 2.0).abs() < 1e-12);
        let f1_0 = 2.0 * 8.0 / (10.0 + 9.0);
        let f1_1 = 2.0 * 4.0 / (5.0 + 6.0);
        assert!((f1 - (f1_0 + f1_1) / 2.0).abs() < 1e-12);
        assert!(rec[2].is_nan());
    }
}
