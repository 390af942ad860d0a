//! Prioritized experience replay (Schaul et al. 2016), proportional and
//! rank-based, over a ring buffer of items.
//!
//! # The math (defaults in brackets)
//! - Proportional: stored priority `p_i = (|delta_i| + eps)^alpha` [alpha 0.6,
//!   eps 1e-6]; alpha is applied once, here, and nowhere else.
//! - Rank-based (crate feature `rank`, default): `p_i = rank(i)^-alpha`
//!   [alpha 0.7], rank 1 = largest `|delta|` (ties: lower slot first). Drawn
//!   by strata of equal probability mass.
//! - `P(i) = p_i / sum_k p_k`. A new item gets the largest raw priority
//!   `|delta|` seen so far (1.0 before any update), or the one given to
//!   [`PrioritizedReplayBuffer::add_with_priority`].
//! - Importance weights `w_i = (N P(i))^-beta / max_j (N P(j))^-beta`, which
//!   simplifies to `(p_min / p_i)^beta`: in `(0, 1]`, the max taken over the
//!   whole buffer ([`Normalization::Global`], the paper's) or over the batch
//!   ([`Normalization::Batch`]), never mixed.
//! - beta follows a linear schedule from `beta` [0.4; rank 0.5] to `beta_final`
//!   [1.0] over `beta_steps` calls of `sample` [0: constant beta].
//!
//! # Guarantees
//! - A batch never holds an empty slot or one of zero priority.
//! - Every key returned by `sample` carries its slot's generation; an update for
//!   a slot overwritten since is skipped and counted, never applied to the new item.
//! - Every call validates all of its input before changing anything.
//! - With [`PerConfig::without_replacement`] a batch holds distinct items, drawn
//!   by successive draws (not stratified); the reported `P(i)` is then the
//!   first-draw probability, which is what the weights use.
//!
//! # Cost
//! `add` and each update O(log n) in the worst case, for any sequence of
//! priorities (rank: a weight-balanced search tree, iterative, at most 75
//! levels); a batch of B O(B log n); memory per slot: the item, 8 bytes of raw
//! priority, 4 of generation, 12 to 16 of tree (18 to 28 without the `group-sums` feature) (rank: 12 more for the order).
//! On the heap every buffer grows with the items (the tree by doublings, each
//! an O(n) rebuild, O(1) amortised per `add`); fixed storage holds it all.
//!
//! # Numerics
//! Raw priorities `|delta|` (TD errors and the priorities given to `add`) are
//! at most [`MAX_PRIORITY`](crate::MAX_PRIORITY) (about 1.6e296), or [`Error::ValueTooLarge`]; as
//! alpha and eps are at most 1, no stored priority `(|delta| + eps)^alpha`
//! exceeds it either, so the total is always finite. Importance weights
//! are in `[0, 1]`, computed from logs (`exp(beta (ln p_min - ln p))`), so a
//! weight is never 0 where its true value is a normal float (priorities
//! 1e-300 and 1e296 with beta 0.4: about 1e-238).

#[cfg(feature = "alloc")]
use crate::error::try_vec;
use crate::error::{check_bounded, ensure, Error, Result};
use crate::math::{in_unit, not_above};
use crate::order::{by_priority, RankOrder};
use crate::rng::{commit_on_ok, DefaultRng};
use crate::schedule::Schedule;
use crate::storage::{check_fits, tree_size, Buffer, Storage};
use crate::tree::SumTree;
use rand_core::RngCore;

use crate::select::Selector;
pub use crate::select::{Draw, Key, UpdateReport};

/// Proportional or rank-based prioritization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PerKind {
    /// `p_i = (|delta_i| + eps)^alpha`.
    #[default]
    Proportional,
    /// `p_i = rank(i)^-alpha`.
    Rank,
}

/// Which maximum the importance weights are divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Normalization {
    /// Over the whole buffer (the paper's choice): the weight of an item does
    /// not depend on what else is in its batch.
    #[default]
    Global,
    /// Over the batch: the largest weight of each batch is exactly 1.
    Batch,
}

/// Configuration of a [`PrioritizedReplayBuffer`]. Build it with
/// [`PerConfig::new`] (proportional defaults) or [`PerConfig::rank`] and
/// struct-update syntax.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PerConfig {
    /// Number of slots of the ring buffer, at least 1.
    pub capacity: usize,
    /// Prioritization exponent in `[0, 1]` (0: uniform). Default: 0.6; rank 0.7.
    pub alpha: f64,
    /// Importance-sampling exponent at the first `sample`, in `[0, 1]`. Default: 0.4; rank 0.5.
    pub beta: f64,
    /// beta after `beta_steps` samples, in `[0, 1]`. Default: 1.0.
    pub beta_final: f64,
    /// Number of `sample` calls over which beta moves linearly to `beta_final`;
    /// 0 keeps beta constant. Default: 0.
    pub beta_steps: u64,
    /// Added to `|delta|` before the exponent, in `[0, 1]`. Default: 1e-6.
    pub epsilon: f64,
    /// Seed of the buffer's own generator. Default: 0.
    pub seed: u64,
    /// Proportional or rank-based. Default: Proportional.
    pub kind: PerKind,
    /// Draw distinct items within a batch. Default: false.
    pub without_replacement: bool,
    /// Importance-weight normalisation. Default: Global.
    pub normalization: Normalization,
}

impl PerConfig {
    /// Proportional PER with the paper's defaults: alpha 0.6, beta 0.4.
    pub const fn new(capacity: usize) -> Self {
        PerConfig {
            capacity,
            alpha: 0.6,
            beta: 0.4,
            beta_final: 1.0,
            beta_steps: 0,
            epsilon: 1e-6,
            seed: 0,
            kind: PerKind::Proportional,
            without_replacement: false,
            normalization: Normalization::Global,
        }
    }

    /// Rank-based PER with the paper's defaults: alpha 0.7, beta 0.5.
    pub const fn rank(capacity: usize) -> Self {
        PerConfig { alpha: 0.7, beta: 0.5, kind: PerKind::Rank, ..Self::new(capacity) }
    }

    /// The beta schedule this config describes.
    pub fn beta_schedule(&self) -> Schedule {
        if self.beta_steps == 0 {
            Schedule::Constant(self.beta)
        } else {
            Schedule::Linear { start: self.beta, end: self.beta_final, steps: self.beta_steps }
        }
    }

