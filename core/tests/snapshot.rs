//! Snapshots: restored samplers continue bit-identically; truncated, altered
//! or foreign bytes are typed errors.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::per::{PerConfig, PrioritizedReplayBuffer, PrioritizedSelector};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
use adasample::select::{Draw, Selector};
use adasample::snapshot::{table_selector_kind, SelectorKind};
use adasample::storage::{Fixed, Heap};
use adasample::table::ReplayTable;
use adasample::tree::SumTree;
use adasample::uniform::{UniformConfig, UniformSelector};
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

/// A replay table of each selector kind, with rows of every dtype, written
/// past its capacity (the ring overwrites), sampled and updated.
fn busy_table<Sel: Selector>(sel: Sel) -> ReplayTable<Sel, Heap> {
    let cols = [
        ColumnSpec::new("obs", DType::F32, &[2, 2]),
        ColumnSpec::new("action", DType::I32, &[]),
        ColumnSpec::new("reward", DType::F64, &[]),
        ColumnSpec::new("id", DType::U32, &[]),
        ColumnSpec::new("done", DType::U8, &[]),
    ];
    let mut t = ReplayTable::new(sel, RowStorage::<Heap>::new(16, &cols).unwrap()).unwrap();
    fill(&mut t);
    t
}

fn fill<Sel: Selector>(t: &mut ReplayTable<Sel, Heap>) {
    for i in 0..23u32 {
        let x = f64::from(i);
        let row = [
            Values::F32(&[x as f32, -0.0, 1e-40, 3.0e38]),
            Values::I32(&[-(i as i32)]),
            Values::F64(&[x * 1e300]),
            Values::U32(&[i]),
            Values::U8(&[(i % 2) as u8]),
        ];
        t.add(&row, if i % 3 == 0 { None } else { Some(x * 0.25) }).unwrap();
    }
    let mut draws = [Draw::default(); 5];
    let mut out = outs(5);
    t.sample_into(&mut draws, &mut out.views()).unwrap();
    let keys: Vec<_> = draws.iter().map(|d| d.key).collect();
    t.update_priorities(&keys, &[0.5, 2.0, 1e-300, 7.0, 0.0]).unwrap();
}

struct Outs(Vec<f32>, Vec<i32>, Vec<f64>, Vec<u32>, Vec<u8>);

fn outs(b: usize) -> Outs {
    Outs(vec![0.0; 4 * b], vec![0; b], vec![0.0; b], vec![0; b], vec![0; b])
}

impl Outs {
    fn views(&mut self) -> [ValuesMut<'_>; 5] {
        [
            ValuesMut::F32(&mut self.0),
            ValuesMut::I32(&mut self.1),
            ValuesMut::F64(&mut self.2),
            ValuesMut::U32(&mut self.3),
            ValuesMut::U8(&mut self.4),
        ]
    }
    fn bits(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.0.iter().map(|x| u64::from(x.to_bits())).collect();
        v.extend(self.1.iter().map(|&x| x as u64));
        v.extend(self.2.iter().map(|x| x.to_bits()));
        v.extend(self.3.iter().map(|&x| u64::from(x)));
        v.extend(self.4.iter().map(|&x| u64::from(x)));
        v
    }
}

fn continue_table<Sel: Selector>(t: &mut ReplayTable<Sel, Heap>) -> Vec<(Vec<Draw>, Vec<u64>)> {
    (0..20)
        .map(|k| {
            let mut draws = vec![Draw::default(); 4];
            let mut out = outs(4);
            t.sample_into(&mut draws, &mut out.views()).unwrap();
            let keys: Vec<_> = draws.iter().map(|d| d.key).collect();
            t.update_priorities(&keys, &[f64::from(k), 1.0, 0.25, 3.0]).unwrap();
            (draws, out.bits())
        })
        .collect()
}

#[test]
fn replay_tables_continue_bit_identically() {
    let mut a = busy_table(PrioritizedSelector::<Heap>::new(PerConfig::new(16)).unwrap());
    let bytes = a.snapshot().unwrap();
    assert_eq!(table_selector_kind(&bytes), Ok(SelectorKind::Prioritized));
    let mut b: ReplayTable<PrioritizedSelector<Heap>, Heap> = ReplayTable::restore(&bytes).unwrap();
    assert_eq!(b.rows().as_bytes(), a.rows().as_bytes());
    assert_eq!(continue_table(&mut a), continue_table(&mut b));

    let mut a = busy_table(PrioritizedSelector::<Heap>::new(PerConfig::rank(16)).unwrap());
    let mut b: ReplayTable<PrioritizedSelector<Heap>, Heap> = ReplayTable::restore(&a.snapshot().unwrap()).unwrap();
    assert_eq!(continue_table(&mut a), continue_table(&mut b));

    let cfg = UniformConfig { without_replacement: true, ..UniformConfig::new(16) };
    let mut a = busy_table(UniformSelector::<Heap>::new(cfg).unwrap());
    let bytes = a.snapshot().unwrap();
    assert_eq!(table_selector_kind(&bytes), Ok(SelectorKind::Uniform));
    // The other kind is refused, not misread.
    assert!(matches!(
        ReplayTable::<PrioritizedSelector<Heap>, Heap>::restore(&bytes),
        Err(Error::CorruptSnapshot { .. })
    ));
    let mut b: ReplayTable<UniformSelector<Heap>, Heap> = ReplayTable::restore(&bytes).unwrap();
    assert_eq!(continue_table(&mut a), continue_table(&mut b));
}

#[test]
fn every_truncation_and_bit_flip_of_a_table_is_a_typed_error() {
    let a = busy_table(PrioritizedSelector::<Heap>::new(PerConfig::new(16)).unwrap());
    let bytes = a.snapshot().unwrap();
    type T = ReplayTable<PrioritizedSelector<Heap>, Heap>;
    for len in 0..bytes.len() {
        assert!(matches!(T::restore(&bytes[..len]), Err(Error::CorruptSnapshot { .. })), "truncated to {len}");
        assert!(table_selector_kind(&bytes[..len]).is_err());
    }
    for pos in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[pos] ^= 1 << bit;
            match T::restore(&b) {
                Err(Error::CorruptSnapshot { .. }) => {}
                Err(Error::UnsupportedSnapshotVersion { .. }) => assert!((4..6).contains(&pos)),
                other => panic!("flip at {pos}.{bit}: {:?}", other.map(|_| ())),
            }
        }
    }
    // A selector's own snapshot is not a table's.
    let sel = a.selector().snapshot().unwrap();
    assert!(matches!(T::restore(&sel), Err(Error::CorruptSnapshot { .. })));
    assert!(table_selector_kind(&sel).is_err());
}

#[test]
fn a_table_reset_empties_rows_and_selector() {
    let mut t = busy_table(PrioritizedSelector::<Heap>::new(PerConfig::new(16)).unwrap());
    assert!(matches!(t.reset(PrioritizedSelector::new(PerConfig::new(8)).unwrap()), Err(Error::InvalidConfig { .. })));
    assert_eq!(t.len(), 16);
    t.reset(PrioritizedSelector::new(PerConfig::new(16)).unwrap()).unwrap();
    assert!(t.is_empty() && t.rows().is_empty());
    // Refilled the same way, it is a fresh table, byte for byte.
    fill(&mut t);
    let fresh = busy_table(PrioritizedSelector::<Heap>::new(PerConfig::new(16)).unwrap());
    assert_eq!(t.snapshot().unwrap(), fresh.snapshot().unwrap());
}
