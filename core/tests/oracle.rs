//! Property tests: random operation sequences against brute-force oracles
//! (plain `Vec`s, O(n) prefix search and sorting), including rejected calls,
//! which must leave the state unchanged.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::per::{Draw, Key, Normalization, PerConfig, PerKind, PrioritizedReplayBuffer};
use adasample::storage::{Fixed, Heap};
use adasample::tree::SumTree;
use adasample::{DefaultRng, Error, MAX_PRIORITY};
use proptest::prelude::*;
use rand_core::SeedableRng;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

// ---------------------------------------------------------------- SumTree

#[derive(Debug, Clone)]
enum TreeOp {
    Set(usize, f64),
    Find(f64),
    Batch(usize, u64),
}

fn priority() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..100.0f64,
        1 => Just(0.0),
        1 => 1e-12..1e-6f64,
        1 => extreme(),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(f64::NEG_INFINITY)],
    ]
}

/// Extreme finite values: subnormals, -0.0, the far ends of the range, and
/// values on both sides of `MAX_PRIORITY`.
fn extreme() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(-0.0),
        Just(5e-324),
        Just(1e-310),
        1e-300..1e-290f64,
        1e290..1e296f64,
        Just(MAX_PRIORITY),
        Just(1e300),
        Just(1e308),
        Just(f64::MAX),
    ]
}

/// `exp(beta (ln p_min - ln p))`: the normalised IS weight, from logs so that
/// the oracle itself neither underflows nor overflows.
fn log_weight(p_min: f64, p: f64, beta: f64) -> f64 {
    (beta * (p_min.ln() - p.ln())).exp()
}

fn tree_op(cap: usize) -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        4 => (0..cap + 2, priority()).prop_map(|(i, p)| TreeOp::Set(i, p)),
        2 => (0.0..1.0f64).prop_map(TreeOp::Find),
        1 => (1..40usize, any::<u64>()).prop_map(|(b, s)| TreeOp::Batch(b, s)),
    ]
}

fn check_tree<S: adasample::storage::Storage>(tree: &SumTree<S>, oracle: &[f64]) {
    let sum: f64 = oracle.iter().sum();
    assert!(close(tree.total(), sum, 1e-12), "total {} vs {}", tree.total(), sum);
    // No drift: the root is exactly the leaves summed in tree order.
    assert_eq!(tree.total().to_bits(), tree.recomputed_total().to_bits());
    let min =
        oracle.iter().copied().filter(|&p| p > 0.0).fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.min(p))));
    assert_eq!(tree.min(), min);
    assert_eq!(tree.nonzero(), oracle.iter().filter(|&&p| p > 0.0).count());
    assert_eq!(tree.leaves(), oracle);
}