    /// Checks every field; see the field docs for the ranges.
    ///
    /// ```
    /// use adasample::per::PerConfig;
    /// assert!(PerConfig::new(8).validate().is_ok());
    /// let e = PerConfig { beta: 1.5, ..PerConfig::new(8) }.validate().unwrap_err();
    /// assert_eq!(e.to_string(), "invalid config: `beta` must be in [0, 1]");
    /// ```
    pub fn validate(&self) -> Result<()> {
        ensure(self.capacity >= 1, "capacity", "at least 1")?;
        ensure(self.capacity <= u32::MAX as usize, "capacity", "at most 2^32 - 1")?;
        ensure(in_unit(self.alpha), "alpha", "in [0, 1]")?;
        ensure(in_unit(self.beta), "beta", "in [0, 1]")?;
        ensure(in_unit(self.beta_final), "beta_final", "in [0, 1]")?;
        // At most 1: a new item's priority `(1 + eps)^alpha` then stays small.
        ensure(in_unit(self.epsilon), "epsilon", "in [0, 1]")?;
        ensure(
            cfg!(feature = "rank") || self.kind != PerKind::Rank,
            "kind",
            "Proportional: rank-based PER needs the crate feature `rank`",
        )
    }
}

/// `p = (raw + eps)^alpha`.
fn transform(config: &PerConfig, raw: f64) -> f64 {
    crate::math::pow(raw + config.epsilon, config.alpha)
}

/// The normalised importance weight `(N P)^-beta / (N P_min)^-beta =
/// (p_min / p)^beta` (N and the total cancel), in log space:
/// `exp(beta (ln p_min - ln p))`, with `ln p_min` taken once per batch. The
/// ratio `p_min / p` itself would round to 0, or lose its digits, wherever
/// it leaves the normal range (priorities 1e-300 and 1e296); the logs do
/// not, so the weight is a normal float whenever its true value is, and 0
/// only below the smallest subnormal. Exactly 1 for `p == p_min` or beta 0.
/// The relative error is about `beta |ln p| 2^-53` (below 1e-13).
pub(crate) fn is_weight(ln_p_min: f64, p: f64, beta: f64) -> f64 {
    libm::exp(beta * (ln_p_min - libm::log(p)))
}

/// Tree slots a heap-backed buffer starts with (it doubles as the ring fills).
const INITIAL_TREE: usize = 64;

/// Proportional or rank-based prioritized selection over a ring of
/// `capacity` slots, knowing keys only: per slot a raw priority `|delta|`
/// and a generation, plus the sum tree (rank: the rank order), the beta
/// schedule and the generator. What the slots hold is the caller's, indexed
/// by `key.slot`; [`PrioritizedReplayBuffer`] pairs it with a ring of `T`,
/// [`ReplayTable`](crate::table::ReplayTable) with columns of rows.
///
/// Memory: 8 bytes of raw priority, 4 of generation and 12 to 16 of tree (18 to 28 without the `group-sums` feature) a
/// slot (rank: 12 more); on the heap it grows with the slots written.
///
/// ```
/// use adasample::per::{PerConfig, PrioritizedSelector};
/// use adasample::select::Draw;
/// use adasample::storage::Heap;
///
/// let rewards = [0.0f32, 1.0, 0.5]; // the caller's own column
/// let mut sel: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::new(3))?;
/// for _ in rewards { sel.insert(None)?; }
/// let mut draws = [Draw::default(); 2];
/// sel.sample_into(&mut draws)?;
/// let keys: Vec<_> = draws.iter().map(|d| d.key).collect();
/// let td: Vec<f64> = draws.iter().map(|d| rewards[d.key.slot as usize] as f64 - 0.25).collect();
/// assert_eq!(sel.update_priorities(&keys, &td)?.applied, 2);
/// # Ok::<(), adasample::Error>(())
/// ```
#[derive(Clone)]
// `repr(C)`, small fields first: firmware reaches them from the struct's
// start in one load each, the buffers after them hold kilobytes.
#[repr(C)]
pub struct PrioritizedSelector<S: Storage> {
    pub(crate) config: PerConfig,
    pub(crate) next: usize,
    pub(crate) max_raw: f64,
    /// The last `(!raw.to_bits(), transform(raw))` (see `transform_memo`).
    /// The key is stored inverted so that all-zero bits (`EMPTY`, `reset`)
    /// mean "none": they would stand for raw bits of all ones, a NaN, which
    /// no raw priority is. A NaN sentinel instead would put `EMPTY` in
    /// `.data`, copying the whole fixed storage into flash.
    memo: (u64, f64),
    pub(crate) step: u64,
    pub(crate) rng: DefaultRng,
    /// Proportional: leaf = slot, value `p_i`. Rank: leaf = rank - 1, value `rank^-alpha`.
    pub(crate) tree: SumTree<S>,
    /// `|delta|` per slot (the rank key, and the source of `p_i`).
    pub(crate) raw: S::F64,
    pub(crate) generations: S::U32,
    /// The rank order (capacity 0 unless `config.kind` is `Rank`).
    pub(crate) order: RankOrder<S>,
}

