//! The adaptive sampler's prior and weight targets against a brute-force
//! oracle: `P_i` and every sampled weight recomputed here from the scores
//! and the prior by the formulas of `DESIGN.md`, over random operation
//! sequences with extreme finite losses and priors (1e-300 to 1e296,
//! subnormals, -0.0), and the adversarial case where the prior and the
//! scores rank the examples in opposite orders.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode, WeightTarget};
use adasample::storage::{Fixed, Heap};
use adasample::Error;
use proptest::prelude::*;

/// What the sampler should give, from its scores and prior.
struct Oracle {
    p: Vec<f64>,
    w: Vec<f64>,
}

fn oracle(s: &AdaptiveBatchSampler<Heap>, q: &[f64]) -> Oracle {
    let c = s.config();
    let t: Vec<f64> = s.scores().iter().map(|&x| if c.alpha == 0.0 { 1.0 } else { x.powf(c.alpha) }).collect();
    let qt: Vec<f64> = q.iter().zip(&t).map(|(q, t)| q * t).collect();
    let m: f64 = qt.iter().sum();
    let qs: f64 = q.iter().sum();
    let g = if m > 0.0 { c.uniform_floor } else { 1.0 };
    let drawable: Vec<usize> = (0..q.len()).filter(|&i| g > 0.0 || qt[i] > 0.0).collect();
    // P scaled by 2^600, so that ratios of subnormal probabilities keep their
    // digits (the stored q t are exact as they are, subnormal or not).
    let scale = 2f64.powi(600);
    let ps =
        |qt_i: f64, q_i: f64| (if g < 1.0 { (1.0 - g) * (qt_i * scale) / m } else { 0.0 }) + g * (q_i * scale) / qs;
    let p: Vec<f64> = (0..q.len()).map(|i| ps(qt[i], q[i]) / scale).collect();
    let w = match c.target {
        WeightTarget::Uniform => {
            // The documented bound on the smallest P over drawable examples.
            let qt_min = drawable.iter().map(|&i| qt[i]).fold(f64::INFINITY, f64::min);
            let q_min = q.iter().copied().fold(f64::INFINITY, f64::min);
            let lb = ps(qt_min, q_min);
            (0..q.len()).map(|i| lb.powf(c.beta) / ps(qt[i], q[i]).powf(c.beta)).collect()
        }
        WeightTarget::Prior => {
            // Exact: (q_i / Q) / P_i depends on t_i alone, largest at the smallest t.
            // d(t) = (1 - g) t Q / M + g, as a log: t Q / M would pass through
            // subnormals (t Q) or overflow (Q / M) where the quotient itself is
            // an ordinary number.
            let ln_d = |ti: f64| {
                let a = ti.ln() + qs.ln() - m.ln();
                if g == 0.0 {
                    a
                } else if g == 1.0 {
                    0.0
                } else {
                    let r = (1.0 - g) * a.exp();
                    if r.is_finite() {
                        (r + g).ln()
                    } else {
                        a + (1.0 - g).ln()
                    }
                }
            };
            // As documented: over every example with a floor, else over t > 0.
            let t_min = t.iter().copied().filter(|&x| g > 0.0 || x > 0.0).fold(f64::INFINITY, f64::min);
            t.iter().map(|&ti| (c.beta * (ln_d(t_min) - ln_d(ti))).exp()).collect()
        }
    };
    Oracle { p, w }
}

/// `a` and `b` agree where the oracle's own arithmetic is exact enough: both
/// well inside the normal range.
fn close(a: f64, b: f64) -> bool {
    if b.abs() < 1e-280 || !b.is_finite() {
        return true;
    }
    (a - b).abs() <= 1e-9 * b.abs()
}

