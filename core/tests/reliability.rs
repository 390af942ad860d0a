//! Regression tests for the classes of failure found by testing the crate from
//! outside: one named test per class. Each would fail (panic, abort, time out,
//! allocate without bound or return a wrong number) on the code before the fix,
//! in a debug and in a release build alike: none relies on an overflow check.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwSftConfig};
use adasample::per::{Draw, Key, PerConfig, PerKind, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::storage::{Fixed, Heap};
use adasample::tree::SumTree;
use adasample::{Error, MAX_PRIORITY};
use serde::Serialize;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod common;

// ------------------------------------------------------------ allocation meter

/// The system allocator, counting the bytes live on this thread and their peak.
struct Meter;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let _ = LIVE.try_with(|l| {
                l.set(l.get() + layout.size());
                let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
            });
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size())));
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// The peak of bytes allocated (above what was live before) while `f` runs.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

// ------------------------------------------------------------ snapshot forging

/// Wraps a payload as a snapshot of `kind` with a valid checksum, as a
/// forger would: the checksum guards against accidents, not against intent.
fn forge<P: Serialize>(kind: u8, payload: &P) -> Vec<u8> {
    let mut out = b"ADSS".to_vec();
    out.extend_from_slice(&adasample::snapshot::VERSION.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&postcard::to_allocvec(payload).unwrap());
    let sum = out.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The PER snapshot payload, field for field (the format of `snapshot.rs`).
#[derive(Serialize)]
struct PerState {
    config: PerConfig,
    raw: Vec<f64>,
    generations: Vec<u32>,
    items: Vec<u32>,
    next: u64,
    max_raw: f64,
    step: u64,
    rng: [u64; 4],
}

#[derive(Serialize, Clone)]
struct AdaptiveState {
    config: AdaptiveConfig,
    scores: Vec<f64>,
    perm: Vec<u32>,
    rng: [u64; 4],
    prior: Option<Vec<f64>>,
}

// ------------------------------------------------------------ 1. batch sizes

#[test]
fn huge_batch_sizes_are_typed_errors_before_any_allocation() {
    let mut per: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(8)).unwrap();
    for n in [usize::MAX, 1 << 40] {
        // Empty: the answer is `Empty`, and nothing of the batch's size is asked for.
        let (r, peak) = peak_bytes(|| per.sample(n).map(|_| ()));
        assert_eq!(r, Err(Error::Empty));
        assert!(peak < 1024, "{peak} bytes allocated for an Empty answer");
    }
    per.add(1).unwrap();
    let before = per.snapshot().unwrap();
    for n in [usize::MAX, 1 << 40] {
        assert!(matches!(per.sample(n), Err(Error::AllocationFailed { .. })));
    }
    assert_eq!(per.snapshot().unwrap(), before, "a failed sample changed the buffer");
    let wr = PerConfig { without_replacement: true, ..PerConfig::new(8) };
    let mut per_wr: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(wr).unwrap();
    per_wr.add(1).unwrap();
    assert_eq!(per_wr.sample(usize::MAX).err(), Some(Error::BatchTooLarge { requested: usize::MAX, available: 1 }));

    for mode in [AdaptiveMode::Ema, AdaptiveMode::AdaBoost] {
        let mut a: AdaptiveBatchSampler<Heap> =
            AdaptiveBatchSampler::new(AdaptiveConfig { mode, ..AdaptiveConfig::new(16, 0.1) }).unwrap();
        let before = a.snapshot().unwrap();
        for n in [usize::MAX, 1 << 40] {
            assert!(matches!(a.sample(n), Err(Error::AllocationFailed { .. })));
        }
        assert_eq!(a.snapshot().unwrap(), before);
    }
    let mut ohem: AdaptiveBatchSampler<Heap> =
        AdaptiveBatchSampler::new(AdaptiveConfig { mode: AdaptiveMode::Ohem, ..AdaptiveConfig::new(16, 0.1) }).unwrap();
    let (r, peak) = peak_bytes(|| ohem.sample(1 << 40).map(|_| ()));
    assert_eq!(r, Err(Error::BatchTooLarge { requested: 1 << 40, available: 16 }));
    assert!(peak < 1024);

    let mut r: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(8)).unwrap();
    let (e, peak) = peak_bytes(|| r.sample(usize::MAX).map(|_| ()));
    assert_eq!(e, Err(Error::Empty));
    assert!(peak < 1024);
    r.extend(&[1.0, 2.0]).unwrap();
    assert!(matches!(r.sample(1 << 40), Err(Error::AllocationFailed { .. })));
}

