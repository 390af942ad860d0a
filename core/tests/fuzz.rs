//! Fuzz targets, as a proptest harness: one per snapshot decoder (the replay
//! table's too) and one per sampler API. Inputs are arbitrary: every `f64` bit pattern (NaN, infinities,
//! subnormals, -0.0, the extremes), indices and batch sizes up to `usize::MAX`,
//! configs with any field values, and snapshot bytes that are random or are
//! real snapshots mutated (bit flips, byte writes, truncation, insertion) and
//! re-sealed with a valid checksum, so that the decoder's checks behind the
//! checksum are reached. A target fails on any panic (proptest catches it and
//! shrinks the input), on a rejected call that changed the state, and on a
//! restored object that does not work like any other.
//!
//! Each target runs for `ADASAMPLE_FUZZ_SECONDS` seconds (default 1, as part
//! of `make test`; `make fuzz` runs longer, in release) in rounds of 64 cases
//! with round-numbered seeds, so a failure is reproducible from its round.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwDirection, IwMode, IwSftConfig};
use adasample::nstep::{NStepConfig, NStepWindows, Step};
use adasample::per::{Draw, Key, Normalization, PerConfig, PerKind, PrioritizedReplayBuffer, PrioritizedSelector};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
use adasample::select::Selector;
use adasample::storage::{Fixed, Heap, Storage};
use adasample::table::ReplayTable;
use adasample::tree::SumTree;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample::{DefaultRng, Error, MAX_PRIORITY};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand_core::SeedableRng;
use std::time::{Duration, Instant};

mod common;

fn budget() -> Duration {
    let secs = std::env::var("ADASAMPLE_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(1.0);
    Duration::from_secs_f64(secs.max(0.0))
}

/// Runs `test` on inputs from `strategy` until the budget is spent.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let start = Instant::now();
    let (mut rounds, mut cases) = (0u64, 0u64);
    while rounds == 0 || start.elapsed() < budget() {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rounds.to_le_bytes());
        seed[8..12].copy_from_slice(&(name.len() as u32).to_le_bytes());
        let config = Config { cases: 64, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("fuzz {name}: round {rounds}: {e}");
        }
        rounds += 1;
        cases += 64;
    }
    println!("fuzz {name}: {cases} cases in {:.1} s, 0 failures", start.elapsed().as_secs_f64());
}

/// Any `f64`: every bit pattern, with the interesting ones more often.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        3 => -10.0..10.0f64,
        2 => prop_oneof![
            Just(0.0), Just(-0.0), Just(5e-324), Just(1e-310), Just(1e-300), Just(1.0),
            Just(MAX_PRIORITY), Just(1e300), Just(1e308), Just(f64::MAX), Just(-f64::MAX),
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MIN_POSITIVE),
        ],
    ]
}

fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![4 => 0.0..=1.0f64, 1 => wild()]
}

/// A batch size for caller slices (small) or for `Vec`-returning calls (any).
fn batch() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..48, 1 => Just(usize::MAX), 1 => Just(1usize << 40), 1 => Just(1usize << 50)]
}

fn index() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 0usize..40, 1 => any::<usize>(), 1 => Just(u32::MAX as usize)]
}

// ---------------------------------------------------------------- decoders

/// A real snapshot, mutated and re-sealed, or plain random bytes.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = valid.len();
    prop_oneof![
        4 => (prop::collection::vec((0..n, any::<u8>(), 0u8..4), 1..6), any::<bool>()).prop_map(move |(edits, reseal)| {
            let mut b = valid.clone();
            for (at, byte, how) in edits {
                let at = at.min(b.len().saturating_sub(1));
                match how {
                    0 if !b.is_empty() => b[at] ^= 1 << (byte % 8),
                    1 if !b.is_empty() => b[at] = byte,
                    2 => b.truncate(at),
                    _ => b.insert(at.min(b.len()), byte),
                }
            }
            if reseal {
                reseal_bytes(&mut b);
            }
            b
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Recomputes the trailing FNV-1a checksum (any format version).
fn reseal_bytes(b: &mut [u8]) {
    if b.len() >= 15 {
        let body = b.len() - 8;
        let sum = b[..body]
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3));
        b[body..].copy_from_slice(&sum.to_le_bytes());
    }
}

fn typed_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::CorruptSnapshot { .. }
            | Error::UnsupportedSnapshotVersion { .. }
            | Error::InvalidConfig { .. }
            | Error::StorageTooSmall { .. }
            | Error::AllocationFailed { .. }
    )
}

