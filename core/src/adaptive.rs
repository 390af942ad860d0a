//! Loss-driven adaptive batch sampling over a fixed dataset (the seed's
//! `AdaptiveBatchSampler(dataset_size, learning_rate)`, after AdaBoost and OHEM).
//!
//! Each example `i` has a score `s_i` [initially 1], fed by the losses of the
//! batches it appears in:
//! - [`AdaptiveMode::Ema`]: `s_i <- (1 - lr) s_i + lr * loss_i` (momentum smoothing);
//! - [`AdaptiveMode::AdaBoost`]: `s_i <- clip(s_i * exp(lr * (loss_i - mean)), min, max)`,
//!   `mean` over the update's batch;
//! - [`AdaptiveMode::Ohem`]: scores as in EMA; a batch keeps the `B` highest
//!   scores of a uniformly drawn pool of `pool_factor * B` distinct candidates
//!   (Shrivastava et al. 2016), with weights 1.
//!
//! EMA and AdaBoost sample `P_i = (1 - gamma) s_i^alpha / sum_k s_k^alpha + gamma / N`
//! (gamma: the uniform floor, so no example starves), stratified over `[0, 1)`,
//! with importance weights `(N P_i)^-beta / max_j (N P_j)^-beta` in `(0, 1]`,
//! the max over the whole dataset. If every score is 0 the sampler is uniform.
//!
//! # Numerics
//! Losses and scores are at most [`MAX_PRIORITY`](crate::MAX_PRIORITY) (about 1.6e296;
//! [`Error::ValueTooLarge`] above), so the score total over up to 2^32
//! examples is finite and the probabilities sum to 1 within rounding. The
//! AdaBoost mean cannot overflow (B such losses sum below `f64::MAX` for
//! any batch that fits in memory), and the score
//! update runs in log space.
//!
//! # Cost
//! `update_weights` O(B log N); a batch O(B log N) (OHEM: O(pool log pool));
//! memory per example: 8 bytes of score, 12 to 16 of tree (18 to 28 without the `group-sums` feature), 4 of permutation.

use crate::error::{check_len, ensure, Error, Result};
use crate::math::{in_unit, not_above};
use crate::per::is_weight;
use crate::rng::{below, commit_on_ok, unit_f64, DefaultRng};
use crate::storage::{check_fits, refill, Buffer, Storage};
use crate::tree::{clamp_below, SumTree};
use rand_core::RngCore;

/// How losses move the sampling distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AdaptiveMode {
    /// Exponential moving average of each example's loss.
    #[default]
    Ema,
    /// Multiplicative, AdaBoost-style re-weighting, clipped.
    AdaBoost,
    /// Online hard example mining: top-B of a uniform candidate pool.
    Ohem,
}

/// Which objective the importance weights correct toward; it matters only
/// once a prior is set ([`AdaptiveBatchSampler::set_prior`]): without one,
/// both are the dataset's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum WeightTarget {
    /// The dataset as it is: `w_i ∝ (N P_i)^-beta`.
    #[default]
    Uniform,
    /// The dataset re-weighted by the prior (for example class-balanced):
    /// `w_i ∝ (q_i / sum q / P_i)^beta`.
    Prior,
}

/// Configuration of an [`AdaptiveBatchSampler`]; build with
/// [`AdaptiveConfig::new`] and struct-update syntax.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdaptiveConfig {
    /// Number of examples N, at least 1.
    pub dataset_size: usize,
    /// Step size `lr` of the score update, in `(0, 1]`. Default: 0.1.
    pub learning_rate: f64,
    /// The update rule and selection. Default: Ema.
    pub mode: AdaptiveMode,
    /// Exponent applied to scores, in `[0, 1]`. Default: 1.0.
    pub alpha: f64,
    /// Uniform floor `gamma`, in `[0, 1]`. Default: 0.1.
    pub uniform_floor: f64,
    /// Importance-weight exponent, in `[0, 1]` (1: unbiased, 0: no correction). Default: 0.5.
    pub beta: f64,
    /// Score of an example never seen in an update, finite and `> 0`. Default: 1.0.
    pub initial_score: f64,
    /// AdaBoost: smallest score, `> 0`. Default: 1e-3.
    pub min_score: f64,
    /// AdaBoost: largest score, `> min_score`, finite. Default: 1e3.
    pub max_score: f64,
    /// OHEM: candidate pool size as a multiple of the batch, at least 1. Default: 4.
    pub pool_factor: usize,
    /// The objective the importance weights correct toward (with a prior). Default: Uniform.
    pub target: WeightTarget,
    /// Seed of the sampler's own generator. Default: 0.
    pub seed: u64,
}

