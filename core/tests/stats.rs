//! Statistical tests: empirical sampling frequencies against P(i), computed
//! independently from the formulas (not read back from the sampler).
//!
//! Each test is a Pearson chi-square goodness-of-fit test at significance
//! 1e-3: if the sampler were exactly right and the generator ideal, each test
//! would fail with probability 0.001 (the false-alarm rate); seeds are fixed,
//! so a run is deterministic. Stratified batches are less variable than
//! multinomial draws, which only makes the test conservative. The critical
//! value uses the Wilson-Hilferty approximation (relative error < 1% for these
//! degrees of freedom). A detectable-shift check runs each test once more
//! against a slightly wrong distribution and requires it to fail: the tests
//! have power, not only calm.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::per::{Draw, PerConfig, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::storage::Heap;

/// Upper 1e-3 quantile of chi-square with `k` degrees of freedom.
fn chi2_critical(k: usize) -> f64 {
    let z = 3.090_232_306; // standard normal 0.999 quantile
    let k = k as f64;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Pearson statistic, pooling expected counts below 5 into one cell.
fn chi2(counts: &[u64], probs: &[f64]) -> (f64, usize) {
    let n: u64 = counts.iter().sum();
    let (mut stat, mut cells) = (0.0, 0usize);
    let (mut pool_obs, mut pool_exp) = (0.0, 0.0);
    for (&c, &p) in counts.iter().zip(probs) {
        let e = p * n as f64;
        if e < 5.0 {
            pool_obs += c as f64;
            pool_exp += e;
        } else {
            stat += (c as f64 - e).powi(2) / e;
            cells += 1;
        }
    }
    if pool_exp > 0.0 {
        stat += (pool_obs - pool_exp).powi(2) / pool_exp.max(1e-12);
        cells += 1;
    }
    (stat, cells.saturating_sub(1))
}

fn assert_fits(name: &str, counts: &[u64], probs: &[f64]) {
    let (stat, dof) = chi2(counts, probs);
    let crit = chi2_critical(dof);
    assert!(stat < crit, "{name}: chi2 {stat:.1} >= {crit:.1} (dof {dof})");
    // Power: a distribution shifted by 5% of its mass toward the first half
    // must be rejected.
    let half = probs.len() / 2;
    let wrong: Vec<f64> = probs.iter().enumerate().map(|(i, &p)| if i < half { p * 1.05 } else { p }).collect();
    let z: f64 = wrong.iter().sum();
    let wrong: Vec<f64> = wrong.iter().map(|p| p / z).collect();
    let (stat_wrong, _) = chi2(counts, &wrong);
    assert!(stat_wrong > crit, "{name}: test has no power ({stat_wrong:.1} <= {crit:.1})");
}

#[test]
fn proportional_per_frequencies() {
    let n = 50;
    let mut buf: PrioritizedReplayBuffer<usize, Heap> =
        PrioritizedReplayBuffer::new(PerConfig { seed: 11, ..PerConfig::new(n) }).unwrap();
    for i in 0..n {
        buf.add_with_priority(i, (i % 10) as f64 * 0.3).unwrap();
    }
    let p: Vec<f64> = (0..n).map(|i| ((i % 10) as f64 * 0.3 + 1e-6).powf(0.6)).collect();
    let z: f64 = p.iter().sum();
    let probs: Vec<f64> = p.iter().map(|x| x / z).collect();
    let mut counts = vec![0u64; n];
    let mut draws = [Draw::default(); 64];
    for _ in 0..4000 {
        buf.sample_into(&mut draws).unwrap();
        for d in &draws {
            counts[d.key.slot as usize] += 1;
        }
    }
    assert_fits("proportional", &counts, &probs);
}

#[test]
fn proportional_without_replacement_first_draw() {
    // Batches of 1 without replacement are plain draws from P(i).
    let n = 30;
    let cfg = PerConfig { seed: 5, without_replacement: true, alpha: 1.0, ..PerConfig::new(n) };
    let mut buf: PrioritizedReplayBuffer<usize, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
    for i in 0..n {
        buf.add_with_priority(i, (i + 1) as f64).unwrap();
    }
    let z: f64 = (1..=n).map(|i| i as f64 + 1e-6).sum();
    let probs: Vec<f64> = (1..=n).map(|i| (i as f64 + 1e-6) / z).collect();
    let mut counts = vec![0u64; n];
    let mut draw = [Draw::default(); 1];
    for _ in 0..100_000 {
        buf.sample_into(&mut draw).unwrap();
        counts[draw[0].key.slot as usize] += 1;
    }
    assert_fits("without replacement", &counts, &probs);
}

#[test]
fn rank_per_frequencies() {
    let n = 40;
    let mut buf: PrioritizedReplayBuffer<usize, Heap> =
        PrioritizedReplayBuffer::new(PerConfig { seed: 3, ..PerConfig::rank(n) }).unwrap();
    // Raw priorities in scrambled order; rank 1 is the largest.
    let raws: Vec<f64> = (0..n).map(|i| ((i * 17) % n) as f64).collect();
    for (i, &r) in raws.iter().enumerate() {
        buf.add_with_priority(i, r).unwrap();
    }
    let mut by_rank: Vec<usize> = (0..n).collect();
    by_rank.sort_by(|&a, &b| raws[b].partial_cmp(&raws[a]).unwrap());
    let z: f64 = (1..=n).map(|r| (r as f64).powf(-0.7)).sum();
    let mut probs = vec![0.0; n];
    for (r0, &slot) in by_rank.iter().enumerate() {
        probs[slot] = ((r0 + 1) as f64).powf(-0.7) / z;
    }
    let mut counts = vec![0u64; n];
    let mut draws = [Draw::default(); 32];
    for _ in 0..5000 {
        buf.sample_into(&mut draws).unwrap();
        for d in &draws {
            counts[d.key.slot as usize] += 1;
        }
    }
    assert_fits("rank", &counts, &probs);
}

fn adaptive_frequencies(mode: AdaptiveMode) {
    let n = 25;
    let cfg = AdaptiveConfig { mode, seed: 9, uniform_floor: 0.2, alpha: 0.8, ..AdaptiveConfig::new(n, 0.5) };
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(cfg).unwrap();
    let all: Vec<usize> = (0..n).collect();
    let losses: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
    s.update_weights(&all, &losses).unwrap();
    // Independent scores after one update.
    let mean = losses.iter().sum::<f64>() / n as f64;
    let scores: Vec<f64> = losses
        .iter()
        .map(|&l| match mode {
            AdaptiveMode::AdaBoost => (0.5 * (l - mean)).exp(),
            _ => 0.5 + 0.5 * l,
        })
        .collect();
    let t: Vec<f64> = scores.iter().map(|x| x.powf(0.8)).collect();
    let z: f64 = t.iter().sum();
    let probs: Vec<f64> = t.iter().map(|x| 0.8 * x / z + 0.2 / n as f64).collect();
    let mut counts = vec![0u64; n];
    for _ in 0..3000 {
        let (idx, _) = s.sample(40).unwrap();
        for i in idx {
            counts[i] += 1;
        }
    }
    assert_fits(&format!("{mode:?}"), &counts, &probs);
}

#[test]
fn adaptive_ema_frequencies() {
    adaptive_frequencies(AdaptiveMode::Ema);
}

#[test]
fn adaptive_adaboost_frequencies() {
    adaptive_frequencies(AdaptiveMode::AdaBoost);
}

#[test]
fn reward_weighted_frequencies() {
    let rewards: Vec<f64> = (0..30).map(|i| ((i * 7) % 30) as f64 / 10.0).collect();
    let tau = 0.8;
    let cfg = RewardConfig { temperature: tau, seed: 21, ..RewardConfig::new(64) };
    let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(cfg).unwrap();
    s.extend(&rewards).unwrap();
    let top = rewards.iter().copied().fold(f64::MIN, f64::max);
    let w: Vec<f64> = rewards.iter().map(|r| ((r - top) / tau).exp()).collect();
    let z: f64 = w.iter().sum();
    let probs: Vec<f64> = w.iter().map(|x| x / z).collect();
    let mut counts = vec![0u64; rewards.len()];
    for _ in 0..3000 {
        let (idx, _) = s.sample(50).unwrap();
        for i in idx {
            counts[i] += 1;
        }
    }
    assert_fits("rwr", &counts, &probs);
}

#[test]
fn critical_values_match_tables() {
    // Table values of the 0.999 quantile: 10.828 (1), 29.588 (10), 59.703 (30).
    assert!((chi2_critical(10) - 29.588).abs() / 29.588 < 0.01);
    assert!((chi2_critical(30) - 59.703).abs() / 59.703 < 0.01);
}

/// With a prior: `P_i = (1 - gamma) q_i t_i / sum q t + gamma q_i / sum q`,
/// computed here from the scores and the prior, not read from the sampler.
/// A class-balanced prior (three classes of 5, 15 and 30 examples) with
/// scores after one EMA update, as in training.
#[test]
fn adaptive_prior_frequencies() {
    let n = 50;
    let class = |i: usize| {
        if i < 5 {
            0
        } else if i < 20 {
            1
        } else {
            2
        }
    };
    let sizes = [5.0, 15.0, 30.0];
    let prior: Vec<f64> = (0..n).map(|i| 5.0 / sizes[class(i)]).collect();
    let cfg = AdaptiveConfig { seed: 11, uniform_floor: 0.3, alpha: 0.7, ..AdaptiveConfig::new(n, 0.5) };
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(cfg, &prior).unwrap();
    let all: Vec<usize> = (0..n).collect();
    let losses: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 0.5).collect();
    s.update_weights(&all, &losses).unwrap();
    let t: Vec<f64> = losses.iter().map(|&l| (0.5 + 0.5 * l).powf(0.7)).collect();
    let m: f64 = prior.iter().zip(&t).map(|(q, t)| q * t).sum();
    let qsum: f64 = prior.iter().sum();
    let probs: Vec<f64> = (0..n).map(|i| 0.7 * prior[i] * t[i] / m + 0.3 * prior[i] / qsum).collect();
    let mut counts = vec![0u64; n];
    for _ in 0..8000 {
        let (idx, _) = s.sample(40).unwrap();
        for i in idx {
            counts[i] += 1;
        }
    }
    assert_fits("ema with a prior", &counts, &probs);
    // The rare class's share, the point of the prior: a third of the prior
    // mass, about 7 times its share of the data.
    let rare: u64 = counts[..5].iter().sum();
    let share = rare as f64 / counts.iter().sum::<u64>() as f64;
    let expected: f64 = probs[..5].iter().sum();
    assert!((share - expected).abs() < 0.01 && expected > 0.25, "{share} vs {expected}");
}