fn check(s: &mut AdaptiveBatchSampler<Heap>, q: &[f64], batch: usize) -> Result<(), TestCaseError> {
    let o = oracle(s, q);
    let mut p = vec![0.0; q.len()];
    s.probabilities_into(&mut p).unwrap();
    for (i, (&got, &want)) in p.iter().zip(&o.p).enumerate() {
        prop_assert!(close(got, want), "P_{} = {} vs oracle {}", i, got, want);
    }
    let total: f64 = p.iter().sum();
    prop_assert!((total - 1.0).abs() < 1e-9, "P sums to {}", total);
    let (idx, w) = s.sample(batch).unwrap();
    for (&i, &wi) in idx.iter().zip(&w) {
        prop_assert!(o.p[i] > 0.0 || p[i] > 0.0, "drew {} of probability 0", i);
        prop_assert!(wi.is_finite() && (0.0..=1.0).contains(&wi), "weight {} of {}", wi, i);
        prop_assert!(wi > 0.0 || o.w[i] < 1e-300, "weight 0 where the oracle has {}", o.w[i]);
        prop_assert!(close(wi, o.w[i]), "weight of {} = {} vs oracle {}", i, wi, o.w[i]);
    }
    Ok(())
}

const LOSSES: [f64; 10] = [0.0, -0.0, 5e-324, 1e-300, 1e-10, 0.5, 1.0, 7.0, 1e10, 1e296];
const PRIORS: [f64; 7] = [5e-324, 1e-300, 1e-10, 0.01, 0.3, 0.5, 1.0];

#[derive(Debug, Clone)]
enum Op {
    Losses(Vec<(usize, usize)>),
    Prior(Vec<(usize, usize)>),
    Sample(usize),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    let pairs = |k| prop::collection::vec((0..n, 0..k), 1..6);
    prop_oneof![
        pairs(LOSSES.len()).prop_map(Op::Losses),
        pairs(PRIORS.len()).prop_map(Op::Prior),
        (1..40usize).prop_map(Op::Sample)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn prior_and_targets_match_the_oracle(
        n in 1..24usize,
        alpha in prop::sample::select(vec![0.0, 0.5, 0.7, 1.0]),
        floor in prop::sample::select(vec![0.0, 0.1, 0.5, 1.0]),
        beta in prop::sample::select(vec![0.0, 0.4, 1.0]),
        ada in any::<bool>(),
        prior_target in any::<bool>(),
        start in prop::collection::vec(0..PRIORS.len(), 24),
        ops in prop::collection::vec(op(24), 1..25),
        seed in any::<u64>(),
    ) {
        let config = AdaptiveConfig {
            alpha,
            uniform_floor: floor,
            beta,
            mode: if ada { AdaptiveMode::AdaBoost } else { AdaptiveMode::Ema },
            target: if prior_target { WeightTarget::Prior } else { WeightTarget::Uniform },
            seed,
            ..AdaptiveConfig::new(n, 0.5)
        };
        let mut q: Vec<f64> = start[..n].iter().map(|&k| PRIORS[k]).collect();
        let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &q).unwrap();
        check(&mut s, &q, 8)?;
        for op in ops {
            match op {
                Op::Losses(pairs) => {
                    let (idx, l): (Vec<usize>, Vec<f64>) = pairs.iter().map(|&(i, k)| (i % n, LOSSES[k])).unzip();
                    s.update_weights(&idx, &l).unwrap();
                }
                Op::Prior(pairs) => {
                    let (idx, v): (Vec<usize>, Vec<f64>) = pairs.iter().map(|&(i, k)| (i % n, PRIORS[k])).unzip();
                    s.update_prior(&idx, &v).unwrap();
                    for (&i, &x) in idx.iter().zip(&v) {
                        q[i] = x;
                    }
                }
                Op::Sample(b) => check(&mut s, &q, b)?,
            }
            prop_assert_eq!(s.prior(), Some(&q[..]));
        }
        check(&mut s, &q, 16)?;
    }
}

