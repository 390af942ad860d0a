//! The split core against brute-force oracles: row storage (random schemas,
//! random writes in every input dtype, extreme values), the n-step windows
//! (several streams interleaved, random terminations and truncations), the
//! uniform selector (chi-square, stratification, distinctness, staleness,
//! snapshots), the replay table (bad input leaves it unchanged), and
//! `PrioritizedReplayBuffer` as exactly a selector plus a ring of items.

use adasample::nstep::{NStepConfig, NStepWindows, Step};
use adasample::per::{Draw, PerConfig, PrioritizedReplayBuffer, PrioritizedSelector};
use adasample::rows::{ColumnSpec, DType, RowStorage, SchemaProblem, Values, ValuesMut};
use adasample::select::Selector;
use adasample::storage::{Fixed, Heap};
use adasample::table::ReplayTable;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample::{DefaultRng, Error};
use proptest::prelude::*;
use rand_core::{RngCore, SeedableRng};

const DTYPES: [DType; 5] = [DType::F32, DType::F64, DType::I32, DType::U32, DType::U8];

/// What a column of `dtype` holds for input `x`, written without the core's
/// code: `None` where it cannot hold it.
fn oracle_cast(dtype: DType, x: f64) -> Option<f64> {
    let int = |lo: f64, hi: f64| (x.is_finite() && x.fract() == 0.0 && (lo..=hi).contains(&x)).then_some(x + 0.0);
    match dtype {
        DType::F64 => Some(x),
        DType::F32 => {
            let v = x as f32;
            if v.is_infinite() && x.is_finite() {
                None
            } else {
                Some(f64::from(v))
            }
        }
        DType::I32 => int(i32::MIN as f64, i32::MAX as f64),
        DType::U32 => int(0.0, u32::MAX as f64),
        DType::U8 => int(0.0, 255.0),
    }
}

/// Typed input of values `xs` in `dtype` (as the caller would hold them).
enum Owned {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    U8(Vec<u8>),
}

impl Owned {
    fn of(dtype: DType, xs: &[f64]) -> Owned {
        match dtype {
            DType::F32 => Owned::F32(xs.iter().map(|&x| x as f32).collect()),
            DType::F64 => Owned::F64(xs.to_vec()),
            DType::I32 => Owned::I32(xs.iter().map(|&x| x as i32).collect()),
            DType::U32 => Owned::U32(xs.iter().map(|&x| x as u32).collect()),
            DType::U8 => Owned::U8(xs.iter().map(|&x| x as u8).collect()),
        }
    }
    fn values(&self) -> Values<'_> {
        match self {
            Owned::F32(v) => Values::F32(v),
            Owned::F64(v) => Values::F64(v),
            Owned::I32(v) => Values::I32(v),
            Owned::U32(v) => Values::U32(v),
            Owned::U8(v) => Values::U8(v),
        }
    }
    /// The values as f64, exactly as the typed input holds them.
    fn as_f64(&self) -> Vec<f64> {
        match self {
            Owned::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Owned::F64(v) => v.clone(),
            Owned::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Owned::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Owned::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
        }
    }
    fn zeros(dtype: DType, n: usize) -> Owned {
        Owned::of(dtype, &vec![0.0; n])
    }
    fn values_mut(&mut self) -> ValuesMut<'_> {
        match self {
            Owned::F32(v) => ValuesMut::F32(v),
            Owned::F64(v) => ValuesMut::F64(v),
            Owned::I32(v) => ValuesMut::I32(v),
            Owned::U32(v) => ValuesMut::U32(v),
            Owned::U8(v) => ValuesMut::U8(v),
        }
    }
}

/// Bits of an f64 value as stored by a column (NaN: one bit pattern).
fn key(x: f64) -> u64 {
    if x.is_nan() {
        u64::MAX
    } else {
        (x + 0.0).to_bits()
    }
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..300).prop_map(f64::from),
        (-5i32..5).prop_map(f64::from),
        Just(-0.0),
        Just(0.5),
        Just(1e-300),
        Just(1e308),
        Just(-1e308),
        Just(f64::MIN_POSITIVE / 4.0),
        Just(4_294_967_295.0),
        Just(4_294_967_296.0),
        Just(2_147_483_648.0),
        Just(-2_147_483_648.0),
        Just(3.4e38),
        Just(3.5e38),
        Just(f64::NAN),
        Just(f64::INFINITY),
        any::<f64>(),
    ]
}

