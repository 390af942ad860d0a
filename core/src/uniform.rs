//! Uniform selection over a ring of slots: its own selector, not alpha 0
//! through a sum tree.
//!
//! # The math
//! - `P(i) = 1 / N` for each of the N slots written; every weight is 1 (the
//!   draws already follow the data's own distribution).
//! - Default: B independent draws with replacement (a batch may repeat a
//!   slot), the baseline of DQN and CleanRL.
//! - [`UniformConfig::stratified`]: draw `j` falls in stratum `j` of B equal
//!   strata of the slots, `floor((j + U_j) N / B)`: a batch covers the ring
//!   evenly (what proportional PER does with priority mass).
//! - [`UniformConfig::without_replacement`]: B distinct slots, a uniform
//!   B-subset by Floyd's algorithm (order not shuffled further).
//!
//! # Cost
//! Insert O(1); a batch of B O(B), without replacement O(B²) comparisons
//! (no scratch memory). Memory: 4 bytes of generation a slot.
//!
//! ```
//! use adasample::select::{Draw, Selector};
//! use adasample::uniform::{UniformConfig, UniformSelector};
//! use adasample::storage::Fixed;
//!
//! let mut sel: UniformSelector<Fixed<128>> =
//!     UniformSelector::new(UniformConfig { stratified: true, ..UniformConfig::new(128) })?;
//! for _ in 0..100 { sel.insert(None)?; }
//! let mut draws = [Draw::default(); 4];
//! sel.sample_into(&mut draws)?;
//! for (j, d) in draws.iter().enumerate() {
//!     assert!((25 * j..25 * (j + 1)).contains(&(d.key.slot as usize))); // one per quarter
//!     assert_eq!((d.probability, d.weight), (0.01, 1.0));
//! }
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{ensure, Error, Result};
use crate::rng::{below, commit_on_ok, unit_f64, DefaultRng};
use crate::select::{Draw, Key, Selector, UpdateReport};
use crate::storage::{check_fits, Buffer, Storage};
use rand_core::RngCore;

/// Configuration of a [`UniformSelector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UniformConfig {
    /// Number of slots, at least 1 and below 2^32.
    pub capacity: usize,
    /// Seed of the selector's own generator. Default: 0.
    pub seed: u64,
    /// One draw in each of B equal strata instead of B independent draws. Default: false.
    pub stratified: bool,
    /// B distinct slots (takes precedence over `stratified`). Default: false.
    pub without_replacement: bool,
}

impl UniformConfig {
    /// Independent draws with replacement, seed 0.
    pub const fn new(capacity: usize) -> Self {
        UniformConfig { capacity, seed: 0, stratified: false, without_replacement: false }
    }

    /// Checks every field.
    ///
    /// ```
    /// use adasample::uniform::UniformConfig;
    /// assert!(UniformConfig::new(0).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        ensure(self.capacity >= 1, "capacity", "at least 1")?;
        ensure(self.capacity <= u32::MAX as usize, "capacity", "at most 2^32 - 1")
    }
}

/// Uniform selection over a ring of `capacity` slots: generations, the ring
/// position and the generator; see the [module doc](self).
#[derive(Clone, PartialEq)]
pub struct UniformSelector<S: Storage> {
    pub(crate) config: UniformConfig,
    pub(crate) generations: S::U32,
    pub(crate) next: usize,
    pub(crate) step: u64,
    pub(crate) rng: DefaultRng,
}

