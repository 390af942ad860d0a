//! Exact global sampling over shards: for S a power of two and equal shards,
//! the union of the shards' draws is, bit for bit, what one prioritized
//! selector over the concatenation draws with the same seed (slots,
//! probabilities and weights), with extreme finite priorities. The
//! frequencies over unequal shards are tested in `stats.rs`.

use adasample::per::{PerConfig, PrioritizedSelector};
use adasample::select::Draw;
use adasample::shard::{global_weight, ShardPlan, ShardPoint};
use adasample::storage::{Fixed, Heap};
use adasample::tree::SumTree;
use adasample::{DefaultRng, Error};
use proptest::prelude::*;

const PRIORITIES: [f64; 9] = [0.0, 5e-324, 1e-300, 1e-10, 0.5, 1.0, 3.0, 1e10, 1e290];

/// The single selector's batch and the shards' batch, for S shards of m slots.
fn both(s: usize, m: usize, raw: &[f64], seed: u64, batch: usize) -> (Vec<Draw>, Vec<Draw>) {
    // alpha 1 and epsilon 0: the stored priority is the raw one, exactly, so
    // the shards can hold the very same numbers.
    let config = PerConfig { alpha: 1.0, epsilon: 0.0, seed, ..PerConfig::new(s * m) };
    let mut one: PrioritizedSelector<Heap> = PrioritizedSelector::new(config).unwrap();
    for &p in raw {
        one.insert(Some(p)).unwrap();
    }
    let mut single = vec![Draw::default(); batch];
    one.sample_with(&mut DefaultRng::new(seed), &mut single).unwrap();

    let shards: Vec<SumTree<Heap>> = raw
        .chunks(m)
        .map(|chunk| {
            let mut t = SumTree::new(m).unwrap();
            t.set_many(&(0..m).collect::<Vec<_>>(), chunk).unwrap();
            t
        })
        .collect();
    // The exchange: S totals and one minimum.
    let totals: Vec<f64> = shards.iter().map(|t| t.total()).collect();
    let p_min = shards.iter().filter_map(|t| t.min()).fold(f64::INFINITY, f64::min);
    let plan: ShardPlan<Heap> = ShardPlan::new(&totals).unwrap();
    assert_eq!(plan.total().to_bits(), one.total_priority().to_bits());
    let mut points = vec![ShardPoint::default(); batch];
    plan.draw(&mut DefaultRng::new(seed), &mut points).unwrap();
    let beta = one.config().beta;
    let sharded = points
        .iter()
        .map(|pt| {
            let local = shards[pt.shard].find(pt.residual).unwrap();
            let p = shards[pt.shard].get(local).unwrap();
            let slot = pt.shard * m + local;
            Draw { key: one.key(slot).unwrap(), probability: p / plan.total(), weight: global_weight(p_min, p, beta) }
        })
        .collect();
    (single, sharded)
}

fn bits(d: &[Draw]) -> Vec<(u32, u64, u64)> {
    d.iter().map(|d| (d.key.slot, d.probability.to_bits(), d.weight.to_bits())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn equal_power_of_two_shards_draw_as_one_buffer(
        log_s in 0u32..4,
        log_m in 0u32..7,
        picks in prop::collection::vec(0..PRIORITIES.len(), 512),
        seed in any::<u64>(),
        batch in 1usize..200,
    ) {
        let (s, m) = (1usize << log_s, 1usize << log_m);
        let mut raw: Vec<f64> = picks[..s * m].iter().map(|&k| PRIORITIES[k]).collect();
        if raw.iter().all(|&p| p == 0.0) {
            raw[0] = 1.0;
        }
        let (single, sharded) = both(s, m, &raw, seed, batch);
        prop_assert_eq!(bits(&single), bits(&sharded));
    }
}

/// The adversarial layouts: all the mass in the last shard, in one slot of
/// each shard, and in increasing and decreasing orders.
#[test]
fn adversarial_layouts_draw_as_one_buffer() {
    let (s, m) = (8, 16);
    let n = s * m;
    let layouts: [Vec<f64>; 4] = [
        (0..n).map(|i| if i >= n - m { 1.0 } else { 0.0 }).collect(),
        (0..n).map(|i| if i % m == m - 1 { 1e290 } else { 5e-324 }).collect(),
        (0..n).map(|i| 2f64.powi(i as i32 - 64)).collect(),
        (0..n).map(|i| 2f64.powi(64 - i as i32)).collect(),
    ];
    for (k, raw) in layouts.iter().enumerate() {
        for seed in 0..20 {
            let (single, sharded) = both(s, m, raw, seed, 257);
            assert_eq!(bits(&single), bits(&sharded), "layout {k} seed {seed}");
        }
    }
}

/// Bad totals are the same typed error on every rank (the same input gives
/// the same answer), so no rank waits in a collective the others skipped.
#[test]
fn bad_totals_are_typed_errors() {
    let err = |t: &[f64]| ShardPlan::<Heap>::new(t).err();
    assert_eq!(err(&[]), Some(Error::InvalidConfig { field: "shards", expected: "at least 1" }));
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        assert!(matches!(err(&[1.0, bad]), Some(Error::InvalidArgument { name: "shard total", position: 1, .. })));
    }
    assert_eq!(err(&[f64::MAX, f64::MAX]), Some(Error::ResultOverflow { name: "global total" }));
    // An empty shard is never landed in; all empty is nothing to sample.
    let plan: ShardPlan<Heap> = ShardPlan::new(&[0.0, 2.0, -0.0]).unwrap();
    let mut pts = [ShardPoint::default(); 64];
    plan.draw(&mut DefaultRng::new(1), &mut pts).unwrap();
    assert!(pts.iter().all(|p| p.shard == 1 && p.residual >= 0.0 && p.residual < 2.0));
    let empty: ShardPlan<Heap> = ShardPlan::new(&[0.0, 0.0]).unwrap();
    assert_eq!(empty.draw(&mut DefaultRng::new(1), &mut pts), Err(Error::Empty));
    // Fixed storage, no allocator.
    let fixed: ShardPlan<Fixed<4>> = ShardPlan::new(&[1.0, 2.0, 3.0]).unwrap();
    assert_eq!((fixed.shards(), fixed.total()), (3, 6.0));
    assert!(matches!(ShardPlan::<Fixed<4>>::new(&[1.0; 5]), Err(Error::StorageTooSmall { .. })));
}