impl AdaptiveConfig {
    /// The seed's `AdaptiveBatchSampler(dataset_size, learning_rate)`, EMA mode.
    pub const fn new(dataset_size: usize, learning_rate: f64) -> Self {
        AdaptiveConfig {
            dataset_size,
            learning_rate,
            mode: AdaptiveMode::Ema,
            alpha: 1.0,
            uniform_floor: 0.1,
            beta: 0.5,
            initial_score: 1.0,
            min_score: 1e-3,
            max_score: 1e3,
            pool_factor: 4,
            target: WeightTarget::Uniform,
            seed: 0,
        }
    }

    /// Checks every field; see the field docs for the ranges.
    pub fn validate(&self) -> Result<()> {
        ensure(self.dataset_size >= 1, "dataset_size", "at least 1")?;
        ensure(self.dataset_size <= u32::MAX as usize, "dataset_size", "at most 2^32 - 1")?;
        ensure(self.learning_rate > 0.0 && not_above(self.learning_rate, 1.0), "learning_rate", "in (0, 1]")?;
        ensure(in_unit(self.alpha), "alpha", "in [0, 1]")?;
        ensure(in_unit(self.uniform_floor), "uniform_floor", "in [0, 1]")?;
        ensure(in_unit(self.beta), "beta", "in [0, 1]")?;
        let bounded = |x: f64| x > 0.0 && !crate::error::above_max(x);
        ensure(bounded(self.initial_score), "initial_score", "in (0, MAX_PRIORITY]")?;
        ensure(bounded(self.min_score), "min_score", "in (0, MAX_PRIORITY]")?;
        ensure(
            bounded(self.max_score) && self.max_score > self.min_score,
            "max_score",
            "in (min_score, MAX_PRIORITY]",
        )?;
        ensure(self.pool_factor >= 1, "pool_factor", "at least 1")
    }
}

/// Loss-driven batch sampler over `dataset_size` examples.
///
/// The seed's interface, one to one:
/// ```
/// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig};
/// use adasample::storage::Heap;
///
/// let mut sampler: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(1000, 0.1))?;
/// let (indices, importance_weights) = sampler.sample(32)?;
/// let losses: Vec<f64> = indices.iter().map(|&i| (i % 7) as f64).collect();
/// sampler.update_weights(&indices, &losses)?;
/// assert_eq!(importance_weights.len(), 32);
/// # Ok::<(), adasample::Error>(())
/// ```
#[derive(Clone)]
pub struct AdaptiveBatchSampler<S: Storage> {
    pub(crate) config: AdaptiveConfig,
    pub(crate) scores: S::F64,
    /// `s_i^alpha`.
    pub(crate) tree: SumTree<S>,
    /// A permutation of `0..N`, the OHEM pool's scratch (partial Fisher-Yates).
    pub(crate) perm: S::U32,
    pub(crate) rng: DefaultRng,
    #[cfg(feature = "prior")]
    pub(crate) prior: crate::prior::Prior<S>,
}

impl<S: Storage> PartialEq for AdaptiveBatchSampler<S> {
    fn eq(&self, other: &Self) -> bool {
        let same = self.config == other.config
            && self.scores == other.scores
            && self.perm == other.perm
            && self.rng == other.rng;
        #[cfg(feature = "prior")]
        let same = same && self.prior() == other.prior();
        same
    }
}

impl<S: Storage> core::fmt::Debug for AdaptiveBatchSampler<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AdaptiveBatchSampler").field("config", &self.config).finish_non_exhaustive()
    }
}

impl<S: Storage> AdaptiveBatchSampler<S> {
    /// A sampler over 0 examples, for `static` initialisers (fixed storage
    /// without a stack copy); [`reset`](Self::reset) configures it in place.
    /// Every field is zero bits, so a `static` of it costs no flash.
    pub const EMPTY: Self = AdaptiveBatchSampler {
        config: AdaptiveConfig {
            dataset_size: 0,
            learning_rate: 0.0,
            mode: AdaptiveMode::Ema,
            alpha: 0.0,
            uniform_floor: 0.0,
            beta: 0.0,
            initial_score: 0.0,
            min_score: 0.0,
            max_score: 0.0,
            pool_factor: 0,
            target: WeightTarget::Uniform,
            seed: 0,
        },
        scores: <S::F64 as Buffer<f64>>::EMPTY,
        tree: SumTree::EMPTY,
        perm: <S::U32 as Buffer<u32>>::EMPTY,
        rng: DefaultRng::ZERO,
        #[cfg(feature = "prior")]
        prior: crate::prior::Prior::EMPTY,
    };

