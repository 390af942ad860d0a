//! Bad input: every rejected call returns a typed error, does not panic, and
//! leaves the state byte-for-byte unchanged (compared through snapshots).

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::schedule::Schedule;
use adasample::storage::{Fixed, Heap};
use adasample::tree::SumTree;
use adasample::Error;

const BAD: [f64; 4] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0];

fn per(cfg: PerConfig) -> PrioritizedReplayBuffer<u32, Heap> {
    PrioritizedReplayBuffer::new(cfg).unwrap()
}

#[test]
fn per_config_errors_name_the_field() {
    let cases: [(PerConfig, &str); 8] = [
        (PerConfig::new(0), "capacity"),
        (PerConfig { alpha: -0.1, ..PerConfig::new(4) }, "alpha"),
        (PerConfig { alpha: f64::NAN, ..PerConfig::new(4) }, "alpha"),
        (PerConfig { beta: 1.5, ..PerConfig::new(4) }, "beta"),
        (PerConfig { beta_final: -1.0, ..PerConfig::new(4) }, "beta_final"),
        (PerConfig { epsilon: f64::INFINITY, ..PerConfig::new(4) }, "epsilon"),
        (PerConfig { epsilon: -1e-9, ..PerConfig::new(4) }, "epsilon"),
        (PerConfig { capacity: usize::MAX, ..PerConfig::new(4) }, "capacity"),
    ];
    for (cfg, field) in cases {
        match PrioritizedReplayBuffer::<u32, Heap>::new(cfg) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
    assert_eq!(
        PrioritizedReplayBuffer::<u32, Fixed<16>>::new(PerConfig::new(17)).err(),
        Some(Error::StorageTooSmall { needed: 17, available: 16 })
    );
}

#[test]
fn per_rejects_and_keeps_state() {
    for cfg in [PerConfig::new(8), PerConfig::rank(8), PerConfig { without_replacement: true, ..PerConfig::new(8) }] {
        let mut b = per(cfg);
        let mut draws = [Draw::default(); 2];
        assert_eq!(b.sample_into(&mut draws), Err(Error::Empty), "empty buffer");
        for i in 0..5 {
            b.add(i).unwrap();
        }
        let keys: Vec<Key> = (0..5).map(|s| b.key(s).unwrap()).collect();
        let snap = b.snapshot().unwrap();
        for v in BAD {
            assert!(matches!(b.add_with_priority(9, v), Err(Error::InvalidPriority { .. })));
            assert_eq!(b.snapshot().unwrap(), snap);
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            // The bad value is last: nothing before it may be applied.
            let e = b.update_priorities(&keys[..2], &[3.0, v]).unwrap_err();
            assert!(matches!(e, Error::InvalidPriority { position: 1, .. }), "{e:?}");
            assert_eq!(b.snapshot().unwrap(), snap);
        }
        let oob = Key { slot: 5, generation: 0 };
        assert_eq!(b.update_priorities(&[keys[0], oob], &[1.0, 1.0]), Err(Error::IndexOutOfRange { index: 5, len: 5 }));
        assert_eq!(b.update_priorities(&keys[..2], &[1.0]), Err(Error::LengthMismatch { expected: 2, found: 1 }));
        assert_eq!(b.snapshot().unwrap(), snap);
        if cfg.without_replacement {
            let mut six = [Draw::default(); 6];
            assert_eq!(b.sample_into(&mut six), Err(Error::BatchTooLarge { requested: 6, available: 5 }));
            assert_eq!(b.snapshot().unwrap(), snap);
        }
    }
}

#[test]
fn nan_errors_carry_position() {
    let mut b = per(PerConfig::new(4));
    b.add(1).unwrap();
    let k = b.key(0).unwrap();
    match b.update_priorities(&[k, k], &[1.0, f64::NAN]) {
        Err(Error::InvalidPriority { position: 1, value }) => assert!(value.is_nan()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn zero_priority_everywhere_is_empty() {
    let mut b = per(PerConfig { epsilon: 0.0, ..PerConfig::new(4) });
    b.add_with_priority(1, 0.0).unwrap();
    let snap = b.snapshot().unwrap();
    assert_eq!(b.sample(1).err(), Some(Error::Empty));
    assert_eq!(b.snapshot().unwrap(), snap);
}

#[test]
fn sum_tree_rejects() {
    let mut t: SumTree<Heap> = SumTree::new(4).unwrap();
    t.set(1, 2.0).unwrap();
    let snap = t.snapshot().unwrap();
    for v in BAD {
        assert!(matches!(t.set(0, v), Err(Error::InvalidPriority { .. })));
    }
    assert_eq!(t.set(4, 1.0), Err(Error::IndexOutOfRange { index: 4, len: 4 }));
    assert_eq!(t.get(9), Err(Error::IndexOutOfRange { index: 9, len: 4 }));
    for u in [-0.1, 2.0, 3.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(t.find(u), Err(Error::InvalidArgument { name: "u", .. })), "{u}");
    }
    assert_eq!(t.snapshot().unwrap(), snap);
    assert!(matches!(SumTree::<Heap>::new(0), Err(Error::InvalidConfig { field: "capacity", .. })));
}

#[test]
fn adaptive_rejects() {
    let bad_cfgs = [
        (AdaptiveConfig::new(0, 0.1), "dataset_size"),
        (AdaptiveConfig::new(4, 0.0), "learning_rate"),
        (AdaptiveConfig::new(4, 1.5), "learning_rate"),
        (AdaptiveConfig::new(4, f64::NAN), "learning_rate"),
        (AdaptiveConfig { alpha: 2.0, ..AdaptiveConfig::new(4, 0.1) }, "alpha"),
        (AdaptiveConfig { uniform_floor: -0.5, ..AdaptiveConfig::new(4, 0.1) }, "uniform_floor"),
        (AdaptiveConfig { beta: 1.1, ..AdaptiveConfig::new(4, 0.1) }, "beta"),
        (AdaptiveConfig { initial_score: 0.0, ..AdaptiveConfig::new(4, 0.1) }, "initial_score"),
        (AdaptiveConfig { min_score: 2e3, ..AdaptiveConfig::new(4, 0.1) }, "max_score"),
        (AdaptiveConfig { pool_factor: 0, ..AdaptiveConfig::new(4, 0.1) }, "pool_factor"),
    ];
    for (cfg, field) in bad_cfgs {
        match AdaptiveBatchSampler::<Heap>::new(cfg) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
    for mode in [AdaptiveMode::Ema, AdaptiveMode::AdaBoost, AdaptiveMode::Ohem] {
        let mut s: AdaptiveBatchSampler<Heap> =
            AdaptiveBatchSampler::new(AdaptiveConfig { mode, ..AdaptiveConfig::new(4, 0.1) }).unwrap();
        let snap = s.snapshot().unwrap();
        for v in BAD {
            assert!(matches!(
                s.update_weights(&[0, 1], &[1.0, v]),
                Err(Error::InvalidArgument { name: "loss", position: 1, .. })
            ));
        }
        assert_eq!(s.update_weights(&[0, 4], &[1.0, 1.0]), Err(Error::IndexOutOfRange { index: 4, len: 4 }));
        assert_eq!(s.update_weights(&[0], &[1.0, 1.0]), Err(Error::LengthMismatch { expected: 1, found: 2 }));
        let (mut i, mut w) = ([0usize; 2], [0.0; 3]);
        assert_eq!(s.sample_into(&mut i, &mut w), Err(Error::LengthMismatch { expected: 2, found: 3 }));
        assert_eq!(s.snapshot().unwrap(), snap);
    }
    let mut ohem: AdaptiveBatchSampler<Heap> =
        AdaptiveBatchSampler::new(AdaptiveConfig { mode: AdaptiveMode::Ohem, ..AdaptiveConfig::new(4, 0.1) }).unwrap();
    let snap = ohem.snapshot().unwrap();
    assert_eq!(ohem.sample(5).err(), Some(Error::BatchTooLarge { requested: 5, available: 4 }));
    assert_eq!(ohem.snapshot().unwrap(), snap);
}

#[test]
fn reward_rejects() {
    for (cfg, field) in [
        (RewardConfig::new(0), "capacity"),
        (RewardConfig { temperature: 0.0, ..RewardConfig::new(4) }, "temperature"),
        (RewardConfig { temperature: -1.0, ..RewardConfig::new(4) }, "temperature"),
        (RewardConfig { temperature: f64::INFINITY, ..RewardConfig::new(4) }, "temperature"),
        (RewardConfig { max_weight: 0.5, ..RewardConfig::new(4) }, "max_weight"),
        (RewardConfig { beta: 2.0, ..RewardConfig::new(4) }, "beta"),
    ] {
        match RewardWeightedSampler::<Heap>::new(cfg) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
    let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(3)).unwrap();
    assert_eq!(s.sample(2).err(), Some(Error::Empty));
    s.extend(&[1.0, 2.0]).unwrap();
    let snap = s.snapshot().unwrap();
    assert!(matches!(s.extend(&[0.0, f64::NAN]), Err(Error::InvalidArgument { name: "reward", position: 1, .. })));
    assert!(matches!(s.push(f64::NEG_INFINITY), Err(Error::InvalidArgument { .. })));
    assert_eq!(s.extend(&[1.0, 1.0]), Err(Error::BufferFull { capacity: 3 }));
    assert_eq!(s.snapshot().unwrap(), snap);
    // Extreme but finite rewards give finite probabilities.
    let mut x: RewardWeightedSampler<Heap> =
        RewardWeightedSampler::new(RewardConfig { normalize_advantages: true, ..RewardConfig::new(4) }).unwrap();
    x.extend(&[f64::MAX, -f64::MAX, 0.0, 1.0]).unwrap();
    let mut p = [0.0; 4];
    x.probabilities_into(&mut p).unwrap();
    assert!(p.iter().all(|v| v.is_finite() && *v >= 0.0) && (p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{p:?}");
}

#[test]
fn iw_rejects() {
    let cfg = IwSftConfig::default();
    let mut out = [0.0; 2];
    let p = [-1.0; 6];
    assert!(matches!(
        iw::weights(&cfg, &p, &p, None, 0, &mut out),
        Err(Error::InvalidSize { name: "seq_len", value: 0, .. })
    ));
    assert_eq!(iw::weights(&cfg, &p, &p, None, 4, &mut out), Err(Error::LengthMismatch { expected: 8, found: 6 }));
    assert_eq!(iw::weights(&cfg, &p, &p[..5], None, 3, &mut out), Err(Error::LengthMismatch { expected: 6, found: 5 }));
    assert_eq!(
        iw::weights(&cfg, &p, &p, Some(&[true; 5]), 3, &mut out),
        Err(Error::LengthMismatch { expected: 6, found: 5 })
    );
    assert_eq!(iw::weights(&cfg, &p, &p, None, 3, &mut [0.0; 3]), Err(Error::LengthMismatch { expected: 2, found: 3 }));
    let mut bad = p;
    bad[4] = f64::NAN;
    assert!(matches!(
        iw::weights(&cfg, &bad, &p, None, 3, &mut out),
        Err(Error::InvalidArgument { name: "policy_log_prob", position: 4, .. })
    ));
    bad[4] = 3.0; // a logit, not a log-probability
    assert!(matches!(
        iw::weights(&cfg, &p, &bad, None, 3, &mut out),
        Err(Error::InvalidArgument { name: "ref_log_prob", position: 4, .. })
    ));
    // ... but a masked position may hold anything.
    let mask = [true, true, true, true, false, true];
    iw::weights(&cfg, &bad, &p, Some(&mask), 3, &mut out).unwrap();
    for (c, field) in [
        (IwSftConfig { temperature: 0.0, ..cfg }, "temperature"),
        (IwSftConfig { temperature: f64::NAN, ..cfg }, "temperature"),
        (IwSftConfig { epsilon: 1.0, ..cfg }, "epsilon"),
        (IwSftConfig { sequence_clip: (2.0, 1.0), ..cfg }, "sequence_clip"),
        (IwSftConfig { token_clip: (0.0, f64::INFINITY), ..cfg }, "token_clip"),
    ] {
        match iw::weights(&c, &p, &p, None, 3, &mut out) {
            Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{c:?}: {other:?}"),
        }
    }
    assert!(matches!(
        iw::weighted_loss(IwMode::Token, &[1.0; 6], &[f64::NAN; 6], None, 3),
        Err(Error::InvalidArgument { name: "nll", .. })
    ));
    assert!(matches!(iw::label_smoothed_nll(&[-1.0], 1, 0.1), Err(Error::IndexOutOfRange { index: 1, len: 1 })));
    assert!(matches!(iw::label_smoothed_nll(&[-1.0], 0, 1.0), Err(Error::InvalidConfig { field: "epsilon", .. })));
}

#[test]
fn iw_weights_never_overflow() {
    // The most extreme log-probs accepted (-MAX_PRIORITY; below is an error).
    let cfg = IwSftConfig { temperature: 1e-300, ..IwSftConfig::default() };
    let m = adasample::MAX_PRIORITY;
    let policy = [0.0, -m, 0.0, 0.0];
    let refer = [-m, 0.0, 0.0, 0.0];
    let mut w = [0.0; 2];
    iw::weights(&cfg, &policy, &refer, None, 2, &mut w).unwrap();
    assert!(w.iter().all(|x| x.is_finite()), "{w:?}");
    let tok = IwSftConfig { mode: IwMode::Token, ..cfg };
    let mut wt = [0.0; 4];
    iw::weights(&tok, &policy, &refer, None, 2, &mut wt).unwrap();
    assert_eq!(wt, [1.8, 0.2, 1.0, 1.0]);
}

#[test]
fn schedule_range_check() {
    assert!(Schedule::Linear { start: 0.4, end: f64::NAN, steps: 3 }
        .check_range("beta", 0.0, 1.0, "in [0, 1]")
        .is_err());
}

#[test]
fn error_messages_say_what_was_wrong() {
    let e = PrioritizedReplayBuffer::<u32, Heap>::new(PerConfig { alpha: 3.0, ..PerConfig::new(4) }).unwrap_err();
    assert_eq!(e.to_string(), "invalid config: `alpha` must be in [0, 1]");
    assert_eq!(e.code(), "InvalidConfig");
    let e = Error::IndexOutOfRange { index: 7, len: 3 };
    assert_eq!(e.to_string(), "index 7 out of range: 3 valid indices");
}

#[test]
fn empty_constants_refuse_everything_without_panicking() {
    let mut p: PrioritizedReplayBuffer<u32, Fixed<8>> = PrioritizedReplayBuffer::EMPTY;
    assert_eq!(p.add(1), Err(Error::NotConfigured));
    assert_eq!(p.add_with_priority(1, 1.0), Err(Error::NotConfigured));
    assert_eq!(p.extend([1, 2]), Err(Error::NotConfigured));
    assert_eq!(p.sample_into(&mut [Draw::default(); 2]), Err(Error::NotConfigured));
    assert!(p.update_priorities(&[Key::default()], &[1.0]).is_err());
    assert_eq!((p.len(), p.get(Key::default()), p.key(0), p.probability(Key::default())), (0, None, None, None));
    p.reset(PerConfig::new(8)).unwrap();
    p.add(3).unwrap();
    assert_eq!(p.sample(1).unwrap().items, vec![&3]);

    let mut a: AdaptiveBatchSampler<Fixed<8>> = AdaptiveBatchSampler::EMPTY;
    assert_eq!(a.sample(2).err(), Some(Error::NotConfigured));
    assert_eq!(a.sample(0).err(), Some(Error::NotConfigured));
    assert!(a.update_weights(&[0], &[1.0]).is_err());
    assert!(a.probability(0).is_err());
    a.probabilities_into(&mut []).unwrap();

    let mut r: RewardWeightedSampler<Fixed<8>> = RewardWeightedSampler::EMPTY;
    assert_eq!(r.push(1.0), Err(Error::NotConfigured));
    assert_eq!(r.sample(1).err(), Some(Error::NotConfigured));

    let mut t: SumTree<Fixed<8>> = SumTree::EMPTY;
    assert!(t.set(0, 1.0).is_err());
    assert_eq!(t.find(0.0), Err(Error::Empty));
    assert_eq!((t.total(), t.min(), t.capacity()), (0.0, None, 0));
}
