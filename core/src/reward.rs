//! Reward-weighted sampling (RWR, Peters & Schaal 2007; AWR, Peng et al. 2019).
//!
//! Rollout rewards `R_i` are pushed in order (indices count pushes from 0). A
//! sample draws `i` with
//! - RWR (default): `P_i ∝ exp((R_i - max R) / tau)`: the weights are at most 1,
//!   and a low temperature concentrates on the best rollouts;
//! - AWR ([`RewardConfig::normalize_advantages`]): `P_i ∝ min(exp(A_i / tau), w_max)`
//!   with the normalised advantage `A_i = (R_i - mean R) / std R`; the clip
//!   `w_max` (default 20, Peng et al.'s) keeps a few rollouts from taking all the mass.
//!
//! Everything is computed in log space (`log w_i`, shifted by its maximum
//! before `exp`), so no reward or temperature overflows; a weight below
//! `e^-745` times the largest rounds to 0 and is never drawn.
//!
//! Batches are stratified over the total weight. Each draw also carries an
//! importance weight `(N P_i)^-beta / max_j (N P_j)^-beta` [beta 0: all 1, since
//! the point of RWR is the biased distribution; beta 1 undoes it].
//!
//! # Cost
//! `push` O(1); the first `sample` after pushes rebuilds the weights, O(N);
//! then O(B log N) a batch. Memory: 8 bytes of reward and 12 to 16 of tree (18 to 28 without the `group-sums` feature) per slot.

use crate::error::{check_finite, ensure, Error, Result};
use crate::math::in_unit;
use crate::per::is_weight;
use crate::rng::{commit_on_ok, DefaultRng};
use crate::storage::{check_fits, tree_size, Buffer, Storage};
use crate::tree::SumTree;
use rand_core::RngCore;

/// Configuration of a [`RewardWeightedSampler`]; build with
/// [`RewardConfig::new`] and struct-update syntax.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RewardConfig {
    /// The most rewards held, at least 1.
    pub capacity: usize,
    /// Temperature `tau`, finite and `> 0`; lower is greedier. Default: 1.0.
    pub temperature: f64,
    /// AWR weight clip `w_max`, finite and `>= 1` (binds only with
    /// `normalize_advantages`). Default: 20.
    pub max_weight: f64,
    /// AWR: weights from normalised advantages, clipped at `max_weight`. Default: false.
    pub normalize_advantages: bool,
    /// Importance-weight exponent in `[0, 1]`. Default: 0.
    pub beta: f64,
    /// Seed of the sampler's own generator. Default: 0.
    pub seed: u64,
}

impl RewardConfig {
    /// Defaults: temperature 1, `w_max` 20, no normalisation, beta 0.
    pub const fn new(capacity: usize) -> Self {
        RewardConfig { capacity, temperature: 1.0, max_weight: 20.0, normalize_advantages: false, beta: 0.0, seed: 0 }
    }

    /// Checks every field; see the field docs for the ranges.
    pub fn validate(&self) -> Result<()> {
        ensure(self.capacity >= 1, "capacity", "at least 1")?;
        ensure(self.capacity <= u32::MAX as usize, "capacity", "at most 2^32 - 1")?;
        ensure(self.temperature.is_finite() && self.temperature > 0.0, "temperature", "finite and > 0")?;
        ensure(self.max_weight.is_finite() && self.max_weight >= 1.0, "max_weight", "finite and >= 1")?;
        ensure(in_unit(self.beta), "beta", "in [0, 1]")
    }
}

/// Writes the RWR/AWR log-weights of `rewards` into `out` (same length):
/// `(R_i - max R) / tau` (RWR), or `min(A_i / tau, ln w_max)` with
/// `A_i = (R_i - mean) / std` when `normalize_advantages` (AWR; a zero
/// deviation leaves the advantages at 0). Errors: [`Error::LengthMismatch`],
/// [`Error::InvalidArgument`] for a non-finite reward, [`Error::InvalidConfig`].
///
/// ```
/// use adasample::reward::{log_weights, RewardConfig};
/// let mut lw = [0.0; 3];
/// log_weights(&RewardConfig::new(3), &[0.0, 1.0, 2.0], &mut lw)?;
/// assert_eq!(lw, [-2.0, -1.0, 0.0]);
/// let awr = RewardConfig { normalize_advantages: true, temperature: 0.1, ..RewardConfig::new(3) };
/// log_weights(&awr, &[0.0, 1.0, 2.0], &mut lw)?;
/// assert_eq!(lw[2], 20f64.ln()); // clipped at w_max
/// # Ok::<(), adasample::Error>(())
/// ```
pub fn log_weights(config: &RewardConfig, rewards: &[f64], out: &mut [f64]) -> Result<()> {
    config.validate()?;
    crate::error::check_len(rewards.len(), out.len())?;
    check_finite("reward", rewards)?;
    if !config.normalize_advantages {
        let top = rewards.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for (o, &r) in out.iter_mut().zip(rewards) {
            // r - top <= 0; near f64::MAX it can reach -inf: weight 0, never drawn.
            *o = (r - top) / config.temperature;
        }
        return Ok(());
    }
    let n = rewards.len().max(1) as f64;
    // Sums of r / n: no overflow for finite rewards.
    let mean = rewards.iter().map(|r| r / n).sum::<f64>();
    let var = rewards.iter().map(|r| (r - mean) * (r - mean) / n).sum::<f64>();
    let sd = libm::sqrt(var);
    let scale = if sd > 0.0 { 1.0 / sd } else { 0.0 };
    let cap = libm::log(config.max_weight);
    for (o, &r) in out.iter_mut().zip(rewards) {
        // Near f64::MAX, r - mean can overflow (min() clips +inf) and a zero
        // scale times inf is NaN: that advantage is 0.
        let a = (r - mean) * scale / config.temperature;
        *o = if a.is_nan() { 0.0 } else { a.min(cap) };
    }
    Ok(())
}