    /// A sampler with every score at `initial_score` (uniform at first).
    /// Errors: [`Error::InvalidConfig`], [`Error::StorageTooSmall`].
    pub fn new(config: AdaptiveConfig) -> Result<Self> {
        let mut s = Self::EMPTY;
        s.reset(config)?;
        Ok(s)
    }

    /// Re-configures the sampler in place, as if new (so without a prior). Errors as
    /// [`new`](Self::new), checked before anything changes; only a heap
    /// allocation failure can leave it emptied (0 examples).
    ///
    /// ```
    /// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
    /// use adasample::storage::Heap;
    /// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5))?;
    /// s.reset(AdaptiveConfig { mode: AdaptiveMode::Ohem, ..AdaptiveConfig::new(10, 1.0) })?;
    /// s.update_weights(&[7], &[5.0])?;
    /// let (hard, w) = s.sample(1)?;
    /// assert_eq!(w, vec![1.0]); // OHEM: no importance weights
    /// assert!(hard[0] < 10);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn reset(&mut self, config: AdaptiveConfig) -> Result<()> {
        config.validate()?;
        let n = config.dataset_size;
        check_fits::<S>(n)?;
        SumTree::<S>::check_capacity(n)?;
        #[cfg(feature = "prior")]
        self.prior.clear();
        let ready =
            self.tree.reset(n).and_then(|()| refill(&mut self.scores, n, config.initial_score)).and_then(|()| {
                refill(&mut self.perm, n, 0)?;
                for (i, p) in self.perm.as_mut().iter_mut().enumerate() {
                    *p = i as u32;
                }
                Ok(())
            });
        if let Err(e) = ready {
            // 0 examples, in place: `*self = EMPTY` would need a stack copy.
            self.tree.make_empty();
            self.scores.clear();
            self.perm.clear();
            self.config.dataset_size = 0;
            return Err(e);
        }
        let mass = crate::math::pow(config.initial_score, config.alpha);
        self.tree.leaves_mut().fill(mass);
        self.tree.rebuild();
        self.config = config;
        self.rng = DefaultRng::new(config.seed);
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &AdaptiveConfig {
        &self.config
    }

    /// The scores `s_i`, in example order.
    pub fn scores(&self) -> &[f64] {
        self.scores.as_ref()
    }

    /// `P_i` of example `i` for EMA and AdaBoost; for OHEM the candidate pool's
    /// uniform `1/N` (OHEM's top-B selection has no closed form).
    pub fn probability(&self, i: usize) -> Result<f64> {
        self.tree.check_index(i)?;
        Ok(self.probability_of(i))
    }

    fn probability_of(&self, i: usize) -> f64 {
        // OHEM never has a prior: `set_prior` refuses it, `reset` clears it.
        #[cfg(feature = "prior")]
        if self.prior.is_set() {
            return self.prior.probability(i, self.config.uniform_floor);
        }
        self.mixture_probability(self.tree.leaves()[i])
    }

