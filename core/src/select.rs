//! Selectors: who picks slots, knowing nothing of what a slot holds.
//!
//! A selector manages a ring of `capacity` slots as keys only: per slot a
//! generation (and, depending on the kind, a priority), plus its schedule
//! and its own generator. It answers [`Selector::sample_into`] with
//! [`Draw`]s (a [`Key`], `P(i)` and an importance weight), and takes new
//! priorities back by key. What the slots contain lives elsewhere: a ring
//! of `T` ([`PrioritizedReplayBuffer`](crate::per::PrioritizedReplayBuffer)),
//! columns of fixed-width rows ([`ReplayTable`](crate::table::ReplayTable)),
//! or the caller's own arrays, indexed by `key.slot`.
//!
//! | selector | draws | memory per slot | insert, update | batch of B |
//! |---|---|---|---|---|
//! | [`PrioritizedSelector`](crate::per::PrioritizedSelector), proportional | `P(i) ∝ (\|δ\| + ε)^α`, stratified | about 36 B | O(log n) | O(B log n) |
//! | [`PrioritizedSelector`](crate::per::PrioritizedSelector), rank | `P(i) ∝ rank(i)^-α`, stratified | about 48 B | O(log n) | O(B log n) |
//! | [`UniformSelector`](crate::uniform::UniformSelector) | `P(i) = 1/N`, independent or stratified | 4 B | O(1) | O(B) (O(B²) without replacement) |
//!
//! The loss-driven [`AdaptiveBatchSampler`](crate::adaptive::AdaptiveBatchSampler)
//! and the [`RewardWeightedSampler`](crate::reward::RewardWeightedSampler)
//! are selectors of the same shape over dataset indices: they hold scores or
//! rewards per index and fill caller slices of indices and weights.
//!
//! ```
//! use adasample::select::{Draw, Selector};
//! use adasample::uniform::{UniformConfig, UniformSelector};
//! use adasample::storage::Heap;
//!
//! // A selector over the caller's own array of observations.
//! let mut observations = Vec::new();
//! let mut sel: UniformSelector<Heap> = UniformSelector::new(UniformConfig::new(3))?;
//! for obs in [10.0, 20.0, 30.0, 40.0] {
//!     let key = sel.insert(None)?; // the ring's next slot
//!     if key.slot as usize == observations.len() { observations.push(obs) } else { observations[key.slot as usize] = obs }
//! }
//! let mut draws = [Draw::default(); 5];
//! sel.sample_into(&mut draws)?;
//! assert!(draws.iter().all(|d| observations[d.key.slot as usize] != 10.0)); // slot 0 now holds 40
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{check_bounded, check_len, Error, Result};

/// A slot and the generation of the item it held when it was sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Key {
    /// Slot in the ring buffer, `0..capacity`.
    pub slot: u32,
    /// How many times the slot had been overwritten.
    pub generation: u32,
}

/// One sampled item: its key, `P(i)` and its importance weight.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Draw {
    /// The sampled item's key.
    pub key: Key,
    /// Probability `P(i)` of drawing this item (first-draw probability without replacement).
    pub probability: f64,
    /// Importance-sampling weight in `(0, 1]`.
    pub weight: f64,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateReport {
    /// Entries applied.
    pub applied: usize,
    /// Entries skipped because their slot was overwritten after sampling.
    pub stale: usize,
}

/// What every selector's insert refuses of a raw priority (`None`: the
/// largest seen so far): NaN, infinite, negative or above `MAX_PRIORITY`.
pub(crate) fn check_new_priority(priority: Option<f64>) -> Result<()> {
    match priority {
        Some(p) => check_bounded("priority", 0, p),
        None => Ok(()),
    }
}