#[test]
fn fuzz_decode_sum_tree() {
    let mut t: SumTree<Heap> = SumTree::new(5).unwrap();
    t.set_many(&[0, 2, 4], &[1.0, 1e-300, 3.5]).unwrap();
    fuzz("decode SumTree", mutated(t.snapshot().unwrap()), |bytes| {
        match SumTree::<Heap>::restore(&bytes) {
            Ok(t) => {
                prop_assert!(t.total().is_finite());
                prop_assert_eq!(t.total().to_bits(), t.recomputed_total().to_bits());
                let again = SumTree::<Heap>::restore(&t.snapshot().unwrap()).unwrap();
                prop_assert!(again == t);
            }
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
}

fn decode_per<S: Storage>(name: &str, config: PerConfig) {
    let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(config).unwrap();
    for x in 0..11 {
        b.add(x).unwrap();
    }
    let keys = b.sample(4).unwrap().indices;
    b.update_priorities(&keys, &[0.5, 2.0, 1e-300, 7.0]).unwrap();
    fuzz(name, mutated(b.snapshot().unwrap()), |bytes| {
        match PrioritizedReplayBuffer::<u32, S>::restore(&bytes) {
            Ok(mut r) => {
                prop_assert!(r.total_priority().is_finite());
                let mut draws = [Draw::default(); 8];
                match r.sample_into(&mut draws) {
                    Ok(()) => prop_assert!(draws.iter().all(|d| r.get(d.key).is_some() && d.weight <= 1.0)),
                    Err(e) => prop_assert!(matches!(e, Error::Empty | Error::BatchTooLarge { .. }), "{:?}", e),
                }
                let again = PrioritizedReplayBuffer::<u32, S>::restore(&r.snapshot().unwrap()).unwrap();
                prop_assert_eq!(again.snapshot().unwrap(), r.snapshot().unwrap());
            }
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
}

#[test]
fn fuzz_decode_per() {
    decode_per::<Heap>("decode PER proportional", PerConfig { capacity: 8, ..PerConfig::new(8) });
    decode_per::<Heap>("decode PER rank", PerConfig::rank(8));
    decode_per::<Fixed<8>>("decode PER rank, Fixed<8>", PerConfig::rank(8));
}

#[test]
fn fuzz_decode_adaptive() {
    for (mode, prior) in [(AdaptiveMode::Ema, false), (AdaptiveMode::Ohem, false), (AdaptiveMode::Ema, true)] {
        let mut s: AdaptiveBatchSampler<Heap> =
            AdaptiveBatchSampler::new(AdaptiveConfig { mode, ..AdaptiveConfig::new(6, 0.3) }).unwrap();
        if prior {
            s.set_prior(&[1.0, 0.5, 0.5, 1e-300, 5e-324, 0.25]).unwrap();
        }
        let (idx, _) = s.sample(3).unwrap();
        s.update_weights(&idx, &[1.0, 0.0, 4.0]).unwrap();
        fuzz(&format!("decode adaptive {mode:?} prior {prior}"), mutated(s.snapshot().unwrap()), |bytes| {
            match AdaptiveBatchSampler::<Heap>::restore(&bytes) {
                Ok(mut r) => {
                    let n = r.config().dataset_size;
                    let mut p = vec![0.0; n];
                    r.probabilities_into(&mut p).unwrap();
                    prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{:?}", p);
                    match r.sample(2) {
                        Ok((i, _)) => prop_assert!(i.iter().all(|&i| i < n)),
                        Err(e) => prop_assert!(matches!(e, Error::BatchTooLarge { .. }), "{:?}", e),
                    }
                }
                Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
            }
            Ok(())
        });
    }
}

#[test]
fn fuzz_decode_reward() {
    let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(16)).unwrap();
    s.extend(&[0.0, 1.0, -3.0, 1e300]).unwrap();
    fuzz("decode reward", mutated(s.snapshot().unwrap()), |bytes| {
        match RewardWeightedSampler::<Heap>::restore(&bytes) {
            Ok(mut r) => match r.sample(4) {
                Ok((i, w)) => prop_assert!(i.iter().all(|&i| i < r.len()) && w.iter().all(|w| w.is_finite())),
                Err(e) => prop_assert!(matches!(e, Error::Empty), "{:?}", e),
            },
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
}

// ---------------------------------------------------------------- sampler APIs

#[derive(Debug, Clone)]
enum TreeOp {
    Set(usize, f64),
    SetMany(Vec<(usize, f64)>),
    Find(f64),
    Sample(usize, u64),
    Get(usize),
    Clear,
}

#[test]
fn fuzz_sum_tree_api() {
    let op = prop_oneof![
        (index(), wild()).prop_map(|(i, p)| TreeOp::Set(i, p)),
        prop::collection::vec((index(), wild()), 0..6).prop_map(TreeOp::SetMany),
        wild().prop_map(TreeOp::Find),
        (0usize..40, any::<u64>()).prop_map(|(b, s)| TreeOp::Sample(b, s)),
        index().prop_map(TreeOp::Get),
        Just(TreeOp::Clear),
    ];
    fuzz("SumTree API", (index(), prop::collection::vec(op, 1..40)), |(cap, ops)| {
        let Ok(mut t) = SumTree::<Heap>::new(cap.min(1 << 12)) else {
            return Ok(());
        };
        for op in ops {
            let before = t.clone();
            let refused = match op {
                TreeOp::Set(i, p) => t.set(i, p).is_err(),
                TreeOp::SetMany(v) => {
                    let (i, p): (Vec<usize>, Vec<f64>) = v.into_iter().unzip();
                    t.set_many(&i, &p).is_err()
                }
                TreeOp::Find(u) => match t.find(u) {
                    Ok(i) => {
                        prop_assert!(t.get(i).unwrap() > 0.0);
                        false
                    }
                    Err(_) => true,
                },
                TreeOp::Sample(b, s) => {
                    let mut out = vec![usize::MAX; b];
                    let r = t.sample_stratified(&mut DefaultRng::seed_from_u64(s), &mut out);
                    if r.is_ok() {
                        prop_assert!(out.iter().all(|&i| t.get(i).unwrap() > 0.0));
                    }
                    r.is_err()
                }
                TreeOp::Get(i) => t.get(i).is_err(),
                TreeOp::Clear => {
                    t.clear();
                    false
                }
            };
            if refused {
                prop_assert!(t == before, "a refused call changed the tree");
            }
            prop_assert!(t.total().is_finite());
            prop_assert_eq!(t.total().to_bits(), t.recomputed_total().to_bits());
        }
        Ok(())
    });
}

fn per_config() -> impl Strategy<Value = PerConfig> {
    (index(), unit(), unit(), unit(), any::<u64>(), prop_oneof![Just(1e-6), wild()], any::<u64>(), any::<[bool; 3]>())
        .prop_map(|(capacity, alpha, beta, beta_final, beta_steps, epsilon, seed, [rank, wr, batch])| PerConfig {
            capacity: capacity.max(1),
            alpha,
            beta,
            beta_final,
            beta_steps: beta_steps % 8,
            epsilon,
            seed,
            kind: if rank { PerKind::Rank } else { PerKind::Proportional },
            without_replacement: wr,
            normalization: if batch { Normalization::Batch } else { Normalization::Global },
        })
}

#[derive(Debug, Clone)]
enum PerOp {
    Add(Option<f64>),
    Extend(usize),
    Update(Vec<(usize, u32, f64)>),
    SampleInto(usize),
    Sample(usize),
    Query(usize, u32),
    Reset(PerConfig),
    RoundTrip,
}

fn per_api<S: Storage>(name: &str) {
    let op = prop_oneof![
        4 => prop::option::of(wild()).prop_map(PerOp::Add),
        1 => (0usize..80).prop_map(PerOp::Extend),
        3 => prop::collection::vec((index(), 0u32..3, wild()), 0..8).prop_map(PerOp::Update),
        2 => (0usize..40).prop_map(PerOp::SampleInto),
        1 => batch().prop_map(PerOp::Sample),
        1 => (index(), 0u32..3).prop_map(|(s, g)| PerOp::Query(s, g)),
        1 => per_config().prop_map(PerOp::Reset),
        1 => Just(PerOp::RoundTrip),
    ];
    fuzz(name, (per_config(), prop::collection::vec(op, 1..60)), |(cfg, ops)| {
        let cfg = PerConfig { capacity: cfg.capacity.min(64), ..cfg };
        let Ok(mut b) = PrioritizedReplayBuffer::<u32, S>::new(cfg) else {
            return Ok(());
        };
        let mut item = 0u32;
        for op in ops {
            let before = b.snapshot().unwrap();
            item += 1;
            let refused = match op {
                PerOp::Add(p) => match p {
                    Some(p) => b.add_with_priority(item, p).is_err(),
                    None => b.add(item).is_err(),
                },
                PerOp::Extend(n) => {
                    b.extend(0..n as u32).unwrap();
                    false
                }
                PerOp::Update(v) => {
                    let keys: Vec<Key> = v
                        .iter()
                        .map(|&(s, g, _)| Key { slot: s as u32, generation: b.key(s).map_or(g, |k| k.generation + g) })
                        .collect();
                    let tds: Vec<f64> = v.iter().map(|e| e.2).collect();
                    b.update_priorities(&keys, &tds).is_err()
                }
                PerOp::SampleInto(n) => {
                    let mut d = vec![Draw::default(); n];
                    let r = b.sample_into(&mut d);
                    if r.is_ok() {
                        for x in &d {
                            prop_assert!(b.get(x.key).is_some());
                            prop_assert!((0.0..=1.0).contains(&x.weight), "{:?}", x);
                        }
                    }
                    r.is_err()
                }
                PerOp::Sample(n) => b.sample(n).is_err(),
                PerOp::Query(s, g) => {
                    let k = Key { slot: s as u32, generation: g };
                    let _ = (b.get(k), b.probability(k), b.key(s));
                    false
                }
                PerOp::Reset(c) => {
                    let c = PerConfig { capacity: c.capacity.min(64), ..c };
                    let r = b.reset(c);
                    if let Err(e) = r {
                        prop_assert!(
                            matches!(e, Error::InvalidConfig { .. } | Error::StorageTooSmall { .. }),
                            "{:?}",
                            e
                        );
                    }
                    r.is_err()
                }
                PerOp::RoundTrip => {
                    b = PrioritizedReplayBuffer::restore(&before).unwrap();
                    false
                }
            };
            if refused {
                prop_assert!(before == b.snapshot().unwrap(), "a refused call changed the buffer");
            }
            prop_assert!(b.total_priority().is_finite());
        }
        Ok(())
    });
}

#[test]
fn fuzz_per_api() {
    per_api::<Heap>("PER API");
    per_api::<Fixed<64>>("PER API, Fixed<64>");
}

#[derive(Debug, Clone)]
enum AdaptiveOp {
    Update(Vec<(usize, f64)>),
    Prior(Vec<(usize, f64)>),
    SetPrior(Vec<f64>),
    ClearPrior,
    Sample(usize),
    SampleEdge(usize),
    Probability(usize),
}

#[test]
fn fuzz_adaptive_api() {
    let config = (1usize..40, wild(), 0u8..3, unit(), unit(), unit(), wild(), wild(), wild(), 0usize..6).prop_map(
        |(n, lr, mode, alpha, floor, beta, init, lo, hi, pool)| AdaptiveConfig {
            mode: [AdaptiveMode::Ema, AdaptiveMode::AdaBoost, AdaptiveMode::Ohem][mode as usize],
            alpha,
            uniform_floor: floor,
            beta,
            initial_score: if init.is_finite() && init > 0.0 { init.min(1e6) } else { init },
            min_score: lo,
            max_score: hi,
            pool_factor: pool,
            ..AdaptiveConfig::new(n, lr.abs().min(1.0))
        },
    );
    let op = prop_oneof![
        3 => prop::collection::vec((index(), wild()), 0..10).prop_map(AdaptiveOp::Update),
        1 => prop::collection::vec((index(), unit()), 0..6).prop_map(AdaptiveOp::Prior),
        1 => prop::collection::vec(unit(), 0..42).prop_map(AdaptiveOp::SetPrior),
        1 => Just(AdaptiveOp::ClearPrior),
        2 => batch().prop_map(AdaptiveOp::Sample),
        1 => (0usize..50).prop_map(AdaptiveOp::SampleEdge),
        1 => index().prop_map(AdaptiveOp::Probability),
    ];
    fuzz("adaptive API", (config, prop::collection::vec(op, 1..40)), |(cfg, ops)| {
        // An invalid config is refused (checked by the config's own tests);
        // the operations then run on a valid one of the same size and mode.
        let cfg = match AdaptiveBatchSampler::<Heap>::new(cfg) {
            Ok(_) => cfg,
            Err(e) => {
                prop_assert!(matches!(e, Error::InvalidConfig { .. }), "{:?}", e);
                AdaptiveConfig { mode: cfg.mode, ..AdaptiveConfig::new(cfg.dataset_size, 0.5) }
            }
        };
        let mut s = AdaptiveBatchSampler::<Heap>::new(cfg).unwrap();
        let n = cfg.dataset_size;
        for op in ops {
            let before = s.snapshot().unwrap();
            let refused = match op {
                AdaptiveOp::Update(v) => {
                    let (i, l): (Vec<usize>, Vec<f64>) = v.into_iter().map(|(i, l)| (i % (n + 2), l)).unzip();
                    s.update_weights(&i, &l).is_err()
                }
                AdaptiveOp::Prior(v) => {
                    let (i, q): (Vec<usize>, Vec<f64>) = v.into_iter().map(|(i, q)| (i % (n + 2), q)).unzip();
                    s.update_prior(&i, &q).is_err()
                }
                AdaptiveOp::SetPrior(mut q) => {
                    // Often the right length, so that the values are what is tested.
                    if q.len() > n && q.len() % 2 == 0 {
                        q.truncate(n);
                    }
                    s.set_prior(&q).is_err()
                }
                AdaptiveOp::ClearPrior => {
                    s.clear_prior();
                    false
                }
                AdaptiveOp::Sample(b) => match s.sample(b) {
                    Ok((i, w)) => {
                        prop_assert!(i.iter().all(|&i| i < n) && w.iter().all(|w| (0.0..=1.0).contains(w)), "{:?}", w);
                        false
                    }
                    Err(_) => true,
                },
                AdaptiveOp::SampleEdge(b) => {
                    let (mut i, mut w) = (vec![0; b], vec![0.0; b]);
                    s.sample_with(&mut common::Top, &mut i, &mut w).is_err()
                }
                AdaptiveOp::Probability(i) => s.probability(i).is_err(),
            };
            if refused {
                prop_assert!(before == s.snapshot().unwrap(), "a refused call changed the sampler");
            }
            let mut p = vec![0.0; n];
            s.probabilities_into(&mut p).unwrap();
            prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{:?}", p);
        }
        Ok(())
    });
}

#[test]
fn fuzz_reward_api() {
    let config =
        (1usize..64, wild(), wild(), any::<bool>(), unit(), any::<u64>()).prop_map(|(c, t, m, awr, beta, seed)| {
            RewardConfig { capacity: c, temperature: t, max_weight: m, normalize_advantages: awr, beta, seed }
        });
    let op = prop_oneof![3 => prop::collection::vec(wild(), 0..8).prop_map(Ok), 1 => batch().prop_map(Err)];
    fuzz("reward API", (config, prop::collection::vec(op, 1..30)), |(cfg, ops)| {
        let Ok(mut s) = RewardWeightedSampler::<Heap>::new(cfg) else {
            return Ok(());
        };
        for op in ops {
            let before = s.snapshot().unwrap();
            let refused = match op {
                Ok(rewards) => s.extend(&rewards).is_err(),
                Err(b) => match s.sample(b) {
                    Ok((i, w)) => {
                        prop_assert!(i.iter().all(|&i| i < s.len()) && w.iter().all(|w| w.is_finite() && *w >= 0.0));
                        false
                    }
                    Err(_) => true,
                },
            };
            if refused {
                prop_assert!(before == s.snapshot().unwrap());
            }
            let mut p = vec![0.0; s.len()];
            s.probabilities_into(&mut p).unwrap();
            prop_assert!(s.is_empty() || (p.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{:?}", p);
        }
        Ok(())
    });
}

#[test]
fn fuzz_iw_api() {
    let config =
        (wild(), unit(), any::<[bool; 2]>(), wild(), wild()).prop_map(|(t, eps, [tok, inv], lo, hi)| IwSftConfig {
            temperature: t,
            epsilon: eps,
            mode: if tok { IwMode::Token } else { IwMode::Sequence },
            direction: if inv { IwDirection::SeedInverse } else { IwDirection::Paper },
            sequence_clip: (lo.abs().min(1.0), hi),
            token_clip: (0.2, 1.8),
        });
    let values = prop::collection::vec(prop_oneof![3 => -20.0..0.0f64, 1 => wild()], 0..24);
    let input = (
        config,
        values.clone(),
        values.clone(),
        prop::option::of(prop::collection::vec(any::<bool>(), 0..24)),
        0usize..6,
    );
    fuzz("iw API", input, |(cfg, policy, reference, mask, seq_len)| {
        let len = policy.len().min(reference.len());
        let (policy, reference) = (&policy[..len], &reference[..len]);
        let mut out = vec![0.0; cfg.output_len(len, seq_len)];
        if iw::weights(&cfg, policy, reference, mask.as_deref(), seq_len, &mut out).is_ok() {
            prop_assert!(out.iter().all(|w| w.is_finite() && *w >= 0.0), "{:?}", out);
            if let Ok(loss) = iw::weighted_loss(cfg.mode, &out, policy, mask.as_deref(), seq_len) {
                prop_assert!(loss.is_finite());
            }
        }
        for label in [0, len / 2, len] {
            if let Ok(nll) = iw::label_smoothed_nll(policy, label, cfg.epsilon) {
                prop_assert!(nll.is_finite(), "{} from {:?}", nll, policy);
            }
        }
        Ok(())
    });
}

// ------------------------------------------------- selectors, rows, n-step

#[test]
fn fuzz_decode_selectors() {
    let mut p: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::rank(8)).unwrap();
    let mut u: UniformSelector<Heap> =
        UniformSelector::new(UniformConfig { stratified: true, ..UniformConfig::new(8) }).unwrap();
    for x in 0..11 {
        p.insert(Some(f64::from(x) * 0.5)).unwrap();
        u.insert(None).unwrap();
    }
    fuzz("decode PrioritizedSelector", mutated(p.snapshot().unwrap()), |bytes| {
        match PrioritizedSelector::<Heap>::restore(&bytes) {
            Ok(mut r) => {
                prop_assert!(r.total_priority().is_finite());
                let mut draws = [Draw::default(); 8];
                match r.sample_into(&mut draws) {
                    Ok(()) => prop_assert!(draws.iter().all(|d| r.is_current(d.key) && d.weight <= 1.0)),
                    Err(e) => prop_assert!(matches!(e, Error::Empty | Error::BatchTooLarge { .. }), "{:?}", e),
                }
                let again = PrioritizedSelector::<Heap>::restore(&r.snapshot().unwrap()).unwrap();
                prop_assert_eq!(again.snapshot().unwrap(), r.snapshot().unwrap());
            }
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
    fuzz("decode UniformSelector", mutated(u.snapshot().unwrap()), |bytes| {
        match UniformSelector::<Fixed<8>>::restore(&bytes) {
            Ok(mut r) => {
                let mut draws = [Draw::default(); 8];
                match r.sample_into(&mut draws) {
                    Ok(()) => prop_assert!(draws.iter().all(|d| r.is_current(d.key) && d.weight == 1.0)),
                    Err(e) => prop_assert!(matches!(e, Error::Empty | Error::BatchTooLarge { .. }), "{:?}", e),
                }
                let again = UniformSelector::<Fixed<8>>::restore(&r.snapshot().unwrap()).unwrap();
                prop_assert!(again == r);
            }
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
}

#[test]
fn fuzz_decode_table() {
    use adasample::snapshot::{table_selector_kind, SelectorKind};
    let cols = [ColumnSpec::new("xy", DType::F32, &[2]), ColumnSpec::new("a", DType::U8, &[])];
    let rows = RowStorage::<Heap>::new(8, &cols).unwrap();
    let mut t = ReplayTable::new(PrioritizedSelector::<Heap>::new(PerConfig::rank(8)).unwrap(), rows).unwrap();
    for x in 0..11u8 {
        t.add(&[Values::F32(&[f32::from(x), -0.0]), Values::U8(&[x])], Some(f64::from(x) * 0.5)).unwrap();
    }
    fuzz("decode ReplayTable", mutated(t.snapshot().unwrap()), |bytes| {
        type P = ReplayTable<PrioritizedSelector<Heap>, Heap>;
        type U = ReplayTable<UniformSelector<Heap>, Heap>;
        let restored = match table_selector_kind(&bytes) {
            Ok(SelectorKind::Prioritized) => P::restore(&bytes).map(|mut r| {
                // A mutation may make another valid schema: draw only into the one we know.
                let known = r.rows().columns().map(|c| (c.dtype, c.width)).eq([(DType::F32, 2), (DType::U8, 1)]);
                let mut draws = [Draw::default(); 4];
                let (mut xy, mut a) = ([0f32; 8], [0u8; 4]);
                let drawn = if known {
                    r.sample_into(&mut draws, &mut [ValuesMut::F32(&mut xy), ValuesMut::U8(&mut a)])
                } else {
                    Ok(())
                };
                let current = !known || draws.iter().all(|d| r.selector().is_current(d.key));
                (drawn.map(|()| current), r.len(), r.rows().len())
            }),
            Ok(SelectorKind::Uniform) => U::restore(&bytes).map(|r| (Ok(true), r.len(), r.rows().len())),
            Err(e) => Err(e),
        };
        match restored {
            Ok((drawn, len, rows)) => {
                prop_assert_eq!(len, rows);
                match drawn {
                    Ok(current) => prop_assert!(current),
                    Err(e) => prop_assert!(matches!(e, Error::Empty | Error::BatchTooLarge { .. }), "{:?}", e),
                }
            }
            Err(e) => prop_assert!(typed_refusal(&e), "{:?}", e),
        }
        Ok(())
    });
}

#[derive(Debug, Clone)]
enum TableOp {
    /// Values for the three columns (2 + 1 + 1), a priority, and how many values to give.
    Add([f64; 4], Option<f64>, usize),
    Extend(usize, Vec<f64>, Option<Vec<f64>>),
    Sample(usize, usize),
    Update(Vec<(usize, u32, f64)>),
    Get(usize, u32),
}

/// A replay table over a selector: every call on wild input either works
/// or is refused with a typed error and the table unchanged (`state`).
fn table_api<Sel: Selector>(name: &str, make: fn(usize) -> Sel, state: fn(&Sel) -> Vec<u8>) {
    let op = prop_oneof![
        4 => (prop::array::uniform4(wild()), prop::option::of(wild()), 0usize..6).prop_map(|(v, p, n)| TableOp::Add(v, p, n)),
        1 => (0usize..12, prop::collection::vec(wild(), 0..48), prop::option::of(prop::collection::vec(wild(), 0..12)))
            .prop_map(|(n, v, p)| TableOp::Extend(n, v, p)),
        2 => (0usize..24, 0usize..3).prop_map(|(n, bad)| TableOp::Sample(n, bad)),
        2 => prop::collection::vec((index(), 0u32..3, wild()), 0..8).prop_map(TableOp::Update),
        1 => (index(), 0u32..3).prop_map(|(s, g)| TableOp::Get(s, g)),
    ];
    fuzz(name, (1usize..24, prop::collection::vec(op, 1..40)), |(capacity, ops)| {
        let cols = [
            ColumnSpec::new("obs", DType::F32, &[2]),
            ColumnSpec::new("action", DType::U8, &[]),
            ColumnSpec::new("reward", DType::I32, &[]),
        ];
        let mut t = ReplayTable::new(make(capacity), RowStorage::<Heap>::new(capacity, &cols).unwrap()).unwrap();
        for op in ops {
            let before = (t.rows().as_bytes().to_vec(), state(t.selector()));
            let refused = match op {
                TableOp::Add(v, p, n) => {
                    let obs = &v[..n.min(2)];
                    t.add(&[Values::F64(obs), Values::F64(&v[2..3]), Values::F64(&v[3..4])], p).is_err()
                }
                TableOp::Extend(n, v, p) => {
                    let (obs, rest) = v.split_at((2 * n).min(v.len()));
                    let (a, r) = rest.split_at(n.min(rest.len()));
                    t.extend(n, &[Values::F64(obs), Values::F64(a), Values::F64(r)], p.as_deref()).is_err()
                }
                TableOp::Sample(n, bad) => {
                    let mut draws = vec![Draw::default(); n];
                    let (mut o, mut a, mut r) = (vec![0f32; 2 * n + bad], vec![0u8; n], vec![0i32; n]);
                    let result = t.sample_into(
                        &mut draws,
                        &mut [ValuesMut::F32(&mut o), ValuesMut::U8(&mut a), ValuesMut::I32(&mut r)],
                    );
                    if result.is_ok() {
                        prop_assert!(draws
                            .iter()
                            .all(|d| t.selector().is_current(d.key) && (0.0..=1.0).contains(&d.weight)));
                        // Sampling advances the generator: compare nothing after it.
                        continue;
                    }
                    true
                }
                TableOp::Update(v) => {
                    let keys: Vec<Key> = v.iter().map(|&(s, g, _)| Key { slot: s as u32, generation: g }).collect();
                    let tds: Vec<f64> = v.iter().map(|e| e.2).collect();
                    t.update_priorities(&keys, &tds).is_err()
                }
                TableOp::Get(s, g) => {
                    let (mut o, mut a, mut r) = ([0f32; 2], [0u8; 1], [0i32; 1]);
                    let k = Key { slot: s as u32, generation: g };
                    let _ = t.get(k, &mut [ValuesMut::F32(&mut o), ValuesMut::U8(&mut a), ValuesMut::I32(&mut r)]);
                    false
                }
            };
            if refused {
                prop_assert!(
                    before == (t.rows().as_bytes().to_vec(), state(t.selector())),
                    "a refused call changed the table"
                );
            }
            prop_assert_eq!(t.rows().len(), t.len());
        }
        Ok(())
    });
}

#[test]
fn fuzz_table_api() {
    table_api(
        "table API, proportional",
        |c| PrioritizedSelector::<Heap>::new(PerConfig::new(c)).unwrap(),
        |s| s.snapshot().unwrap(),
    );
    table_api(
        "table API, rank",
        |c| PrioritizedSelector::<Heap>::new(PerConfig::rank(c)).unwrap(),
        |s| s.snapshot().unwrap(),
    );
    table_api(
        "table API, uniform",
        |c| {
            UniformSelector::<Heap>::new(UniformConfig { without_replacement: c % 2 == 0, ..UniformConfig::new(c) })
                .unwrap()
        },
        |s| s.snapshot().unwrap(),
    );
}

#[test]
fn fuzz_nstep_api() {
    let config = (0usize..8, unit(), 0usize..4).prop_map(|(n, gamma, streams)| NStepConfig { n, gamma, streams });
    let op = (index(), wild(), 0u8..12, any::<bool>());
    fuzz("n-step API", (config, prop::collection::vec(op, 1..60)), |(cfg, ops)| {
        let Ok(mut w) = NStepWindows::<u32, Fixed<32>>::new(cfg) else {
            return Ok(());
        };
        for (k, (stream, reward, end, fail)) in ops.into_iter().enumerate() {
            let stream = stream % (cfg.streams + 1);
            let before = (w.pending(stream), w.ready(stream));
            let step = Step { item: k as u32, reward, terminated: end == 0, truncated: end == 1 };
            if w.push(stream, step).is_err() {
                prop_assert_eq!((w.pending(stream), w.ready(stream)), before);
            }
            match end {
                2 => {
                    let _ = w.end(stream);
                }
                3 => {
                    let _ = w.clear(stream);
                }
                _ => {}
            }
            let ready = w.ready(stream);
            let taken = w.drain(stream, |t| {
                assert!(t.reward.is_finite() && (0.0..=1.0).contains(&t.discount) && (1..=cfg.n).contains(&t.steps));
                if fail {
                    Err(Error::Empty)
                } else {
                    Ok(())
                }
            });
            match taken {
                Ok(n) => prop_assert_eq!((n, w.ready(stream)), (ready, 0)),
                Err(_) => prop_assert_eq!(w.ready(stream), ready),
            }
        }
        Ok(())
    });
}