impl<S: Storage> core::fmt::Debug for PrioritizedSelector<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrioritizedSelector")
            .field("config", &self.config)
            .field("len", &self.len())
            .field("total_priority", &self.tree.total())
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> PrioritizedSelector<S> {
    /// A buffer of capacity 0, for `static` initialisers (fixed storage without
    /// a stack copy); [`reset`](Self::reset) configures it in place.
    ///
    /// Every field of `EMPTY` is zero bits, so a `static` of it costs no flash.
    pub const EMPTY: Self = PrioritizedSelector {
        config: PerConfig {
            capacity: 0,
            alpha: 0.0,
            beta: 0.0,
            beta_final: 0.0,
            beta_steps: 0,
            epsilon: 0.0,
            seed: 0,
            kind: PerKind::Proportional,
            without_replacement: false,
            normalization: Normalization::Global,
        },
        tree: SumTree::EMPTY,
        raw: <S::F64 as Buffer<f64>>::EMPTY,
        generations: <S::U32 as Buffer<u32>>::EMPTY,
        order: RankOrder::EMPTY,
        next: 0,
        max_raw: 0.0,
        memo: (0, 0.0),
        step: 0,
        rng: DefaultRng::ZERO,
    };

    /// An empty selector. Errors: [`Error::InvalidConfig`] naming the bad field,
    /// [`Error::StorageTooSmall`] when `Fixed` storage cannot hold `capacity`.
    /// On the heap nothing of the capacity is allocated up front.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::storage::Fixed;
    /// assert!(PrioritizedSelector::<Fixed<64>>::new(PerConfig::rank(64)).is_ok());
    /// assert!(PrioritizedSelector::<Fixed<64>>::new(PerConfig::new(65)).is_err()); // StorageTooSmall
    /// ```
    pub fn new(config: PerConfig) -> Result<Self> {
        let mut buf = Self::EMPTY;
        buf.reset(config)?;
        Ok(buf)
    }

    /// What [`reset`](Self::reset) refuses: a bad field, or a capacity the
    /// storage cannot hold. (A function of its own: inlined into `reset`,
    /// the firmware's code grows by 24 bytes.)
    fn check_config(config: &PerConfig) -> Result<()> {
        config.validate()?;
        check_fits::<S>(config.capacity)?;
        SumTree::<S>::check_capacity(config.capacity)
    }

    /// Empties the selector and re-configures it in place, as if new
    /// (generations restart at 0, the generator is re-seeded). Errors as
    /// [`new`](Self::new), checked before anything changes; only a heap
    /// allocation failure can leave it emptied (capacity 0).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::storage::Heap;
    /// let mut s: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::new(4))?;
    /// s.insert(None)?;
    /// s.reset(PerConfig::rank(8))?;
    /// assert_eq!((s.len(), s.capacity()), (0, 8));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn reset(&mut self, config: PerConfig) -> Result<()> {
        Self::check_config(&config)?;
        self.raw.clear();
        self.generations.clear();
        self.order.clear();
        // Fixed storage holds the whole tree anyway; the heap starts small.
        let slots = if S::GROWS { config.capacity.min(INITIAL_TREE) } else { config.capacity };
        if let Err(e) = self.tree.reset(slots) {
            // Capacity 0, in place: `*self = EMPTY` would need a stack copy.
            self.tree.make_empty();
            self.config.capacity = 0;
            return Err(e);
        }
        self.config = config;
        self.next = 0;
        self.max_raw = 1.0;
        // No memo: the key alone decides. (Zeroing the whole pair, next to
        // `step`, becomes a `memclr` call that costs firmware 0.35 KB.)
        self.memo.0 = 0;
        self.step = 0;
        self.rng = DefaultRng::new(config.seed);
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &PerConfig {
        &self.config
    }

    /// Number of slots written (N in the formulas).
    pub fn len(&self) -> usize {
        self.generations.as_ref().len()
    }

    /// True before the first `add`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.config.capacity
    }

    /// The beta the next `sample` will use.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// b.reset(PerConfig { beta: 0.4, beta_final: 1.0, beta_steps: 2, ..PerConfig::new(4) })?;
    /// b.add("a")?;
    /// assert_eq!(b.beta(), 0.4);
    /// b.sample(1)?;
    /// assert!((b.beta() - 0.7).abs() < 1e-15);
    /// b.sample(1)?;
    /// assert_eq!((b.beta(), b.step()), (1.0, 2));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn beta(&self) -> f64 {
        self.config.beta_schedule().value(self.step)
    }

    /// Number of `sample` calls so far (the schedule's step).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Sum of the stored priorities `p_i` (for sharded sampling: pick a shard
    /// with probability `total_s / sum`).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// b.reset(PerConfig { alpha: 1.0, epsilon: 0.0, ..PerConfig::new(4) })?;
    /// b.add_with_priority("a", 1.0)?;
    /// b.add_with_priority("b", 3.0)?;
    /// assert_eq!((b.total_priority(), b.min_priority(), b.max_raw_priority()), (4.0, Some(1.0), 3.0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn total_priority(&self) -> f64 {
        self.tree.total()
    }

    /// The smallest stored priority `p_i` (for a global weight normaliser across
    /// shards); `None` when empty.
    pub fn min_priority(&self) -> Option<f64> {
        self.tree.min()
    }

    /// The largest raw priority `|delta|` seen so far: what a new item gets.
    pub fn max_raw_priority(&self) -> f64 {
        self.max_raw
    }

    /// The current key of `slot`; `None` for a slot never written.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::storage::Heap;
    /// let mut s: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::new(2))?;
    /// for _ in 0..3 { s.insert(None)?; } // slot 0 is written twice
    /// assert_eq!(s.key(0).map(|k| k.generation), Some(1));
    /// assert_eq!(s.key(2), None);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn key(&self, slot: usize) -> Option<Key> {
        self.generations.as_ref().get(slot).map(|&generation| Key { slot: slot as u32, generation })
    }

    /// `P(i)` of the slot under `key` now; `None` if the key is stale or empty.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// let a = b.add("a")?;
    /// let c = b.add("c")?;
    /// assert_eq!(b.probability(a), Some(0.5)); // both have the initial max priority
    /// assert_eq!(b.probability(c), Some(0.5));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn probability(&self, key: Key) -> Option<f64> {
        if self.key(key.slot as usize) != Some(key) {
            return None;
        }
        let p = self.tree.get(self.position_of(key.slot as usize)).ok()?;
        let total = self.tree.total();
        Some(if p > 0.0 { p / total } else { 0.0 })
    }

    /// Resolves a point of a global batch over shards
    /// ([`ShardPlan::draw`](crate::shard::ShardPlan::draw)) that landed in
    /// this selector: the key of the slot at `residual` of its total and
    /// that slot's stored priority `p` (for
    /// [`global_weight`](crate::shard::global_weight); `P = p / T` with the
    /// plan's global `T`). Errors: [`Error::InvalidConfig`] naming `rank`
    /// for rank-based priorities (they depend on the global order, which no
    /// shard knows), [`Error::Empty`], and [`Error::InvalidArgument`] naming
    /// `u` for a residual outside `[0, total)`: a point from another plan.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::storage::Heap;
    /// let config = PerConfig { alpha: 1.0, epsilon: 0.0, ..PerConfig::new(4) };
    /// let mut s: PrioritizedSelector<Heap> = PrioritizedSelector::new(config)?;
    /// s.insert(Some(1.0))?;
    /// s.insert(Some(3.0))?;
    /// let (key, p) = s.resolve(2.5)?; // past the first slot's 1.0
    /// assert_eq!((key.slot, p), (1, 3.0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn resolve(&self, residual: f64) -> Result<(Key, f64)> {
        crate::error::ensure(!self.is_rank(), "rank", "proportional priorities over shards")?;
        self.check_ready()?;
        let slot = self.tree.find(residual)?;
        // `find` never lands on a zero leaf, and only written slots are non-zero.
        let key = self.key(slot).ok_or(Error::Empty)?;
        Ok((key, self.tree.leaves()[slot]))
    }

    /// The raw priorities `|delta|` of all slots, in slot order.
    pub fn raw_priorities(&self) -> &[f64] {
        self.raw.as_ref()
    }

    /// The slot the next [`insert`](Self::insert) takes.
    pub fn next_slot(&self) -> usize {
        self.next
    }

    /// What [`insert`](Self::insert) refuses whatever the memory:
    /// [`Error::NotConfigured`], or a priority that is NaN, infinite,
    /// negative ([`Error::InvalidPriority`]) or above
    /// [`MAX_PRIORITY`](crate::MAX_PRIORITY) ([`Error::ValueTooLarge`]).
    pub fn check_insert(&self, priority: Option<f64>) -> Result<()> {
        self.check_ready()?;
        crate::select::check_new_priority(priority)
    }

    /// Takes the ring's next slot with raw priority `priority` (like a `|TD
    /// error|`; `None`: the largest raw priority seen so far) and returns its
    /// key. Once the ring is full the oldest slot is taken, and its
    /// generation advances, so keys sampled before are stale. Errors, with
    /// nothing changed: those of [`check_insert`](Self::check_insert), then
    /// [`Error::AllocationFailed`] when the heap cannot grow.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedSelector};
    /// use adasample::storage::Heap;
    /// let mut s: PrioritizedSelector<Heap> = PrioritizedSelector::new(PerConfig::new(4))?;
    /// let k = s.insert(Some(2.5))?;
    /// assert_eq!((k.slot, s.raw_priorities()[0]), (0, 2.5));
    /// assert_eq!(s.insert(None)?.slot, 1); // with the largest seen, 2.5
    /// assert!(s.insert(Some(-1.0)).is_err());
    /// assert_eq!(s.len(), 2);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn insert(&mut self, priority: Option<f64>) -> Result<Key> {
        self.check_insert(priority)?;
        // `fabs`: -0.0 is stored as 0.0.
        let raw = priority.map_or(self.max_raw, libm::fabs);
        self.insert_raw(raw, || Ok(()))
    }

    /// [`insert`](Self::insert) of a checked raw priority; `reserve` runs
    /// while the ring fills, after the selector's own memory is secured,
    /// and secures the caller's (the item of a composition): its error is
    /// returned with nothing changed.
    pub(crate) fn insert_raw(&mut self, raw: f64, reserve: impl FnOnce() -> Result<()>) -> Result<Key> {
        self.check_ready()?;
        let filling = self.next == self.len();
        if filling {
            self.make_room()?;
            reserve()?;
        }
        let slot = self.place(raw, filling);
        if self.is_rank() {
            self.order.insert(slot as u32, &by_priority(self.raw.as_ref()));
        } else {
            let p = self.transform_memo(raw);
            self.tree.write(slot, p);
        }
        Ok(Key { slot: slot as u32, generation: self.generations.as_ref()[slot] })
    }

    fn check_ready(&self) -> Result<()> {
        if self.config.capacity == 0 {
            // `EMPTY`, or a failed `reset`.
            return Err(Error::NotConfigured);
        }
        Ok(())
    }

    /// Room for the next slot, `len()`, while the ring fills: the tree grows (heap
    /// storage, by doublings), the rank order gains its node, and the
    /// per-slot buffers reserve one more. Nothing changes that anything
    /// reads, so an error leaves the selector as it was; after `Ok`,
    /// [`place`](Self::place) cannot fail.
    fn make_room(&mut self) -> Result<()> {
        let len = self.len();
        if S::GROWS && len >= self.tree.capacity() {
            self.tree.grow(tree_size(len + 1).min(self.config.capacity))?;
        }
        if self.is_rank() && !self.order.grow_to(len + 1) {
            return Err(Error::AllocationFailed { bytes: 12 });
        }
        // Capacity was checked against fixed storage in `reset`, so only
        // the allocator can refuse.
        if !(self.raw.try_reserve(1) && self.generations.try_reserve(1)) {
            return Err(Error::AllocationFailed { bytes: 12 });
        }
        Ok(())
    }

    /// Gives the next slot of the ring raw priority `raw` (taking an
    /// overwritten slot out of the rank order), advances the ring and
    /// returns the slot; the caller sets its tree leaf. Needs
    /// [`make_room`](Self::make_room) first.
    fn place(&mut self, raw: f64, filling: bool) -> usize {
        let slot = self.next;
        if filling {
            // Reserved by `make_room`: the pushes cannot fail.
            let _ = self.raw.push(raw);
            let _ = self.generations.push(0);
            if self.is_rank() {
                // The new rank position's mass depends only on the position.
                self.tree.write(slot, self.rank_mass(slot + 1));
            }
        } else {
            if self.is_rank() {
                self.order.remove(slot as u32, &by_priority(self.raw.as_ref()));
            }
            self.raw.as_mut()[slot] = raw;
            let g = &mut self.generations.as_mut()[slot];
            *g = g.wrapping_add(1);
        }
        self.max_raw = self.max_raw.max(raw);
        // Not `%`: that links a division-by-zero panic path into firmware.
        self.next = if slot + 1 >= self.config.capacity { 0 } else { slot + 1 };
        slot
    }

    /// `transform(raw)`, remembering the last one: `add` transforms the same
    /// maximum again and again, and a `pow` costs more than the rest of an add.
    fn transform_memo(&mut self, raw: f64) -> f64 {
        if !raw.to_bits() != self.memo.0 {
            self.memo = (!raw.to_bits(), transform(&self.config, raw));
        }
        self.memo.1
    }

    /// Inserts slots, each with the largest raw priority seen so far, for as
    /// long as `fill(key)` (called with the key the slot is about to get,
    /// after its memory is secured) stores something there and returns
    /// `Ok(true)`; returns the number inserted. Exactly what `insert(None)`
    /// one after another does (same slots, generations and tree, bit for
    /// bit), but the tree is recomputed once per group of 64 slots. An error
    /// from `fill` ends the run; the slots before it stay.
    pub(crate) fn extend_with(&mut self, mut fill: impl FnMut(Key) -> Result<bool>) -> Result<usize> {
        self.check_ready()?;
        let mut added = 0;
        // Whether the ring is filling, once the next slot is secured and `fill` has stored there.
        let mut next_key = |s: &mut Self| -> Result<Option<bool>> {
            let slot = s.next;
            let filling = slot == s.len();
            let generation = if filling {
                s.make_room()?;
                0
            } else {
                s.generations.as_ref()[slot].wrapping_add(1)
            };
            let key = Key { slot: slot as u32, generation };
            Ok(if fill(key)? { Some(filling) } else { None })
        };
        if self.is_rank() {
            while let Some(filling) = next_key(self)? {
                let slot = self.place(self.max_raw, filling);
                self.order.insert(slot as u32, &by_priority(self.raw.as_ref()));
                added += 1;
            }
            return Ok(added);
        }
        let p = self.transform_memo(self.max_raw);
        let mut slots = [0usize; crate::tree::LANES];
        loop {
            let mut n = 0;
            let mut result = Ok(true);
            while n < slots.len() {
                match next_key(self) {
                    Ok(Some(filling)) => {
                        slots[n] = self.place(self.max_raw, filling);
                        n += 1;
                    }
                    Ok(None) => {
                        result = Ok(false);
                        break;
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            // Every placed slot gets its leaf, even when the run ends in an error.
            self.tree.write_many(slots[..n].iter().map(|&slot| (slot, p)));
            added += n;
            if !result? {
                return Ok(added);
            }
        }
    }

    /// Updates priorities from TD errors (their magnitudes are used; the sign is
    /// ignored). Keys whose slot was overwritten since sampling are skipped and
    /// counted. Errors, with nothing changed: [`Error::LengthMismatch`],
    /// [`Error::IndexOutOfRange`] for a slot never written,
    /// [`Error::InvalidPriority`] for a NaN or infinite TD error,
    /// [`Error::ValueTooLarge`] for a `|delta|` above [`MAX_PRIORITY`](crate::MAX_PRIORITY) (about
    /// 1.6e296: then, as alpha is at most 1, no stored priority exceeds it).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// for x in ["a", "b", "c"] { b.add(x)?; }
    /// let keys = b.sample(2)?.indices;
    /// b.add("d")?;
    /// b.add("e")?; // overwrites slot 0: a key sampled for "a" is now stale
    /// let report = b.update_priorities(&keys, &[-0.5, 2.0])?; // signs are ignored
    /// assert_eq!(report.applied + report.stale, 2);
    /// assert!(b.update_priorities(&keys, &[f64::NAN, 1.0]).is_err()); // nothing applied
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn update_priorities(&mut self, indices: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        crate::select::check_updates(indices, td_errors, self.len())?;
        let mut report = UpdateReport::default();
        let fresh = indices.iter().zip(td_errors).filter(|(key, _)| {
            let ok = self.generations.as_ref()[key.slot as usize] == key.generation;
            report.stale += usize::from(!ok);
            ok
        });
        if self.is_rank() {
            for (key, &td) in fresh {
                let raw = libm::fabs(td);
                self.order.remove(key.slot, &by_priority(self.raw.as_ref()));
                self.raw.as_mut()[key.slot as usize] = raw;
                self.order.insert(key.slot, &by_priority(self.raw.as_ref()));
                self.max_raw = self.max_raw.max(raw);
                report.applied += 1;
            }
        } else {
            let (raw_buf, config, max_raw) = (self.raw.as_mut(), &self.config, &mut self.max_raw);
            let applied = &mut report.applied;
            self.tree.write_many(fresh.map(|(key, &td)| {
                let (slot, raw) = (key.slot as usize, libm::fabs(td));
                raw_buf[slot] = raw;
                *max_raw = max_raw.max(raw);
                *applied += 1;
                (slot, transform(config, raw))
            }));
        }
        Ok(report)
    }

    /// Samples `out.len()` items with the buffer's own generator; see
    /// [`sample_with`](Self::sample_with).
    pub fn sample_into(&mut self, out: &mut [Draw]) -> Result<()> {
        commit_on_ok(self, |s| &mut s.rng, |s, rng| s.sample_with(rng, out))
    }

    /// Samples `out.len()` items using `rng`, writing keys, `P(i)` and weights,
    /// and advances the beta schedule by one step. Proportional batches are
    /// stratified over the total priority, rank batches over the rank mass.
    ///
    /// Errors, with nothing changed (the schedule does not advance):
    /// [`Error::NotConfigured`] on `EMPTY`; [`Error::Empty`] when there is nothing to draw; [`Error::BatchTooLarge`]
    /// without replacement when `out.len()` exceeds the items of non-zero priority.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// use adasample::per::Draw;
    /// use rand_core::SeedableRng;
    /// for x in ["a", "b", "c"] { b.add(x)?; }
    /// let mut rng = adasample::DefaultRng::seed_from_u64(9);
    /// let mut draws = [Draw::default(); 4];
    /// b.sample_with(&mut rng, &mut draws)?;
    /// assert!(draws.iter().all(|d| d.probability > 0.0 && d.weight <= 1.0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn sample_with<R: RngCore + ?Sized>(&mut self, rng: &mut R, out: &mut [Draw]) -> Result<()> {
        let total = self.batch_total(out.len())?;
        if self.config.without_replacement {
            // Successive draws, each removing its leaf; the leaves are put back
            // after, which restores every parent bit for bit.
            let mut drawn = 0;
            let mut result = Ok(());
            for d in out.iter_mut() {
                match self.tree.sample(rng) {
                    Ok(pos) => {
                        d.probability = self.tree.leaves()[pos];
                        d.key.slot = pos as u32;
                        self.tree.write(pos, 0.0);
                        drawn += 1;
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            for d in out[..drawn].iter() {
                self.tree.write(d.key.slot as usize, d.probability);
            }
            result?;
        } else {
            let leaves = self.tree.leaves();
            self.tree.draw_segments(rng, out.len(), total, |j, pos| {
                out[j].key.slot = pos as u32;
                out[j].probability = leaves[pos];
            });
        }
        // Positions -> slots, and weights.
        let beta = self.beta();
        let p_min = match self.config.normalization {
            Normalization::Global => self.tree.min().unwrap_or(1.0),
            Normalization::Batch => out.iter().map(|d| d.probability).fold(f64::INFINITY, f64::min),
        };
        let ln_p_min = libm::log(p_min);
        // Two passes: the generation lookups (cache misses at large capacities)
        // in a tight loop, where many are in flight at once; then the weights,
        // whose `exp` and `log` would otherwise stand between the misses.
        // The raw priorities are asked for too: an update of these keys
        // usually follows.
        let generations = self.generations.as_ref();
        for d in out.iter_mut() {
            let pos = d.key.slot as usize;
            let slot = if self.is_rank() { self.order.select(pos as u32).map_or(pos, |s| s as usize) } else { pos };
            crate::tree::prefetch(self.raw.as_ref(), slot);
            d.key = Key { slot: slot as u32, generation: generations[slot] };
        }
        for d in out.iter_mut() {
            let p = d.probability;
            d.probability = p / total;
            d.weight = is_weight(ln_p_min, p, beta);
        }
        // A restored step is below 2^63 (checked), so this cannot wrap in
        // any run: 2^63 more calls would take millennia.
        self.step = self.step.wrapping_add(1);
        Ok(())
    }

    /// What would make a batch of `batch_size` fail whatever the memory:
    /// [`Error::NotConfigured`], nothing to draw ([`Error::Empty`]), or more
    /// distinct items asked for than there are ([`Error::BatchTooLarge`]).
    /// For adapters that allocate the batch's buffers themselves: check, then
    /// allocate, then [`sample_into`](Self::sample_into).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::{storage::Heap, Error};
    /// let b: PrioritizedReplayBuffer<u8, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// assert_eq!(b.check_batch(1 << 40), Err(Error::Empty));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn check_batch(&self, batch_size: usize) -> Result<()> {
        self.batch_total(batch_size).map(|_| ())
    }

    /// [`check_batch`](Self::check_batch), returning the total priority.
    fn batch_total(&self, n: usize) -> Result<f64> {
        self.check_ready()?;
        let total = self.tree.total();
        if self.is_empty() || not_above(total, 0.0) {
            return Err(Error::Empty);
        }
        if self.config.without_replacement && n > self.tree.nonzero() {
            return Err(Error::BatchTooLarge { requested: n, available: self.tree.nonzero() });
        }
        Ok(total)
    }
    /// Recomputes the tree (and rank order) from the raw priorities, in slot
    /// order; used by restore, so the result does not depend on history.
    #[cfg(feature = "serde")]
    pub(crate) fn rebuild_priorities(&mut self) -> Result<()> {
        let len = self.len();
        if S::GROWS && len > self.tree.capacity() {
            self.tree.grow(tree_size(len).min(self.config.capacity))?;
        }
        if self.is_rank() && !self.order.grow_to(len) {
            return Err(Error::AllocationFailed { bytes: len.saturating_mul(12) });
        }
        if self.is_rank() {
            for slot in 0..len {
                self.order.insert(slot as u32, &by_priority(self.raw.as_ref()));
            }
            for pos in 0..len {
                let mass = self.rank_mass(pos + 1);
                self.tree.leaves_mut()[pos] = mass;
            }
        } else {
            for slot in 0..len {
                let p = transform(&self.config, self.raw.as_ref()[slot]);
                self.tree.leaves_mut()[slot] = p;
            }
        }
        self.tree.rebuild();
        Ok(())
    }

    /// Mass of 1-based rank `r`: `r^-alpha`.
    fn rank_mass(&self, r: usize) -> f64 {
        crate::math::pow(r as f64, -self.config.alpha)
    }

    /// Constant `false` without the `rank` feature (see `order`).
    fn is_rank(&self) -> bool {
        cfg!(feature = "rank") && self.config.kind == PerKind::Rank
    }

    /// The tree leaf holding `slot`'s mass.
    fn position_of(&self, slot: usize) -> usize {
        if self.is_rank() {
            self.order.rank_of(slot as u32, &by_priority(self.raw.as_ref())) as usize
        } else {
            slot
        }
    }
}

impl<S: Storage> Selector for PrioritizedSelector<S> {
    fn capacity(&self) -> usize {
        self.config.capacity
    }
    fn len(&self) -> usize {
        PrioritizedSelector::len(self)
    }
    fn next_slot(&self) -> usize {
        self.next
    }
    fn key(&self, slot: usize) -> Option<Key> {
        PrioritizedSelector::key(self, slot)
    }
    fn check_insert(&self, priority: Option<f64>) -> Result<()> {
        PrioritizedSelector::check_insert(self, priority)
    }
    fn insert(&mut self, priority: Option<f64>) -> Result<Key> {
        PrioritizedSelector::insert(self, priority)
    }
    fn check_batch(&self, batch_size: usize) -> Result<()> {
        PrioritizedSelector::check_batch(self, batch_size)
    }
    fn sample_into(&mut self, out: &mut [Draw]) -> Result<()> {
        PrioritizedSelector::sample_into(self, out)
    }
    fn update_priorities(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        PrioritizedSelector::update_priorities(self, keys, td_errors)
    }
    fn beta(&self) -> f64 {
        PrioritizedSelector::beta(self)
    }
}

/// A sampled batch (feature `alloc`): the seed's `(batch, weights, indices)`.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<'a, T> {
    /// The items, borrowed from the buffer.
    pub items: alloc::vec::Vec<&'a T>,
    /// Importance weights in `(0, 1]`.
    pub weights: alloc::vec::Vec<f64>,
    /// Keys to pass back to `update_priorities`.
    pub indices: alloc::vec::Vec<Key>,
    /// `P(i)` of each item.
    pub probabilities: alloc::vec::Vec<f64>,
}

/// Prioritized replay over a ring buffer of `capacity` items of type `T`.
///
/// The seed's Python interface maps one to one:
/// `PrioritizedReplayBuffer(capacity=10000, alpha=0.6, beta=0.4)`,
/// `add(transition)`, `batch, weights, indices = sample(32)`,
/// `update_priorities(indices, td_errors)`:
///
/// ```
/// use adasample::per::{Batch, PerConfig, PrioritizedReplayBuffer};
/// use adasample::storage::Heap;
///
/// #[derive(Clone)]
/// struct Transition { state: [f32; 4], action: u8, reward: f32, next_state: [f32; 4], done: bool }
///
/// let mut replay: PrioritizedReplayBuffer<Transition, Heap> =
///     PrioritizedReplayBuffer::new(PerConfig { alpha: 0.6, beta: 0.4, ..PerConfig::new(10_000) })?;
/// for t in 0..100 {
///     let s = [t as f32; 4];
///     replay.add(Transition { state: s, action: 0, reward: 1.0, next_state: s, done: false })?;
/// }
///
/// let Batch { items: batch, weights, indices, .. } = replay.sample(32)?;
/// let td_errors: Vec<f64> = batch.iter().map(|t| t.reward as f64 - 0.5).collect();
/// assert!(weights.iter().all(|&w| w > 0.0 && w <= 1.0));
/// let report = replay.update_priorities(&indices, &td_errors)?;
/// assert_eq!(report.applied, 32);
/// # Ok::<(), adasample::Error>(())
/// ```
///
/// Without an allocator: fixed storage and a caller-provided output slice.
/// ```
/// use adasample::per::{Draw, PerConfig, PrioritizedReplayBuffer};
/// use adasample::storage::Fixed;
///
/// let mut replay: PrioritizedReplayBuffer<u16, Fixed<256>> =
///     PrioritizedReplayBuffer::new(PerConfig::rank(256))?;
/// for x in 0..300u16 {
///     replay.add(x)?; // the ring overwrites the oldest slots
/// }
/// let mut draws = [Draw::default(); 8];
/// replay.sample_into(&mut draws)?;
/// let first = replay.get(draws[0].key).copied();
/// assert!(first.is_some());
/// # Ok::<(), adasample::Error>(())
/// ```
pub struct PrioritizedReplayBuffer<T, S: Storage> {
    pub(crate) selector: PrioritizedSelector<S>,
    pub(crate) items: S::Items<T>,
}

// By hand: a derive would ask `T: Clone` of `S::Items<T>` only through `T`.
impl<T: Clone, S: Storage> Clone for PrioritizedReplayBuffer<T, S>
where
    S::Items<T>: Clone,
{
    fn clone(&self) -> Self {
        PrioritizedReplayBuffer { selector: self.selector.clone(), items: self.items.clone() }
    }
}

impl<T, S: Storage> core::fmt::Debug for PrioritizedReplayBuffer<T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrioritizedReplayBuffer").field("selector", &self.selector).finish_non_exhaustive()
    }
}