// ---------------------------------------------------------------- adaptive

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, WeightTarget};
use adasample::shard::{AdaptivePlan, AdaptivePoint};

/// Draws as (global index, weight bits).
type Batch = Vec<(usize, u64)>;

/// One EMA sampler over S * m examples against S shard samplers of m, fed
/// the same losses (and, given, the same prior with `target`): the same
/// indices and weights, bit for bit.
fn adaptive_both(
    s: usize,
    m: usize,
    losses: &[f64],
    prior: Option<(&[f64], WeightTarget)>,
    floor: f64,
    seed: u64,
    batch: usize,
) -> (Batch, Batch) {
    let target = prior.map_or(WeightTarget::Uniform, |p| p.1);
    let cfg =
        |n| AdaptiveConfig { uniform_floor: floor, alpha: 0.7, beta: 0.6, seed, target, ..AdaptiveConfig::new(n, 0.5) };
    let make = |n: usize, q: Option<&[f64]>| -> AdaptiveBatchSampler<Heap> {
        match q {
            Some(q) => AdaptiveBatchSampler::with_prior(cfg(n), q).unwrap(),
            None => AdaptiveBatchSampler::new(cfg(n)).unwrap(),
        }
    };
    let n = s * m;
    let mut one = make(n, prior.map(|p| p.0));
    one.update_weights(&(0..n).collect::<Vec<_>>(), losses).unwrap();
    let (mut idx, mut w) = (vec![0; batch], vec![0.0; batch]);
    one.sample_with(&mut DefaultRng::new(seed), &mut idx, &mut w).unwrap();
    let single = idx.iter().zip(&w).map(|(&i, w)| (i, w.to_bits())).collect();

    let shards: Vec<AdaptiveBatchSampler<Heap>> = (0..s)
        .map(|k| {
            let mut t = make(m, prior.map(|p| &p.0[k * m..(k + 1) * m]));
            t.update_weights(&(0..m).collect::<Vec<_>>(), &losses[k * m..(k + 1) * m]).unwrap();
            t
        })
        .collect();
    let summaries: Vec<_> = shards.iter().map(|t| t.shard_summary().unwrap()).collect();
    let plan: AdaptivePlan<Heap> = AdaptivePlan::new(&summaries).unwrap();
    let mut points = vec![AdaptivePoint::default(); batch];
    plan.draw(&mut DefaultRng::new(seed), &mut points).unwrap();
    let sharded = points
        .iter()
        .map(|&pt| {
            let d = shards[pt.shard()].resolve(pt).unwrap();
            (pt.shard() * m + d.index, plan.weight(&d, 0.6).to_bits())
        })
        .collect();
    (single, sharded)
}