/// The prior ranks the examples one way and the losses the other: the rare
/// examples (small prior) are the easy ones. Target `uniform` normalises by a
/// bound then, and the weights stay in (0, 1] and match the oracle; target
/// `prior` is exact: its largest weight over the dataset is 1.
#[test]
fn opposite_orders_of_prior_and_scores() {
    let n = 64;
    let prior: Vec<f64> = (0..n).map(|i| 1.0 / (1 + i) as f64).collect();
    let losses: Vec<f64> = (0..n).map(|i| 1e-6 * (1u64 << (i % 40)) as f64).collect();
    let all: Vec<usize> = (0..n).collect();
    for target in [WeightTarget::Uniform, WeightTarget::Prior] {
        let config = AdaptiveConfig { target, beta: 1.0, uniform_floor: 0.1, ..AdaptiveConfig::new(n, 1.0) };
        let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &prior).unwrap();
        s.update_weights(&all, &losses).unwrap();
        let o = oracle(&s, &prior);
        let max = o.w.iter().copied().fold(0.0, f64::max);
        match target {
            WeightTarget::Uniform => assert!(max <= 1.0 && max > 0.0, "{max}"),
            WeightTarget::Prior => assert_eq!(max, 1.0),
        }
        let mut hit_max = false;
        for _ in 0..400 {
            let (idx, w) = s.sample(32).unwrap();
            for (&i, &wi) in idx.iter().zip(&w) {
                assert!(close(wi, o.w[i]), "{target:?} {i}: {wi} vs {}", o.w[i]);
                hit_max |= wi == 1.0;
            }
        }
        assert_eq!(hit_max, target == WeightTarget::Prior, "{target:?}");
    }
}

/// Before any loss feedback (equal scores), both targets are exact: `P` is
/// the prior, the prior target's weights are all 1, and the uniform target's
/// largest is 1 at the examples of smallest prior.
#[test]
fn equal_scores_give_exact_normalisation() {
    let prior = [0.1, 0.1, 0.5, 1.0, 1.0];
    for target in [WeightTarget::Uniform, WeightTarget::Prior] {
        let config = AdaptiveConfig { target, beta: 1.0, ..AdaptiveConfig::new(5, 0.1) };
        let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &prior).unwrap();
        for _ in 0..50 {
            let (idx, w) = s.sample(10).unwrap();
            for (&i, &wi) in idx.iter().zip(&w) {
                let want = match target {
                    WeightTarget::Prior => 1.0,
                    WeightTarget::Uniform => 0.1 / prior[i],
                };
                assert!((wi - want).abs() < 1e-12, "{target:?} {i}: {wi} vs {want}");
            }
        }
    }
}

/// No prior: the sampler is today's, bit for bit; so is one whose prior was
/// cleared, and the target field changes nothing without a prior.
#[test]
fn no_prior_is_bit_identical() {
    let config = AdaptiveConfig { seed: 5, alpha: 0.7, ..AdaptiveConfig::new(300, 0.3) };
    let mut plain: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(config).unwrap();
    let mut cleared: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &[0.5; 300]).unwrap();
    cleared.clear_prior();
    let mut other_target: AdaptiveBatchSampler<Heap> =
        AdaptiveBatchSampler::new(AdaptiveConfig { target: WeightTarget::Prior, ..config }).unwrap();
    for step in 0..50 {
        let (a, wa) = plain.sample(64).unwrap();
        let (b, wb) = cleared.sample(64).unwrap();
        let (c, wc) = other_target.sample(64).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wa), bits(&wb));
        assert_eq!(bits(&wa), bits(&wc));
        let losses: Vec<f64> = a.iter().map(|&i| ((i * 7 + step) % 11) as f64).collect();
        for s in [&mut plain, &mut cleared, &mut other_target] {
            s.update_weights(&a, &losses).unwrap();
        }
    }
    assert_eq!(plain.prior(), None);
}

