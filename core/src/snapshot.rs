//! Snapshots (feature `serde`): every sampler's full state as compact bytes,
//! restored bit-identically.
//!
//! # Format, version 2 (version 1 had no adaptive prior nor weight target)
//! ```text
//! "ADSS" | version: u16 LE | kind: u8 | payload (postcard) | FNV-1a 64 of all before: u64 LE
//! ```
//! kinds: 1 [`SumTree`], 2 [`PrioritizedReplayBuffer`], 3 [`AdaptiveBatchSampler`],
//! 4 [`RewardWeightedSampler`], 5 [`PrioritizedSelector`] (kind 2 without
//! its items: a selector's snapshot does not depend on any item type),
//! 6 [`UniformSelector`], 7 [`ReplayTable`] (its selector's snapshot of
//! kind 5 or 6, the schema and the rows' bytes). The payload holds what cannot be recomputed
//! (leaves, raw priorities, generations, items, scores, rewards, the generator,
//! the schedule step); trees and rank orders are rebuilt on restore in one fixed
//! order, so a restored sampler continues with exactly the draws the original
//! would have made. A truncated, altered or foreign snapshot is an
//! [`Error::CorruptSnapshot`], another version an
//! [`Error::UnsupportedSnapshotVersion`]; the restored state is validated like
//! any input (counts against each other and the capacity, priorities and
//! scores finite, `>= 0` and within [`MAX_PRIORITY`],
//! `-0.0` read as `0.0`), and every length is checked against the payload
//! before anything of that length is allocated: a restore allocates in
//! proportion to the snapshot's own size, whatever capacity it claims.
//! `snapshot()` fails only when an item's own `Serialize` does
//! ([`Error::ItemNotSerializable`]) or the memory for the bytes cannot be had
//! ([`Error::AllocationFailed`], never an abort). Each sampler also implements `serde::Serialize` / `Deserialize`
//! as these bytes, so it can sit inside a larger serde document.
//!
//! ```
//! use adasample::per::{PerConfig, PrioritizedReplayBuffer};
//! use adasample::storage::Heap;
//!
//! let mut a: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(64))?;
//! for x in 0..40 { a.add(x)?; }
//! let bytes = a.snapshot()?;
//! let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::restore(&bytes)?;
//! assert_eq!(a.sample(8)?, b.sample(8)?);
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::adaptive::{AdaptiveBatchSampler, AdaptiveConfig};
use crate::error::{check_bounded, Error, Result};
use crate::per::{PerConfig, PrioritizedReplayBuffer, PrioritizedSelector};
use crate::reward::{RewardConfig, RewardWeightedSampler};
use crate::rng::DefaultRng;
use crate::rows::{ColumnSpec, DType, RowStorage, MAX_DIMS};
use crate::select::Selector;
use crate::storage::{Buffer, Heap, Storage};
use crate::table::ReplayTable;
use crate::tree::SumTree;
use crate::tree::MAX_PRIORITY;
use crate::uniform::{UniformConfig, UniformSelector};
use alloc::vec::Vec;
use core::cell::Cell;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"ADSS";
/// The snapshot format version this build writes and reads.
pub const VERSION: u16 = 2;
const HEADER: usize = 7;

const KIND_TREE: u8 = 1;
const KIND_PER: u8 = 2;
const KIND_ADAPTIVE: u8 = 3;
const KIND_REWARD: u8 = 4;
const KIND_SELECTOR: u8 = 5;
const KIND_UNIFORM: u8 = 6;
const KIND_TABLE: u8 = 7;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn corrupt(reason: &'static str) -> Error {
    Error::CorruptSnapshot { reason }
}

/// A postcard output that grows fallibly: an allocation failure is
/// recorded (and ends the serialization) instead of aborting.
struct TryVec<'a> {
    out: Vec<u8>,
    failed: &'a Cell<usize>,
}

