//! `SumTree`: a binary sum tree with a min tree beside it, for sampling an index
//! with probability proportional to its priority.
//!
//! # Cost
//! - `set`: O(log n); `get`, `total`, `min`: O(1); `find` and one draw: O(log n);
//!   a stratified batch of B: O(B log n).
//! - Memory: about `next_power_of_two(n) / 2 + n` `f64`s: the stored sum
//!   nodes, a min tree over blocks of 8 leaves, the leaves. The sums of the
//!   two lowest internal levels are not stored but computed from their group
//!   of 8 leaves when needed (7 adds, on the leaves' cache line, which a draw
//!   and a write load anyway): the stored tree is a quarter of the leaves'
//!   size, so it stays in cache far longer. Without the `group-sums` feature
//!   (the embedded build, for its flash) every level is stored: about
//!   `next_power_of_two(n) * 5 / 4 + n`, the same sums bit for bit.
//! - Past the caches (from about 2^18 slots) a descent is a chain of dependent
//!   memory loads. A batch therefore descends level by level, many draws at
//!   once, each step without a data-dependent branch and with the next level
//!   prefetched (x86_64), so the loads of different draws overlap. A write
//!   walks its leaf's path up, each sibling's load independent of the others;
//!   a batch of writes stops each walk below where the next slot's path joins,
//!   so sorted slots recompute each shared ancestor once. The min tree is small
//!   enough to stay in cache, and a write touches its leaves only when it
//!   removes a block's minimum. None of this changes a result: each draw takes
//!   the decisions of a one-at-a-time descent, and each parent is recomputed
//!   from its children in the same order.
//!
//! # Numerics
//! - Priorities are `f64`, finite and `>= 0`; NaN, infinities and negatives are
//!   rejected with [`Error::InvalidPriority`] before anything changes. They are
//!   also at most [`MAX_PRIORITY`] (`f64::MAX / 2^40`, about 1.6e296), or
//!   [`Error::ValueTooLarge`]: a sum of at most 2^32 such values (every partial
//!   sum of the tree) stays below `f64::MAX / 2^8`, so no total is ever
//!   infinite and every `P(i)` is a true probability. `-0.0` is stored as `0.0`.
//! - No drift: every parent is recomputed as `left + right` from its children
//!   on each update (never by adding a delta), so after any sequence of updates
//!   `total()` is bit-for-bit the sum of the leaves added pairwise in tree order
//!   (the order [`SumTree::recomputed_total`] uses).
//! - `find(u)` never returns a zero-priority leaf, nor a leaf past the capacity,
//!   for any `u` in `[0, total)`: where rounding would step past the right
//!   child's mass, `u` is clamped to the largest float below that mass, and a
//!   child of zero mass can never be entered (see the proof in `descend`).
//! - `min()` is the smallest *non-zero* priority; zero leaves are "absent".
//! - Relative precision of probabilities is that of `f64` sums: a leaf smaller
//!   than `total * 2^-53` still has non-zero mass in its own subtree but may be
//!   rounded away at the root; it is then never drawn.

use crate::error::{check_bounded, check_len, Error, Result};
use crate::math::not_above;
use crate::rng::unit_f64;
use crate::storage::{check_fits, refill, tree_size, Buffer, Storage};
use rand_core::RngCore;

/// The largest priority a tree accepts: `f64::MAX / 2^40`, about 1.6e296.
/// With at most 2^32 slots, no sum of priorities can overflow.
pub const MAX_PRIORITY: f64 = f64::MAX / 1_099_511_627_776.0;

/// A sum tree (with a min tree) over `capacity` non-negative priorities.
///
/// ```
/// use adasample::{tree::SumTree, storage::Heap, DefaultRng};
/// use rand_core::SeedableRng;
///
/// let mut tree: SumTree<Heap> = SumTree::new(4)?;
/// tree.set(0, 1.0)?;
/// tree.set(2, 3.0)?;
/// assert_eq!(tree.total(), 4.0);
/// assert_eq!(tree.min(), Some(1.0));
/// assert_eq!(tree.find(0.5)?, 0); // [0, 1) belongs to slot 0
/// assert_eq!(tree.find(1.0)?, 2); // [1, 4) belongs to slot 2
///
/// let mut rng = DefaultRng::seed_from_u64(1);
/// let mut batch = [0usize; 8];
/// tree.sample_stratified(&mut rng, &mut batch)?;
/// assert!(batch.iter().all(|&i| i == 0 || i == 2));
/// # Ok::<(), adasample::Error>(())
/// ```
///
/// Without an allocator, use fixed storage (here up to 1024 slots):
/// ```
/// use adasample::{tree::SumTree, storage::Fixed};
/// let mut tree: SumTree<Fixed<1024>> = SumTree::new(1000)?;
/// tree.set(999, 2.5)?;
/// assert_eq!(tree.total(), 2.5);
/// # Ok::<(), adasample::Error>(())
/// ```
// `repr(C)`, counts first: see `PrioritizedSelector`.
#[repr(C)]
#[derive(Clone)]
pub struct SumTree<S: Storage> {
    pub(crate) capacity: usize,
    /// Leaves are nodes `size..2*size`; `size` is a power of two.
    pub(crate) size: usize,
    pub(crate) msize: usize,
    pub(crate) nonzero: usize,
    pub(crate) leaf: S::F64,
    /// The stored internal nodes: heights [`LOW`] and up, heap indices
    /// `1..sum_len(size)` (index 0 unused); the ones below are computed from
    /// their group of leaves when needed (see [`GROUP`]).
    pub(crate) sum: S::F64,
    /// The min tree, over blocks of [`BLOCK`] leaves: a 0-based heap of
    /// `2 * msize - 1` nodes whose last `msize` are the blocks' minima.
    pub(crate) min: S::F64,
}