#[derive(Debug, Clone)]
enum RowOp {
    Write { slot: usize, input: Vec<DType>, values: Vec<f64> },
    Gather(Vec<usize>),
}

fn schema() -> impl Strategy<Value = Vec<(DType, Vec<usize>)>> {
    prop::collection::vec((prop::sample::select(DTYPES.to_vec()), prop::collection::vec(1usize..4, 0..3)), 1..5)
}

fn row_ops() -> impl Strategy<Value = Vec<RowOp>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0usize..12, prop::collection::vec(prop::sample::select(DTYPES.to_vec()), 5), prop::collection::vec(value(), 40))
                .prop_map(|(slot, input, values)| RowOp::Write { slot, input, values }),
            1 => prop::collection::vec(0usize..12, 0..6).prop_map(RowOp::Gather),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every write is checked whole against the oracle's conversions: a
    /// refused row changes nothing; a gathered batch equals the oracle's rows.
    #[test]
    fn row_storage_matches_an_oracle(spec in schema(), capacity in 1usize..10, ops in row_ops()) {
        let names: Vec<String> = (0..spec.len()).map(|k| format!("c{k}")).collect();
        let cols: Vec<ColumnSpec> = spec.iter().zip(&names).map(|((d, s), n)| ColumnSpec::new(n, *d, s)).collect();
        let widths: Vec<usize> = spec.iter().map(|(_, s)| s.iter().product()).collect();
        let mut rows: RowStorage<Heap> = RowStorage::new(capacity, &cols).unwrap();
        let mut oracle: Vec<Vec<Vec<u64>>> = Vec::new();
        for op in ops {
            match op {
                RowOp::Write { slot, input, values } => {
                    let owned: Vec<Owned> = widths.iter().enumerate().map(|(c, &w)| {
                        let xs: Vec<f64> = (0..w).map(|k| values[(c * 7 + k) % values.len()]).collect();
                        Owned::of(input[c], &xs)
                    }).collect();
                    let given: Vec<Values> = owned.iter().map(Owned::values).collect();
                    let expect: Option<Vec<Vec<u64>>> = owned.iter().zip(&spec).map(|(o, (d, _))| {
                        o.as_f64().into_iter().map(|x| oracle_cast(*d, x).map(key)).collect::<Option<Vec<u64>>>()
                    }).collect();
                    let before = rows.as_bytes().to_vec();
                    let result = rows.write(slot, &given);
                    match expect {
                        None => {
                            prop_assert!(matches!(result, Err(Error::SchemaMismatch { problem: SchemaProblem::NotRepresentable { .. } })), "{result:?}");
                            prop_assert_eq!(rows.as_bytes(), &before[..]);
                        }
                        Some(_) if slot > oracle.len() || slot >= capacity => {
                            prop_assert!(matches!(result, Err(Error::IndexOutOfRange { .. })), "{result:?}");
                            prop_assert_eq!(rows.as_bytes(), &before[..]);
                        }
                        Some(row) => {
                            prop_assert!(result.is_ok(), "{result:?}");
                            if slot == oracle.len() { oracle.push(row) } else { oracle[slot] = row }
                        }
                    }
                    prop_assert_eq!(rows.len(), oracle.len());
                }
                RowOp::Gather(slots) => {
                    let slots: Vec<u32> = slots.iter().map(|&s| s as u32).collect();
                    let mut outs: Vec<Owned> = spec.iter().zip(&widths).map(|((d, _), &w)| Owned::zeros(*d, w * slots.len())).collect();
                    let mut views: Vec<ValuesMut> = outs.iter_mut().map(Owned::values_mut).collect();
                    let result = rows.gather(&slots, &mut views);
                    drop(views);
                    if slots.iter().any(|&s| s as usize >= oracle.len()) {
                        prop_assert!(matches!(result, Err(Error::IndexOutOfRange { .. })), "{:?}", result);
                        continue;
                    }
                    prop_assert!(result.is_ok());
                    for (c, out) in outs.iter().enumerate() {
                        let got: Vec<u64> = out.as_f64().into_iter().map(key).collect();
                        let want: Vec<u64> = slots.iter().flat_map(|&s| oracle[s as usize][c].clone()).collect();
                        prop_assert_eq!(got, want, "column {}", c);
                    }
                }
            }
        }
    }
}