impl TryVec<'_> {
    // Not inlined: postcard calls the flavor from every field's serializer,
    // and a copy of this per call site cost the npm package 2.5 KB.
    #[inline(never)]
    fn extend(&mut self, data: &[u8]) -> bool {
        if self.out.try_reserve(data.len()).is_err() {
            self.failed.set(self.out.len().saturating_add(data.len()));
            return false;
        }
        self.out.extend_from_slice(data);
        true
    }
}

impl postcard::ser_flavors::Flavor for TryVec<'_> {
    type Output = Vec<u8>;
    #[inline(never)]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.extend(data) {
            Ok(())
        } else {
            Err(postcard::Error::SerializeBufferFull)
        }
    }
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }
    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.out)
    }
}

fn encode<P: Serialize>(kind: u8, payload: &P) -> Result<Vec<u8>> {
    let failed = Cell::new(0);
    let mut out = TryVec { out: Vec::new(), failed: &failed };
    let mut header = [0u8; HEADER];
    header[..4].copy_from_slice(MAGIC);
    header[4..6].copy_from_slice(&VERSION.to_le_bytes());
    header[6] = kind;
    let oom = |bytes: usize| Error::AllocationFailed { bytes };
    if !out.extend(&header) {
        return Err(oom(failed.get()));
    }
    // Numbers and slices always serialize; a user item type may refuse.
    let mut out = match postcard::serialize_with_flavor(payload, out) {
        Ok(out) => out,
        Err(_) if failed.get() > 0 => return Err(oom(failed.get())),
        Err(_) => return Err(Error::ItemNotSerializable),
    };
    let sum = fnv1a(&out);
    if out.try_reserve_exact(8).is_err() {
        return Err(oom(out.len().saturating_add(8)));
    }
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Checks magic, version, kind and checksum; returns the payload.
fn decode_body(kind: u8, b: &[u8]) -> Result<&[u8]> {
    if b.len() < HEADER + 8 {
        return Err(corrupt("too short"));
    }
    if &b[..4] != MAGIC {
        return Err(corrupt("not an adasample snapshot (bad magic)"));
    }
    let version = u16::from_le_bytes([b[4], b[5]]);
    if version != VERSION {
        return Err(Error::UnsupportedSnapshotVersion { found: version, supported: VERSION });
    }
    if b[6] != kind {
        return Err(corrupt("snapshot of another kind of sampler"));
    }
    let (body, tail) = b.split_at(b.len() - 8);
    let mut sum = [0u8; 8];
    sum.copy_from_slice(tail);
    if fnv1a(body) != u64::from_le_bytes(sum) {
        return Err(corrupt("checksum mismatch (truncated or altered)"));
    }
    Ok(&body[HEADER..])
}

fn decode<P: DeserializeOwned>(kind: u8, bytes: &[u8]) -> Result<P> {
    let body = decode_body(kind, bytes)?;
    match postcard::take_from_bytes::<P>(body) {
        Ok((p, [])) => Ok(p),
        Ok(_) => Err(corrupt("trailing bytes after the payload")),
        Err(_) => Err(corrupt("payload does not decode")),
    }
}

fn push_all<B: Buffer<V>, V>(buf: &mut B, values: impl IntoIterator<Item = V>) -> Result<()> {
    for v in values {
        buf.push(v).map_err(|_| corrupt("more values than the storage holds"))?;
    }
    Ok(())
}

/// Priorities (or scores) finite, `>= 0` and at most `MAX_PRIORITY`; `-0.0` becomes `0.0`.
fn check_leaves(values: &mut [f64]) -> Result<()> {
    for (k, v) in values.iter_mut().enumerate() {
        check_bounded("priority", k, *v).map_err(|_| corrupt("a priority is NaN, infinite, negative or too large"))?;
        *v = libm::fabs(*v);
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct TreeState<L> {
    capacity: u64,
    leaves: L,
}

impl<S: Storage> SumTree<S> {
    /// The tree's leaves as a snapshot (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        encode(KIND_TREE, &TreeState { capacity: self.capacity as u64, leaves: self.leaves() })
    }

    /// Rebuilds a tree from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let mut st: TreeState<Vec<f64>> = decode(KIND_TREE, bytes)?;
        let capacity = usize::try_from(st.capacity).map_err(|_| corrupt("capacity too large"))?;
        if st.leaves.len() != capacity {
            return Err(corrupt("leaf count differs from capacity"));
        }
        check_leaves(&mut st.leaves)?;
        let mut tree = SumTree::new(capacity)?;
        tree.leaves_mut().copy_from_slice(&st.leaves);
        tree.rebuild();
        Ok(tree)
    }
}

#[derive(Serialize, Deserialize)]
struct PerState<R, G, I> {
    config: PerConfig,
    raw: R,
    generations: G,
    items: I,
    next: u64,
    max_raw: f64,
    step: u64,
    rng: [u64; 4],
}

/// A selector's state: [`PerState`] without items (the same fields in the same order).
#[derive(Serialize, Deserialize)]
struct SelectorState<R, G> {
    config: PerConfig,
    raw: R,
    generations: G,
    next: u64,
    max_raw: f64,
    step: u64,
    rng: [u64; 4],
}

impl<S: Storage> PrioritizedSelector<S> {
    fn state<I>(&self, items: I) -> PerState<&[f64], &[u32], I> {
        PerState {
            config: self.config,
            raw: self.raw.as_ref(),
            generations: self.generations.as_ref(),
            items,
            next: self.next as u64,
            max_raw: self.max_raw,
            step: self.step,
            rng: self.rng.state(),
        }
    }

    /// The selector's full state as a snapshot (see [`crate::snapshot`]); it
    /// holds priorities, generations, the schedule step and the generator,
    /// nothing of what the slots hold.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::select::Draw;
    /// use adasample::storage::Heap;
    /// let mut a: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::rank(16))?;
    /// for p in [0.5, 2.0, 1.0] { a.insert(Some(p))?; }
    /// let mut b: PrioritizedSelector<Heap> = PrioritizedSelector::restore(&a.snapshot()?)?;
    /// let (mut da, mut db) = ([Draw::default(); 4], [Draw::default(); 4]);
    /// a.sample_into(&mut da)?;
    /// b.sample_into(&mut db)?;
    /// assert_eq!(da, db);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let st = self.state(());
        encode(
            KIND_SELECTOR,
            &SelectorState {
                config: st.config,
                raw: st.raw,
                generations: st.generations,
                next: st.next,
                max_raw: st.max_raw,
                step: st.step,
                rng: st.rng,
            },
        )
    }

    /// Rebuilds a selector from [`snapshot`](Self::snapshot) bytes; it
    /// continues exactly as the original would have.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let st: SelectorState<Vec<f64>, Vec<u32>> = decode(KIND_SELECTOR, bytes)?;
        let len = st.raw.len();
        Self::from_state(PerState {
            config: st.config,
            raw: st.raw,
            generations: st.generations,
            items: len,
            next: st.next,
            max_raw: st.max_raw,
            step: st.step,
            rng: st.rng,
        })
    }

    /// Validates a restored state (`items`: the item count) and builds the selector.
    fn from_state(mut st: PerState<Vec<f64>, Vec<u32>, usize>) -> Result<Self> {
        // Every claim is checked against the payload before the selector is
        // built (on the heap, it then grows only to `len`).
        st.config.validate()?;
        let len = st.items;
        let next = usize::try_from(st.next).map_err(|_| corrupt("ring position too large"))?;
        if st.raw.len() != len || st.generations.len() != len || len > st.config.capacity {
            return Err(corrupt("item, priority and generation counts differ"));
        }
        if next >= st.config.capacity || (len < st.config.capacity && next != len) {
            return Err(corrupt("ring position inconsistent with the item count"));
        }
        // Raw priorities are TD-error magnitudes: whatever `insert` and
        // `update_priorities` accept, no more.
        check_leaves(&mut st.raw)?;
        if !(st.max_raw >= 1.0
            && crate::math::not_above(st.max_raw, MAX_PRIORITY)
            && st.raw.iter().all(|&r| crate::math::not_above(r, st.max_raw)))
        {
            return Err(corrupt("max priority below a stored priority, or too large"));
        }
        if st.step >= 1 << 63 {
            return Err(corrupt("schedule step of 2^63 or more (no run samples that often)"));
        }
        let mut sel = Self::new(st.config)?;
        push_all(&mut sel.raw, st.raw)?;
        push_all(&mut sel.generations, st.generations)?;
        sel.rebuild_priorities()?;
        sel.next = next;
        sel.max_raw = st.max_raw;
        sel.step = st.step;
        sel.rng = DefaultRng::from_state(st.rng);
        Ok(sel)
    }
}