/// Samples pushed rollouts with probability increasing in their reward.
///
/// ```
/// use adasample::reward::{RewardConfig, RewardWeightedSampler};
/// use adasample::storage::Heap;
///
/// let mut s: RewardWeightedSampler<Heap> =
///     RewardWeightedSampler::new(RewardConfig { temperature: 0.5, ..RewardConfig::new(1024) })?;
/// s.extend(&[0.0, 1.0, 5.0, 2.0])?;
/// let (indices, weights) = s.sample(16)?;
/// assert!(indices.iter().filter(|&&i| i == 2).count() > 8); // reward 5 dominates
/// assert!(weights.iter().all(|&w| w == 1.0)); // beta 0
/// # Ok::<(), adasample::Error>(())
/// ```
#[derive(Clone)]
pub struct RewardWeightedSampler<S: Storage> {
    pub(crate) config: RewardConfig,
    pub(crate) rewards: S::F64,
    /// `w_i / max_j w_j`, valid when `!dirty`.
    pub(crate) tree: SumTree<S>,
    pub(crate) dirty: bool,
    pub(crate) rng: DefaultRng,
}

impl<S: Storage> PartialEq for RewardWeightedSampler<S> {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.rewards == other.rewards && self.rng == other.rng
    }
}

impl<S: Storage> core::fmt::Debug for RewardWeightedSampler<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RewardWeightedSampler")
            .field("config", &self.config)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> RewardWeightedSampler<S> {
    /// A sampler of capacity 0, for `static` initialisers (fixed storage
    /// without a stack copy); [`reset`](Self::reset) configures it in place.
    /// Every field is zero bits, so a `static` of it costs no flash.
    pub const EMPTY: Self = RewardWeightedSampler {
        config: RewardConfig {
            capacity: 0,
            temperature: 0.0,
            max_weight: 0.0,
            normalize_advantages: false,
            beta: 0.0,
            seed: 0,
        },
        rewards: <S::F64 as Buffer<f64>>::EMPTY,
        tree: SumTree::EMPTY,
        dirty: false,
        rng: DefaultRng::ZERO,
    };

    /// An empty sampler. Errors: [`Error::InvalidConfig`], [`Error::StorageTooSmall`].
    pub fn new(config: RewardConfig) -> Result<Self> {
        let mut s = Self::EMPTY;
        s.reset(config)?;
        Ok(s)
    }

    /// Drops every reward and re-configures the sampler in place, as if new.
    /// Errors as [`new`](Self::new), checked before anything changes.
    pub fn reset(&mut self, config: RewardConfig) -> Result<()> {
        config.validate()?;
        // The tree grows with the rewards; check now that it can reach the capacity.
        check_fits::<S>(tree_size(config.capacity))?;
        self.tree.reset(1)?;
        self.rewards.clear();
        self.config = config;
        self.dirty = false;
        self.rng = DefaultRng::new(config.seed);
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &RewardConfig {
        &self.config
    }

    /// Number of rewards pushed.
    pub fn len(&self) -> usize {
        self.rewards.as_ref().len()
    }

    /// True before the first push.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rewards, in push order.
    pub fn rewards(&self) -> &[f64] {
        self.rewards.as_ref()
    }

    /// Appends one reward; returns its index. Errors: [`Error::InvalidArgument`]
    /// for a non-finite reward, [`Error::BufferFull`] when `capacity` rewards
    /// are held, [`Error::AllocationFailed`], [`Error::NotConfigured`] on `EMPTY`.
    ///
    /// ```
    /// use adasample::reward::{RewardConfig, RewardWeightedSampler};
    /// use adasample::storage::Heap;
    /// let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(8))?;
    /// assert_eq!(s.push(1.5)?, 0);
    /// assert_eq!(s.push(-2.0)?, 1);
    /// assert!(s.push(f64::NAN).is_err());
    /// assert_eq!(s.rewards(), &[1.5, -2.0]);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn push(&mut self, reward: f64) -> Result<usize> {
        self.extend(&[reward])?;
        Ok(self.len() - 1)
    }

    /// Appends rewards, all or none. Errors as [`push`](Self::push).
    pub fn extend(&mut self, rewards: &[f64]) -> Result<()> {
        self.check_ready()?;
        check_finite("reward", rewards)?;
        let (len, capacity) = (self.len(), self.config.capacity);
        if len.saturating_add(rewards.len()) > capacity {
            return Err(Error::BufferFull { capacity });
        }
        if !self.rewards.try_reserve(rewards.len()) {
            return Err(Error::AllocationFailed { bytes: rewards.len().saturating_mul(8) });
        }
        for &r in rewards {
            // Reserved: the pushes cannot fail.
            let _ = self.rewards.push(r);
        }
        self.dirty |= !rewards.is_empty();
        Ok(())
    }

    /// Removes every reward (the generator keeps its state).
    ///
    /// ```
    /// use adasample::reward::{RewardConfig, RewardWeightedSampler};
    /// use adasample::storage::Heap;
    /// let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(8))?;
    /// s.extend(&[1.0, 2.0])?;
    /// s.clear();
    /// assert!(s.is_empty());
    /// assert!(s.sample(1).is_err());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.rewards.clear();
        self.tree.clear();
        self.dirty = true;
    }

    /// `P_i` of every pushed reward, into `out` (length `len()`).
    ///
    /// ```
    /// use adasample::reward::{RewardConfig, RewardWeightedSampler};
    /// use adasample::storage::Heap;
    /// let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(RewardConfig::new(8))?;
    /// s.extend(&[0.0, 1.0])?;
    /// let mut p = [0.0; 2];
    /// s.probabilities_into(&mut p)?;
    /// let e = 1f64.exp();
    /// assert!((p[1] - e / (1.0 + e)).abs() < 1e-15);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn probabilities_into(&mut self, out: &mut [f64]) -> Result<()> {
        crate::error::check_len(self.len(), out.len())?;
        self.refresh()?;
        let total = self.tree.total();
        for (o, &t) in out.iter_mut().zip(self.tree.leaves()) {
            *o = t / total;
        }
        Ok(())
    }

    /// Samples `indices.len()` rewards with the sampler's own generator, writing
    /// importance weights into `weights`. Errors: [`Error::Empty`],
    /// [`Error::LengthMismatch`].
    pub fn sample_into(&mut self, indices: &mut [usize], weights: &mut [f64]) -> Result<()> {
        commit_on_ok(self, |s| &mut s.rng, |s, rng| s.sample_with(rng, indices, weights))
    }

    /// As [`sample_into`](Self::sample_into), with a caller's generator.
    pub fn sample_with<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        indices: &mut [usize],
        weights: &mut [f64],
    ) -> Result<()> {
        crate::error::check_len(indices.len(), weights.len())?;
        self.check_batch()?;
        self.refresh()?;
        self.tree.sample_stratified(rng, indices)?;
        let ln_p_min = libm::log(self.tree.min().unwrap_or(1.0));
        for (w, &i) in weights.iter_mut().zip(indices.iter()) {
            *w = is_weight(ln_p_min, self.tree.leaves()[i], self.config.beta);
        }
        Ok(())
    }

    fn check_ready(&self) -> Result<()> {
        if self.config.capacity == 0 {
            return Err(Error::NotConfigured);
        }
        Ok(())
    }

    /// What would make a batch fail whatever the memory (and whatever its
    /// size): [`Error::NotConfigured`], [`Error::Empty`]. For adapters that
    /// allocate the batch's buffers themselves.
    pub fn check_batch(&self) -> Result<()> {
        self.check_ready()?;
        if self.is_empty() {
            return Err(Error::Empty);
        }
        Ok(())
    }

    /// `(indices, weights)` of a batch (feature `alloc`). Errors as
    /// [`sample_into`](Self::sample_into), checked before anything is
    /// allocated, then [`Error::AllocationFailed`] (never an abort).
    #[cfg(feature = "alloc")]
    pub fn sample(&mut self, batch_size: usize) -> Result<(alloc::vec::Vec<usize>, alloc::vec::Vec<f64>)> {
        self.check_batch()?;
        crate::storage::vec_batch(batch_size, |i, w| self.sample_into(i, w))
    }

    /// Recomputes the tree from the rewards if any were pushed since the last
    /// time, growing it (to the next power of two) when the rewards outgrew it.
    /// Padding leaves are 0, which changes no sum, so results do not depend on
    /// the tree's size.
    fn refresh(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let n = self.len();
        if self.tree.capacity() < n {
            self.tree.reset(tree_size(n).min(self.config.capacity))?;
        }
        {
            let leaves = self.tree.leaves_mut();
            // Rewards were checked finite and the config valid, so this cannot fail.
            if log_weights(&self.config, self.rewards.as_ref(), &mut leaves[..n]).is_ok() {
                let top = leaves[..n].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for l in leaves[..n].iter_mut() {
                    *l = if top.is_finite() { libm::exp(*l - top) } else { 1.0 };
                }
            }
        }
        for l in self.tree.leaves_mut()[n..].iter_mut() {
            *l = 0.0;
        }
        self.tree.rebuild();
        self.dirty = false;
        Ok(())
    }
}