/// Leaves per block of the min tree: one cache line of `f64`. A block's
/// minimum is recomputed from its leaves (the written one is in cache
/// already), so the min tree is 8 times smaller than the sum tree and mostly
/// stays in cache.
const BLOCK: usize = 8;

/// Heights `1..LOW` of the sum tree are not stored: a node there is the
/// pairwise sum of a few leaves, computed (bit for bit the stored value)
/// from its group of [`GROUP`] leaves, which a descent and a write load
/// anyway. Above a group the nodes are stored: `size / 4` of them instead of
/// `size`, so the stored tree is 4 times smaller and stays in cache far
/// longer, and a descent or a write touches 2 fewer cache lines past the
/// caches. The cost: 7 adds per descent and per write, on one cache line of
/// leaves (8 `f64`, two lines where the buffer is not line-aligned).
#[cfg(feature = "group-sums")]
pub(crate) const LOW: u32 = 3;
/// Without the `group-sums` feature every internal level is stored (a
/// group is a pair of leaves): the same sums bit for bit, about 600 B less
/// code on a Cortex-M4F, 4 times the stored tree.
#[cfg(not(feature = "group-sums"))]
pub(crate) const LOW: u32 = 1;

/// Leaves per group: the leaves under one stored node of height [`LOW`].
const GROUP: usize = 1 << LOW;

/// The stored sum nodes' buffer length for a tree of `size` leaves (a power
/// of two): heap indices below `size >> (LOW - 1)`. Below 2 nothing is
/// stored (index 0 is unused): a tree of fewer than [`GROUP`] leaves, whose
/// root is computed.
fn sum_len(size: usize) -> usize {
    size >> (LOW - 1)
}

impl<S: Storage> PartialEq for SumTree<S> {
    fn eq(&self, other: &Self) -> bool {
        // Internal nodes are a function of the leaves.
        self.capacity == other.capacity && self.leaf == other.leaf
    }
}

impl<S: Storage> core::fmt::Debug for SumTree<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SumTree")
            .field("capacity", &self.capacity)
            .field("total", &self.total())
            .field("min", &self.min())
            .field("nonzero", &self.nonzero)
            .finish()
    }
}

/// The largest float below `x`, for `x > 0` finite (0 for the smallest subnormal).
fn below_float(x: f64) -> f64 {
    f64::from_bits(x.to_bits() - 1)
}

impl<S: Storage> SumTree<S> {
    /// A tree of capacity 0, for `static` initialisers; [`reset`](Self::reset)
    /// gives it its capacity in place.
    pub const EMPTY: Self = SumTree {
        capacity: 0,
        size: 0,
        sum: <S::F64 as Buffer<f64>>::EMPTY,
        min: <S::F64 as Buffer<f64>>::EMPTY,
        msize: 0,
        leaf: <S::F64 as Buffer<f64>>::EMPTY,
        nonzero: 0,
    };

    /// A tree of `capacity` slots, all with priority 0.
    ///
    /// Errors: [`Error::InvalidConfig`] for capacity 0 or above `u32::MAX`;
    /// [`Error::StorageTooSmall`] when fixed storage cannot hold it.
    pub fn new(capacity: usize) -> Result<Self> {
        let mut tree = Self::EMPTY;
        tree.reset(capacity)?;
        Ok(tree)
    }