impl<T: Serialize, S: Storage> PrioritizedReplayBuffer<T, S> {
    /// The buffer's full state, items included, as a snapshot (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        encode(KIND_PER, &self.selector.state(self.items.as_ref()))
    }
}

impl<T: DeserializeOwned, S: Storage> PrioritizedReplayBuffer<T, S> {
    /// Rebuilds a buffer from [`snapshot`](Self::snapshot) bytes; it continues
    /// exactly as the original would have.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let st: PerState<Vec<f64>, Vec<u32>, Vec<T>> = decode(KIND_PER, bytes)?;
        let items = st.items;
        let selector = PrioritizedSelector::from_state(PerState {
            config: st.config,
            raw: st.raw,
            generations: st.generations,
            items: items.len(),
            next: st.next,
            max_raw: st.max_raw,
            step: st.step,
            rng: st.rng,
        })?;
        let mut buf = PrioritizedReplayBuffer { selector, items: <S::Items<T> as Buffer<T>>::EMPTY };
        push_all(&mut buf.items, items)?;
        Ok(buf)
    }
}

#[derive(Serialize, Deserialize)]
struct UniformState<G> {
    config: UniformConfig,
    generations: G,
    next: u64,
    step: u64,
    rng: [u64; 4],
}

impl<S: Storage> UniformSelector<S> {
    /// The selector's full state as a snapshot (see [`crate::snapshot`]).
    ///
    /// ```
    /// use adasample::select::{Draw, Selector};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::storage::Heap;
    /// let mut a: UniformSelector<Heap> = UniformSelector::new(UniformConfig::new(8))?;
    /// for _ in 0..5 { a.insert(None)?; }
    /// let mut b: UniformSelector<Heap> = UniformSelector::restore(&a.snapshot()?)?;
    /// let (mut da, mut db) = ([Draw::default(); 3], [Draw::default(); 3]);
    /// a.sample_into(&mut da)?;
    /// b.sample_into(&mut db)?;
    /// assert_eq!(da, db);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        encode(
            KIND_UNIFORM,
            &UniformState {
                config: self.config,
                generations: self.generations.as_ref(),
                next: self.next as u64,
                step: self.step,
                rng: self.rng.state(),
            },
        )
    }

    /// Rebuilds a selector from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let st: UniformState<Vec<u32>> = decode(KIND_UNIFORM, bytes)?;
        st.config.validate()?;
        let (len, cap) = (st.generations.len(), st.config.capacity);
        let next = usize::try_from(st.next).map_err(|_| corrupt("ring position too large"))?;
        if len > cap || next >= cap || (len < cap && next != len) {
            return Err(corrupt("ring position inconsistent with the slot count"));
        }
        if st.step >= 1 << 63 {
            return Err(corrupt("schedule step of 2^63 or more (no run samples that often)"));
        }
        let mut sel = Self::new(st.config)?;
        push_all(&mut sel.generations, st.generations)?;
        sel.next = next;
        sel.step = st.step;
        sel.rng = DefaultRng::from_state(st.rng);
        Ok(sel)
    }
}