// ------------------------------------------------------------ 2. rank order depth

/// Priority orders an adversary would pick against a search tree.
fn adversarial(n: usize) -> Vec<Vec<f64>> {
    common::priority_orders(n).into_iter().skip(1).map(|(_, keys)| keys).collect()
}

#[test]
fn rank_order_adversarial_inserts_on_a_64_kib_stack() {
    // 10^5 inserts per order, then updates, a snapshot and a restore, all on
    // a thread with a 64 KiB stack: no recursion, no deep paths.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            let n = 100_000;
            for keys in adversarial(n) {
                let mut b: PrioritizedReplayBuffer<u32, Heap> =
                    PrioritizedReplayBuffer::new(PerConfig::rank(n)).unwrap();
                for (i, &k) in keys.iter().enumerate() {
                    b.add_with_priority(i as u32, k).unwrap();
                }
                // The highest priority has rank 1, so the largest mass.
                let top = keys.iter().enumerate().fold(0, |m, (i, &k)| if k > keys[m] { i } else { m });
                let p_top = b.probability(b.key(top).unwrap()).unwrap();
                let harmonic: f64 = (1..=n).map(|r| (r as f64).powf(-0.7)).sum();
                assert!((p_top - 1.0 / harmonic).abs() < 1e-9 * p_top, "{p_top} vs {}", 1.0 / harmonic);
                // Re-key the first 1,000 slots in the same adversarial order.
                let keys_now: Vec<Key> = (0..1000).map(|s| b.key(s).unwrap()).collect();
                let tds: Vec<f64> = (0..1000).map(|s| keys[s] + 1e6).collect();
                b.update_priorities(&keys_now, &tds).unwrap();
                let restored: PrioritizedReplayBuffer<u32, Heap> =
                    PrioritizedReplayBuffer::restore(&b.snapshot().unwrap()).unwrap();
                let mut draws = [Draw::default(); 64];
                let mut again = [Draw::default(); 64];
                b.sample_into(&mut draws).unwrap();
                let mut restored = restored;
                restored.sample_into(&mut again).unwrap();
                assert_eq!(draws, again);
            }
        })
        .unwrap();
    worker.join().expect("the rank order overflowed a 64 KiB stack or failed");
}

#[test]
fn rank_order_fixed_storage_survives_adversarial_orders() {
    let mut b: PrioritizedReplayBuffer<u16, Fixed<4096>> = PrioritizedReplayBuffer::new(PerConfig::rank(4096)).unwrap();
    for keys in adversarial(4096) {
        for (i, &k) in keys.iter().enumerate() {
            b.add_with_priority(i as u16, k).unwrap(); // the ring overwrites: remove + insert
        }
        let mut d = [Draw::default(); 16];
        b.sample_into(&mut d).unwrap();
    }
}

// ------------------------------------------------------------ 3. snapshot claims