    /// Re-initialises the tree in place to `capacity` slots, all 0 (for fixed
    /// storage in a `static`, this avoids a stack copy of the whole tree).
    /// Errors as [`new`](Self::new), checked before anything changes; only an
    /// allocation failure on the heap can leave the tree emptied (capacity 0).
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// t.set(0, 1.0)?;
    /// t.reset(8)?;
    /// assert_eq!((t.capacity(), t.total()), (8, 0.0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn reset(&mut self, capacity: usize) -> Result<()> {
        Self::check_capacity(capacity)?;
        let (size, msize) = (tree_size(capacity), min_size(capacity));
        let filled = refill(&mut self.sum, sum_len(size), 0.0)
            .and_then(|()| refill(&mut self.min, 2 * msize - 1, f64::INFINITY))
            .and_then(|()| refill(&mut self.leaf, capacity, 0.0));
        if let Err(e) = filled {
            self.make_empty();
            return Err(e);
        }
        self.capacity = capacity;
        self.size = size;
        self.msize = msize;
        self.nonzero = 0;
        Ok(())
    }

    /// Grows the tree to `capacity` slots (at least the current number),
    /// keeping every priority; the new slots are 0. O(new size). Nothing a
    /// tree answers depends on its size: padding leaves are 0, `x + 0 == x`,
    /// and a descent never enters a subtree of zero mass, so a grown tree
    /// draws exactly as one built at that size. On an allocation failure
    /// nothing changes ([`Error::AllocationFailed`]).
    pub(crate) fn grow(&mut self, capacity: usize) -> Result<()> {
        Self::check_capacity(capacity)?;
        let (size, msize) = (tree_size(capacity), min_size(capacity));
        let nodes = sum_len(size);
        let (have_sum, have_min, have_leaf) =
            (self.sum.as_ref().len(), self.min.as_ref().len(), self.leaf.as_ref().len());
        let more = |need: usize, have: usize| need.saturating_sub(have);
        // Everything is reserved before anything is written, so a failure
        // leaves the tree as it was.
        if !(self.sum.try_reserve(more(nodes, have_sum))
            && self.min.try_reserve(more(2 * msize - 1, have_min))
            && self.leaf.try_reserve(more(capacity, have_leaf)))
        {
            let all = nodes.saturating_add(2 * msize).saturating_add(capacity);
            return Err(Error::AllocationFailed { bytes: all.saturating_mul(8) });
        }
        // Reserved: these pushes cannot fail.
        for _ in have_sum..nodes {
            let _ = self.sum.push(0.0);
        }
        for _ in have_min..2 * msize - 1 {
            let _ = self.min.push(f64::INFINITY);
        }
        for _ in have_leaf..capacity {
            let _ = self.leaf.push(0.0);
        }
        self.capacity = capacity;
        self.size = size;
        self.msize = msize;
        self.rebuild();
        Ok(())
    }

    /// Capacity 0, in place (assigning `EMPTY` would put a whole fixed-storage
    /// tree on the stack).
    pub(crate) fn make_empty(&mut self) {
        self.sum.clear();
        self.min.clear();
        self.leaf.clear();
        self.capacity = 0;
        self.size = 0;
        self.msize = 0;
        self.nonzero = 0;
    }

    /// Checks that a tree of `capacity` slots is allowed and fits `S`.
    pub(crate) fn check_capacity(capacity: usize) -> Result<()> {
        crate::error::ensure(capacity >= 1, "capacity", "at least 1")?;
        crate::error::ensure(capacity <= u32::MAX as usize, "capacity", "at most 2^32 - 1")?;
        // The node count is the next power of two: on a 32-bit target that
        // exists only up to 2^31 slots. (Fixed storage is refused below
        // anyway, as too small for it.)
        crate::error::ensure(
            !S::GROWS || capacity.checked_next_power_of_two().is_some(),
            "capacity",
            "at most 2^31 on a 32-bit target",
        )?;
        check_fits::<S>(tree_size(capacity))?;
        check_fits::<S>(2 * min_size(capacity) - 1)
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of slots with a non-zero priority.
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// t.set(0, 1.0)?;
    /// t.set(1, 0.0)?;
    /// assert_eq!(t.nonzero(), 1);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn nonzero(&self) -> usize {
        self.nonzero
    }

    /// The priorities of all slots, in slot order.
    pub fn leaves(&self) -> &[f64] {
        self.leaf.as_ref()
    }

    /// Sum of all priorities, O(1).
    pub fn total(&self) -> f64 {
        match self.sum.as_ref().get(1) {
            Some(&root) => root,
            // Fewer than `GROUP` leaves: the root is group 0's (its padding
            // leaves are 0, and `x + 0 == x` for `x >= 0`).
            None => self.group_sum(0),
        }
    }

    /// Smallest non-zero priority, O(1); `None` when every priority is 0.
    pub fn min(&self) -> Option<f64> {
        let m = self.min.as_ref().first().copied().unwrap_or(f64::INFINITY);
        if m.is_finite() {
            Some(m)
        } else {
            None
        }
    }

    /// The priority of slot `i`.
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// t.set(2, 0.5)?;
    /// assert_eq!(t.get(2)?, 0.5);
    /// assert!(t.get(4).is_err());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn get(&self, i: usize) -> Result<f64> {
        self.leaf.as_ref().get(i).copied().ok_or(Error::IndexOutOfRange { index: i, len: self.capacity })
    }

    /// Sets slot `i` to `priority`. O(log n). Errors, with nothing changed:
    /// [`Error::IndexOutOfRange`], [`Error::InvalidPriority`] (NaN, infinite,
    /// negative), [`Error::ValueTooLarge`] (above [`MAX_PRIORITY`]).
    ///
    /// ```
    /// use adasample::{tree::{SumTree, MAX_PRIORITY}, storage::Heap, Error};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// for i in 0..4 { t.set(i, MAX_PRIORITY)?; }
    /// assert!(t.total().is_finite());
    /// assert!(matches!(t.set(0, 1e300), Err(Error::ValueTooLarge { .. })));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn set(&mut self, i: usize, priority: f64) -> Result<()> {
        self.check_index(i)?;
        check_bounded("priority", 0, priority)?;
        self.write(i, priority + 0.0);
        Ok(())
    }

    /// Sets many slots at once. Every index and priority is checked first; on an
    /// error nothing is changed. Later entries win over earlier ones for the same slot.
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// t.set_many(&[0, 3], &[1.0, 2.0])?;
    /// assert_eq!(t.total(), 3.0);
    /// // One bad value: nothing changes.
    /// assert!(t.set_many(&[1, 2], &[1.0, f64::NAN]).is_err());
    /// assert_eq!(t.leaves(), &[1.0, 0.0, 0.0, 2.0]);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn set_many(&mut self, indices: &[usize], priorities: &[f64]) -> Result<()> {
        check_len(indices.len(), priorities.len())?;
        for (k, (&i, &p)) in indices.iter().zip(priorities).enumerate() {
            self.check_index(i)?;
            check_bounded("priority", k, p)?;
        }
        for (&i, &p) in indices.iter().zip(priorities) {
            self.write(i, p + 0.0);
        }
        Ok(())
    }

    /// Sets every slot to 0.
    pub fn clear(&mut self) {
        for x in self.leaf.as_mut() {
            *x = 0.0;
        }
        self.nonzero = 0;
        self.rebuild();
    }

    /// The slot whose cumulative range (in slot order) holds `u`, for
    /// `0 <= u < total()`. Never a zero-priority slot.
    ///
    /// Errors: [`Error::Empty`] when the total is 0; [`Error::InvalidArgument`]
    /// when `u` is NaN or outside `[0, total)`.
    pub fn find(&self, u: f64) -> Result<usize> {
        let total = self.total();
        if not_above(total, 0.0) {
            return Err(Error::Empty);
        }
        if !(u >= 0.0 && u < total) {
            return Err(Error::InvalidArgument { name: "u", position: 0, value: u });
        }
        Ok(self.descend(u))
    }

    /// One draw with probability `p_i / total`. Errors: [`Error::Empty`].
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// use rand_core::SeedableRng;
    /// let mut rng = adasample::DefaultRng::seed_from_u64(3);
    /// assert!(t.sample(&mut rng).is_err()); // all zero: Empty
    /// t.set(1, 2.0)?;
    /// assert_eq!(t.sample(&mut rng)?, 1);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> Result<usize> {
        let total = self.total();
        if not_above(total, 0.0) {
            return Err(Error::Empty);
        }
        Ok(self.descend(clamp_below(unit_f64(rng) * total, total)))
    }

    /// Stratified batch: the total is cut into `out.len()` equal segments and one
    /// uniform draw is made in each, in order (Schaul et al. 2016, appendix B.2.1).
    /// Each slot is still drawn with marginal probability `p_i / total`, with
    /// lower variance than independent draws. Errors: [`Error::Empty`]
    /// (nothing is written).
    pub fn sample_stratified<R: RngCore + ?Sized>(&self, rng: &mut R, out: &mut [usize]) -> Result<()> {
        let total = self.total();
        if not_above(total, 0.0) {
            return Err(Error::Empty);
        }
        self.draw_segments(rng, out.len(), total, |j, pos| out[j] = pos);
        Ok(())
    }

    /// Stratified draws: for `j` in `0..segments`, in order, one uniform point
    /// `(j + U) * total / segments` (clamped below `total == self.total() > 0`),
    /// and `emit(j, slot)` for the slot holding it.
    ///
    /// The draws descend together, level by level, in groups of [`LANES`]: the
    /// loads of different draws are independent, so the memory system serves
    /// many at once instead of one dependent miss after another (the tree is
    /// past the cache from about 2^18 slots). Each draw still takes exactly
    /// the decisions of [`descend`](Self::descend), so the result is the same,
    /// bit for bit, as one draw at a time.
    pub(crate) fn draw_segments<R: RngCore + ?Sized>(
        &self,
        rng: &mut R,
        segments: usize,
        total: f64,
        mut emit: impl FnMut(usize, usize),
    ) {
        let width = total / segments as f64;
        let mut u = [0.0f64; LANES];
        let mut k = [1usize; LANES];
        let mut start = 0;
        while start < segments {
            let n = LANES.min(segments - start);
            for (l, (ul, kl)) in u[..n].iter_mut().zip(k[..n].iter_mut()).enumerate() {
                *ul = stratum_point(rng, start + l, width, total);
                *kl = 1;
            }
            self.descend_lanes(&mut u[..n], &mut k[..n]);
            for (l, &kl) in k[..n].iter().enumerate() {
                emit(start + l, kl - self.size);
            }
            start += n;
        }
    }

    /// The total recomputed from the leaves, bottom-up in the tree's own
    /// pairwise order: equal to [`total`](Self::total) bit for bit (the drift check).
    /// O(n), no storage needed.
    ///
    /// ```
    /// use adasample::{tree::SumTree, storage::Heap};
    /// let mut t: SumTree<Heap> = SumTree::new(4)?;
    /// for i in 0..4 { t.set(i, 0.1 * (i + 1) as f64)?; }
    /// assert_eq!(t.total().to_bits(), t.recomputed_total().to_bits());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn recomputed_total(&self) -> f64 {
        self.subtree_sum(1)
    }

    fn subtree_sum(&self, k: usize) -> f64 {
        if k >= self.size {
            self.leaf_value(k - self.size)
        } else {
            self.subtree_sum(2 * k) + self.subtree_sum(2 * k + 1)
        }
    }

    /// The leaves, for a bulk rewrite followed by [`rebuild`](Self::rebuild).
    /// The caller keeps them finite and `>= 0`.
    pub(crate) fn leaves_mut(&mut self) -> &mut [f64] {
        self.leaf.as_mut()
    }

    pub(crate) fn check_index(&self, i: usize) -> Result<()> {
        if i < self.capacity {
            Ok(())
        } else {
            Err(Error::IndexOutOfRange { index: i, len: self.capacity })
        }
    }

    /// Writes a validated priority and recomputes its ancestors from their children.
    pub(crate) fn write(&mut self, i: usize, p: f64) {
        self.set_leaf(i, p);
        self.recompute_path(i, u32::MAX);
    }

    /// Leaf `i` to a validated `p`: the non-zero count and the min tree follow;
    /// the sums wait for `recompute_path`.
    fn set_leaf(&mut self, i: usize, p: f64) {
        let old = self.leaf.as_ref()[i];
        self.nonzero = self.nonzero + usize::from(p > 0.0) - usize::from(old > 0.0);
        self.leaf.as_mut()[i] = p;
        self.update_min(i / BLOCK, old, p);
    }

    /// Writes validated priorities to many slots (later entries win). Each
    /// slot's path is walked up to just below the lowest ancestor it shares
    /// with the next slot (the last slot's, to the root): that ancestor and
    /// the ones above it are on the next slot's path too. So a node is
    /// recomputed by the walk of the last slot below it, after every write
    /// below it, from its final children: the tree is bit for bit what one
    /// [`write`](Self::write) after another leaves, in any order. When the
    /// slots come sorted (stratified draws, a ring's inserts), each ancestor
    /// is recomputed once.
    pub(crate) fn write_many(&mut self, slots: impl Iterator<Item = (usize, f64)>) {
        let mut pending = None;
        for (i, p) in slots {
            if let Some(prev) = pending {
                // The height of the two leaves' lowest common ancestor.
                self.recompute_path(prev, usize::BITS - (prev ^ i).leading_zeros());
            }
            self.set_leaf(i, p);
            pending = Some(i);
        }
        if let Some(last) = pending {
            self.recompute_path(last, u32::MAX);
        }
    }

    /// Recomputes leaf `i`'s stored ancestors, of height [`LOW`] up to below
    /// `below` (the leaves have height 0), or up to the root, each
    /// `left + right` (addition commutes bit for bit, so `s + sibling` is
    /// that). The lowest is its group's sum, from the group's leaves; the
    /// siblings' addresses follow from `i` alone, so their loads do not wait
    /// on one another; only the adds form a chain.
    fn recompute_path(&mut self, i: usize, below: u32) {
        if self.sum.as_ref().len() < 2 || below <= LOW {
            return;
        }
        let mut k = (self.size + i) >> LOW;
        let mut s = self.group_sum(i / GROUP);
        let mut height = LOW;
        let sum = self.sum.as_mut();
        while let Some(node) = sum.get_mut(k) {
            *node = s;
            height += 1;
            if k <= 1 || height >= below {
                return;
            }
            s += sum.get(k ^ 1).copied().unwrap_or(0.0);
            k /= 2;
        }
    }

    /// Group `g`'s sub-tree as a heap: its leaves at `GROUP..2 * GROUP` (0
    /// past the capacity), each node `j` in `1..GROUP` the sum of nodes `2j`
    /// and `2j + 1`: the tree's own pairwise order, so node 1 is the group's
    /// stored node bit for bit.
    #[cfg(feature = "group-sums")]
    #[inline(always)]
    fn group(&self, g: usize) -> [f64; 2 * GROUP] {
        let mut t = [0.0; 2 * GROUP];
        let first = g * GROUP;
        for (j, x) in t[GROUP..].iter_mut().enumerate() {
            *x = self.leaf_value(first + j);
        }
        for j in (1..GROUP).rev() {
            t[j] = t[2 * j] + t[2 * j + 1];
        }
        t
    }

    /// Group `g`'s sum: its stored node of height [`LOW`], bit for bit.
    // Out of line where a group is a pair, for flash.
    #[cfg_attr(feature = "group-sums", inline(always))]
    #[cfg_attr(not(feature = "group-sums"), inline(never))]
    fn group_sum(&self, g: usize) -> f64 {
        #[cfg(feature = "group-sums")]
        return self.group(g)[1];
        #[cfg(not(feature = "group-sums"))]
        return self.leaf_value(2 * g) + self.leaf_value(2 * g + 1);
    }

    /// The descent's last [`LOW`] steps, inside group `g`: the leaf.
    #[inline(always)]
    fn descend_group(&self, u: &mut f64, g: usize) -> usize {
        #[cfg(feature = "group-sums")]
        {
            let t = self.group(g);
            let mut j = 1;
            for _ in 0..LOW {
                // `j < GROUP` here, so the mask changes nothing; it shows
                // the compiler that the index is in bounds.
                let c = (2 * j) & (2 * GROUP - 1);
                j = step(u, c, t[c], |child| t[child & (2 * GROUP - 1)]);
            }
            g * GROUP + (j - GROUP)
        }
        #[cfg(not(feature = "group-sums"))]
        {
            let c = 2 * g;
            step(u, c, self.leaf_value(c), |i| self.leaf_value(i))
        }
    }

    /// Block `b`'s minimum over its non-zero leaves (infinity when none).
    fn block_min(&self, b: usize) -> f64 {
        let leaf = self.leaf.as_ref();
        let lo = (b * BLOCK).min(leaf.len());
        let hi = (lo + BLOCK).min(leaf.len());
        leaf[lo..hi].iter().fold(f64::INFINITY, |m, &p| if p > 0.0 { m.min(p) } else { m })
    }

    /// Block `b`'s minimum after one of its leaves went from `old` to `new`
    /// (the others unchanged), then its ancestors, stopping at the first node
    /// whose value does not change (minima are exact, so nothing above it can
    /// change either). The block's leaves are read again only when `old` was
    /// its minimum and grew or left: most writes touch one min node, in cache.
    fn update_min(&mut self, b: usize, old: f64, new: f64) {
        let mut j = (self.msize + b).wrapping_sub(1);
        let stored = self.min.as_ref().get(j).copied().unwrap_or(f64::INFINITY);
        let mut m = if new > 0.0 && new < stored {
            new
        } else if old > 0.0 && old == stored && new != old {
            self.block_min(b)
        } else {
            return;
        };
        let mins = self.min.as_mut();
        while let Some(stored) = mins.get_mut(j) {
            if *stored == m {
                return;
            }
            *stored = m;
            if j == 0 {
                return;
            }
            let sibling = if j % 2 == 1 { j + 1 } else { j - 1 };
            m = m.min(mins.get(sibling).copied().unwrap_or(f64::INFINITY));
            j = (j - 1) / 2;
        }
    }

    /// Recomputes every internal node from the leaves, O(n).
    pub(crate) fn rebuild(&mut self) {
        let nodes = self.sum.as_ref().len();
        // The stored nodes of height `LOW` are `nodes / 2..nodes`, one per group.
        for k in (1..nodes).rev() {
            let s = match self.sum.as_ref().get(2 * k..2 * k + 2) {
                Some(&[left, right]) => left + right,
                _ => self.group_sum(k - nodes / 2),
            };
            if let Some(node) = self.sum.as_mut().get_mut(k) {
                *node = s;
            }
        }
        self.nonzero = self.leaf.as_ref().iter().filter(|&&p| p > 0.0).count();
        let Some(first_block) = self.msize.checked_sub(1) else {
            return; // capacity 0
        };
        for b in 0..self.msize {
            let m = self.block_min(b);
            self.min.as_mut()[first_block + b] = m;
        }
        let mins = self.min.as_mut();
        for j in (0..first_block).rev() {
            mins[j] = mins[2 * j + 1].min(mins[2 * j + 2]);
        }
    }

    fn leaf_value(&self, i: usize) -> f64 {
        self.leaf.as_ref().get(i).copied().unwrap_or(0.0)
    }

    /// Prefix search for `0 <= u < total`: the leaf, and `u`'s residual in
    /// it (`0 <= residual < leaf`), by exactly the steps of every descent.
    pub(crate) fn descend_residual(&self, u: f64) -> (usize, f64) {
        let (mut u, mut k) = ([u], [1]);
        self.descend_lanes(&mut u, &mut k);
        (k[0] - self.size, u[0])
    }

    /// Prefix search for `0 <= u < total`.
    fn descend(&self, u: f64) -> usize {
        let (mut u, mut k) = ([u], [1]);
        self.descend_lanes(&mut u, &mut k);
        k[0] - self.size
    }

    /// Prefix searches of every `u[j]` (each `0 <= u < total`, with `k[j] == 1`),
    /// level by level; `k[j]` ends at the leaf node. One step at node `k`:
    ///
    /// Invariant: `u < sum(k)` at every visited node `k`. Going left keeps it
    /// (`u < left`). Going right, `u >= left` and `u < fl(left + right)`, so
    /// `right > 0` (else `fl(left + 0) = left <= u`); `u - left` is exact-or-rounded
    /// into `[0, right]`, and is clamped below `right`. At a leaf, `0 <= u < p`
    /// so `p > 0`: zero-priority and padding leaves are unreachable.
    ///
    /// Each step is [`step`]: no branch depends on `u`. The steps below the
    /// stored levels take their sums from [`group`](Self::group), the same
    /// values bit for bit, so the same decisions. In a tree of fewer than
    /// [`GROUP`] leaves the group's padding adds steps at the top, each into
    /// the left child with `u` unchanged: there `right == 0` and `u < sum(k) ==
    /// left`.
    fn descend_lanes(&self, u: &mut [f64], k: &mut [usize]) {
        let sum = self.sum.as_ref();
        let nodes = sum.len();
        let mut level = 1;
        // Stored levels: the children of a node at `level` are stored while 2 * level < nodes.
        while 2 * level < nodes {
            let last = 4 * level >= nodes;
            for (uj, kj) in u.iter_mut().zip(k.iter_mut()) {
                let c = 2 * *kj;
                *kj = step(uj, c, sum[c], |child| sum[child]);
                if last {
                    // The group's leaves next: its line, and the next one
                    // where the buffer is not line-aligned.
                    let first = (*kj - nodes / 2) * GROUP;
                    prefetch(self.leaf.as_ref(), first);
                    prefetch(self.leaf.as_ref(), first + GROUP - 1);
                } else {
                    prefetch(sum, 2 * *kj);
                }
            }
            level *= 2;
        }
        // In the group (the whole tree below `GROUP` leaves: group 0, whose
        // padding leaves, being 0, are never entered), from its computed sums.
        let base = (nodes / 2).max(1);
        for (uj, kj) in u.iter_mut().zip(k.iter_mut()) {
            *kj = self.size + self.descend_group(uj, *kj - base);
        }
    }
}