#[test]
fn row_storage_refuses_bad_shapes_with_nothing_written() {
    let mut rows: RowStorage<Fixed<64>> =
        RowStorage::new(4, &[ColumnSpec::new("obs", DType::F32, &[2]), ColumnSpec::new("a", DType::I32, &[])]).unwrap();
    rows.write(0, &[Values::F32(&[1.0, 2.0]), Values::I32(&[3])]).unwrap();
    let before = rows.clone();
    let bad: [&[Values]; 3] = [
        &[Values::F32(&[1.0, 2.0])],
        &[Values::F32(&[1.0]), Values::I32(&[3])],
        &[Values::F32(&[1.0, 2.0]), Values::F64(&[f64::NAN])],
    ];
    for row in bad {
        assert!(matches!(rows.write(1, row), Err(Error::SchemaMismatch { .. })));
        assert_eq!(rows, before);
    }
    let (mut o, mut a) = ([0f32; 2], [0f64; 1]);
    let e = rows.gather(&[0], &mut [ValuesMut::F32(&mut o), ValuesMut::F64(&mut a)]).unwrap_err();
    assert_eq!(
        e,
        Error::SchemaMismatch { problem: SchemaProblem::DType { column: 1, expected: DType::I32, found: DType::F64 } }
    );
    assert_eq!(e.code(), "SchemaMismatch");
    // Schemas a storage cannot hold.
    for cols in [&[][..], &[ColumnSpec::new("", DType::U8, &[])], &[ColumnSpec::new("x", DType::U8, &[1; 9])]] {
        assert!(matches!(RowStorage::<Heap>::new(4, cols), Err(Error::InvalidConfig { .. })));
    }
    let twice = [ColumnSpec::new("x", DType::U8, &[]), ColumnSpec::new("x", DType::F32, &[])];
    assert!(matches!(RowStorage::<Heap>::new(4, &twice), Err(Error::InvalidConfig { .. })));
    let huge = [ColumnSpec::new("x", DType::F64, &[usize::MAX / 4, 8])];
    assert!(matches!(RowStorage::<Heap>::new(4, &huge), Err(Error::InvalidConfig { .. })));
    assert!(matches!(
        RowStorage::<Fixed<63>>::new(4, &[ColumnSpec::new("x", DType::F32, &[4])]),
        Err(Error::StorageTooSmall { .. })
    ));
}

/// One stream's steps, in push order: (step id, reward, terminated, truncated).
type Steps = Vec<(u32, f64, bool, bool)>;