#[test]
fn corrupt_snapshots_never_allocate_by_their_claims() {
    let claimed = 1usize << 26;
    let state = |items: Vec<u32>, raw: Vec<f64>, gens: Vec<u32>| PerState {
        config: PerConfig::new(claimed),
        next: items.len() as u64,
        raw,
        generations: gens,
        items,
        max_raw: 1.0,
        step: 0,
        rng: [1, 2, 3, 4],
    };
    // Lengths that disagree: refused, having allocated about the input's size.
    let bad = forge(2, &state(vec![1, 2], vec![1.0, 1.0, 1.0], vec![0, 0]));
    assert!(bad.len() < 120, "{} bytes", bad.len());
    let (r, peak) = peak_bytes(|| PrioritizedReplayBuffer::<u32, Heap>::restore(&bad).map(|_| ()));
    assert!(matches!(r, Err(Error::CorruptSnapshot { .. })), "{r:?}");
    assert!(peak < 64 * 1024, "{peak} bytes allocated for a {}-byte snapshot", bad.len());
    // Consistent claims of a huge, nearly empty buffer: restored, and still
    // without allocating for the slots it does not use.
    let ok = forge(2, &state(vec![1, 2], vec![1.0, 0.5], vec![0, 0]));
    let (r, peak) = peak_bytes(|| PrioritizedReplayBuffer::<u32, Heap>::restore(&ok));
    let mut b = r.unwrap();
    assert!(peak < 64 * 1024, "{peak} bytes");
    assert_eq!((b.len(), b.capacity()), (2, claimed));
    assert!(b.sample(4).is_ok());
    // The same for a rank buffer and for the adaptive sampler's counts.
    let rank = PerState { config: PerConfig::rank(claimed), ..state(vec![1], vec![1.0], vec![0]) };
    let (r, peak) = peak_bytes(|| PrioritizedReplayBuffer::<u32, Heap>::restore(&forge(2, &rank)).map(|_| ()));
    assert!(r.is_ok() && peak < 64 * 1024, "{r:?} {peak}");
    let adaptive = AdaptiveState {
        config: AdaptiveConfig::new(claimed, 0.1),
        scores: vec![1.0; 3],
        perm: vec![0, 1, 2],
        rng: [1; 4],
        prior: None,
    };
    let (r, peak) = peak_bytes(|| AdaptiveBatchSampler::<Heap>::restore(&forge(3, &adaptive)).map(|_| ()));
    assert!(matches!(r, Err(Error::CorruptSnapshot { .. })) && peak < 64 * 1024, "{r:?} {peak}");
    // A new buffer of any capacity allocates nothing of it up front either.
    let (r, peak) = peak_bytes(|| PrioritizedReplayBuffer::<u32, Heap>::new(PerConfig::new(u32::MAX as usize)));
    assert!(r.is_ok() && peak < 64 * 1024, "{peak}");
}

// ------------------------------------------------------------ 4. overflowing totals

#[test]
fn priority_totals_never_overflow() {
    // Four priorities of 1e308 with alpha 1: the fourth-to-be total is infinite.
    let cfg = PerConfig { alpha: 1.0, epsilon: 0.0, ..PerConfig::new(8) };
    let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
    for i in 0..4 {
        assert!(matches!(b.add_with_priority(i, 1e308), Err(Error::ValueTooLarge { name: "priority", .. })));
    }
    assert!(b.is_empty());
    for i in 0..4 {
        b.add_with_priority(i, MAX_PRIORITY).unwrap();
    }
    // One TD error of 1e308 would have become every later add's priority.
    let keys: Vec<Key> = (0..4).map(|s| b.key(s).unwrap()).collect();
    let before = b.snapshot().unwrap();
    let e = b.update_priorities(&keys, &[1.0, 1e308, 1.0, 1.0]).unwrap_err();
    assert!(matches!(e, Error::ValueTooLarge { name: "td_error", position: 1, .. }), "{e:?}");
    assert_eq!(b.snapshot().unwrap(), before);
    b.add(9).unwrap();
    assert!(b.total_priority().is_finite());
    let s = b.sample(64).unwrap();
    assert!(s.probabilities.iter().all(|p| *p > 0.1 && *p < 0.3), "{:?}", s.probabilities);
    // The largest accepted TD error, inherited by every later add.
    let mut c: PrioritizedReplayBuffer<u32, Heap> =
        PrioritizedReplayBuffer::new(PerConfig { alpha: 1.0, ..PerConfig::new(8) }).unwrap();
    let k = c.add(0).unwrap();
    c.add(1).unwrap();
    c.update_priorities(&[k], &[-MAX_PRIORITY]).unwrap();
    for i in 2..8 {
        c.add(i).unwrap(); // each inherits the max raw priority
    }
    assert!(c.total_priority().is_finite());
    let mut sum = 0.0;
    for s in 0..8 {
        sum += c.probability(c.key(s).unwrap()).unwrap();
    }
    assert!((sum - 1.0).abs() < 1e-12, "{sum}");
    // The tree itself.
    let mut t: SumTree<Heap> = SumTree::new(4).unwrap();
    assert!(matches!(t.set(0, 1e300), Err(Error::ValueTooLarge { .. })));
    assert!(matches!(t.set_many(&[0, 1], &[1.0, f64::MAX]), Err(Error::ValueTooLarge { position: 1, .. })));
    assert_eq!(t.total(), 0.0);
    t.set_many(&[0, 1, 2, 3], &[MAX_PRIORITY; 4]).unwrap();
    assert!(t.total().is_finite());
}