/// Unequal shards (1, 3, 5 and 7 slots): the global draws, resolved on each
/// shard, follow `p / sum p` over the concatenation.
#[test]
fn sharded_frequencies() {
    use adasample::shard::{ShardPlan, ShardPoint};
    use adasample::tree::SumTree;
    let sizes = [1usize, 3, 5, 7];
    let mut probs = Vec::new();
    let shards: Vec<SumTree<Heap>> = sizes
        .iter()
        .enumerate()
        .map(|(s, &m)| {
            let p: Vec<f64> = (0..m).map(|i| ((s * 7 + i * 3) % 5) as f64 + 0.5).collect();
            probs.extend_from_slice(&p);
            let mut t = SumTree::new(m).unwrap();
            t.set_many(&(0..m).collect::<Vec<_>>(), &p).unwrap();
            t
        })
        .collect();
    let z: f64 = probs.iter().sum();
    let probs: Vec<f64> = probs.iter().map(|p| p / z).collect();
    let offsets: Vec<usize> = sizes.iter().scan(0, |acc, &m| Some(std::mem::replace(acc, *acc + m))).collect();
    let totals: Vec<f64> = shards.iter().map(|t| t.total()).collect();
    let plan: ShardPlan<Heap> = ShardPlan::new(&totals).unwrap();
    let mut rng = adasample::DefaultRng::new(21);
    let mut points = [ShardPoint::default(); 32];
    let mut counts = vec![0u64; probs.len()];
    for _ in 0..4000 {
        plan.draw(&mut rng, &mut points).unwrap();
        for pt in &points {
            counts[offsets[pt.shard] + shards[pt.shard].find(pt.residual).unwrap()] += 1;
        }
    }
    assert_fits("sharded", &counts, &probs);
}