#[derive(Serialize, Deserialize)]
struct AdaptiveState<F, P> {
    config: AdaptiveConfig,
    scores: F,
    perm: P,
    rng: [u64; 4],
    /// The prior `q_i`, if one is set.
    prior: Option<F>,
}

impl<S: Storage> AdaptiveBatchSampler<S> {
    /// The sampler's full state as a snapshot (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        encode(
            KIND_ADAPTIVE,
            &AdaptiveState {
                config: self.config,
                scores: self.scores.as_ref(),
                perm: self.perm.as_ref(),
                rng: self.rng.state(),
                #[cfg(feature = "prior")]
                prior: self.prior(),
                #[cfg(not(feature = "prior"))]
                prior: None,
            },
        )
    }

    /// Rebuilds a sampler from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let mut st: AdaptiveState<Vec<f64>, Vec<u32>> = decode(KIND_ADAPTIVE, bytes)?;
        let n = st.config.dataset_size;
        if st.scores.len() != n || st.perm.len() != n {
            return Err(corrupt("score or permutation count differs from the dataset size"));
        }
        check_leaves(&mut st.scores)?;
        let mut s = Self::new(st.config)?;
        let mut seen = crate::error::try_vec(n, false)?;
        for &p in &st.perm {
            match seen.get_mut(p as usize) {
                Some(x) if !*x => *x = true,
                _ => return Err(corrupt("pool order is not a permutation")),
            }
        }
        s.scores.as_mut().copy_from_slice(&st.scores);
        s.perm.as_mut().copy_from_slice(&st.perm);
        for (leaf, &score) in s.tree.leaves_mut().iter_mut().zip(&st.scores) {
            *leaf = crate::math::pow(score, st.config.alpha);
        }
        s.tree.rebuild();
        s.rng = DefaultRng::from_state(st.rng);
        if let Some(prior) = &st.prior {
            #[cfg(feature = "prior")]
            s.set_prior(prior).map_err(|e| match e {
                Error::AllocationFailed { .. } => e,
                _ => corrupt(
                    "a prior of another length than the dataset, a prior value outside (0, 1], or a prior on OHEM",
                ),
            })?;
            #[cfg(not(feature = "prior"))]
            {
                let _ = prior;
                return Err(corrupt("the snapshot has a prior; this build lacks feature `prior`"));
            }
        }
        Ok(s)
    }
}

