//! `mpi-check`: the checks of exact global sampling under `mpirun` (feature
//! `mpi`), run by `make test-mpi`.
//!
//! - Equality: K ranks of `m` slots each (K a power of two, `m` too) draw,
//!   step after step with updates in between, exactly what one buffer
//!   holding the concatenation draws with the same seed: slots,
//!   probabilities and weights bit for bit, for proportional PER and for
//!   the EMA and AdaBoost loss samplers. Rank 0 holds the one-buffer reference.
//! - Chi-square: unequal shards; the drawn frequencies against the global
//!   probabilities (false-alarm rate 1e-4 per test, fixed seeds).
//! - Faults: a NaN priority or an empty shard on one rank is the same typed
//!   error on every rank, not a hang.

use crate::distributed::{self, Group};
use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode, WeightTarget};
use adasample::per::{PerConfig, PrioritizedSelector};
use adasample::select::{Draw, Key};
use adasample::shard::{global_weight, AdaptivePlan, AdaptivePoint, ShardDraw, ShardPlan, ShardPoint};
use adasample::storage::Heap;
use adasample::DefaultRng;
use anyhow::{anyhow, bail, ensure, Result};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// What to break on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    None,
    /// One rank feeds a NaN priority back at step 3.
    NanPriority,
    /// One rank holds no examples.
    EmptyShard,
}

/// The sizes of a check.
#[derive(Debug, Clone, Copy)]
pub struct CheckConfig {
    pub slots: usize,
    pub batch: usize,
    pub steps: usize,
    pub seed: u64,
    pub fault: Fault,
    pub fault_rank: usize,
}

/// A number in [0, 1) from (a, b): SplitMix64 of both.
fn unit(a: u64, b: u64) -> f64 {
    (crate::classifier::draw_digest(a as usize, b as usize) >> 11) as f64 / (1u64 << 53) as f64
}

/// The raw priority of global slot `i` at step `t` (0: the initial one),
/// spread over many orders of magnitude, with exact zeros and extremes.
fn priority(seed: u64, t: usize, i: usize) -> f64 {
    let u = unit(seed ^ (t as u64) << 20, i as u64);
    match (u * 64.0) as u32 {
        0 => 0.0,
        1 => 5e-324,
        2 => 1e290,
        _ => 10f64.powf(-30.0 + 60.0 * u),
    }
}

/// A loss of global example `i` at step `t`: in [0, 10], some exactly 0.
fn loss(seed: u64, t: usize, i: usize) -> f64 {
    let u = unit(seed ^ 0x1055 ^ (t as u64) << 24, i as u64);
    if u < 0.05 {
        0.0
    } else {
        10.0 * u
    }
}

fn bits(x: f64) -> u64 {
    x.to_bits()
}

/// Runs every check; prints each result on rank 0. Errors (a mismatch or
/// an injected fault) on every rank.
pub fn run(group: &Group, c: &CheckConfig) -> Result<()> {
    let k = group.size();
    if c.fault == Fault::None {
        ensure!(
            k.is_power_of_two() && c.slots.is_power_of_two(),
            "the equality checks need a power-of-two rank count and --slots (got {k} and {})",
            c.slots
        );
    }
    per_equal(group, c)?;
    for (mode, prior) in [(AdaptiveMode::Ema, false), (AdaptiveMode::AdaBoost, false), (AdaptiveMode::Ema, true)] {
        adaptive_equal(group, c, mode, prior)?;
    }
    if c.fault == Fault::None {
        per_chi_square(group, c)?;
        adaptive_chi_square(group, c)?;
    }
    Ok(())
}

/// Proportional PER: alpha 1 and epsilon 0, so the shards and the reference
/// store the very same priorities.
fn per_config(capacity: usize, seed: u64, steps: usize) -> PerConfig {
    PerConfig { alpha: 1.0, epsilon: 0.0, seed, beta_steps: steps as u64, ..PerConfig::new(capacity) }
}

