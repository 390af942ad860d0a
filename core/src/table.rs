//! A replay table: a [`Selector`] that picks slots, paired with a
//! [`RowStorage`] that holds their rows.
//!
//! The two stay in step: slot `k` of the selector is row `k` of the storage.
//! Every call checks rows, priorities and output slices before either part
//! changes, so an error leaves the table as it was. A sampled batch comes
//! back as [`Draw`]s (keys, `P(i)`, weights) plus one contiguous slice per
//! column: the shape the npm `ReplayBuffer` and the trainer's tensors take.
//!
//! Cost: an add is the selector's insert plus one row copy; a batch of B is
//! the selector's draw plus B row copies.
//!
//! ```
//! use adasample::per::{PerConfig, PrioritizedSelector};
//! use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
//! use adasample::select::Draw;
//! use adasample::storage::Heap;
//! use adasample::table::ReplayTable;
//!
//! let rows = RowStorage::<Heap>::new(100, &[
//!     ColumnSpec::new("obs", DType::F32, &[2]),
//!     ColumnSpec::new("done", DType::U8, &[]),
//! ])?;
//! let mut table = ReplayTable::new(PrioritizedSelector::<Heap>::new(PerConfig::new(100))?, rows)?;
//! for t in 0..10 {
//!     table.add(&[Values::F32(&[t as f32, 1.0]), Values::U8(&[(t == 9) as u8])], None)?;
//! }
//! let mut draws = [Draw::default(); 4];
//! let (mut obs, mut done) = ([0f32; 8], [0u8; 4]);
//! table.sample_into(&mut draws, &mut [ValuesMut::F32(&mut obs), ValuesMut::U8(&mut done)])?;
//! let keys: Vec<_> = draws.iter().map(|d| d.key).collect();
//! table.update_priorities(&keys, &[0.5, 1.0, 2.0, 0.1])?;
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{check_len, Error, Result};
use crate::rows::{RowStorage, Values, ValuesMut};
use crate::select::{Draw, Key, Selector, UpdateReport};
use crate::storage::Storage;

/// A selector and the rows of its slots; see the [module doc](self).
#[derive(Debug, Clone)]
pub struct ReplayTable<Sel, S: Storage> {
    selector: Sel,
    rows: RowStorage<S>,
}

impl<Sel: Selector, S: Storage> ReplayTable<Sel, S> {
    /// Pairs an empty selector with an empty row storage of the same
    /// capacity, or [`Error::InvalidConfig`].
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::{storage::Heap, table::ReplayTable};
    /// let rows = RowStorage::<Heap>::new(8, &[ColumnSpec::new("x", DType::F32, &[])])?;
    /// let sel = UniformSelector::<Heap>::new(UniformConfig::new(9))?;
    /// assert!(ReplayTable::new(sel, rows).is_err()); // 9 slots, 8 rows
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn new(selector: Sel, rows: RowStorage<S>) -> Result<Self> {
        if selector.capacity() != rows.capacity() {
            return Err(Error::InvalidConfig { field: "capacity", expected: "the same for the selector and the rows" });
        }
        if !selector.is_empty() || !rows.is_empty() {
            return Err(Error::InvalidConfig { field: "selector", expected: "empty, like the rows" });
        }
        Ok(ReplayTable { selector, rows })
    }

    /// A restored table: the caller has checked that the parts agree.
    #[cfg(feature = "serde")]
    pub(crate) fn from_parts(selector: Sel, rows: RowStorage<S>) -> Self {
        ReplayTable { selector, rows }
    }