#[derive(Serialize, Deserialize)]
struct RewardState<F> {
    config: RewardConfig,
    rewards: F,
    rng: [u64; 4],
}

impl<S: Storage> RewardWeightedSampler<S> {
    /// The sampler's full state as a snapshot (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        encode(KIND_REWARD, &RewardState { config: self.config, rewards: self.rewards.as_ref(), rng: self.rng.state() })
    }

    /// Rebuilds a sampler from [`snapshot`](Self::snapshot) bytes.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let st: RewardState<Vec<f64>> = decode(KIND_REWARD, bytes)?;
        let mut s = Self::new(st.config)?;
        s.extend(&st.rewards).map_err(|_| corrupt("rewards are not finite or exceed the capacity"))?;
        s.rng = DefaultRng::from_state(st.rng);
        Ok(s)
    }
}

/// A selector whose state a [`ReplayTable`] snapshot can hold:
/// [`PrioritizedSelector`] (proportional or rank) and [`UniformSelector`].
pub trait SelectorSnapshot: Selector + Sized {
    /// The selector's kind in a table snapshot.
    const KIND: SelectorKind;
    /// The selector's own snapshot bytes.
    fn selector_snapshot(&self) -> Result<Vec<u8>>;
    /// The selector from its own snapshot bytes.
    fn selector_restore(bytes: &[u8]) -> Result<Self>;
}

/// Which selector a table snapshot holds; see [`table_selector_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorKind {
    /// A [`PrioritizedSelector`] (proportional or rank-based).
    Prioritized = 0,
    /// A [`UniformSelector`].
    Uniform = 1,
}