    /// Writes `P_i` of every example into `out` (length N).
    ///
    /// ```
    /// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
    /// use adasample::storage::Heap;
    /// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5))?;
    /// s.update_weights(&[0], &[7.0])?; // score 4, the others 1
    /// let mut p = [0.0; 4];
    /// s.probabilities_into(&mut p)?;
    /// assert!((p[0] - (0.9 * 4.0 / 7.0 + 0.1 / 4.0)).abs() < 1e-15);
    /// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn probabilities_into(&self, out: &mut [f64]) -> Result<()> {
        check_len(self.config.dataset_size, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.probability_of(i);
        }
        Ok(())
    }

    /// Samples a batch of `indices.len()` examples with the sampler's own
    /// generator; see [`sample_with`](Self::sample_with).
    pub fn sample_into(&mut self, indices: &mut [usize], weights: &mut [f64]) -> Result<()> {
        commit_on_ok(self, |s| &mut s.rng, |s, rng| s.sample_with(rng, indices, weights))
    }

    /// Samples a batch of `indices.len()` examples using `rng`, writing their
    /// importance weights into `weights`. Errors, with nothing changed:
    /// [`Error::LengthMismatch`]; [`Error::NotConfigured`] on `EMPTY`; OHEM:
    /// [`Error::BatchTooLarge`] when the batch exceeds N.
    pub fn sample_with<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        indices: &mut [usize],
        weights: &mut [f64],
    ) -> Result<()> {
        check_len(indices.len(), weights.len())?;
        self.check_batch(indices.len())?;
        let n = self.config.dataset_size;
        if self.config.mode == AdaptiveMode::Ohem {
            self.ohem(rng, indices, weights);
            return Ok(());
        }
        #[cfg(feature = "prior")]
        if self.prior.is_set() {
            return self.sample_with_prior(rng, indices, weights);
        }
        let total = self.tree.total();
        // Every score 0: uniform, whatever the floor.
        let gamma = if total > 0.0 { self.config.uniform_floor } else { 1.0 };
        let segments = indices.len();
        for (j, idx) in indices.iter_mut().enumerate() {
            // In [0, 1], but 1.0 itself after rounding at the last stratum.
            let v = unit_stratum(rng, j, segments);
            *idx = match share(v, gamma) {
                Share::Floor(f) => floor_index(f, n),
                // Onto [0, total) of the score tree (total > 0 here).
                Share::Scored(f) => self.tree.find(clamp_below(f * total, total))?,
            };
        }
        let ln_p_min = libm::log(self.min_probability());
        for (w, &i) in weights.iter_mut().zip(indices.iter()) {
            *w = is_weight(ln_p_min, self.mixture_probability(self.tree.leaves()[i]), self.config.beta);
        }
        Ok(())
    }

    /// What would make a batch of `n` fail whatever the memory:
    /// [`Error::NotConfigured`], or (OHEM) [`Error::BatchTooLarge`]. For
    /// adapters that allocate the batch's buffers themselves.
    pub fn check_batch(&self, n: usize) -> Result<()> {
        let size = self.config.dataset_size;
        if size == 0 {
            // `EMPTY`, or a failed `reset`.
            return Err(Error::NotConfigured);
        }
        if self.config.mode == AdaptiveMode::Ohem && n > size {
            return Err(Error::BatchTooLarge { requested: n, available: size });
        }
        Ok(())
    }

    /// This shard's part of a global batch over shards ([`crate::shard::AdaptivePlan`]).
    /// Errors: [`Error::NotConfigured`]; [`Error::InvalidConfig`] naming
    /// `mode` for OHEM (its pool is local).
    pub fn shard_summary(&self) -> Result<crate::shard::AdaptiveShard> {
        self.check_batch(0)?;
        ensure(self.config.mode != AdaptiveMode::Ohem, "mode", "Ema or AdaBoost over shards")?;
        #[cfg(feature = "prior")]
        let prior = self.prior.is_set().then(|| crate::shard::PriorShard {
            total: self.prior.q.total(),
            min: self.prior.q.min().unwrap_or(0.0),
            mass: self.prior.mass.total(),
            mass_min: self.prior.mass.min(),
            mass_nonzero: self.prior.mass.nonzero(),
            target: self.config.target,
        });
        #[cfg(not(feature = "prior"))]
        let prior = None;
        Ok(crate::shard::AdaptiveShard {
            examples: self.config.dataset_size,
            total: self.tree.total(),
            min: self.tree.min(),
            nonzero: self.tree.nonzero(),
            uniform_floor: self.config.uniform_floor,
            prior,
        })
    }

    /// The local example of a global point that landed in this shard, with
    /// its score mass `s^alpha` and prior (for
    /// [`AdaptivePlan::weight`](crate::shard::AdaptivePlan::weight)).
    /// Errors: [`Error::IndexOutOfRange`] for a floor index past the shard,
    /// [`Error::InvalidArgument`] (or [`Error::Empty`]) for a residual outside
    /// the tree's total, and [`Error::InvalidConfig`] naming `prior` for a
    /// point of a plan with a prior on a shard without one, or the reverse:
    /// a point drawn from another plan.
    pub fn resolve(&self, point: crate::shard::AdaptivePoint) -> Result<crate::shard::ShardDraw> {
        use crate::shard::AdaptivePoint;
        #[cfg(feature = "prior")]
        let with_prior = self.prior.is_set();
        #[cfg(not(feature = "prior"))]
        let with_prior = false;
        let index = match point {
            AdaptivePoint::Floor { index, .. } => {
                ensure(!with_prior, "prior", "a floor point of a plan without a prior")?;
                self.tree.check_index(index)?;
                index
            }
            #[cfg(feature = "prior")]
            AdaptivePoint::Scored { residual, .. } if with_prior => self.prior.mass.find(residual)?,
            AdaptivePoint::Scored { residual, .. } => self.tree.find(residual)?,
            #[cfg(feature = "prior")]
            AdaptivePoint::PriorFloor { residual, .. } if with_prior => self.prior.q.find(residual)?,
            AdaptivePoint::PriorFloor { .. } => {
                return Err(Error::InvalidConfig {
                    field: "prior",
                    expected: "set, for a point of a plan with a prior",
                })
            }
        };
        #[cfg(feature = "prior")]
        let prior = if with_prior { self.prior.q.leaves()[index] } else { 1.0 };
        #[cfg(not(feature = "prior"))]
        let prior = 1.0;
        Ok(crate::shard::ShardDraw { index, mass: self.tree.leaves()[index], prior })
    }

    /// The seed's `sample(batch_size) -> (indices, importance_weights)` (feature `alloc`).
    /// Errors as [`sample_with`](Self::sample_with), checked before anything
    /// is allocated, then [`Error::AllocationFailed`] (never an abort).
    ///
    /// ```
    /// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
    /// use adasample::{storage::Heap, Error};
    /// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(8, 0.1))?;
    /// assert!(matches!(s.sample(usize::MAX), Err(Error::AllocationFailed { .. })));
    /// s.reset(AdaptiveConfig { mode: AdaptiveMode::Ohem, ..AdaptiveConfig::new(8, 0.1) })?;
    /// assert!(matches!(s.sample(usize::MAX), Err(Error::BatchTooLarge { .. })));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn sample(&mut self, batch_size: usize) -> Result<(alloc::vec::Vec<usize>, alloc::vec::Vec<f64>)> {
        self.check_batch(batch_size)?;
        crate::storage::vec_batch(batch_size, |i, w| self.sample_into(i, w))
    }

    /// Feeds back the losses of a batch. Losses must be finite, `>= 0` and at
    /// most [`MAX_PRIORITY`](crate::MAX_PRIORITY). Errors, with nothing changed:
    /// [`Error::LengthMismatch`], [`Error::IndexOutOfRange`],
    /// [`Error::InvalidArgument`] naming `loss`, [`Error::ValueTooLarge`].
    ///
    /// ```
    /// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
    /// use adasample::storage::Heap;
    /// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(AdaptiveConfig::new(4, 0.5))?;
    /// s.update_weights(&[0, 1], &[3.0, 0.0])?;
    /// assert_eq!(s.scores(), &[2.0, 0.5, 1.0, 1.0]); // (1 - 0.5) * 1 + 0.5 * loss
    /// assert!(s.update_weights(&[2], &[-1.0]).is_err()); // losses are >= 0
    /// assert_eq!(s.scores()[2], 1.0);
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn update_weights(&mut self, indices: &[usize], losses: &[f64]) -> Result<()> {
        self.check_losses(indices, losses)?;
        // Finite: B losses of at most MAX_PRIORITY = f64::MAX / 2^40 sum to
        // at most f64::MAX for any B below 2^40 (more than memory holds).
        let mean = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
        self.apply_losses(indices, losses, mean);
        Ok(())
    }

    /// [`update_weights`](Self::update_weights) for one shard's part of a
    /// global batch ([`crate::shard::AdaptivePlan`]): AdaBoost's update then
    /// uses `batch_mean`, the mean loss of the whole global batch (an
    /// all-reduce of the shards' loss sums over the batch size), not of this
    /// shard's draws; EMA and OHEM ignore it. Errors: as `update_weights`,
    /// and [`Error::InvalidArgument`] naming `batch mean` for a mean that is
    /// not finite or is negative, [`Error::ValueTooLarge`] above
    /// [`MAX_PRIORITY`](crate::MAX_PRIORITY); nothing is changed.
    ///
    /// ```
    /// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
    /// use adasample::storage::Heap;
    /// let config = AdaptiveConfig { mode: AdaptiveMode::AdaBoost, ..AdaptiveConfig::new(4, 1.0) };
    /// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(config)?;
    /// // This shard drew example 0 (loss 2); the global batch's mean loss was 2 too.
    /// s.update_weights_with_mean(&[0], &[2.0], 2.0)?;
    /// assert_eq!(s.scores()[0], 1.0); // at the global mean: unchanged
    /// assert!(s.update_weights_with_mean(&[0], &[2.0], f64::NAN).is_err());
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn update_weights_with_mean(&mut self, indices: &[usize], losses: &[f64], batch_mean: f64) -> Result<()> {
        self.check_losses(indices, losses)?;
        if !(batch_mean.is_finite() && batch_mean >= 0.0) {
            return Err(Error::InvalidArgument { name: "batch mean", position: 0, value: batch_mean });
        }
        if crate::error::above_max(batch_mean) {
            return Err(Error::ValueTooLarge { name: "batch mean", position: 0, value: batch_mean });
        }
        self.apply_losses(indices, losses, batch_mean);
        Ok(())
    }

    /// What `update_weights` refuses.
    fn check_losses(&self, indices: &[usize], losses: &[f64]) -> Result<()> {
        check_len(indices.len(), losses.len())?;
        for (k, (&i, &loss)) in indices.iter().zip(losses).enumerate() {
            self.tree.check_index(i)?;
            if !(loss.is_finite() && loss >= 0.0) {
                return Err(Error::InvalidArgument { name: "loss", position: k, value: loss });
            }
            if crate::error::above_max(loss) {
                return Err(Error::ValueTooLarge { name: "loss", position: k, value: loss });
            }
        }
        Ok(())
    }

    /// The checked losses into the scores and trees.
    fn apply_losses(&mut self, indices: &[usize], losses: &[f64], mean: f64) {
        let c = self.config;
        for (&i, &loss) in indices.iter().zip(losses) {
            let s = self.scores.as_ref()[i];
            let s = match c.mode {
                AdaptiveMode::Ema | AdaptiveMode::Ohem => (1.0 - c.learning_rate) * s + c.learning_rate * loss,
                AdaptiveMode::AdaBoost => {
                    // In log space, so a large loss gap clips instead of overflowing.
                    let log_s = libm::log(s) + c.learning_rate * (loss - mean);
                    // max/min, not clamp: clamp's panic path drags in float formatting.
                    let log_s = log_s.max(libm::log(c.min_score)).min(libm::log(c.max_score));
                    libm::exp(log_s).max(c.min_score).min(c.max_score)
                }
            };
            self.scores.as_mut()[i] = s;
            let t = crate::math::pow(s, c.alpha);
            self.tree.write(i, t);
            #[cfg(feature = "prior")]
            if self.prior.is_set() {
                self.prior.write_t(i, t);
            }
        }
    }
}