/// The transitions a stream's steps give, by brute force over each episode:
/// (first step id, return, discount, steps). With `flush`, an unfinished
/// last episode is ended as truncated.
fn oracle_transitions(steps: &Steps, n: usize, gamma: f64) -> Vec<(u32, f64, f64, usize)> {
    let mut out = Vec::new();
    let mut episode: Vec<(u32, f64)> = Vec::new();
    let emit = |ep: &[(u32, f64)], from: usize, k: usize, terminal: bool, out: &mut Vec<_>| {
        let ret: f64 = (0..k).map(|i| gamma.powi(i as i32) * ep[from + i].1).sum();
        let disc = if terminal { 0.0 } else { gamma.powi(k as i32) };
        out.push((ep[from].0, ret, disc, k));
    };
    let mut next = 0; // first step of `episode` not yet emitted
    for &(id, r, term, trunc) in steps {
        episode.push((id, r));
        if term || trunc {
            for from in next..episode.len() {
                emit(&episode, from, (episode.len() - from).min(n), term && episode.len() - from <= n, &mut out);
            }
            episode.clear();
            next = 0;
        } else if episode.len() - next == n {
            emit(&episode, next, n, false, &mut out);
            next += 1;
        }
    }
    for from in next..episode.len() {
        emit(&episode, from, episode.len() - from, false, &mut out);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Streams interleaved at random, episodes ended at random by
    /// termination or truncation: every transition equals the oracle's,
    /// in order, and its bootstrap is the step just pushed.
    #[test]
    fn n_step_windows_match_an_oracle(
        n in 1usize..6,
        gamma in prop_oneof![Just(0.0), Just(1.0), 0.0f64..1.0],
        streams in 1usize..4,
        script in prop::collection::vec((0usize..4, -10.0f64..10.0, 0u8..10), 0..200),
    ) {
        let mut w: NStepWindows<u32, Heap> = NStepWindows::new(NStepConfig { n, gamma, streams }).unwrap();
        let mut pushed: Vec<Steps> = vec![Vec::new(); streams];
        let mut got: Vec<Vec<(u32, f64, f64, usize)>> = vec![Vec::new(); streams];
        for (id, (s, r, end)) in script.into_iter().enumerate() {
            let s = s % streams;
            let (term, trunc) = (end == 0, end == 1);
            w.push(s, Step { item: id as u32, reward: r, terminated: term, truncated: trunc }).unwrap();
            pushed[s].push((id as u32, r, term, trunc));
            // Ready transitions block the next push of that stream, untouched.
            if w.ready(s) > 0 {
                let e = w.push(s, Step { item: 0, reward: 0.0, terminated: false, truncated: false });
                prop_assert_eq!(e, Err(Error::BufferFull { capacity: n }));
            }
            let ids: Vec<u32> = pushed[s].iter().map(|p| p.0).collect();
            w.drain(s, |t| {
                // Bootstrap from the step just pushed: the span ends there.
                let first = ids.iter().position(|&x| x == *t.item).unwrap();
                assert_eq!(ids[first + t.steps - 1], id as u32);
                got[s].push((*t.item, t.reward, t.discount, t.steps));
                Ok(())
            }).unwrap();
        }
        for s in 0..streams {
            w.end(s).unwrap();
            w.drain(s, |t| { got[s].push((*t.item, t.reward, t.discount, t.steps)); Ok(()) }).unwrap();
            prop_assert_eq!(w.pending(s), 0);
            let want = oracle_transitions(&pushed[s], n, gamma);
            prop_assert_eq!(got[s].len(), want.len());
            for (g, o) in got[s].iter().zip(&want) {
                prop_assert_eq!((g.0, g.3), (o.0, o.3));
                prop_assert!((g.1 - o.1).abs() <= 1e-12 * (1.0 + o.1.abs()), "return {} vs {}", g.1, o.1);
                prop_assert!((g.2 - o.2).abs() <= 1e-15, "discount {} vs {}", g.2, o.2);
            }
        }
    }
}

#[test]
fn n_step_bad_input_changes_nothing() {
    let mut w: NStepWindows<u8, Fixed<8>> = NStepWindows::new(NStepConfig { n: 4, gamma: 0.9, streams: 2 }).unwrap();
    let step = |reward| Step { item: 1, reward, terminated: false, truncated: false };
    assert!(matches!(w.push(2, step(1.0)), Err(Error::IndexOutOfRange { .. })));
    assert!(matches!(w.push(0, step(f64::NAN)), Err(Error::InvalidArgument { .. })));
    assert!(matches!(w.push(0, step(1e300)), Err(Error::ValueTooLarge { .. })));
    assert_eq!(w.pending(0), 0);
    // A failing consumer leaves the transition to be taken again.
    for _ in 0..4 {
        w.push(0, step(1.0)).unwrap();
    }
    assert_eq!(w.drain(0, |_| Err(Error::Empty)), Err(Error::Empty));
    assert_eq!(w.ready(0), 1);
    assert_eq!(w.drain(0, |_| Ok(())), Ok(1));
    assert!(NStepWindows::<u8, Fixed<8>>::new(NStepConfig { n: 5, gamma: 0.9, streams: 2 }).is_err());
    for bad in [
        NStepConfig { n: 0, gamma: 0.9, streams: 1 },
        NStepConfig { n: 2, gamma: 1.5, streams: 1 },
        NStepConfig { n: 2, gamma: 0.5, streams: 0 },
    ] {
        assert!(matches!(NStepWindows::<u8, Heap>::new(bad), Err(Error::InvalidConfig { .. })));
    }
}

/// Pearson chi-square statistic of `counts` against equal expectations.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let e = total as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

#[test]
fn uniform_draws_are_uniform() {
    // 50 slots, 49 degrees of freedom: the 0.999 quantile is 85.4, so a
    // correct sampler fails one seed in a thousand; the seeds are fixed.
    for (stratified, seed) in [(false, 3), (true, 4)] {
        let mut s: UniformSelector<Heap> =
            UniformSelector::new(UniformConfig { seed, stratified, ..UniformConfig::new(64) }).unwrap();
        for _ in 0..50 {
            s.insert(None).unwrap();
        }
        let mut counts = vec![0u64; 50];
        let mut draws = vec![Draw::default(); 10];
        for _ in 0..20_000 {
            s.sample_into(&mut draws).unwrap();
            for (j, d) in draws.iter().enumerate() {
                counts[d.key.slot as usize] += 1;
                assert_eq!((d.probability, d.weight), (1.0 / 50.0, 1.0));
                if stratified {
                    assert!((5 * j..5 * j + 5).contains(&(d.key.slot as usize)));
                }
            }
        }
        let chi = chi_square(&counts);
        assert!(chi < 85.4, "stratified {stratified}: chi-square {chi}");
    }
}

#[test]
fn uniform_without_replacement_is_a_uniform_subset() {
    let mut s: UniformSelector<Fixed<16>> =
        UniformSelector::new(UniformConfig { seed: 9, without_replacement: true, ..UniformConfig::new(16) }).unwrap();
    for _ in 0..10 {
        s.insert(None).unwrap();
    }
    let mut counts = vec![0u64; 10];
    let mut draws = [Draw::default(); 4];
    for _ in 0..20_000 {
        s.sample_into(&mut draws).unwrap();
        let mut slots: Vec<u32> = draws.iter().map(|d| d.key.slot).collect();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), 4);
        for x in slots {
            counts[x as usize] += 1;
        }
    }
    // 9 degrees of freedom, 0.999 quantile 27.9.
    assert!(chi_square(&counts) < 27.9, "{counts:?}");
    let before = s.clone();
    assert_eq!(s.sample_into(&mut [Draw::default(); 11]), Err(Error::BatchTooLarge { requested: 11, available: 10 }));
    assert_eq!(s, before);
}