/// Stores `item` at `slot` of a ring of items: appended while the ring
/// fills (`slot == len`), else overwriting. [`Error::AllocationFailed`]
/// (nothing stored) when the heap cannot grow.
fn put<T, B: Buffer<T>>(items: &mut B, slot: usize, item: T) -> Result<()> {
    match items.as_mut().get_mut(slot) {
        Some(old) => *old = item,
        None => items.push(item).map_err(|_| Error::AllocationFailed { bytes: core::mem::size_of::<T>() })?,
    }
    Ok(())
}

impl<T, S: Storage> PrioritizedReplayBuffer<T, S> {
    /// A buffer of capacity 0, for `static` initialisers (fixed storage without
    /// a stack copy); [`reset`](Self::reset) configures it in place.
    ///
    /// Every field of `EMPTY` is zero bits, so a `static` of it costs no flash.
    pub const EMPTY: Self =
        PrioritizedReplayBuffer { selector: PrioritizedSelector::EMPTY, items: <S::Items<T> as Buffer<T>>::EMPTY };

    /// An empty buffer. Errors: [`Error::InvalidConfig`] naming the bad field,
    /// [`Error::StorageTooSmall`] when `Fixed` storage cannot hold `capacity`.
    ///
    /// On the heap nothing of the capacity is allocated up front: every
    /// buffer (the tree by doublings) grows as the ring fills, so memory
    /// follows the items stored, and a restored snapshot allocates in
    /// proportion to its own length.
    pub fn new(config: PerConfig) -> Result<Self> {
        let mut buf = Self::EMPTY;
        buf.reset(config)?;
        Ok(buf)
    }