/// What every selector's update refuses, before it changes anything:
/// lengths that differ, a slot never written (of `len`), a TD error that
/// is not finite or whose magnitude is above `MAX_PRIORITY`.
pub(crate) fn check_updates(keys: &[Key], td_errors: &[f64], len: usize) -> Result<()> {
    check_len(keys.len(), td_errors.len())?;
    for (k, (key, &td)) in keys.iter().zip(td_errors).enumerate() {
        if key.slot as usize >= len {
            return Err(Error::IndexOutOfRange { index: key.slot as usize, len });
        }
        if !td.is_finite() {
            return Err(Error::InvalidPriority { position: k, value: td });
        }
        if crate::error::above_max(td) {
            return Err(Error::ValueTooLarge { name: "td_error", position: k, value: td });
        }
    }
    Ok(())
}

/// Choosing slots of a ring by key. Implemented by
/// [`PrioritizedSelector`](crate::per::PrioritizedSelector) (proportional and
/// rank-based) and [`UniformSelector`](crate::uniform::UniformSelector); object
/// safe, so `Box<dyn Selector>` picks the kind at run time.
///
/// Every method validates all of its input before it changes anything; an
/// error leaves the selector as it was (generator included).
pub trait Selector {
    /// Number of slots.
    fn capacity(&self) -> usize;
    /// Slots written so far (N in the formulas), at most `capacity`.
    fn len(&self) -> usize;
    /// True before the first insert.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The slot the next [`insert`](Self::insert) takes: `len()` while the
    /// ring fills, then the oldest slot.
    fn next_slot(&self) -> usize;
    /// The current key of `slot`; `None` for a slot never written.
    fn key(&self, slot: usize) -> Option<Key>;
    /// Whether `key` still names what its slot holds (not overwritten since).
    fn is_current(&self, key: Key) -> bool {
        self.key(key.slot as usize) == Some(key)
    }
    /// What [`insert`](Self::insert) with `priority` would refuse, whatever
    /// the memory: lets a composition validate everything before it writes.
    fn check_insert(&self, priority: Option<f64>) -> Result<()>;
    /// Takes the ring's next slot (overwriting the oldest once full, which
    /// makes earlier keys of that slot stale) and returns its new key.
    /// `priority` is a raw priority like a `|TD error|`; `None` gives the
    /// largest seen so far. Selectors without priorities validate and ignore it.
    fn insert(&mut self, priority: Option<f64>) -> Result<Key>;
    /// What would make a batch of `batch_size` fail whatever the memory
    /// (not configured, nothing to draw, too many distinct items asked for).
    fn check_batch(&self, batch_size: usize) -> Result<()>;
    /// Fills `out` with a batch drawn by the selector's own generator and
    /// advances its schedule by one step.
    fn sample_into(&mut self, out: &mut [Draw]) -> Result<()>;
    /// New priorities from TD errors (magnitudes; signs ignored). Stale keys
    /// are skipped and counted. Selectors without priorities validate the
    /// input the same way and store nothing.
    fn update_priorities(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<UpdateReport>;
    /// The importance-sampling exponent the next batch uses (uniform: 0,
    /// as every weight is 1).
    fn beta(&self) -> f64;
}

/// A boxed selector is a selector: pick the kind at run time
/// (`ReplayTable<Box<dyn Selector>, _>`).
#[cfg(feature = "alloc")]
impl<T: Selector + ?Sized> Selector for alloc::boxed::Box<T> {
    fn capacity(&self) -> usize {
        (**self).capacity()
    }
    fn len(&self) -> usize {
        (**self).len()
    }
    fn next_slot(&self) -> usize {
        (**self).next_slot()
    }
    fn key(&self, slot: usize) -> Option<Key> {
        (**self).key(slot)
    }
    fn check_insert(&self, priority: Option<f64>) -> Result<()> {
        (**self).check_insert(priority)
    }
    fn insert(&mut self, priority: Option<f64>) -> Result<Key> {
        (**self).insert(priority)
    }
    fn check_batch(&self, batch_size: usize) -> Result<()> {
        (**self).check_batch(batch_size)
    }
    fn sample_into(&mut self, out: &mut [Draw]) -> Result<()> {
        (**self).sample_into(out)
    }
    fn update_priorities(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        (**self).update_priorities(keys, td_errors)
    }
    fn beta(&self) -> f64 {
        (**self).beta()
    }
}