impl<S: Storage> SelectorSnapshot for PrioritizedSelector<S> {
    const KIND: SelectorKind = SelectorKind::Prioritized;
    fn selector_snapshot(&self) -> Result<Vec<u8>> {
        self.snapshot()
    }
    fn selector_restore(bytes: &[u8]) -> Result<Self> {
        Self::restore(bytes)
    }
}

impl<S: Storage> SelectorSnapshot for UniformSelector<S> {
    const KIND: SelectorKind = SelectorKind::Uniform;
    fn selector_snapshot(&self) -> Result<Vec<u8>> {
        self.snapshot()
    }
    fn selector_restore(bytes: &[u8]) -> Result<Self> {
        Self::restore(bytes)
    }
}

#[derive(Serialize, Deserialize)]
struct ColumnState<N, D> {
    name: N,
    dtype: DType,
    shape: D,
}

#[derive(Serialize, Deserialize)]
struct TableState<B, C> {
    /// 0: prioritized, 1: uniform (first, so [`table_selector_kind`] reads it alone).
    kind: u8,
    selector: B,
    capacity: u64,
    columns: C,
    rows: B,
}

/// The kind of selector in a [`ReplayTable`] snapshot, so that a caller
/// holding either kind knows which `restore` to call. Errors as a restore's
/// header checks: [`Error::CorruptSnapshot`], [`Error::UnsupportedSnapshotVersion`].
pub fn table_selector_kind(bytes: &[u8]) -> Result<SelectorKind> {
    // The payload's first field, a u8, is one byte in postcard.
    match decode_body(KIND_TABLE, bytes)?.first() {
        Some(0) => Ok(SelectorKind::Prioritized),
        Some(1) => Ok(SelectorKind::Uniform),
        _ => Err(corrupt("unknown selector kind in a table snapshot")),
    }
}