    /// Empties the buffer and re-configures it in place, as if new (items are
    /// dropped, generations restart at 0, the generator is re-seeded). Errors
    /// as [`new`](Self::new), checked before anything changes; only a heap
    /// allocation failure can leave the buffer emptied (capacity 0).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// b.add("a")?;
    /// b.reset(PerConfig::rank(8))?;
    /// assert_eq!((b.len(), b.capacity()), (0, 8));
    /// assert!(b.reset(PerConfig { alpha: 2.0, ..PerConfig::new(8) }).is_err()); // nothing changed
    /// assert_eq!(b.capacity(), 8);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn reset(&mut self, config: PerConfig) -> Result<()> {
        let result = self.selector.reset(config);
        // Emptied (a reset, or one whose allocation failed) or unchanged
        // (a refused config; then this is a no-op only if it was empty).
        if self.selector.is_empty() {
            self.items.clear();
        }
        result
    }

    /// The selector that picks the slots (priorities, generations, schedule).
    pub fn selector(&self) -> &PrioritizedSelector<S> {
        &self.selector
    }

    /// The configuration.
    pub fn config(&self) -> &PerConfig {
        self.selector.config()
    }

    /// Number of items stored (N in the formulas).
    pub fn len(&self) -> usize {
        self.items.as_ref().len()
    }

    /// True before the first `add`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.selector.capacity()
    }

    /// The beta the next `sample` will use; see [`PrioritizedSelector::beta`].
    pub fn beta(&self) -> f64 {
        self.selector.beta()
    }

    /// Number of `sample` calls so far (the schedule's step).
    pub fn step(&self) -> u64 {
        self.selector.step()
    }

    /// Sum of the stored priorities `p_i`; see [`PrioritizedSelector::total_priority`].
    pub fn total_priority(&self) -> f64 {
        self.selector.total_priority()
    }

    /// The smallest stored priority `p_i`; `None` when empty.
    pub fn min_priority(&self) -> Option<f64> {
        self.selector.min_priority()
    }

    /// The largest raw priority `|delta|` seen so far: what a new item gets.
    pub fn max_raw_priority(&self) -> f64 {
        self.selector.max_raw_priority()
    }

    /// The item under `key`, if the slot still holds that generation.
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// let k = b.add("a")?;
    /// assert_eq!(b.get(k), Some(&"a"));
    /// for x in ["b", "c", "d", "e"] { b.add(x)?; } // slot 0 is overwritten by "e"
    /// assert_eq!(b.get(k), None);
    /// assert_eq!(b.get(b.key(0).unwrap()), Some(&"e"));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn get(&self, key: Key) -> Option<&T> {
        if self.selector.key(key.slot as usize) == Some(key) {
            self.items.as_ref().get(key.slot as usize)
        } else {
            None
        }
    }

    /// The current key of `slot`; `None` for a slot never written.
    pub fn key(&self, slot: usize) -> Option<Key> {
        self.selector.key(slot)
    }

    /// `P(i)` of the item under `key` now; `None` if the key is stale or empty.
    pub fn probability(&self, key: Key) -> Option<f64> {
        self.selector.probability(key)
    }

    /// The raw priorities `|delta|` of all slots, in slot order.
    pub fn raw_priorities(&self) -> &[f64] {
        self.selector.raw_priorities()
    }

    /// Adds an item with the largest raw priority seen so far. Returns its key.
    pub fn add(&mut self, item: T) -> Result<Key> {
        self.store(item, self.selector.max_raw)
    }

    /// Adds an item with raw priority `priority` (like a `|TD error|`), transformed
    /// as in [`update_priorities`](Self::update_priorities). Errors:
    /// [`Error::InvalidPriority`] for NaN, infinite or negative (nothing added).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// let k = b.add_with_priority("a", 2.5)?;
    /// assert_eq!(b.raw_priorities()[k.slot as usize], 2.5);
    /// assert!(b.add_with_priority("b", -1.0).is_err());
    /// assert_eq!(b.len(), 1);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn add_with_priority(&mut self, item: T, priority: f64) -> Result<Key> {
        check_bounded("priority", 0, priority)?;
        // `fabs`: -0.0 is stored as 0.0.
        self.store(item, libm::fabs(priority))
    }

    fn store(&mut self, item: T, raw: f64) -> Result<Key> {
        let items = &mut self.items;
        // The item's memory is secured with the selector's: after its insert nothing may fail.
        let key = self.selector.insert_raw(raw, || {
            if items.try_reserve(1) {
                Ok(())
            } else {
                Err(Error::AllocationFailed { bytes: core::mem::size_of::<T>() })
            }
        })?;
        let slot = key.slot as usize;
        if slot == items.as_ref().len() {
            // Reserved: cannot fail.
            let _ = items.push(item);
        } else {
            items.as_mut()[slot] = item;
        }
        Ok(key)
    }

    /// Adds every item, each with the largest raw priority seen so far, exactly
    /// as [`add`](Self::add) one after another would (same slots, generations
    /// and tree, bit for bit), but recomputes the tree once per group of 64
    /// items instead of once per item. Returns the number added.
    /// Errors: [`Error::NotConfigured`] on an `EMPTY` buffer (nothing added);
    /// [`Error::AllocationFailed`] when the heap cannot grow (the items added
    /// before it stay).
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(100))?;
    /// assert_eq!(b.extend(0..250)?, 250); // a full ring, overwritten one and a half times
    /// assert_eq!(b.len(), 100);
    /// assert_eq!(b.sample(1)?.indices[0].generation, 2);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) -> Result<usize> {
        let mut items = items.into_iter();
        let buf = &mut self.items;
        self.selector.extend_with(|key| match items.next() {
            Some(item) => put(buf, key.slot as usize, item).map(|()| true),
            None => Ok(false),
        })
    }

    /// Updates priorities from TD errors; see [`PrioritizedSelector::update_priorities`].
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::storage::Heap;
    /// let mut b: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// for x in ["a", "b", "c"] { b.add(x)?; }
    /// let keys = b.sample(2)?.indices;
    /// b.add("d")?;
    /// b.add("e")?; // overwrites slot 0: a key sampled for "a" is now stale
    /// let report = b.update_priorities(&keys, &[-0.5, 2.0])?; // signs are ignored
    /// assert_eq!(report.applied + report.stale, 2);
    /// assert!(b.update_priorities(&keys, &[f64::NAN, 1.0]).is_err()); // nothing applied
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn update_priorities(&mut self, indices: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        self.selector.update_priorities(indices, td_errors)
    }

    /// Samples `out.len()` items with the buffer's own generator; see
    /// [`PrioritizedSelector::sample_with`].
    pub fn sample_into(&mut self, out: &mut [Draw]) -> Result<()> {
        self.selector.sample_into(out)
    }

    /// Samples `out.len()` items using `rng`; see [`PrioritizedSelector::sample_with`].
    pub fn sample_with<R: RngCore + ?Sized>(&mut self, rng: &mut R, out: &mut [Draw]) -> Result<()> {
        self.selector.sample_with(rng, out)
    }

    /// What would make a batch of `batch_size` fail whatever the memory; see
    /// [`PrioritizedSelector::check_batch`].
    pub fn check_batch(&self, batch_size: usize) -> Result<()> {
        self.selector.check_batch(batch_size)
    }

    /// The seed's `sample(batch_size) -> (batch, weights, indices)` (feature `alloc`).
    ///
    /// Errors as [`sample_with`](Self::sample_with), checked before anything
    /// is allocated; then [`Error::AllocationFailed`] when the batch's
    /// memory (56 bytes a draw) cannot be had, never an abort:
    ///
    /// ```
    /// use adasample::per::{PerConfig, PrioritizedReplayBuffer};
    /// use adasample::{storage::Heap, Error};
    /// let mut b: PrioritizedReplayBuffer<u8, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
    /// assert_eq!(b.sample(usize::MAX).unwrap_err(), Error::Empty);
    /// b.add(7)?;
    /// assert!(matches!(b.sample(usize::MAX), Err(Error::AllocationFailed { .. })));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn sample(&mut self, batch_size: usize) -> Result<Batch<'_, T>> {
        self.check_batch(batch_size)?;
        let mut draws = try_vec(batch_size, Draw::default())?;
        let mut batch = Batch {
            items: alloc::vec::Vec::new(),
            weights: try_vec(batch_size, 0.0)?,
            indices: try_vec(batch_size, Key::default())?,
            probabilities: try_vec(batch_size, 0.0)?,
        };
        batch
            .items
            .try_reserve_exact(batch_size)
            .map_err(|_| Error::AllocationFailed { bytes: batch_size.saturating_mul(core::mem::size_of::<&T>()) })?;
        self.selector.sample_into(&mut draws)?;
        let items = self.items.as_ref();
        for (k, d) in draws.iter().enumerate() {
            batch.items.push(&items[d.key.slot as usize]);
            batch.weights[k] = d.weight;
            batch.indices[k] = d.key;
            batch.probabilities[k] = d.probability;
        }
        Ok(batch)
    }
}