// ------------------------------------------------------------ 5. weight underflow

#[test]
fn importance_weights_do_not_underflow() {
    let cfg = PerConfig { alpha: 1.0, epsilon: 0.0, beta: 0.4, ..PerConfig::new(2) };
    let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(cfg).unwrap();
    b.add_with_priority(0, 1e-300).unwrap();
    b.add_with_priority(1, 1e296).unwrap();
    let s = b.sample(8).unwrap();
    let want = (0.4 * ((1e-300f64).ln() - (1e296f64).ln())).exp(); // about 1e-238.4
    assert!(want > 1e-240 && want < 1e-237);
    for (k, w) in s.indices.iter().zip(&s.weights) {
        if k.slot == 1 {
            assert!(*w > 0.0 && ((w - want) / want).abs() < 1e-12, "{w} vs {want}");
        }
    }
    assert!(s.indices.iter().any(|k| k.slot == 1));
}

// ------------------------------------------------------------ 6. adaptive edges

#[test]
fn adaptive_sampler_edges() {
    // All scores 0 (EMA with lr 1 and zero losses): uniform, even for the
    // last stratum's edge draw with a caller's generator.
    for n in [1usize, 3, 7, 1000] {
        let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(n, 1.0)).unwrap();
        let all: Vec<usize> = (0..n).collect();
        s.update_weights(&all, &vec![0.0; n]).unwrap();
        for b in [1usize, 3, 6, 9, 1001] {
            let (mut idx, mut w) = (vec![0; b], vec![0.0; b]);
            s.sample_with(&mut common::Top, &mut idx, &mut w).unwrap();
            assert!(idx.iter().all(|&i| i < n) && w.iter().all(|&x| x == 1.0), "{idx:?} {w:?}");
        }
    }
    // Huge finite losses: the score total stays finite, probabilities sum to 1.
    let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(1000, 1.0)).unwrap();
    let all: Vec<usize> = (0..1000).collect();
    s.update_weights(&all, &vec![MAX_PRIORITY; 1000]).unwrap();
    let mut p = vec![0.0; 1000];
    s.probabilities_into(&mut p).unwrap();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let before = s.snapshot().unwrap();
    assert!(matches!(s.update_weights(&[0], &[f64::MAX]), Err(Error::ValueTooLarge { name: "loss", .. })));
    assert_eq!(s.snapshot().unwrap(), before);
    // AdaBoost: two equal, huge losses are the mean: scores unchanged.
    let cfg = AdaptiveConfig { mode: AdaptiveMode::AdaBoost, ..AdaptiveConfig::new(4, 0.5) };
    let mut a: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(cfg).unwrap();
    a.update_weights(&[0, 1], &[MAX_PRIORITY, MAX_PRIORITY]).unwrap();
    assert_eq!(a.scores(), &[1.0; 4]);
    // Configs that would let the scores' sum overflow are refused.
    for bad in [
        AdaptiveConfig { initial_score: f64::MAX, ..AdaptiveConfig::new(4, 0.5) },
        AdaptiveConfig { max_score: f64::MAX, ..AdaptiveConfig::new(4, 0.5) },
    ] {
        assert!(matches!(AdaptiveBatchSampler::<Heap>::new(bad), Err(Error::InvalidConfig { .. })));
    }
}

// ------------------------------------------------------------ 7. iw functions