/// Number of draws that descend together: more keep more loads in flight
/// (32 to 128 do about equally well on a 2^20 tree). Bare-metal targets have
/// no cache misses to overlap, and little flash and RAM: one at a time there
/// (the loops then compile to the plain descent, 0.2 KB smaller).
#[cfg(not(target_os = "none"))]
pub(crate) const LANES: usize = 64;
#[cfg(target_os = "none")]
pub(crate) const LANES: usize = 1;

/// One descent step from the node whose children are `c` and `c + 1`, the
/// left one of sum `left`: returns the child to enter and updates `u`.
///
/// No branch depends on `u` (a random descent would mispredict half of
/// them): the side is a 0/1 offset, the entered child's sum is loaded at
/// `c + side` (the same cache line as `left`), and `left` is subtracted
/// through a bit mask. The clamp almost never fires.
#[inline(always)]
fn step(u: &mut f64, c: usize, left: f64, sum_of: impl Fn(usize) -> f64) -> usize {
    let side = usize::from(*u >= left);
    let child = c + side;
    let bound = sum_of(child);
    // `left` when going right, +0.0 when not (`u - 0.0 == u` for `u >= 0`).
    let sub = f64::from_bits(left.to_bits() & 0u64.wrapping_sub(side as u64));
    let v = *u - sub;
    *u = if v >= bound { below_float(bound) } else { v };
    child
}