impl<S: Storage> core::fmt::Debug for UniformSelector<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UniformSelector")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> UniformSelector<S> {
    /// An empty selector. Errors: [`Error::InvalidConfig`],
    /// [`Error::StorageTooSmall`] when `Fixed` storage cannot hold `capacity`.
    ///
    /// ```
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::storage::Fixed;
    /// assert!(UniformSelector::<Fixed<8>>::new(UniformConfig::new(9)).is_err());
    /// ```
    pub fn new(config: UniformConfig) -> Result<Self> {
        config.validate()?;
        check_fits::<S>(config.capacity)?;
        Ok(UniformSelector {
            config,
            generations: <S::U32 as Buffer<u32>>::EMPTY,
            next: 0,
            step: 0,
            rng: DefaultRng::new(config.seed),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UniformConfig {
        &self.config
    }

    /// Number of `sample` calls so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Samples `out.len()` slots using `rng`; `P(i) = 1/N`, weights 1.
    /// Errors, with nothing changed: [`Error::Empty`] before the first
    /// insert, [`Error::BatchTooLarge`] without replacement when `out.len()`
    /// exceeds the slots written.
    ///
    /// ```
    /// use adasample::select::{Draw, Selector};
    /// use adasample::uniform::{UniformConfig, UniformSelector};
    /// use adasample::{storage::Heap, DefaultRng, Error};
    /// use rand_core::SeedableRng;
    /// let mut s: UniformSelector<Heap> =
    ///     UniformSelector::new(UniformConfig { without_replacement: true, ..UniformConfig::new(8) })?;
    /// for _ in 0..3 { s.insert(None)?; }
    /// let mut rng = DefaultRng::seed_from_u64(1);
    /// let mut draws = [Draw::default(); 3];
    /// s.sample_with(&mut rng, &mut draws)?;
    /// let mut slots: Vec<u32> = draws.iter().map(|d| d.key.slot).collect();
    /// slots.sort();
    /// assert_eq!(slots, [0, 1, 2]);
    /// assert_eq!(s.sample_with(&mut rng, &mut [Draw::default(); 4]), Err(Error::BatchTooLarge { requested: 4, available: 3 }));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn sample_with<R: RngCore + ?Sized>(&mut self, rng: &mut R, out: &mut [Draw]) -> Result<()> {
        self.check_batch(out.len())?;
        let n = self.len();
        let b = out.len();
        if self.config.without_replacement {
            // Floyd: for t in n-b..n, take a uniform r <= t, or t itself if r is taken.
            for (k, t) in (n - b..n).enumerate() {
                let r = below(rng, t + 1) as u32;
                let taken = out[..k].iter().any(|d| d.key.slot == r);
                out[k].key.slot = if taken { t as u32 } else { r };
            }
        } else if self.config.stratified {
            let width = n as f64 / b as f64;
            for (j, d) in out.iter_mut().enumerate() {
                // Rounding can reach n at the very top: clamp into the last stratum.
                let x = ((j as f64 + unit_f64(rng)) * width) as usize;
                d.key.slot = x.min(n - 1) as u32;
            }
        } else {
            for d in out.iter_mut() {
                d.key.slot = below(rng, n) as u32;
            }
        }
        let generations = self.generations.as_ref();
        let p = 1.0 / n as f64;
        for d in out.iter_mut() {
            d.key.generation = generations[d.key.slot as usize];
            d.probability = p;
            d.weight = 1.0;
        }
        self.step = self.step.wrapping_add(1);
        Ok(())
    }
}

impl<S: Storage> Selector for UniformSelector<S> {
    fn capacity(&self) -> usize {
        self.config.capacity
    }

    fn len(&self) -> usize {
        self.generations.as_ref().len()
    }

    fn next_slot(&self) -> usize {
        self.next
    }

    fn key(&self, slot: usize) -> Option<Key> {
        self.generations.as_ref().get(slot).map(|&generation| Key { slot: slot as u32, generation })
    }

    fn check_insert(&self, priority: Option<f64>) -> Result<()> {
        crate::select::check_new_priority(priority)
    }

    fn insert(&mut self, priority: Option<f64>) -> Result<Key> {
        self.check_insert(priority)?;
        let slot = self.next;
        let generation = if slot == self.len() {
            self.generations.push(0).map_err(|_| Error::AllocationFailed { bytes: 4 })?;
            0
        } else {
            let g = &mut self.generations.as_mut()[slot];
            *g = g.wrapping_add(1);
            *g
        };
        self.next = (slot + 1) % self.config.capacity;
        Ok(Key { slot: slot as u32, generation })
    }

    fn check_batch(&self, batch_size: usize) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Err(Error::Empty);
        }
        if self.config.without_replacement && batch_size > n {
            return Err(Error::BatchTooLarge { requested: batch_size, available: n });
        }
        Ok(())
    }

    fn sample_into(&mut self, out: &mut [Draw]) -> Result<()> {
        commit_on_ok(self, |s| &mut s.rng, |s, rng| s.sample_with(rng, out))
    }

    /// Validates like the prioritized selectors (lengths, slots written,
    /// finite magnitudes within [`MAX_PRIORITY`](crate::MAX_PRIORITY)), counts
    /// stale keys, and stores nothing.
    fn update_priorities(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<UpdateReport> {
        crate::select::check_updates(keys, td_errors, self.len())?;
        let stale = keys.iter().filter(|k| !self.is_current(**k)).count();
        Ok(UpdateReport { applied: keys.len() - stale, stale })
    }

    fn beta(&self) -> f64 {
        0.0
    }
}