/// Unequal shards (1, 3, 5 and 7 examples) of an EMA sampler with a
/// class-balanced-like prior: the global draws, resolved on each shard,
/// follow the one-sampler `P_i` over the concatenation.
#[test]
fn sharded_prior_frequencies() {
    use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, WeightTarget};
    use adasample::shard::{AdaptivePlan, AdaptivePoint};
    let sizes = [1usize, 3, 5, 7];
    let n: usize = sizes.iter().sum();
    let losses: Vec<f64> = (0..n).map(|i| ((i * 5) % 7) as f64 * 0.4 + 0.1).collect();
    let prior: Vec<f64> = (0..n).map(|i| if i % 4 == 0 { 1.0 } else { 0.3 }).collect();
    let config = |m| AdaptiveConfig { target: WeightTarget::Prior, uniform_floor: 0.2, ..AdaptiveConfig::new(m, 0.5) };
    let mut one: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config(n), &prior).unwrap();
    one.update_weights(&(0..n).collect::<Vec<_>>(), &losses).unwrap();
    let probs: Vec<f64> = (0..n).map(|i| one.probability(i).unwrap()).collect();
    let offsets: Vec<usize> = sizes.iter().scan(0, |acc, &m| Some(std::mem::replace(acc, *acc + m))).collect();
    let shards: Vec<AdaptiveBatchSampler<Heap>> = sizes
        .iter()
        .zip(&offsets)
        .map(|(&m, &o)| {
            let mut s = AdaptiveBatchSampler::with_prior(config(m), &prior[o..o + m]).unwrap();
            s.update_weights(&(0..m).collect::<Vec<_>>(), &losses[o..o + m]).unwrap();
            s
        })
        .collect();
    let summaries: Vec<_> = shards.iter().map(|s| s.shard_summary().unwrap()).collect();
    let plan: AdaptivePlan<Heap> = AdaptivePlan::new(&summaries).unwrap();
    let mut rng = adasample::DefaultRng::new(22);
    let mut points = [AdaptivePoint::default(); 32];
    let mut counts = vec![0u64; n];
    for _ in 0..4000 {
        plan.draw(&mut rng, &mut points).unwrap();
        for pt in &points {
            let d = shards[pt.shard()].resolve(*pt).unwrap();
            counts[offsets[pt.shard()] + d.index] += 1;
            // The plan's P is the one sampler's, to rounding.
            let p = plan.probability(&d);
            assert!((p - probs[offsets[pt.shard()] + d.index]).abs() <= 1e-12 * p);
        }
    }
    assert_fits("sharded prior", &counts, &probs);
}