/// A per-example prior `q_i` in `(0, 1]` (feature `prior`, on by default):
/// `P_i = (1 - gamma) q_i s_i^alpha / sum_k q_k s_k^alpha + gamma q_i / sum q`,
/// and the importance weights correct toward [`AdaptiveConfig::target`].
/// See [`crate::prior`]'s notes for the costs and the numerics.
///
/// Class-balanced sampling with loss feedback, weights toward the balanced
/// objective:
/// ```
/// use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, WeightTarget};
/// use adasample::storage::Heap;
/// let labels = [0, 0, 0, 1]; // class 1 is rare
/// let count = |c| labels.iter().filter(|&&l| l == c).count() as f64;
/// let prior: Vec<f64> = labels.iter().map(|&c| count(0).min(count(1)) / count(c)).collect();
/// let config = AdaptiveConfig { target: WeightTarget::Prior, ..AdaptiveConfig::new(4, 0.1) };
/// let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::with_prior(config, &prior)?;
/// let p = s.probability(3)?;
/// assert!((p - 0.5).abs() < 1e-12); // the rare example is half of every batch
/// let (indices, weights) = s.sample(8)?;
/// assert_eq!(weights, vec![1.0; 8]); // equal scores: P is the prior itself
/// s.update_weights(&indices, &vec![0.5; 8])?;
/// s.update_prior(&[3], &[0.5])?; // priors can change while training
/// # Ok::<(), adasample::Error>(())
/// ```
#[cfg(feature = "prior")]
impl<S: Storage> AdaptiveBatchSampler<S> {
    /// [`new`](Self::new), then [`set_prior`](Self::set_prior).
    pub fn with_prior(config: AdaptiveConfig, prior: &[f64]) -> Result<Self> {
        let mut s = Self::new(config)?;
        s.set_prior(prior)?;
        Ok(s)
    }