impl<Sel: SelectorSnapshot> ReplayTable<Sel, Heap> {
    /// The whole table (the selector's state, the schema and every row) as
    /// a snapshot (see [`crate::snapshot`]).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
    /// use adasample::select::Draw;
    /// use adasample::snapshot::{table_selector_kind, SelectorKind};
    /// use adasample::{storage::Heap, table::ReplayTable};
    /// let rows = RowStorage::<Heap>::new(8, &[ColumnSpec::new("x", DType::I32, &[2])])?;
    /// let mut a = ReplayTable::new(PrioritizedSelector::<Heap>::new(PerConfig::new(8))?, rows)?;
    /// a.extend(3, &[Values::I32(&[1, 2, 3, 4, 5, 6])], Some(&[1.0, 2.0, 3.0]))?;
    /// let bytes = a.snapshot()?;
    /// assert_eq!(table_selector_kind(&bytes)?, SelectorKind::Prioritized);
    /// let mut b: ReplayTable<PrioritizedSelector<Heap>, Heap> = ReplayTable::restore(&bytes)?;
    /// let (mut da, mut db, mut xa, mut xb) = ([Draw::default(); 2], [Draw::default(); 2], [0; 4], [0; 4]);
    /// a.sample_into(&mut da, &mut [ValuesMut::I32(&mut xa)])?;
    /// b.sample_into(&mut db, &mut [ValuesMut::I32(&mut xb)])?;
    /// assert_eq!((da, xa), (db, xb));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let selector = self.selector().selector_snapshot()?;
        let rows = self.rows();
        let mut shapes = [[0u32; MAX_DIMS]; crate::rows::MAX_COLUMNS];
        let mut columns: heapless::Vec<ColumnState<&str, &[u32]>, { crate::rows::MAX_COLUMNS }> = heapless::Vec::new();
        for (c, s) in rows.columns().zip(shapes.iter_mut()) {
            let mut dims = 0;
            for (x, d) in s.iter_mut().zip(c.shape()) {
                *x = d as u32;
                dims += 1;
            }
            // At most MAX_COLUMNS columns of MAX_DIMS dimensions, by construction.
            let _ = columns.push(ColumnState { name: c.name, dtype: c.dtype, shape: &s[..dims] });
        }
        encode(
            KIND_TABLE,
            &TableState {
                kind: Sel::KIND as u8,
                selector: selector.as_slice(),
                capacity: rows.capacity() as u64,
                columns: columns.as_slice(),
                rows: rows.as_bytes(),
            },
        )
    }

    /// Rebuilds a table from [`snapshot`](Self::snapshot) bytes; it
    /// continues exactly as the original would have. A snapshot of the
    /// other selector kind is an [`Error::CorruptSnapshot`] (ask
    /// [`table_selector_kind`] first when either may come).
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let st: TableState<Vec<u8>, Vec<ColumnState<alloc::string::String, Vec<u32>>>> = decode(KIND_TABLE, bytes)?;
        if st.kind != Sel::KIND as u8 {
            return Err(corrupt("a table snapshot of another selector kind"));
        }
        if st.columns.len() > crate::rows::MAX_COLUMNS || st.columns.iter().any(|c| c.shape.len() > MAX_DIMS) {
            return Err(corrupt("more columns or dimensions than a table has"));
        }
        let capacity = usize::try_from(st.capacity).map_err(|_| corrupt("capacity too large"))?;
        let mut shapes = [[0usize; MAX_DIMS]; crate::rows::MAX_COLUMNS];
        for (s, c) in shapes.iter_mut().zip(&st.columns) {
            for (d, &x) in s.iter_mut().zip(&c.shape) {
                *d = x as usize;
            }
        }
        let mut specs: heapless::Vec<ColumnSpec<'_>, { crate::rows::MAX_COLUMNS }> = heapless::Vec::new();
        for (c, s) in st.columns.iter().zip(&shapes) {
            let _ = specs.push(ColumnSpec::new(&c.name, c.dtype, &s[..c.shape.len()]));
        }
        let mut rows = RowStorage::<Heap>::new(capacity, &specs).map_err(|e| match e {
            Error::AllocationFailed { .. } => e,
            _ => corrupt("the schema is not one a table accepts"),
        })?;
        let selector = Sel::selector_restore(&st.selector)?;
        if selector.capacity() != capacity {
            return Err(corrupt("the selector's capacity differs from the rows'"));
        }
        let rb = rows.row_bytes();
        if !st.rows.len().is_multiple_of(rb) || st.rows.len() / rb != selector.len() {
            return Err(corrupt("the row bytes do not hold one row per stored slot"));
        }
        rows.restore_bytes(&st.rows)?;
        Ok(ReplayTable::from_parts(selector, rows))
    }
}

/// serde impls as the snapshot bytes, so samplers nest inside serde documents.
macro_rules! serde_as_snapshot {
    ($ty:ty, [$($gen:tt)*], [$($ser:tt)*], [$($de:tt)*]) => {
        impl<$($gen)*> Serialize for $ty where $($ser)* {
            fn serialize<Z: serde::Serializer>(&self, z: Z) -> core::result::Result<Z::Ok, Z::Error> {
                z.serialize_bytes(&self.snapshot().map_err(serde::ser::Error::custom)?)
            }
        }
        impl<'de, $($gen)*> Deserialize<'de> for $ty where $($de)* {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                let bytes: Vec<u8> = serde_bytes_vec(d)?;
                Self::restore(&bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn serde_bytes_vec<'de, D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Vec<u8>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("adasample snapshot bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> core::result::Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> core::result::Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
    d.deserialize_bytes(V)
}

serde_as_snapshot!(SumTree<S>, [S: Storage], [], []);
serde_as_snapshot!(PrioritizedSelector<S>, [S: Storage], [], []);
serde_as_snapshot!(UniformSelector<S>, [S: Storage], [], []);
serde_as_snapshot!(PrioritizedReplayBuffer<T, S>, [T, S: Storage], [T: Serialize], [T: DeserializeOwned]);
serde_as_snapshot!(AdaptiveBatchSampler<S>, [S: Storage], [], []);
serde_as_snapshot!(RewardWeightedSampler<S>, [S: Storage], [], []);