/// Bad input changes nothing.
#[test]
fn bad_priors_are_refused_with_nothing_changed() {
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5)).unwrap();
    for (bad, pos) in [
        ([0.5, 0.0, 1.0, 1.0], 1),
        ([0.5, 1.0, 1.5, 1.0], 2),
        ([f64::NAN, 1.0, 1.0, 1.0], 0),
        ([1.0, 1.0, 1.0, -0.0], 3),
    ] {
        match s.set_prior(&bad) {
            Err(Error::InvalidArgument { name: "prior", position, .. }) => assert_eq!(position, pos),
            other => panic!("{bad:?}: {other:?}"),
        }
        assert_eq!(s.prior(), None);
    }
    assert_eq!(s.set_prior(&[1.0; 3]), Err(Error::LengthMismatch { expected: 4, found: 3 }));
    s.set_prior(&[0.5, 0.5, 1.0, 1.0]).unwrap();
    let before = s.clone();
    assert_eq!(s.update_prior(&[1, 4], &[0.5, 0.5]), Err(Error::IndexOutOfRange { index: 4, len: 4 }));
    assert!(matches!(s.update_prior(&[1, 2], &[0.5, f64::INFINITY]), Err(Error::InvalidArgument { position: 1, .. })));
    assert!(matches!(s.update_prior(&[1], &[0.5, 0.5]), Err(Error::LengthMismatch { .. })));
    assert!(s == before);
    let mut ohem: AdaptiveBatchSampler<Heap> =
        AdaptiveBatchSampler::new(AdaptiveConfig { mode: AdaptiveMode::Ohem, ..AdaptiveConfig::new(4, 0.5) }).unwrap();
    assert!(matches!(ohem.set_prior(&[1.0; 4]), Err(Error::InvalidConfig { field: "mode", .. })));
    assert!(matches!(ohem.update_prior(&[0], &[1.0]), Err(Error::InvalidConfig { field: "mode", .. })));
    let mut empty = AdaptiveBatchSampler::<Heap>::EMPTY;
    assert_eq!(empty.set_prior(&[]), Err(Error::NotConfigured));
    // A reset is as if new: no prior.
    s.reset(AdaptiveConfig::new(4, 0.5)).unwrap();
    assert_eq!(s.prior(), None);
}

/// `update_prior` on a sampler without a prior starts from `q = 1`, the same
/// distribution; fixed storage holds the prior too.
#[test]
fn update_prior_starts_from_ones_and_fixed_storage_works() {
    let mut s: AdaptiveBatchSampler<Fixed<16>> = AdaptiveBatchSampler::new(AdaptiveConfig::new(10, 0.5)).unwrap();
    s.update_weights(&[3], &[9.0]).unwrap();
    let mut before = [0.0; 10];
    s.probabilities_into(&mut before).unwrap();
    s.update_prior(&[0], &[1.0]).unwrap();
    let mut after = [0.0; 10];
    s.probabilities_into(&mut after).unwrap();
    for (a, b) in before.iter().zip(&after) {
        assert!((a - b).abs() < 1e-15);
    }
    s.update_prior(&[3], &[0.2]).unwrap();
    let mut idx = [0usize; 20];
    let mut w = [0.0; 20];
    s.sample_into(&mut idx, &mut w).unwrap();
    assert!(w.iter().all(|&x| x > 0.0 && x <= 1.0));
    assert_eq!(s.prior().map(|p| p[3]), Some(0.2));
}

#[cfg(feature = "serde")]
#[test]
fn snapshots_keep_the_prior_and_continue_bit_identically() {
    let config = AdaptiveConfig { target: WeightTarget::Prior, seed: 3, ..AdaptiveConfig::new(40, 0.3) };
    let prior: Vec<f64> = (0..40).map(|i| if i < 4 { 1.0 } else { 0.1 }).collect();
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &prior).unwrap();
    let (idx, _) = s.sample(16).unwrap();
    s.update_weights(&idx, &[2.0; 16]).unwrap();
    let mut r = AdaptiveBatchSampler::<Heap>::restore(&s.snapshot().unwrap()).unwrap();
    assert!(r == s);
    for _ in 0..20 {
        let (a, wa) = s.sample(16).unwrap();
        let (b, wb) = r.sample(16).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            wa.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            wb.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        s.update_weights(&a, &[0.5; 16]).unwrap();
        r.update_weights(&b, &[0.5; 16]).unwrap();
    }
}