/// Priors from the tiniest normal-ish values to 1.
const PRIORS: [f64; 6] = [5e-324, 1e-300, 1e-6, 0.25, 0.5, 1.0];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn adaptive_equal_power_of_two_shards_draw_as_one_sampler(
        log_s in 0u32..4,
        log_m in 0u32..6,
        picks in prop::collection::vec(0..PRIORITIES.len(), 256),
        floor in prop::sample::select(vec![0.0, 0.1, 0.5, 1.0]),
        seed in any::<u64>(),
        batch in 1usize..100,
    ) {
        let (s, m) = (1usize << log_s, 1usize << log_m);
        let losses: Vec<f64> = picks[..s * m].iter().map(|&k| PRIORITIES[k]).collect();
        let (single, sharded) = adaptive_both(s, m, &losses, None, floor, seed, batch);
        prop_assert_eq!(single, sharded);
    }

    #[test]
    fn adaptive_with_a_prior_over_shards_draws_as_one_sampler(
        log_s in 0u32..4,
        log_m in 0u32..6,
        picks in prop::collection::vec(0..PRIORITIES.len(), 256),
        prior_picks in prop::collection::vec(0..PRIORS.len(), 256),
        floor in prop::sample::select(vec![0.0, 0.1, 0.5, 1.0]),
        target in prop::sample::select(vec![WeightTarget::Uniform, WeightTarget::Prior]),
        seed in any::<u64>(),
        batch in 1usize..100,
    ) {
        let (s, m) = (1usize << log_s, 1usize << log_m);
        let losses: Vec<f64> = picks[..s * m].iter().map(|&k| PRIORITIES[k]).collect();
        let q: Vec<f64> = prior_picks[..s * m].iter().map(|&k| PRIORS[k]).collect();
        let (single, sharded) = adaptive_both(s, m, &losses, Some((&q, target)), floor, seed, batch);
        prop_assert_eq!(single, sharded);
    }
}

/// Adversarial: the prior and the scores rank the examples in opposite
/// orders, shards of one example each (the plan is the whole tree).
#[test]
fn adversarial_prior_over_shards_draws_as_one_sampler() {
    let n = 16;
    let losses: Vec<f64> = (0..n).map(|i| 1e-300 * 1e37f64.powi(i as i32 % 9)).collect();
    let q: Vec<f64> = (0..n).map(|i| 1.0 / (1 + i * i) as f64).collect();
    for target in [WeightTarget::Uniform, WeightTarget::Prior] {
        for floor in [0.0, 0.1, 1.0] {
            let (single, sharded) = adaptive_both(n, 1, &losses, Some((&q, target)), floor, 5, 64);
            assert_eq!(single, sharded, "{target:?} floor {floor}");
        }
    }
}

#[test]
fn adaptive_plans_refuse_what_they_cannot_do() {
    let mut a: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5)).unwrap();
    let b: AdaptiveBatchSampler<Heap> =
        AdaptiveBatchSampler::new(AdaptiveConfig { uniform_floor: 0.2, ..AdaptiveConfig::new(4, 0.5) }).unwrap();
    let (sa, sb) = (a.shard_summary().unwrap(), b.shard_summary().unwrap());
    assert!(matches!(AdaptivePlan::<Heap>::new(&[sa, sb]), Err(Error::InvalidConfig { field: "uniform_floor", .. })));
    assert!(matches!(AdaptivePlan::<Heap>::new(&[]), Err(Error::InvalidConfig { field: "shards", .. })));
    let ohem: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig {
        mode: adasample::adaptive::AdaptiveMode::Ohem,
        ..AdaptiveConfig::new(4, 0.5)
    })
    .unwrap();
    assert!(matches!(ohem.shard_summary(), Err(Error::InvalidConfig { field: "mode", .. })));
    // A prior on some shards only, or targets that differ, cannot be one sampler.
    a.set_prior(&[1.0; 4]).unwrap();
    let with = a.shard_summary().unwrap();
    let plain: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5)).unwrap();
    let without = plain.shard_summary().unwrap();
    assert!(matches!(AdaptivePlan::<Heap>::new(&[with, without]), Err(Error::InvalidConfig { field: "prior", .. })));
    let other = AdaptiveBatchSampler::<Heap>::with_prior(
        AdaptiveConfig { target: WeightTarget::Prior, ..AdaptiveConfig::new(4, 0.5) },
        &[1.0; 4],
    )
    .unwrap();
    let other = other.shard_summary().unwrap();
    assert!(matches!(AdaptivePlan::<Heap>::new(&[with, other]), Err(Error::InvalidConfig { field: "target", .. })));
    // A point from another plan is refused, not resolved.
    assert!(b.resolve(AdaptivePoint::Floor { shard: 0, index: 4 }).is_err());
    assert!(b.resolve(AdaptivePoint::Scored { shard: 0, residual: 1e9 }).is_err());
    assert!(matches!(
        b.resolve(AdaptivePoint::PriorFloor { shard: 0, residual: 0.5 }),
        Err(Error::InvalidConfig { field: "prior", .. })
    ));
    assert!(matches!(
        a.resolve(AdaptivePoint::Floor { shard: 0, index: 1 }),
        Err(Error::InvalidConfig { field: "prior", .. })
    ));
    assert!(a.resolve(AdaptivePoint::PriorFloor { shard: 0, residual: 4.0 }).is_err());
    assert_eq!(a.resolve(AdaptivePoint::PriorFloor { shard: 0, residual: 3.5 }).unwrap().index, 3);
}