/// Asks for `nodes[i]`'s cache line ahead of its use (x86_64 only; elsewhere
/// nothing). Never reads, so an index past the end is harmless.
#[inline(always)]
pub(crate) fn prefetch<T>(nodes: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `wrapping_add` forms the address without the in-bounds
    // requirement of `add`, and a prefetch never dereferences it: it is a
    // hint, without effect on program state even for an address past the
    // slice (x86 prefetches do not fault).
    unsafe {
        core::arch::x86_64::_mm_prefetch(nodes.as_ptr().wrapping_add(i).cast::<i8>(), core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (nodes, i);
}

/// Blocks of the min tree over `capacity` leaves, rounded up to a power of two.
fn min_size(capacity: usize) -> usize {
    tree_size(capacity.div_ceil(BLOCK))
}

/// Stratum `j`'s uniform point of a stratified batch over `[0, total)` in
/// segments of `width`: the one formula of every stratified draw.
#[inline(always)]
pub(crate) fn stratum_point<R: RngCore + ?Sized>(rng: &mut R, j: usize, width: f64, total: f64) -> f64 {
    clamp_below((j as f64 + unit_f64(rng)) * width, total)
}

/// `u` if below `total`, else the largest float below `total` (`total > 0`).
pub(crate) fn clamp_below(u: f64, total: f64) -> f64 {
    if u < total {
        u
    } else {
        below_float(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Fixed, Heap};
    use crate::DefaultRng;
    use rand_core::SeedableRng;

    #[test]
    fn fixed_capacity_rule() {
        assert!(SumTree::<Fixed<8>>::new(8).is_ok());
        assert!(SumTree::<Fixed<8>>::new(5).is_ok());
        assert_eq!(SumTree::<Fixed<8>>::new(9).err(), Some(Error::StorageTooSmall { needed: 16, available: 8 }));
        assert!(matches!(SumTree::<Heap>::new(0), Err(Error::InvalidConfig { field: "capacity", .. })));
    }

    #[test]
    fn single_slot() {
        let mut t: SumTree<Heap> = SumTree::new(1).unwrap();
        assert_eq!(t.find(0.0), Err(Error::Empty));
        t.set(0, 2.0).unwrap();
        assert_eq!(t.total(), 2.0);
        assert_eq!(t.find(1.9999), Ok(0));
        assert!(t.find(2.0).is_err());
    }

    #[test]
    fn rounding_edge_never_lands_on_zero() {
        // Regression: u at the very top of the range with a zero right neighbour.
        let mut t: SumTree<Heap> = SumTree::new(3).unwrap();
        t.set(0, 0.1).unwrap();
        t.set(1, 0.2).unwrap();
        let total = t.total();
        let u = below_float(total);
        assert_eq!(t.find(u), Ok(1));
        // Tiny right mass swamped at the root.
        t.set(2, 1e-300).unwrap();
        for u in [0.0, 0.1, below_float(t.total())] {
            let i = t.find(u).unwrap();
            assert!(t.get(i).unwrap() > 0.0);
        }
    }

    #[test]
    fn set_many_is_atomic() {
        let mut t: SumTree<Heap> = SumTree::new(4).unwrap();
        t.set(1, 1.0).unwrap();
        let before = t.clone();
        assert!(t.set_many(&[0, 2], &[1.0, f64::NAN]).is_err());
        assert_eq!(t, before);
        assert!(t.set_many(&[0, 4], &[1.0, 1.0]).is_err());
        assert_eq!(t, before);
        assert!(t.set_many(&[0], &[1.0, 2.0]).is_err());
        assert_eq!(t, before);
        t.set_many(&[0, 0], &[1.0, 5.0]).unwrap();
        assert_eq!(t.get(0), Ok(5.0));
    }

    #[test]
    fn stratified_on_empty_writes_nothing() {
        let t: SumTree<Heap> = SumTree::new(4).unwrap();
        let mut out = [7usize; 3];
        let mut rng = DefaultRng::seed_from_u64(0);
        assert_eq!(t.sample_stratified(&mut rng, &mut out), Err(Error::Empty));
        assert_eq!(out, [7; 3]);
    }

    #[test]
    fn min_ignores_zero_and_tracks_updates() {
        let mut t: SumTree<Heap> = SumTree::new(5).unwrap();
        assert_eq!(t.min(), None);
        t.set(3, 0.5).unwrap();
        t.set(4, 0.25).unwrap();
        assert_eq!(t.min(), Some(0.25));
        t.set(4, 0.0).unwrap();
        assert_eq!(t.min(), Some(0.5));
        assert_eq!(t.nonzero(), 1);
        t.clear();
        assert_eq!((t.total(), t.min(), t.nonzero()), (0.0, None, 0));
    }
}