fn per_equal(group: &Group, c: &CheckConfig) -> Result<()> {
    let (k, m, b) = (group.size(), c.slots, c.batch);
    let offset = group.rank() * m;
    let config = per_config(m, c.seed, c.steps);
    let mut shard: PrioritizedSelector<Heap> = PrioritizedSelector::new(config)?;
    for i in 0..m {
        shard.insert(Some(priority(c.seed, 0, offset + i)))?;
    }
    let mut one = if group.is_root() {
        let mut one: PrioritizedSelector<Heap> = PrioritizedSelector::new(per_config(k * m, c.seed, c.steps))?;
        for i in 0..k * m {
            one.insert(Some(priority(c.seed, 0, i)))?;
        }
        Some(one)
    } else {
        None
    };
    let (mut rng, mut rng_one) = (DefaultRng::new(c.seed), DefaultRng::new(c.seed));
    let mut points = vec![ShardPoint::default(); b];
    let mut pending: Result<()> = Ok(());
    for step in 0..c.steps {
        // The exchange: every shard's total and smallest priority.
        let mine = [shard.total_priority(), shard.min_priority().unwrap_or(f64::INFINITY)];
        group.agree(std::mem::replace(&mut pending, Ok(())))?;
        let all = group.gather(&mine);
        let totals: Vec<f64> = all.chunks(2).map(|v| v[0]).collect();
        let p_min = all.chunks(2).map(|v| v[1]).fold(f64::INFINITY, f64::min);
        let plan: ShardPlan<Heap> = ShardPlan::new(&totals)?;
        plan.draw(&mut rng, &mut points)?;
        let beta = config.beta_schedule().value(step as u64);
        // Each draw in its place j, zeros elsewhere: the sum over ranks is exact.
        let mut record = vec![0.0; 3 * b];
        let mut local: Vec<Key> = Vec::new();
        for (j, pt) in points.iter().enumerate().filter(|(_, pt)| pt.shard == group.rank()) {
            let (key, p) = shard.resolve(pt.residual)?;
            record[3 * j] = (offset + key.slot as usize) as f64;
            record[3 * j + 1] = p / plan.total();
            record[3 * j + 2] = global_weight(p_min, p, beta);
            local.push(key);
        }
        group.sum_to_root(&mut record);
        if let Some(one) = one.as_mut() {
            let mut draws = vec![Draw::default(); b];
            one.sample_with(&mut rng_one, &mut draws)?;
            for (j, d) in draws.iter().enumerate() {
                let got = (record[3 * j] as u32, bits(record[3 * j + 1]), bits(record[3 * j + 2]));
                let want = (d.key.slot, bits(d.probability), bits(d.weight));
                ensure!(got == want, "per: step {step} draw {j}: shards {got:?}, one buffer {want:?}");
            }
            let td: Vec<f64> = draws.iter().map(|d| priority(c.seed, step + 1, d.key.slot as usize)).collect();
            let keys: Vec<Key> = draws.iter().map(|d| d.key).collect();
            one.update_priorities(&keys, &td)?;
        }
        let mut td: Vec<f64> = local.iter().map(|key| priority(c.seed, step + 1, offset + key.slot as usize)).collect();
        if c.fault == Fault::NanPriority && group.rank() == c.fault_rank && step == 3 && !td.is_empty() {
            td[0] = f64::NAN;
        }
        pending = shard.update_priorities(&local, &td).map(drop).map_err(|e| anyhow!("per update: {e}"));
    }
    group.agree(pending)?;
    if group.is_root() {
        println!(
            "per equality: {} steps x {b} draws over {k} shards of {m} slots: identical to one buffer (slots, probabilities, weights)",
            c.steps
        );
    }
    Ok(())
}

fn adaptive_config(n: usize, mode: AdaptiveMode, seed: u64) -> AdaptiveConfig {
    AdaptiveConfig { mode, seed, ..AdaptiveConfig::new(n, 0.3) }
}

/// A loss sampler over examples `offset..offset + n`: with `prior`, a
/// class-balanced one (classes of 1 in 8 and 7 in 8 of the examples) and
/// weights toward it.
fn adaptive_sampler(
    n: usize,
    offset: usize,
    mode: AdaptiveMode,
    prior: bool,
    seed: u64,
) -> Result<AdaptiveBatchSampler<Heap>> {
    if !prior {
        return Ok(AdaptiveBatchSampler::new(adaptive_config(n, mode, seed))?);
    }
    let q: Vec<f64> = (offset..offset + n).map(|i| if i % 8 == 0 { 1.0 } else { 1.0 / 7.0 }).collect();
    let config = AdaptiveConfig { target: WeightTarget::Prior, ..adaptive_config(n, mode, seed) };
    Ok(AdaptiveBatchSampler::with_prior(config, &q)?)
}