    /// Sets every example's prior, O(N). Errors, with nothing changed:
    /// [`Error::NotConfigured`]; [`Error::InvalidConfig`] naming `mode` for
    /// OHEM (its pool is uniform); [`Error::LengthMismatch`] (one value per
    /// example); [`Error::InvalidArgument`] naming `prior` for a value
    /// outside `(0, 1]`. The first prior allocates two trees; if that fails
    /// ([`Error::AllocationFailed`]) the sampler has no prior, as before.
    pub fn set_prior(&mut self, prior: &[f64]) -> Result<()> {
        self.check_prior_allowed()?;
        check_len(self.config.dataset_size, prior.len())?;
        crate::prior::check_values(prior)?;
        self.prior.set(Some(prior), self.tree.leaves())
    }

    /// Sets the prior of some examples, O(B log N) (later entries win); a
    /// sampler without a prior starts from `q_i = 1` for all, the same
    /// distribution. Errors as [`set_prior`](Self::set_prior), plus
    /// [`Error::IndexOutOfRange`], all checked before anything changes.
    pub fn update_prior(&mut self, indices: &[usize], values: &[f64]) -> Result<()> {
        self.check_prior_allowed()?;
        check_len(indices.len(), values.len())?;
        for &i in indices {
            self.tree.check_index(i)?;
        }
        crate::prior::check_values(values)?;
        if !self.prior.is_set() {
            self.prior.set(None, self.tree.leaves())?;
        }
        for (&i, &q) in indices.iter().zip(values) {
            self.prior.write_q(i, q, self.tree.leaves()[i]);
        }
        Ok(())
    }