#[test]
fn iw_finite_in_finite_out() {
    // 0 x -inf was NaN.
    assert_eq!(iw::label_smoothed_nll(&[-1e308, -1e308], 0, 0.0), Ok(1e308));
    let smoothed = iw::label_smoothed_nll(&[-f64::MAX, -f64::MAX, 0.0], 2, 0.5).unwrap();
    assert!(smoothed.is_finite() && smoothed > 0.0, "{smoothed}");
    assert!(iw::label_smoothed_nll(&[0.5, -1.0], 0, 0.1).is_err()); // a logit, not a log-prob
                                                                    // Log ratios [M, M, -M, -M], the largest accepted: mean 0, weight 1
                                                                    // (the sum overflowed and gave the clip, 16).
    let m = MAX_PRIORITY;
    let (policy, reference) = ([0.0, 0.0, -m, -m], [-m, -m, 0.0, 0.0]);
    let mut w = [0.0];
    iw::weights(&IwSftConfig::default(), &policy, &reference, None, 4, &mut w).unwrap();
    assert_eq!(w, [1.0]);
    let long: Vec<f64> = (0..4096).map(|i| if i % 2 == 0 { 0.0 } else { -m }).collect();
    let flipped: Vec<f64> = (0..4096).map(|i| if i % 2 == 0 { -m } else { 0.0 }).collect();
    iw::weights(&IwSftConfig::default(), &long, &flipped, None, 4096, &mut w).unwrap();
    assert_eq!(w, [1.0]);
    // Log-probs of -f64::MAX (ratios of +-f64::MAX) are no probabilities a
    // float can hold: refused, not summed to infinity.
    let e = iw::weights(&IwSftConfig::default(), &[0.0, -f64::MAX], &[-f64::MAX, 0.0], None, 2, &mut w);
    assert!(matches!(e, Err(Error::InvalidArgument { name: "ref_log_prob", position: 0, .. })), "{e:?}");
    // A loss whose sum overflows on the way but whose mean is finite.
    let loss = iw::weighted_loss(iw::IwMode::Sequence, &[1.0], &[f64::MAX, f64::MAX], None, 2).unwrap();
    assert_eq!(loss, f64::MAX);
    let loss = iw::weighted_loss(iw::IwMode::Sequence, &[16.0, 1.0], &[1e307, 1e307, 1.0, 1.0], None, 2).unwrap();
    assert!((loss / 8e307 - 1.0).abs() < 1e-12, "{loss}"); // (16 (1e307 + 1e307) + 1 + 1) / 4
                                                           // A loss that is truly above f64::MAX is an error, not infinity.
    assert_eq!(
        iw::weighted_loss(iw::IwMode::Sequence, &[16.0], &[f64::MAX, f64::MAX], None, 2),
        Err(Error::ResultOverflow { name: "loss" })
    );
}

// ------------------------------------------------------------ 8. restored state

#[test]
fn restored_state_is_validated() {
    // step = u64::MAX (the next sample overflowed): refused; the largest
    // accepted step keeps beta at its end, and nothing wraps.
    let cfg = PerConfig { beta: 0.4, beta_final: 1.0, beta_steps: 10, ..PerConfig::new(4) };
    let st = PerState {
        config: cfg,
        raw: vec![1.0, 2.0],
        generations: vec![0, 0],
        items: vec![7, 8],
        next: 2,
        max_raw: 2.0,
        step: u64::MAX,
        rng: [1, 2, 3, 4],
    };
    assert!(matches!(
        PrioritizedReplayBuffer::<u32, Heap>::restore(&forge(2, &st)),
        Err(Error::CorruptSnapshot { .. })
    ));
    let st = PerState { step: (1 << 63) - 2, ..st };
    let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::restore(&forge(2, &st)).unwrap();
    assert_eq!(b.beta(), 1.0);
    b.sample(2).unwrap();
    b.sample(2).unwrap();
    assert_eq!((b.step(), b.beta()), (1 << 63, 1.0));
    // Raw priorities beyond what `add` accepts are refused.
    let huge = PerState { config: PerConfig { alpha: 1.0, ..cfg }, raw: vec![1.0, 1e308], max_raw: 1e308, ..st };
    assert!(matches!(
        PrioritizedReplayBuffer::<u32, Heap>::restore(&forge(2, &huge)),
        Err(Error::CorruptSnapshot { .. })
    ));
    // A score of -0.0 is 0.0: OHEM does not rank it hardest.
    let cfg = AdaptiveConfig { mode: AdaptiveMode::Ohem, pool_factor: 4, ..AdaptiveConfig::new(4, 0.5) };
    let st = AdaptiveState {
        config: cfg,
        scores: vec![0.5, 0.0, 0.0, -0.0],
        perm: vec![0, 1, 2, 3],
        rng: [5; 4],
        prior: None,
    };
    let mut a: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::restore(&forge(3, &st)).unwrap();
    assert_eq!(a.scores()[3].to_bits(), 0.0f64.to_bits());
    assert_eq!(a.sample(1).unwrap().0, vec![0]);
    // Scores beyond the bound are refused.
    let st = AdaptiveState { scores: vec![0.5, 0.0, 0.0, 1e300], ..st };
    assert!(matches!(AdaptiveBatchSampler::<Heap>::restore(&forge(3, &st)), Err(Error::CorruptSnapshot { .. })));
    // A prior is validated like `set_prior`'s input: its length, each value in
    // (0, 1], and not on OHEM.
    let ema = AdaptiveState { config: AdaptiveConfig::new(4, 0.5), scores: vec![0.5; 4], ..st };
    for bad in [vec![0.5; 3], vec![0.5, 0.0, 1.0, 1.0], vec![0.5, 2.0, 1.0, 1.0], vec![0.5, -0.0, 1.0, 1.0]] {
        let st = AdaptiveState { prior: Some(bad.clone()), ..ema.clone() };
        let r = AdaptiveBatchSampler::<Heap>::restore(&forge(3, &st));
        assert!(matches!(r, Err(Error::CorruptSnapshot { .. })), "{bad:?}: {r:?}");
    }
    let ohem = AdaptiveState { config: cfg, prior: Some(vec![1.0; 4]), ..ema.clone() };
    assert!(matches!(AdaptiveBatchSampler::<Heap>::restore(&forge(3, &ohem)), Err(Error::CorruptSnapshot { .. })));
    let good = AdaptiveState { prior: Some(vec![0.25, 1.0, 1.0, 0.5]), ..ema };
    let a = AdaptiveBatchSampler::<Heap>::restore(&forge(3, &good)).unwrap();
    assert_eq!(a.prior(), Some(&[0.25, 1.0, 1.0, 0.5][..]));
}

