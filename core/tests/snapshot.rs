//! Snapshots: restored samplers continue bit-identically; truncated, altered
//! or foreign bytes are typed errors.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::per::{PerConfig, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::storage::{Fixed, Heap};
use adasample::tree::SumTree;
use adasample::Error;

type Per = PrioritizedReplayBuffer<(u32, String), Heap>;

fn busy_per(cfg: PerConfig) -> Per {
    let mut b: Per = PrioritizedReplayBuffer::new(cfg).unwrap();
    for i in 0..90u32 {
        b.add((i, format!("t{i}"))).unwrap();
        if i % 7 == 6 {
            let batch = b.sample(5).unwrap();
            let keys = batch.indices.clone();
            let tds: Vec<f64> = keys.iter().map(|k| (k.slot % 5) as f64 - 2.0).collect();
            b.update_priorities(&keys, &tds).unwrap();
        }
    }
    b
}

fn continue_per(b: &mut Per) -> Vec<String> {
    let mut log = vec![];
    for round in 0..20 {
        let batch = b.sample(8).unwrap();
        log.push(format!("{:?}", (&batch.indices, &batch.weights, &batch.probabilities, &batch.items)));
        let keys = batch.indices.clone();
        let tds: Vec<f64> = keys.iter().map(|k| (k.slot as f64 * 0.37 + round as f64).sin()).collect();
        b.update_priorities(&keys, &tds).unwrap();
        b.add((1000 + round, "new".into())).unwrap();
    }
    log
}

#[test]
fn per_continues_bit_identically() {
    for cfg in [
        PerConfig { seed: 1, beta_steps: 30, capacity: 64, ..PerConfig::new(64) },
        PerConfig { seed: 2, ..PerConfig::rank(64) },
        PerConfig { seed: 3, without_replacement: true, ..PerConfig::new(64) },
    ] {
        let mut a = busy_per(cfg);
        let bytes = a.snapshot().unwrap();
        let mut b = Per::restore(&bytes).unwrap();
        assert_eq!(b.snapshot().unwrap(), bytes);
        assert_eq!(continue_per(&mut a), continue_per(&mut b));
        // Fixed storage restores the same bytes too.
        let fixed = PrioritizedReplayBuffer::<(u32, String), Fixed<64>>::restore(&bytes).unwrap();
        assert_eq!(fixed.snapshot().unwrap(), bytes);
        assert_eq!(
            PrioritizedReplayBuffer::<(u32, String), Fixed<32>>::restore(&bytes).err(),
            Some(Error::StorageTooSmall { needed: 64, available: 32 })
        );
    }
}

#[test]
fn adaptive_and_reward_continue_bit_identically() {
    for mode in [AdaptiveMode::Ema, AdaptiveMode::AdaBoost, AdaptiveMode::Ohem] {
        let mut a: AdaptiveBatchSampler<Heap> =
            AdaptiveBatchSampler::new(AdaptiveConfig { mode, seed: 4, ..AdaptiveConfig::new(50, 0.3) }).unwrap();
        let run = |s: &mut AdaptiveBatchSampler<Heap>| {
            (0..10)
                .map(|k| {
                    let (i, w) = s.sample(8).unwrap();
                    let l: Vec<f64> = i.iter().map(|&x| ((x * 3 + k) % 7) as f64).collect();
                    s.update_weights(&i, &l).unwrap();
                    (i, w)
                })
                .collect::<Vec<_>>()
        };
        run(&mut a);
        let mut b = AdaptiveBatchSampler::<Heap>::restore(&a.snapshot().unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(run(&mut a), run(&mut b));
    }
    let mut r: RewardWeightedSampler<Heap> =
        RewardWeightedSampler::new(RewardConfig { seed: 5, ..RewardConfig::new(100) }).unwrap();
    r.extend(&[0.5, -1.0, 3.0, 2.0]).unwrap();
    r.sample(4).unwrap();
    let mut q = RewardWeightedSampler::<Heap>::restore(&r.snapshot().unwrap()).unwrap();
    assert_eq!(r.sample(16).unwrap(), q.sample(16).unwrap());
}

#[test]
fn tree_round_trip() {
    let mut t: SumTree<Heap> = SumTree::new(10).unwrap();
    for i in 0..10 {
        t.set(i, i as f64 * 0.1).unwrap();
    }
    let u = SumTree::<Heap>::restore(&t.snapshot().unwrap()).unwrap();
    assert_eq!(u, t);
    assert_eq!(u.total().to_bits(), t.total().to_bits());
}

#[test]
fn every_truncation_and_bit_flip_is_a_typed_error() {
    let a = busy_per(PerConfig::rank(16));
    let bytes = a.snapshot().unwrap();
    for len in 0..bytes.len() {
        assert!(matches!(Per::restore(&bytes[..len]), Err(Error::CorruptSnapshot { .. })), "truncated to {len}");
    }
    for pos in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[pos] ^= 1 << bit;
            match Per::restore(&b) {
                Err(Error::CorruptSnapshot { .. }) => {}
                Err(Error::UnsupportedSnapshotVersion { .. }) => assert!((4..6).contains(&pos)),
                other => panic!("flip at {pos}.{bit}: {:?}", other.map(|_| ())),
            }
        }
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(matches!(Per::restore(&extra), Err(Error::CorruptSnapshot { .. })));
    // A snapshot of another kind of sampler.
    let r: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(4)).unwrap();
    assert_eq!(
        Per::restore(&r.snapshot().unwrap()).err(),
        Some(Error::CorruptSnapshot { reason: "snapshot of another kind of sampler" })
    );
}

#[test]
fn samplers_nest_in_serde_documents() {
    let a = busy_per(PerConfig::new(32));
    let json = serde_json::to_string(&a).unwrap();
    let mut b: Per = serde_json::from_str(&json).unwrap();
    let mut a = a;
    assert_eq!(continue_per(&mut a), continue_per(&mut b));
    let err = serde_json::from_str::<Per>("[1,2,3]").unwrap_err();
    assert!(err.to_string().contains("corrupt snapshot"), "{err}");
}

#[test]
fn reset_is_new_and_a_bad_reset_changes_nothing() {
    let mut a = busy_per(PerConfig::new(64));
    for cfg in [PerConfig::rank(32), PerConfig { seed: 9, ..PerConfig::new(16) }] {
        a.reset(cfg).unwrap();
        assert_eq!(a.snapshot().unwrap(), Per::new(cfg).unwrap().snapshot().unwrap());
        a.add((1, "x".into())).unwrap();
        let before = a.snapshot().unwrap();
        assert!(a.reset(PerConfig { alpha: 2.0, ..cfg }).is_err());
        assert_eq!(a.snapshot().unwrap(), before);
    }
    let mut s: AdaptiveBatchSampler<Fixed<64>> = AdaptiveBatchSampler::EMPTY;
    s.reset(AdaptiveConfig::new(50, 0.2)).unwrap();
    assert_eq!(
        s.snapshot().unwrap(),
        AdaptiveBatchSampler::<Fixed<64>>::new(AdaptiveConfig::new(50, 0.2)).unwrap().snapshot().unwrap()
    );
    assert_eq!(s.reset(AdaptiveConfig::new(65, 0.2)), Err(Error::StorageTooSmall { needed: 65, available: 64 }));
    let mut r: RewardWeightedSampler<Fixed<8>> = RewardWeightedSampler::EMPTY;
    r.reset(RewardConfig::new(8)).unwrap();
    r.extend(&[1.0, 2.0]).unwrap();
    r.reset(RewardConfig::new(8)).unwrap();
    assert!(r.is_empty());
}