    /// Removes the prior: the sampler draws as one that never had one.
    pub fn clear_prior(&mut self) {
        self.prior.clear();
    }

    /// The prior `q_i` in example order, `None` when none is set.
    pub fn prior(&self) -> Option<&[f64]> {
        if self.prior.is_set() {
            Some(self.prior.q.leaves())
        } else {
            None
        }
    }

    fn check_prior_allowed(&self) -> Result<()> {
        if self.config.dataset_size == 0 {
            return Err(Error::NotConfigured);
        }
        ensure(self.config.mode != AdaptiveMode::Ohem, "mode", "Ema or AdaBoost with a prior (OHEM's pool is uniform)")
    }

    fn sample_with_prior<R: RngCore + ?Sized>(
        &mut self,
        rng: &mut R,
        indices: &mut [usize],
        weights: &mut [f64],
    ) -> Result<()> {
        let gamma = self.prior.floor(self.config.uniform_floor);
        let segments = indices.len();
        for (j, idx) in indices.iter_mut().enumerate() {
            let v = unit_stratum(rng, j, segments);
            *idx = self.prior.find(v, gamma)?;
        }
        self.prior.weights(indices, weights, &self.tree, &self.config);
        Ok(())
    }
}

impl<S: Storage> AdaptiveBatchSampler<S> {
    fn mixture_probability(&self, t: f64) -> f64 {
        let c = &self.config;
        mixture(t, self.tree.total(), c.dataset_size as f64, c.uniform_floor, c.mode == AdaptiveMode::Ohem)
    }

    /// The smallest `P_j` over examples that can be drawn.
    fn min_probability(&self) -> f64 {
        let all_nonzero = self.tree.nonzero() == self.config.dataset_size;
        self.mixture_probability(drawable_min(self.tree.min(), all_nonzero, self.config.uniform_floor))
    }