// ------------------------------------------------------------ 10. one cause per variant

#[test]
fn each_error_variant_has_one_cause() {
    // Fixed storage too small.
    assert_eq!(SumTree::<Fixed<8>>::new(9).err(), Some(Error::StorageTooSmall { needed: 16, available: 8 }));
    // A full reward buffer.
    let mut r: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(2)).unwrap();
    r.extend(&[1.0, 2.0]).unwrap();
    assert_eq!(r.push(3.0), Err(Error::BufferFull { capacity: 2 }));
    // A never-configured EMPTY constant.
    let mut p: PrioritizedReplayBuffer<u8, Fixed<4>> = PrioritizedReplayBuffer::EMPTY;
    assert_eq!(p.add(1), Err(Error::NotConfigured));
    let mut e: RewardWeightedSampler<Fixed<4>> = RewardWeightedSampler::EMPTY;
    assert_eq!(e.push(1.0), Err(Error::NotConfigured));
    // seq_len 0 is a size, not a value.
    let mut w = [0.0; 1];
    assert_eq!(
        iw::weights(&IwSftConfig::default(), &[-1.0], &[-1.0], None, 0, &mut w),
        Err(Error::InvalidSize { name: "seq_len", value: 0, expected: "at least 1" })
    );
    // Allocation failures are their own variant.
    let mut t: PrioritizedReplayBuffer<u8, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4)).unwrap();
    t.add(1).unwrap();
    assert!(matches!(t.sample(usize::MAX >> 1), Err(Error::AllocationFailed { .. })));
    // Every message names the cause.
    for (err, text) in [
        (Error::AllocationFailed { bytes: 80 }, "out of memory: 80 bytes could not be allocated"),
        (Error::BufferFull { capacity: 2 }, "the buffer is full: it holds at most 2 elements"),
        (
            Error::NotConfigured,
            "not configured: the EMPTY constant (or a failed reset); call reset with a valid config",
        ),
        (
            Error::ResultOverflow { name: "loss" },
            "the loss is larger than the largest finite f64 (every input was finite)",
        ),
    ] {
        assert_eq!(err.to_string(), text);
    }
    assert_eq!(Error::ValueTooLarge { name: "loss", position: 0, value: 1e300 }.code(), "ValueTooLarge");
    // One bound for both kinds: rank keys too.
    let mut rank: PrioritizedReplayBuffer<u8, Heap> = PrioritizedReplayBuffer::new(PerConfig::rank(4)).unwrap();
    let k = rank.add(0).unwrap();
    rank.add(1).unwrap();
    assert!(matches!(rank.update_priorities(&[k], &[f64::MAX]), Err(Error::ValueTooLarge { .. })));
    rank.update_priorities(&[k], &[MAX_PRIORITY]).unwrap();
    assert_eq!(rank.config().kind, PerKind::Rank);
}