    /// Empties the table: every row goes, and `selector` (empty, of the
    /// same capacity) takes the old one's place, so a new selector's config
    /// and generator start afresh. Keys taken before may name new rows
    /// again (generations restart with the selector). Errors, with nothing
    /// changed: [`Error::InvalidConfig`] as [`new`](Self::new).
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, Values};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::{storage::Heap, table::ReplayTable};
    /// let rows = RowStorage::<Heap>::new(4, &[ColumnSpec::new("x", DType::U8, &[])])?;
    /// let mut t = ReplayTable::new(UniformSelector::<Heap>::new(UniformConfig::new(4))?, rows)?;
    /// t.extend(3, &[Values::U8(&[1, 2, 3])], None)?;
    /// t.reset(UniformSelector::new(UniformConfig::new(4))?)?;
    /// assert!(t.is_empty() && t.rows().is_empty());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn reset(&mut self, selector: Sel) -> Result<()> {
        if selector.capacity() != self.rows.capacity() {
            return Err(Error::InvalidConfig { field: "capacity", expected: "the same for the selector and the rows" });
        }
        if !selector.is_empty() {
            return Err(Error::InvalidConfig { field: "selector", expected: "empty, like the rows" });
        }
        self.selector = selector;
        self.rows.clear();
        Ok(())
    }

    /// The selector (priorities, generations, schedule).
    pub fn selector(&self) -> &Sel {
        &self.selector
    }

    /// The rows.
    pub fn rows(&self) -> &RowStorage<S> {
        &self.rows
    }

    /// Rows stored (N).
    pub fn len(&self) -> usize {
        self.selector.len()
    }

    /// True before the first add.
    pub fn is_empty(&self) -> bool {
        self.selector.is_empty()
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.selector.capacity()
    }

    /// Adds one row (one slice per column, in schema order) with raw
    /// priority `priority` (`None`: the largest seen so far) in the ring's
    /// next slot. Errors, with nothing changed: [`Error::SchemaMismatch`],
    /// the selector's errors for the priority, [`Error::AllocationFailed`].
    pub fn add(&mut self, row: &[Values<'_>], priority: Option<f64>) -> Result<Key> {
        self.rows.check_rows(1, row)?;
        self.selector.check_insert(priority)?;
        let slot = self.selector.next_slot();
        self.rows.reserve_slot(slot)?;
        let key = self.selector.insert(priority)?;
        self.rows.put(key.slot as usize, row, 0);
        Ok(key)
    }

    /// Adds `count` rows: each column holds `count * width` values, row
    /// after row; `priorities` (if given) one per row. Every row and
    /// priority is checked first: a bad one adds nothing. Returns `count`.
    /// On the heap an [`Error::AllocationFailed`] of the selector midway
    /// keeps the rows added before it.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, Values};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::{storage::Heap, table::ReplayTable};
    /// let rows = RowStorage::<Heap>::new(8, &[ColumnSpec::new("xy", DType::F32, &[2])])?;
    /// let mut t = ReplayTable::new(UniformSelector::<Heap>::new(UniformConfig::new(8))?, rows)?;
    /// assert_eq!(t.extend(3, &[Values::F32(&[0., 1., 2., 3., 4., 5.])], None)?, 3);
    /// assert!(t.extend(2, &[Values::F32(&[0.; 3])], None).is_err()); // 3 values for 2 rows of 2
    /// assert_eq!(t.len(), 3);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn extend(&mut self, count: usize, rows: &[Values<'_>], priorities: Option<&[f64]>) -> Result<usize> {
        self.rows.check_rows(count, rows)?;
        if let Some(p) = priorities {
            check_len(count, p.len())?;
            for (k, &x) in p.iter().enumerate() {
                self.selector.check_insert(Some(x)).map_err(|e| match e {
                    Error::InvalidPriority { value, .. } => Error::InvalidPriority { position: k, value },
                    Error::ValueTooLarge { name, value, .. } => Error::ValueTooLarge { name, position: k, value },
                    e => e,
                })?;
            }
        } else {
            self.selector.check_insert(None)?;
        }
        self.rows.reserve_rows(count)?;
        for j in 0..count {
            let key = self.selector.insert(priorities.map(|p| p[j]))?;
            self.rows.put(key.slot as usize, rows, j);
        }
        Ok(count)
    }

    /// Samples `draws.len()` rows: keys, `P(i)` and weights into `draws`,
    /// the rows into `out` (one slice per column, `draws.len() * width`
    /// values each). Errors, with nothing changed: [`Error::SchemaMismatch`]
    /// for `out`, the selector's sampling errors.
    pub fn sample_into(&mut self, draws: &mut [Draw], out: &mut [ValuesMut<'_>]) -> Result<()> {
        self.rows.check_out(draws.len(), out)?;
        self.selector.sample_into(draws)?;
        self.rows.gather_unchecked(draws.len(), |j| draws[j].key.slot as usize, out);
        Ok(())
    }

    /// New priorities from TD errors; see [`Selector::update_priorities`].
    pub fn update_priorities(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        self.selector.update_priorities(keys, td_errors)
    }

    /// Copies the row under `key` into `out`; `Ok(false)` (nothing written)
    /// when the key is stale or its slot never written.
    ///
    /// ```
    /// use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::{storage::Heap, table::ReplayTable};
    /// let rows = RowStorage::<Heap>::new(2, &[ColumnSpec::new("x", DType::I32, &[])])?;
    /// let mut t = ReplayTable::new(UniformSelector::<Heap>::new(UniformConfig::new(2))?, rows)?;
    /// let k = t.add(&[Values::I32(&[5])], None)?;
    /// let mut x = [0i32];
    /// assert!(t.get(k, &mut [ValuesMut::I32(&mut x)])? && x == [5]);
    /// t.extend(2, &[Values::I32(&[6, 7])], None)?; // slot 0 is overwritten
    /// assert!(!t.get(k, &mut [ValuesMut::I32(&mut x)])?);
    /// assert_eq!((t.len(), t.capacity(), t.rows().len()), (2, 2, 2));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn get(&self, key: Key, out: &mut [ValuesMut<'_>]) -> Result<bool> {
        self.rows.check_out(1, out)?;
        if !self.selector.is_current(key) {
            return Ok(false);
        }
        self.rows.gather_unchecked(1, |_| key.slot as usize, out);
        Ok(true)
    }
}