fn run_tree<S: adasample::storage::Storage>(cap: usize, ops: Vec<TreeOp>) {
    let mut tree: SumTree<S> = SumTree::new(cap).unwrap();
    let mut oracle = vec![0.0; cap];
    for op in ops {
        match op {
            TreeOp::Set(i, p) => {
                let before = tree.clone();
                let valid = i < cap && (0.0..=MAX_PRIORITY).contains(&p);
                match tree.set(i, p) {
                    Ok(()) => {
                        assert!(valid);
                        oracle[i] = p;
                    }
                    Err(e) => {
                        assert!(!valid);
                        assert!(matches!(
                            e,
                            Error::IndexOutOfRange { .. } | Error::InvalidPriority { .. } | Error::ValueTooLarge { .. }
                        ));
                        assert_eq!(tree, before);
                    }
                }
            }
            TreeOp::Find(frac) => {
                let total = tree.total();
                let u = frac * total;
                match tree.find(u) {
                    Ok(i) => {
                        assert!(oracle[i] > 0.0, "zero-priority slot {i} returned");
                        // Oracle prefix search in slot order; near a boundary the
                        // tree's pairwise sums may round to the neighbour.
                        let mut acc = 0.0;
                        let mut want = None;
                        for (k, &p) in oracle.iter().enumerate() {
                            if u < acc + p {
                                want = Some(k);
                                break;
                            }
                            acc += p;
                        }
                        let want = want.unwrap_or_else(|| oracle.iter().rposition(|&p| p > 0.0).unwrap());
                        if i != want {
                            let lo = oracle[..want.min(i) + 1].iter().sum::<f64>();
                            assert!((u - lo).abs() <= 1e-9 * total.max(1.0), "find({u}) = {i}, oracle {want}");
                        }
                    }
                    Err(Error::Empty) => assert_eq!(total, 0.0),
                    // `frac * total` rounds up to `total` when the total is subnormal.
                    Err(Error::InvalidArgument { name: "u", .. }) => assert!(u >= total),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            TreeOp::Batch(b, seed) => {
                let mut rng = DefaultRng::seed_from_u64(seed);
                let mut out = vec![usize::MAX; b];
                match tree.sample_stratified(&mut rng, &mut out) {
                    Ok(()) => assert!(out.iter().all(|&i| i < cap && oracle[i] > 0.0)),
                    Err(Error::Empty) => assert_eq!(tree.total(), 0.0),
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
        }
        check_tree(&tree, &oracle);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sum_tree_matches_oracle(cap in 1usize..40, ops in prop::collection::vec(tree_op(40), 1..120)) {
        let ops: Vec<TreeOp> = ops.into_iter().map(|op| match op {
            TreeOp::Set(i, p) => TreeOp::Set(i % (cap + 2), p),
            other => other,
        }).collect();
        run_tree::<Heap>(cap, ops.clone());
        run_tree::<Fixed<64>>(cap, ops);
    }

    #[test]
    fn find_at_every_edge_is_nonzero(ps in prop::collection::vec(prop_oneof![Just(0.0), 1e-300..1e-290f64, 0.0..1.0f64, 1e10..1e12f64], 1..33)) {
        let mut tree: SumTree<Heap> = SumTree::new(ps.len()).unwrap();
        for (i, &p) in ps.iter().enumerate() { tree.set(i, p).unwrap(); }
        let total = tree.total();
        if total > 0.0 {
            // Every cumulative boundary, and the floats right around it.
            let mut acc = 0.0;
            let mut points = vec![0.0, f64::from_bits(total.to_bits() - 1)];
            for &p in &ps {
                acc += p;
                for u in [acc, f64::from_bits(acc.to_bits().saturating_sub(1)), f64::from_bits(acc.to_bits() + 1)] {
                    if u >= 0.0 && u < total { points.push(u); }
                }
            }
            for u in points {
                let i = tree.find(u).unwrap();
                prop_assert!(ps[i] > 0.0, "u={} gave zero slot {}", u, i);
            }
        }
    }
}

// ---------------------------------------------------------------- PER

/// Brute-force PER: plain vectors, sorting for ranks, the formulas as written.
struct PerOracle {
    cfg: PerConfig,
    raw: Vec<f64>,
    gens: Vec<u32>,
    items: Vec<u32>,
    next: usize,
    max_raw: f64,
    step: u64,
}

impl PerOracle {
    fn new(cfg: PerConfig) -> Self {
        PerOracle { cfg, raw: vec![], gens: vec![], items: vec![], next: 0, max_raw: 1.0, step: 0 }
    }
    fn add(&mut self, item: u32, raw: Option<f64>) -> Key {
        let r = raw.unwrap_or(self.max_raw);
        let slot = self.next;
        if slot == self.items.len() {
            self.items.push(item);
            self.raw.push(r);
            self.gens.push(0);
        } else {
            self.items[slot] = item;
            self.raw[slot] = r;
            self.gens[slot] += 1;
        }
        self.max_raw = self.max_raw.max(r);
        self.next = (slot + 1) % self.cfg.capacity;
        Key { slot: slot as u32, generation: self.gens[slot] }
    }
    fn priorities(&self) -> Vec<f64> {
        match self.cfg.kind {
            PerKind::Proportional => self.raw.iter().map(|r| (r + self.cfg.epsilon).powf(self.cfg.alpha)).collect(),
            PerKind::Rank => {
                let mut order: Vec<usize> = (0..self.raw.len()).collect();
                order.sort_by(|&a, &b| self.raw[b].partial_cmp(&self.raw[a]).unwrap().then(a.cmp(&b)));
                let mut p = vec![0.0; self.raw.len()];
                for (rank0, &slot) in order.iter().enumerate() {
                    p[slot] = ((rank0 + 1) as f64).powf(-self.cfg.alpha);
                }
                p
            }
        }
    }
    fn beta(&self) -> f64 {
        let c = &self.cfg;
        if c.beta_steps == 0 || self.step >= c.beta_steps {
            if c.beta_steps == 0 {
                c.beta
            } else {
                c.beta_final
            }
        } else {
            c.beta + (c.beta_final - c.beta) * self.step as f64 / c.beta_steps as f64
        }
    }
}

#[derive(Debug, Clone)]
enum PerOp {
    Add(Option<f64>),
    Update(Vec<(usize, bool, f64)>),
    Sample(usize),
}

fn td() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -5.0..5.0f64,
        1 => Just(0.0),
        1 => extreme(),
        1 => extreme().prop_map(|x| -x),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY)],
    ]
}

/// A raw priority (or TD error) that the buffer accepts: `|raw|` at most
/// `MAX_PRIORITY`, whatever the kind.
fn accepted(_cfg: &PerConfig, raw: f64) -> bool {
    raw.abs() <= MAX_PRIORITY
}

fn per_op() -> impl Strategy<Value = PerOp> {
    prop_oneof![
        4 => prop::option::of(prop_oneof![4 => 0.0..10.0f64, 1 => extreme(), 1 => Just(-1.0), 1 => Just(f64::NAN)])
            .prop_map(PerOp::Add),
        2 => prop::collection::vec((0usize..40, prop::bool::weighted(0.15), td()), 0..12).prop_map(PerOp::Update),
        2 => (0usize..24).prop_map(PerOp::Sample),
    ]
}

fn run_per(cfg: PerConfig, ops: Vec<PerOp>) -> Result<(), TestCaseError> {
    let mut buf: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
    let mut o = PerOracle::new(cfg);
    let mut counter = 0u32;
    for op in ops {
        let before = buf.snapshot().unwrap();
        match op {
            PerOp::Add(raw) => {
                counter += 1;
                let r = match raw {
                    Some(r) => buf.add_with_priority(counter, r),
                    None => buf.add(counter),
                };
                match r {
                    Ok(key) => {
                        prop_assert!(raw.is_none_or(|r| r >= 0.0 && accepted(&cfg, r)));
                        prop_assert_eq!(key, o.add(counter, raw.map(f64::abs)))
                    }
                    Err(e) => {
                        let r = raw.unwrap_or(0.0);
                        match e {
                            Error::InvalidPriority { .. } => prop_assert!(!(r.is_finite() && r >= 0.0)),
                            Error::ValueTooLarge { .. } => prop_assert!(!accepted(&cfg, r)),
                            e => prop_assert!(false, "{:?}", e),
                        }
                        prop_assert!(before == buf.snapshot().unwrap(), "rejected add changed state");
                    }
                }
            }
            PerOp::Update(entries) => {
                let len = o.items.len();
                let keys: Vec<Key> = entries
                    .iter()
                    .map(|&(s, stale, _)| {
                        let slot = if len > 0 && s < 38 { s % len } else { s };
                        let generation = o.gens.get(slot).copied().unwrap_or(0);
                        Key {
                            slot: slot as u32,
                            generation: if stale { generation.wrapping_sub(1) } else { generation },
                        }
                    })
                    .collect();
                let tds: Vec<f64> = entries.iter().map(|e| e.2).collect();
                let bad = keys.iter().any(|k| k.slot as usize >= len) || tds.iter().any(|&t| !accepted(&cfg, t));
                match buf.update_priorities(&keys, &tds) {
                    Ok(rep) => {
                        prop_assert!(!bad);
                        let mut stale = 0;
                        for (k, &t) in keys.iter().zip(&tds) {
                            if o.gens[k.slot as usize] != k.generation {
                                stale += 1;
                            } else {
                                o.raw[k.slot as usize] = t.abs();
                                o.max_raw = o.max_raw.max(t.abs());
                            }
                        }
                        prop_assert_eq!(rep.stale, stale);
                        prop_assert_eq!(rep.applied, keys.len() - stale);
                    }
                    Err(_) => {
                        prop_assert!(bad);
                        prop_assert!(before == buf.snapshot().unwrap(), "rejected update changed state");
                    }
                }
            }
            PerOp::Sample(b) => {
                let mut draws = vec![Draw::default(); b];
                let p = o.priorities();
                let total: f64 = p.iter().sum();
                let nonzero = p.iter().filter(|&&x| x > 0.0).count();
                match buf.sample_into(&mut draws) {
                    Ok(()) => {
                        let beta = o.beta();
                        let global_min = p.iter().copied().filter(|&x| x > 0.0).fold(f64::INFINITY, f64::min);
                        let batch_min = draws.iter().map(|d| p[d.key.slot as usize]).fold(f64::INFINITY, f64::min);
                        for d in &draws {
                            let s = d.key.slot as usize;
                            prop_assert!(s < o.items.len(), "unwritten slot");
                            prop_assert!(p[s] > 0.0, "zero-priority slot");
                            prop_assert_eq!(d.key.generation, o.gens[s]);
                            prop_assert_eq!(buf.get(d.key), Some(&o.items[s]));
                            prop_assert!(
                                close(d.probability, p[s] / total, 1e-9),
                                "P {} vs {}",
                                d.probability,
                                p[s] / total
                            );
                            let p_min = match cfg.normalization {
                                Normalization::Global => global_min,
                                Normalization::Batch => batch_min,
                            };
                            let w = log_weight(p_min, p[s], beta);
                            prop_assert!(d.weight >= 0.0 && d.weight <= 1.0);
                            if w >= f64::MIN_POSITIVE {
                                // A normal true weight is never lost to underflow.
                                prop_assert!(close(d.weight, w, 1e-9), "w {} vs {}", d.weight, w);
                            } else {
                                prop_assert!(d.weight <= 2.0 * f64::MIN_POSITIVE, "w {} vs {}", d.weight, w);
                            }
                        }
                        if cfg.without_replacement {
                            let mut slots: Vec<u32> = draws.iter().map(|d| d.key.slot).collect();
                            slots.sort();
                            slots.dedup();
                            prop_assert_eq!(slots.len(), b);
                        }
                        o.step += 1;
                    }
                    Err(Error::Empty) => {
                        prop_assert!(o.items.is_empty() || total == 0.0);
                        prop_assert!(before == buf.snapshot().unwrap());
                    }
                    Err(Error::BatchTooLarge { requested, available }) => {
                        prop_assert!(cfg.without_replacement && requested == b && available == nonzero && b > nonzero);
                        prop_assert!(before == buf.snapshot().unwrap());
                    }
                    Err(e) => prop_assert!(false, "unexpected {:?}", e),
                }
            }
        }
        prop_assert_eq!(buf.len(), o.items.len());
        prop_assert_eq!(buf.raw_priorities(), &o.raw[..]);
        let p = o.priorities();
        let total: f64 = p.iter().sum();
        prop_assert!(close(buf.total_priority(), total, 1e-12));
        prop_assert!(close(buf.beta(), o.beta(), 1e-12));
        for (s, (&ps, &generation)) in p.iter().zip(&o.gens).enumerate() {
            let key = Key { slot: s as u32, generation };
            let want = if ps > 0.0 { ps / total } else { 0.0 };
            prop_assert!(close(buf.probability(key).unwrap(), want, 1e-9));
        }
    }
    Ok(())
}

fn per_config() -> impl Strategy<Value = PerConfig> {
    (
        1usize..33,
        0.0..=1.0f64,
        0.0..=1.0f64,
        0u64..6,
        prop_oneof![Just(0.0), Just(1e-6), Just(0.01)],
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(capacity, alpha, beta, beta_steps, epsilon, seed, rank, without, batch_norm)| PerConfig {
            capacity,
            alpha,
            beta,
            beta_final: 1.0,
            beta_steps,
            epsilon,
            seed,
            kind: if rank { PerKind::Rank } else { PerKind::Proportional },
            without_replacement: without,
            normalization: if batch_norm { Normalization::Batch } else { Normalization::Global },
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn per_matches_oracle(cfg in per_config(), ops in prop::collection::vec(per_op(), 1..80)) {
        run_per(cfg, ops)?;
    }
}

// ---------------------------------------------------------------- adaptive

fn adaptive_oracle_p(cfg: &AdaptiveConfig, scores: &[f64]) -> Vec<f64> {
    let n = scores.len() as f64;
    let t: Vec<f64> = scores.iter().map(|s| s.powf(cfg.alpha)).collect();
    let total: f64 = t.iter().sum();
    if cfg.mode == AdaptiveMode::Ohem || total == 0.0 {
        return vec![1.0 / n; scores.len()];
    }
    t.iter().map(|x| (1.0 - cfg.uniform_floor) * x / total + cfg.uniform_floor / n).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn adaptive_matches_oracle(
        n in 1usize..30,
        lr in 0.01..=1.0f64,
        mode in prop_oneof![Just(AdaptiveMode::Ema), Just(AdaptiveMode::AdaBoost), Just(AdaptiveMode::Ohem)],
        alpha in 0.0..=1.0f64,
        floor in prop_oneof![Just(0.0), 0.0..=1.0f64],
        seed in any::<u64>(),
        rounds in prop::collection::vec((1usize..12, prop::collection::vec(prop_oneof![4 => 0.0..5.0f64, 1 => Just(0.0), 1 => extreme(), 1 => Just(-1.0), 1 => Just(f64::NAN)], 12)), 1..15),
    ) {
        let cfg = AdaptiveConfig { mode, alpha, uniform_floor: floor, seed, ..AdaptiveConfig::new(n, lr) };
        let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(cfg).unwrap();
        let mut scores = vec![1.0; n];
        for (b, losses) in rounds {
            let b = if mode == AdaptiveMode::Ohem { b.min(n) } else { b };
            let (idx, w) = s.sample(b).unwrap();
            let p = adaptive_oracle_p(&cfg, &scores);
            let sampleable: Vec<f64> = p.iter().copied().filter(|&x| x > 0.0).collect();
            let pmin = sampleable.iter().copied().fold(f64::INFINITY, f64::min);
            for (&i, &wi) in idx.iter().zip(&w) {
                prop_assert!(i < n);
                prop_assert!(p[i] > 0.0, "drew example {} of probability 0", i);
                let want = if mode == AdaptiveMode::Ohem { 1.0 } else { log_weight(pmin, p[i], cfg.beta) };
                prop_assert!(close(wi, want, 1e-9), "weight {} vs {}", wi, want);
                prop_assert!(close(s.probability(i).unwrap(), p[i], 1e-9));
            }
            if mode == AdaptiveMode::Ohem {
                let mut sorted = idx.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), b, "OHEM batch has repeats");
            }
            let losses = &losses[..b];
            let bad = losses.iter().any(|l| !(l.is_finite() && *l >= 0.0 && *l <= MAX_PRIORITY));
            let before = s.snapshot().unwrap();
            match s.update_weights(&idx, losses) {
                Ok(()) => {
                    prop_assert!(!bad);
                    let mean = losses.iter().map(|l| l / b as f64).sum::<f64>();
                    for (&i, &l) in idx.iter().zip(losses) {
                        scores[i] = match mode {
                            AdaptiveMode::AdaBoost => (scores[i] * (lr * (l - mean)).exp()).clamp(cfg.min_score, cfg.max_score),
                            _ => (1.0 - lr) * scores[i] + lr * l,
                        };
                    }
                }
                Err(e) => {
                    prop_assert!(
                        bad && matches!(e, Error::InvalidArgument { name: "loss", .. } | Error::ValueTooLarge { name: "loss", .. }),
                        "{:?}",
                        e
                    );
                    prop_assert!(before == s.snapshot().unwrap());
                }
            }
            for (a, b) in s.scores().iter().zip(&scores) {
                prop_assert!(close(*a, *b, 1e-9), "score {} vs {}", a, b);
            }
        }
    }
}

#[test]
fn ohem_takes_the_hardest_when_the_pool_is_everything() {
    let cfg = AdaptiveConfig {
        mode: AdaptiveMode::Ohem,
        pool_factor: 100,
        learning_rate: 1.0,
        ..AdaptiveConfig::new(10, 1.0)
    };
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(cfg).unwrap();
    let all: Vec<usize> = (0..10).collect();
    let losses: Vec<f64> = (0..10).map(|i| ((i * 7) % 10) as f64).collect();
    s.update_weights(&all, &losses).unwrap();
    let (mut idx, w) = s.sample(3).unwrap();
    idx.sort();
    // Losses 9, 8, 7 sit at indices 7, 4, 1.
    assert_eq!(idx, vec![1, 4, 7]);
    assert_eq!(w, vec![1.0; 3]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// `extend` is `add` one after another: same state, same tree to the bit,
    /// same next batch; also after updates moved the maximum, and for rank PER.
    #[test]
    fn extend_is_add_after_add(
        cfg in per_config(),
        first in 0usize..300,
        tds in prop::collection::vec(td(), 0..20),
        then in 0usize..300,
    ) {
        let mut a: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
        let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
        for i in 0..first as u32 {
            a.add(i).unwrap();
        }
        prop_assert_eq!(b.extend(0..first as u32).unwrap(), first);
        if first > 0 && !tds.is_empty() {
            let keys: Vec<Key> = (0..tds.len()).map(|k| Key { slot: (k % a.len()) as u32, generation: 0 }).collect();
            // Debug text: an error's NaN value is not equal to itself.
            let (ra, rb) = (a.update_priorities(&keys, &tds), b.update_priorities(&keys, &tds));
            prop_assert_eq!(format!("{ra:?}"), format!("{rb:?}"));
        }
        for i in 0..then as u32 {
            a.add(1000 + i).unwrap();
        }
        b.extend(1000..1000 + then as u32).unwrap();
        prop_assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
        prop_assert_eq!(a.total_priority().to_bits(), b.total_priority().to_bits());
        prop_assert_eq!(a.min_priority().map(f64::to_bits), b.min_priority().map(f64::to_bits));
        if a.total_priority() > 0.0 {
            let (mut da, mut db) = ([Draw::default(); 7], [Draw::default(); 7]);
            let (ra, rb) = (a.sample_into(&mut da), b.sample_into(&mut db));
            prop_assert_eq!(ra.is_ok(), rb.is_ok());
            for (x, y) in da.iter().zip(&db) {
                prop_assert_eq!((x.key, x.weight.to_bits(), x.probability.to_bits()), (y.key, y.weight.to_bits(), y.probability.to_bits()));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// One batch update is the same as its keys one at a time, to the bit:
    /// batches of up to 300 keys (the update works in groups of 64), with
    /// repeated slots (the later entry wins), stale keys, and extreme
    /// magnitudes; also the next batch drawn.
    #[test]
    fn batch_update_is_updates_one_by_one(
        capacity in 1usize..200,
        extra in 0usize..100,
        rank in any::<bool>(),
        entries in prop::collection::vec((0usize..200, prop::bool::weighted(0.1), prop_oneof![8 => td(), 1 => extreme()]), 0..300),
    ) {
        let cfg = PerConfig { seed: 5, ..if rank { PerConfig::rank(capacity) } else { PerConfig::new(capacity) } };
        let mut a: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
        // Past the capacity, slots are written again: slot s has generation
        // (writes of s) - 1.
        a.extend(0..(capacity + extra) as u32).unwrap();
        let mut b = a.clone();
        let keys: Vec<Key> = entries
            .iter()
            .map(|&(s, stale, _)| {
                let slot = s % capacity;
                let generation = ((capacity + extra - 1 - slot) / capacity) as u32;
                Key { slot: slot as u32, generation: if stale { generation ^ 1 } else { generation } }
            })
            .collect();
        // Accepted values only (a refused batch changes nothing: tested elsewhere).
        let tds: Vec<f64> =
            entries.iter().map(|e| if e.2.is_nan() { 1.0 } else { e.2.clamp(-MAX_PRIORITY, MAX_PRIORITY) }).collect();
        let report = a.update_priorities(&keys, &tds).unwrap();
        let (mut applied, mut stale) = (0, 0);
        for (k, t) in keys.iter().zip(&tds) {
            let r = b.update_priorities(core::slice::from_ref(k), core::slice::from_ref(t)).unwrap();
            (applied, stale) = (applied + r.applied, stale + r.stale);
        }
        prop_assert_eq!((report.applied, report.stale), (applied, stale));
        prop_assert_eq!(report.stale, entries.iter().filter(|e| e.1).count());
        prop_assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
        prop_assert_eq!(a.total_priority().to_bits(), b.total_priority().to_bits());
        prop_assert_eq!(a.min_priority().map(f64::to_bits), b.min_priority().map(f64::to_bits));
        if a.total_priority() > 0.0 {
            let (mut da, mut db) = ([Draw::default(); 9], [Draw::default(); 9]);
            prop_assert_eq!(a.sample_into(&mut da).is_ok(), b.sample_into(&mut db).is_ok());
            for (x, y) in da.iter().zip(&db) {
                prop_assert_eq!((x.key, x.weight.to_bits(), x.probability.to_bits()), (y.key, y.weight.to_bits(), y.probability.to_bits()));
            }
        }
    }
}