#[test]
fn uniform_keys_go_stale_and_bad_updates_change_nothing() {
    let mut s: UniformSelector<Heap> = UniformSelector::new(UniformConfig::new(3)).unwrap();
    assert_eq!(s.sample_into(&mut [Draw::default()]), Err(Error::Empty));
    let k0 = s.insert(None).unwrap();
    for _ in 0..3 {
        s.insert(None).unwrap();
    }
    assert!(!s.is_current(k0));
    let k = s.key(0).unwrap();
    assert_eq!(s.update_priorities(&[k0, k], &[1.0, 2.0]).unwrap().stale, 1);
    let before = s.clone();
    assert!(matches!(s.update_priorities(&[k], &[f64::NAN]), Err(Error::InvalidPriority { .. })));
    assert!(matches!(s.update_priorities(&[k], &[1.0, 2.0]), Err(Error::LengthMismatch { .. })));
    assert!(matches!(s.insert(Some(-1.0)), Err(Error::InvalidPriority { .. })));
    assert_eq!(s, before);
    let restored = UniformSelector::<Heap>::restore(&s.snapshot().unwrap()).unwrap();
    assert_eq!(restored, s);
    let mut bytes = s.snapshot().unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 1;
    assert!(matches!(UniformSelector::<Heap>::restore(&bytes), Err(Error::CorruptSnapshot { .. })));
}