    fn ohem<R: RngCore + ?Sized>(&mut self, rng: &mut R, indices: &mut [usize], weights: &mut [f64]) {
        let n = self.config.dataset_size;
        let pool = indices.len().saturating_mul(self.config.pool_factor).min(n);
        let perm = self.perm.as_mut();
        for k in 0..pool {
            let j = k + below(rng, n - k);
            perm.swap(k, j);
        }
        let scores = self.scores.as_ref();
        let b = indices.len();
        let candidates = &mut perm[..pool];
        // Top-B selection with a heap whose root is the easiest kept
        // candidate, then a heapsort: O(pool log B), no allocation, and a few
        // hundred bytes of code where a general sort costs kilobytes on a
        // microcontroller. The order is total, so the result is unique.
        let heap = &mut candidates[..b];
        for i in (0..b / 2).rev() {
            sift_down(heap, i, scores);
        }
        for k in b..pool {
            if harder(scores, candidates[k], candidates[0]) {
                candidates.swap(0, k);
                sift_down(&mut candidates[..b], 0, scores);
            }
        }
        for end in (1..b).rev() {
            candidates.swap(0, end);
            sift_down(&mut candidates[..end], 0, scores);
        }
        // Now hardest first.
        for (k, (idx, w)) in indices.iter_mut().zip(weights.iter_mut()).enumerate() {
            *idx = candidates[k] as usize;
            *w = 1.0;
        }
    }
}

/// Where a point `v` of `[0, 1]` falls in the mixture laid out as the
/// floor's `[0, gamma)` then the scores' `[gamma, 1]`: the share, and the
/// point's position in `[0, 1]` within it.
pub(crate) enum Share {
    Floor(f64),
    Scored(f64),
}

/// The share of `v` (a `gamma` of 1 is all floor, `v == 1.0` included).
#[inline(always)]
pub(crate) fn share(v: f64, gamma: f64) -> Share {
    if v < gamma || gamma == 1.0 {
        Share::Floor(v / gamma)
    } else {
        Share::Scored((v - gamma) / (1.0 - gamma))
    }
}

/// The example at position `f` of `[0, 1]` of the uniform floor over `n`.
#[inline(always)]
pub(crate) fn floor_index(f: f64, n: usize) -> usize {
    ((f * n as f64) as usize).min(n - 1)
}

/// Stratum `j` of `segments` equal strata of `[0, 1]`, one uniform point in it.
#[inline(always)]
pub(crate) fn unit_stratum<R: RngCore + ?Sized>(rng: &mut R, j: usize, segments: usize) -> f64 {
    (j as f64 + unit_f64(rng)) / segments as f64
}

/// `P = (1 - gamma) t / total + gamma / n` of a score mass `t`, or `1 / n`
/// when nothing is scored (`total` 0) or the draw is uniform (OHEM's pool).
/// The sampler's and a sharded batch's ([`crate::shard`]) one formula.
#[inline(always)]
pub(crate) fn mixture(t: f64, total: f64, n: f64, gamma: f64, uniform: bool) -> f64 {
    if uniform || not_above(total, 0.0) {
        return 1.0 / n;
    }
    (1.0 - gamma) * (t / total) + gamma / n
}

/// The smallest score mass among examples that can be drawn: the smallest
/// non-zero one when every example has mass or there is no floor, else 0
/// (a massless example is drawn by the floor).
#[inline(always)]
pub(crate) fn drawable_min(min: Option<f64>, all_nonzero: bool, gamma: f64) -> f64 {
    match min {
        Some(m) if all_nonzero || gamma == 0.0 => m,
        _ => 0.0,
    }
}

/// Example `a` is harder than `b`: a higher score, ties by lower index
/// (scores are finite, so this is a total order). Scores are compared as bit
/// patterns, which order non-negative floats as their values do (integer
/// comparisons, where a float one is a library call on targets without an
/// `f64` unit). That holds because no score is ever `-0.0`: a restored one
/// is read as `0.0` (`snapshot::check_leaves`), the initial score is `> 0`,
/// AdaBoost's are `>= min_score > 0`, and an EMA step `(1 - lr) s + lr l`
/// with `s >= +0` is `+0` at worst (`+0 + -0 == +0`). The test
/// `restored_state_is_validated` pins the restored case.
fn harder(scores: &[f64], a: u32, b: u32) -> bool {
    let (sa, sb) = (scores[a as usize].to_bits(), scores[b as usize].to_bits());
    sa > sb || (sa == sb && a < b)
}

/// Restores the heap property below `i`: every parent easier than its children.
fn sift_down(heap: &mut [u32], mut i: usize, scores: &[f64]) {
    loop {
        let mut m = i;
        for child in [2 * i + 1, 2 * i + 2] {
            if child < heap.len() && harder(scores, heap[m], heap[child]) {
                m = child;
            }
        }
        if m == i {
            return;
        }
        heap.swap(i, m);
        i = m;
    }
}