fn adaptive_equal(group: &Group, c: &CheckConfig, mode: AdaptiveMode, prior: bool) -> Result<()> {
    let (k, m, b) = (group.size(), c.slots, c.batch);
    let offset = group.rank() * m;
    let own = if c.fault == Fault::EmptyShard && group.rank() == c.fault_rank { 0 } else { m };
    let made = adaptive_sampler(own, offset, mode, prior, c.seed).map_err(|e| anyhow!("shard of {own} examples: {e}"));
    let mut batches = distributed::ShardBatches::new(group, made, offset, c.seed)?;
    let mut one = if group.is_root() { Some(adaptive_sampler(k * m, 0, mode, prior, c.seed)?) } else { None };
    for step in 0..c.steps {
        let mine = batches.draw(b)?;
        let mut record = vec![0.0; 2 * b];
        for &(j, i, w) in &mine {
            record[2 * j] = (offset + i) as f64;
            record[2 * j + 1] = w;
        }
        group.sum_to_root(&mut record);
        if let Some(one) = one.as_mut() {
            let (idx, w) = one.sample(b)?;
            for j in 0..b {
                let got = (record[2 * j] as usize, bits(record[2 * j + 1]));
                ensure!(
                    got == (idx[j], bits(w[j])),
                    "{mode:?}: step {step} draw {j}: shards {got:?}, one sampler {:?}",
                    (idx[j], bits(w[j]))
                );
            }
            let losses: Vec<f64> = idx.iter().map(|&i| loss(c.seed, step, i)).collect();
            one.update_weights(&idx, &losses)?;
        }
        let local: Vec<usize> = mine.iter().map(|d| d.1).collect();
        let losses: Vec<f64> = local.iter().map(|&i| loss(c.seed, step, offset + i)).collect();
        crate::classifier::Batches::update(&mut batches, &local, &losses)?;
    }
    crate::classifier::Batches::finish(&mut batches)?;
    if group.is_root() {
        let what = if prior { " with a class-balanced prior" } else { "" };
        println!(
            "adaptive ({mode:?}{what}) equality: {} steps x {b} draws over {k} shards of {m} examples: identical to one sampler (indices, weights)",
            c.steps
        );
    }
    Ok(())
}

/// Pearson's statistic of `counts` against `expected` probabilities over
/// `draws`, pooling cells expected below 5; its p-value.
fn chi_square(counts: &[f64], expected: &[f64], draws: f64) -> Result<(f64, f64, usize)> {
    let (mut stat, mut cells, mut pool_o, mut pool_e) = (0.0, 0usize, 0.0, 0.0);
    for (&o, &p) in counts.iter().zip(expected) {
        let e = p * draws;
        if e < 5.0 {
            pool_o += o;
            pool_e += e;
            continue;
        }
        stat += (o - e).powi(2) / e;
        cells += 1;
    }
    if pool_e > 0.0 {
        stat += (pool_o - pool_e).powi(2) / pool_e.max(1e-300);
        cells += 1;
    }
    let dist = ChiSquared::new((cells.max(2) - 1) as f64).map_err(|e| anyhow!("{e}"))?;
    Ok((stat, 1.0 - dist.cdf(stat), cells))
}

/// The unequal layout: shard r holds 40 + 37 r examples (40, 77, 114, ...).
struct Layout {
    sizes: Vec<usize>,
    /// All of them.
    n: usize,
    /// This rank's first global index and its count.
    offset: usize,
    m: usize,
}

impl Layout {
    fn unequal(group: &Group) -> Self {
        let sizes: Vec<usize> = (0..group.size()).map(|r| 40 + 37 * r).collect();
        let offset = sizes[..group.rank()].iter().sum();
        Layout { n: sizes.iter().sum(), offset, m: sizes[group.rank()], sizes }
    }
}

const ALARM: f64 = 1e-4;
const ROUNDS: usize = 400;