/// The selector plus a ring of items is the replay buffer, bit for bit.
#[test]
fn replay_buffer_is_a_selector_and_a_ring() {
    for config in [PerConfig { seed: 5, ..PerConfig::new(40) }, PerConfig { seed: 6, ..PerConfig::rank(40) }] {
        let mut buf: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(config).unwrap();
        let mut sel: PrioritizedSelector<Heap> = PrioritizedSelector::new(config).unwrap();
        let mut items = [0u32; 40];
        let mut rng = DefaultRng::seed_from_u64(1);
        for step in 0..300u32 {
            let k = if step % 3 == 0 {
                let p = (rng.next_u64() % 1000) as f64 * 0.01;
                let k = buf.add_with_priority(step, p).unwrap();
                assert_eq!(k, sel.insert(Some(p)).unwrap());
                k
            } else {
                let k = buf.add(step).unwrap();
                assert_eq!(k, sel.insert(None).unwrap());
                k
            };
            items[k.slot as usize] = step;
            if step % 10 == 9 {
                let (mut a, mut b) = (vec![Draw::default(); 8], vec![Draw::default(); 8]);
                buf.sample_into(&mut a).unwrap();
                sel.sample_into(&mut b).unwrap();
                assert_eq!(a, b);
                for d in &a {
                    assert_eq!(buf.get(d.key), Some(&items[d.key.slot as usize]));
                }
                let keys: Vec<_> = a.iter().map(|d| d.key).collect();
                let td: Vec<f64> = keys.iter().map(|k| f64::from(k.slot) * 0.1 - 1.0).collect();
                assert_eq!(buf.update_priorities(&keys, &td).unwrap(), sel.update_priorities(&keys, &td).unwrap());
            }
        }
        let restored = PrioritizedSelector::<Heap>::restore(&sel.snapshot().unwrap()).unwrap();
        assert_eq!(restored.raw_priorities(), sel.raw_priorities());
    }
}

#[test]
fn replay_table_bad_input_changes_nothing() {
    let rows = RowStorage::<Heap>::new(4, &[ColumnSpec::new("x", DType::U8, &[2])]).unwrap();
    let mut t = ReplayTable::new(PrioritizedSelector::<Heap>::new(PerConfig::new(4)).unwrap(), rows).unwrap();
    t.add(&[Values::U8(&[1, 2])], None).unwrap();
    let snapshot = |t: &ReplayTable<PrioritizedSelector<Heap>, Heap>| {
        (t.rows().as_bytes().to_vec(), t.selector().raw_priorities().to_vec(), t.selector().next_slot())
    };
    let before = snapshot(&t);
    assert!(t.add(&[Values::F64(&[1.0, 300.0])], None).is_err());
    assert!(t.add(&[Values::U8(&[1, 2])], Some(f64::NAN)).is_err());
    assert!(t.extend(2, &[Values::U8(&[1, 2, 3, 4])], Some(&[1.0, -1.0])).is_err());
    assert!(t.extend(2, &[Values::U8(&[1, 2, 3])], None).is_err());
    let mut draws = [Draw::default(); 2];
    let mut wrong = [0u8; 3];
    assert!(t.sample_into(&mut draws, &mut [ValuesMut::U8(&mut wrong)]).is_err());
    assert_eq!(t.selector().step(), 0);
    assert_eq!(snapshot(&t), before);
    // And the good path, through the ring's overwrite.
    t.extend(5, &[Values::F64(&[0., 1., 2., 3., 4., 5., 6., 7., 8., 9.])], Some(&[1.0, 2.0, 3.0, 4.0, 5.0])).unwrap();
    let mut out = [0u8; 4];
    t.sample_into(&mut draws, &mut [ValuesMut::U8(&mut out)]).unwrap();
    for (j, d) in draws.iter().enumerate() {
        let mut row = [0u8; 2];
        assert!(t.get(d.key, &mut [ValuesMut::U8(&mut row)]).unwrap());
        assert_eq!(row, out[2 * j..2 * j + 2]);
        assert_eq!(row[1], row[0] + 1);
    }
}