/// Over many steps of sampling and feedback, AdaBoost shards fed the global
/// batch's mean (`update_weights_with_mean`) stay one sampler, bit for bit.
#[test]
fn adaboost_shards_fed_the_global_mean_stay_one_sampler() {
    use adasample::adaptive::AdaptiveMode;
    let (s, m, b) = (4usize, 8usize, 16usize);
    let cfg = |n| AdaptiveConfig { mode: AdaptiveMode::AdaBoost, seed: 9, ..AdaptiveConfig::new(n, 0.4) };
    let mut one: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(cfg(s * m)).unwrap();
    let mut shards: Vec<AdaptiveBatchSampler<Heap>> =
        (0..s).map(|_| AdaptiveBatchSampler::new(cfg(m)).unwrap()).collect();
    let (mut rng_one, mut rng) = (DefaultRng::new(9), DefaultRng::new(9));
    let loss = |step: usize, i: usize| ((step * 31 + i * 17) % 23) as f64 * 0.3;
    for step in 0..40 {
        let (mut idx, mut w) = (vec![0; b], vec![0.0; b]);
        one.sample_with(&mut rng_one, &mut idx, &mut w).unwrap();
        let summaries: Vec<_> = shards.iter().map(|t| t.shard_summary().unwrap()).collect();
        let plan: AdaptivePlan<Heap> = AdaptivePlan::new(&summaries).unwrap();
        let mut points = vec![AdaptivePoint::default(); b];
        plan.draw(&mut rng, &mut points).unwrap();
        let mut local: Vec<Vec<usize>> = vec![Vec::new(); s];
        for (j, pt) in points.iter().enumerate() {
            let d = shards[pt.shard()].resolve(*pt).unwrap();
            assert_eq!(
                (pt.shard() * m + d.index, plan.weight(&d, one.config().beta).to_bits()),
                (idx[j], w[j].to_bits())
            );
            local[pt.shard()].push(d.index);
        }
        let losses: Vec<f64> = idx.iter().map(|&i| loss(step, i)).collect();
        let mean = losses.iter().sum::<f64>() / b as f64;
        one.update_weights(&idx, &losses).unwrap();
        for (k, shard) in shards.iter_mut().enumerate() {
            let l: Vec<f64> = local[k].iter().map(|&i| loss(step, k * m + i)).collect();
            shard.update_weights_with_mean(&local[k], &l, mean).unwrap();
        }
    }
    for (k, shard) in shards.iter().enumerate() {
        assert_eq!(shard.scores(), &one.scores()[k * m..(k + 1) * m]);
    }
    // A bad mean changes nothing.
    let before = shards[0].scores().to_vec();
    assert!(matches!(
        shards[0].update_weights_with_mean(&[0], &[1.0], f64::INFINITY),
        Err(Error::InvalidArgument { name: "batch mean", .. })
    ));
    assert!(matches!(shards[0].update_weights_with_mean(&[0], &[1.0], 1e300), Err(Error::ValueTooLarge { .. })));
    assert!(matches!(shards[0].update_weights_with_mean(&[99], &[1.0], 1.0), Err(Error::IndexOutOfRange { .. })));
    assert_eq!(shards[0].scores(), &before[..]);
}

/// A prioritized selector resolves a shard point to its key and priority;
/// rank-based selectors and points from elsewhere are refused.
#[test]
fn selectors_resolve_shard_points() {
    let config = PerConfig { alpha: 1.0, epsilon: 0.0, ..PerConfig::new(4) };
    let mut s: PrioritizedSelector<Heap> = PrioritizedSelector::new(config).unwrap();
    assert_eq!(s.resolve(0.0), Err(Error::Empty));
    for p in [1.0, 0.0, 2.0] {
        s.insert(Some(p)).unwrap();
    }
    let (key, p) = s.resolve(1.0).unwrap(); // past slot 0's 1.0, slot 1 has none
    assert_eq!((key.slot, key.generation, p), (2, 0, 2.0));
    assert!(matches!(s.resolve(3.0), Err(Error::InvalidArgument { .. })));
    assert!(matches!(s.resolve(f64::NAN), Err(Error::InvalidArgument { .. })));
    let mut rank: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::rank(4)).unwrap();
    rank.insert(Some(1.0)).unwrap();
    assert!(matches!(rank.resolve(0.0), Err(Error::InvalidConfig { field: "rank", .. })));
}