fn per_chi_square(group: &Group, c: &CheckConfig) -> Result<()> {
    let b = c.batch;
    let Layout { sizes, n, offset, m } = Layout::unequal(group);
    let mut shard: PrioritizedSelector<Heap> = PrioritizedSelector::new(per_config(m, c.seed, 1))?;
    for i in 0..m {
        // Moderate priorities: every cell is expected often enough to test.
        shard.insert(Some(0.5 + unit(c.seed, (offset + i) as u64)))?;
    }
    let totals = group.gather(&[shard.total_priority()]);
    let plan: ShardPlan<Heap> = ShardPlan::new(&totals)?;
    let mut rng = DefaultRng::new(c.seed ^ 0xC415);
    let mut point = [ShardPoint::default()];
    let (mut counts, mut local_counts) = (vec![0.0; n], vec![0.0; n]);
    // Batches of one: independent draws, so Pearson's statistic has its
    // chi-square law (stratified batches vary less, and would pass anything
    // too easily).
    for _ in 0..ROUNDS * b {
        plan.draw(&mut rng, &mut point)?;
        if point[0].shard == group.rank() {
            counts[offset + shard.resolve(point[0].residual)?.0.slot as usize] += 1.0;
        }
    }
    // The control: each shard sampled on its own for an equal share of the
    // draws (what sharded tables do), which the test must reject.
    let mut local_rng = DefaultRng::new(c.seed ^ 0xC415 ^ group.rank() as u64);
    let mut draw = [Draw::default()];
    for _ in 0..ROUNDS * b / group.size() {
        shard.sample_with(&mut local_rng, &mut draw)?;
        local_counts[offset + draw[0].key.slot as usize] += 1.0;
    }
    let mut expected = vec![0.0; n];
    for i in 0..m {
        expected[offset + i] = shard.raw_priorities()[i] / plan.total();
    }
    group.sum_to_root(&mut counts);
    group.sum_to_root(&mut local_counts);
    group.sum_to_root(&mut expected);
    if group.is_root() {
        let draws = (ROUNDS * b) as f64;
        let (stat, p, cells) = chi_square(&counts, &expected, draws)?;
        let (control, p_control, _) =
            chi_square(&local_counts, &expected, (ROUNDS * b / group.size() * group.size()) as f64)?;
        println!(
            "per chi-square over shards {sizes:?}, {draws} draws: {stat:.1} on {} df, p = {p:.3} (control, each shard sampled alone: {control:.1}, p = {p_control:.1e})",
            cells - 1
        );
        if p < ALARM {
            bail!("per over unequal shards: frequencies off the global probabilities (p = {p:.2e})");
        }
        if group.size() > 1 && p_control >= ALARM {
            bail!(
                "per chi-square: the per-shard control was not rejected (p = {p_control:.2e}): the test has no power"
            );
        }
    }
    Ok(())
}

fn adaptive_chi_square(group: &Group, c: &CheckConfig) -> Result<()> {
    let b = c.batch;
    let Layout { sizes, n, offset, m } = Layout::unequal(group);
    let mut s = AdaptiveBatchSampler::<Heap>::new(adaptive_config(m, AdaptiveMode::Ema, c.seed))?;
    let local: Vec<usize> = (0..m).collect();
    let losses: Vec<f64> = local.iter().map(|&i| 0.2 + 3.0 * unit(c.seed, (offset + i) as u64)).collect();
    s.update_weights(&local, &losses)?;
    let shards = distributed::summaries(group, s.shard_summary().map_err(Into::into))?;
    let plan: AdaptivePlan<Heap> = AdaptivePlan::new(&shards)?;
    let mut rng = DefaultRng::new(c.seed ^ 0xADA);
    let mut point = [AdaptivePoint::default()];
    let mut counts = vec![0.0; n];
    for _ in 0..ROUNDS * b {
        plan.draw(&mut rng, &mut point)?;
        if point[0].shard() == group.rank() {
            counts[offset + s.resolve(point[0])?.index] += 1.0;
        }
    }
    let mut expected = vec![0.0; n];
    for i in 0..m {
        let d = ShardDraw { index: i, mass: s.scores()[i].powf(s.config().alpha), prior: 1.0 };
        expected[offset + i] = plan.probability(&d);
    }
    group.sum_to_root(&mut counts);
    group.sum_to_root(&mut expected);
    if group.is_root() {
        let (stat, p, cells) = chi_square(&counts, &expected, (ROUNDS * b) as f64)?;
        println!("adaptive chi-square over shards {sizes:?}: {stat:.1} on {} df, p = {p:.3}", cells - 1);
        if p < ALARM {
            bail!("adaptive over unequal shards: frequencies off the global probabilities (p = {p:.2e})");
        }
    }
    Ok(())
}
