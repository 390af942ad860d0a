//! Exact global prioritized sampling over shards: the math, no transport.
//!
//! A buffer split over S shards (processes, hosts) is sampled as if it were
//! one, from the S shard totals alone. Every rank builds the same
//! [`ShardPlan`] from the same totals, and draws the same global stratified
//! points `u_j = (j + U_j) * T / B` from a generator seeded alike on every
//! rank; a point's [`ShardPoint`] names the shard it lands in and its
//! residual inside that shard, which the shard resolves with its own
//! [`SumTree::find`](crate::tree::SumTree::find). The probability of a draw is
//! `p / T` and its weight `(p_min / p)^beta` with the *global* minimum
//! ([`global_weight`]): gathering S totals and one minimum is all a step
//! needs (an all-gather of S floats and an all-reduce of one).
//!
//! For S a power of two and shards of equal power-of-two capacity, the plan's
//! small tree is exactly the top of the one big tree over the concatenation
//! (parents are recomputed from their children in the same order), so the
//! union of the shards' draws equals that single tree's draws, bit for bit
//! (`tests/shard.rs`). For other shapes the draws follow the same global
//! distribution (a chi-square test there); the plan's sums are then grouped
//! differently from one big tree's, so individual draws can differ at rounding
//! boundaries.
//!
//! [`AdaptivePlan`] does the same for the loss-driven sampler (EMA or
//! AdaBoost, with or without a prior): from each shard's
//! [`shard_summary`](crate::adaptive::AdaptiveBatchSampler::shard_summary)
//! (its example count, score total, smallest score and floor; with a prior,
//! its `sum q`, `sum q t` and their minima) it draws the floor's share by
//! global example index (with a prior, by the shards' `sum q`) and the
//! scores' share by the shards' score totals (`sum q t`), and each shard
//! [`resolve`](crate::adaptive::AdaptiveBatchSampler::resolve)s its points;
//! for equal power-of-two shards the draws and weights are one sampler's
//! over the concatenation, bit for bit. AdaBoost's update uses the batch's
//! mean loss: over shards, that mean must be the global batch's, given to
//! [`update_weights_with_mean`](crate::adaptive::AdaptiveBatchSampler::update_weights_with_mean).
//!
//! # Cost
//! A plan: O(S) to build, O(B log S) to draw B points; a shard resolves its
//! points in O(log n) each. Memory: the plan's tree over S totals.
//!
//! # Numerics
//! Totals must be finite and `>= 0`; their sum must be finite
//! ([`Error::ResultOverflow`] otherwise). A shard of total 0 is never landed
//! in. Every rank given the same totals computes the same result, error
//! included, so a collective that follows is entered by all of them or by none.
//!
//! ```
//! use adasample::shard::{global_weight, ShardPlan, ShardPoint};
//! use adasample::storage::Heap;
//! use adasample::tree::SumTree;
//! use adasample::DefaultRng;
//!
//! // Two shards (two ranks), each a tree over its own priorities.
//! let mut shards: Vec<SumTree<Heap>> = vec![SumTree::new(2)?, SumTree::new(2)?];
//! shards[0].set_many(&[0, 1], &[1.0, 3.0])?;
//! shards[1].set_many(&[0, 1], &[0.5, 0.5])?;
//! // What the ranks exchange: the totals and the minimum.
//! let totals: Vec<f64> = shards.iter().map(|t| t.total()).collect();
//! let p_min = shards.iter().filter_map(|t| t.min()).fold(f64::INFINITY, f64::min);
//! let plan: ShardPlan<Heap> = ShardPlan::new(&totals)?;
//! let mut points = [ShardPoint::default(); 4];
//! plan.draw(&mut DefaultRng::new(7), &mut points)?; // the same seed on every rank
//! for pt in points {
//!     let slot = shards[pt.shard].find(pt.residual)?; // on the rank that holds shard `pt.shard`
//!     let p = shards[pt.shard].get(slot)?;
//!     let w = global_weight(p_min, p, 0.4);
//!     assert!(w > 0.0 && w <= 1.0);
//! }
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::storage::Storage;
use crate::tree::SumTree;
use rand_core::RngCore;

/// Where a global point lands: the shard, and the point's residual inside it
/// (`0 <= residual < that shard's total`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ShardPoint {
    /// The shard's index in the totals.
    pub shard: usize,
    /// The point within the shard, for the shard's own `SumTree::find`.
    pub residual: f64,
}

/// The global sampling plan: a small sum tree over the shard totals.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan<S: Storage> {
    tree: SumTree<S>,
}

impl<S: Storage> ShardPlan<S> {
    /// A plan over `totals` (one per shard, at least one). Errors:
    /// [`Error::InvalidConfig`] for no shards, [`Error::InvalidArgument`]
    /// naming `shard total` for a NaN, infinite or negative total,
    /// [`Error::ResultOverflow`] when their sum is not finite,
    /// [`Error::StorageTooSmall`] / [`Error::AllocationFailed`] for the tree.
    pub fn new(totals: &[f64]) -> Result<Self> {
        Self::build(totals.len(), |i| totals[i])
    }

    /// A plan over `len` totals, `total(i)` each; checked as [`new`](Self::new).
    fn build(len: usize, total: impl Fn(usize) -> f64) -> Result<Self> {
        for position in 0..len {
            let value = total(position);
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidArgument { name: "shard total", position, value });
            }
        }
        crate::error::ensure(len > 0, "shards", "at least 1")?;
        let mut tree = SumTree::new(len)?;
        for (i, leaf) in tree.leaves_mut().iter_mut().enumerate() {
            // -0.0 is 0.0: leaves are compared as bit patterns elsewhere.
            *leaf = total(i) + 0.0;
        }
        tree.rebuild();
        if !tree.total().is_finite() {
            return Err(Error::ResultOverflow { name: "global total" });
        }
        Ok(ShardPlan { tree })
    }

    /// The global total `T`, the sum of the shard totals in the tree's order.
    pub fn total(&self) -> f64 {
        self.tree.total()
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.tree.capacity()
    }

    /// Draws `out.len()` stratified global points with `rng` (seeded alike
    /// on every rank), in order: segment `j` of `B` equal segments of `T`.
    /// Errors: [`Error::Empty`] when every total is 0 (nothing written).
    pub fn draw<R: RngCore + ?Sized>(&self, rng: &mut R, out: &mut [ShardPoint]) -> Result<()> {
        let total = self.tree.total();
        // Finite and >= 0 by construction: 0 is the only empty case.
        if total == 0.0 {
            return Err(Error::Empty);
        }
        // As `SumTree::draw_segments` does, one point at a time (the plan's
        // tree is small: no cache misses to overlap).
        let width = total / out.len() as f64;
        for (j, pt) in out.iter_mut().enumerate() {
            let (shard, residual) = self.tree.descend_residual(crate::tree::stratum_point(rng, j, width, total));
            *pt = ShardPoint { shard, residual };
        }
        Ok(())
    }
}

/// The importance weight of a draw of stored priority `p` under the global
/// minimum `p_min` (the smallest non-zero priority over every shard):
/// `(p_min / p)^beta = (N P(i))^-beta / max_j (N P(j))^-beta`, from logs as
/// the single buffer computes it, so the same inputs give the same bits.
pub fn global_weight(p_min: f64, p: f64, beta: f64) -> f64 {
    crate::per::is_weight(libm::log(p_min), p, beta)
}

/// What one shard of a loss-driven sampler tells the others
/// ([`AdaptiveBatchSampler::shard_summary`](crate::adaptive::AdaptiveBatchSampler::shard_summary)).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AdaptiveShard {
    /// Its examples.
    pub examples: usize,
    /// The sum of its score masses `s^alpha`.
    pub total: f64,
    /// Its smallest non-zero score mass.
    pub min: Option<f64>,
    /// How many of its examples have a non-zero score mass.
    pub nonzero: usize,
    /// Its uniform floor `gamma` (the same on every shard).
    pub uniform_floor: f64,
    /// Its prior's sums, when it has one (every shard, or none).
    pub prior: Option<PriorShard>,
}

/// What one shard of a sampler with a prior adds to its summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorShard {
    /// Its `sum q`.
    pub total: f64,
    /// Its smallest `q`.
    pub min: f64,
    /// Its `sum q t` (`t = s^alpha`).
    pub mass: f64,
    /// Its smallest non-zero `q t`.
    pub mass_min: Option<f64>,
    /// How many of its examples have a non-zero `q t`.
    pub mass_nonzero: usize,
    /// What its weights correct toward (the same on every shard).
    pub target: crate::adaptive::WeightTarget,
}

/// A drawn example as its shard resolves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShardDraw {
    /// The example's index in the shard.
    pub index: usize,
    /// Its score mass `t = s^alpha`.
    pub mass: f64,
    /// Its prior `q` (1 without a prior).
    pub prior: f64,
}

/// Where a global adaptive point lands: the shard, and in it an example of
/// the floor's share (its local index) or a residual of the scored share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AdaptivePoint {
    /// Drawn by the uniform floor.
    Floor {
        /// The shard.
        shard: usize,
        /// The example's index in the shard.
        index: usize,
    },
    /// Drawn by score.
    Scored {
        /// The shard.
        shard: usize,
        /// The point in the shard's score tree (with a prior, its `q t`
        /// tree), `0 <= residual < its total`.
        residual: f64,
    },
    /// Drawn by the floor of a prior: in proportion to `q`.
    PriorFloor {
        /// The shard.
        shard: usize,
        /// The point in the shard's prior tree, `0 <= residual < sum q`.
        residual: f64,
    },
}

impl Default for AdaptivePoint {
    fn default() -> Self {
        AdaptivePoint::Floor { shard: 0, index: 0 }
    }
}

impl AdaptivePoint {
    /// The shard the point lands in.
    pub fn shard(&self) -> usize {
        match *self {
            AdaptivePoint::Floor { shard, .. }
            | AdaptivePoint::Scored { shard, .. }
            | AdaptivePoint::PriorFloor { shard, .. } => shard,
        }
    }
}

/// A global batch of a loss-driven sampler (EMA or AdaBoost, with or
/// without a prior) over shards: `P_i = (1 - gamma) t_i / T + gamma / N`
/// with the global `T` and `N` (with a prior, `(1 - gamma) q_i t_i / M +
/// gamma q_i / Q` with the global `M` and `Q`), drawn exactly as one
/// sampler over the concatenation draws (bit for bit for equal
/// power-of-two shards), weights normalised as that one sampler does, by
/// the global minima.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptivePlan<S: Storage> {
    /// Over the shards' score totals (with a prior, their `sum q t`).
    scored: ShardPlan<S>,
    /// Over their example counts (with a prior, their `sum q`).
    counts: ShardPlan<S>,
    examples: usize,
    gamma: f64,
    /// `ln` of the smallest `P` that can be drawn (without a prior; with
    /// one, the prior's sums hold the normalisers).
    ln_p_min: f64,
    #[cfg(feature = "prior")]
    prior: Option<(crate::prior::Sums, crate::adaptive::WeightTarget)>,
}

impl<S: Storage> AdaptivePlan<S> {
    /// A plan over every shard's summary. Errors: as [`ShardPlan::new`];
    /// [`Error::InvalidConfig`] naming `uniform_floor` when the shards'
    /// floors differ, `examples` when a shard has none or all of them
    /// together exceed 2^32 - 1, `prior` when some shards have a prior and
    /// others none (or without the `prior` feature), `target` when their
    /// targets differ.
    pub fn new(shards: &[AdaptiveShard]) -> Result<Self> {
        let gamma = shards.first().map_or(0.0, |s| s.uniform_floor);
        let with_prior = shards.first().is_some_and(|s| s.prior.is_some());
        let mut examples = 0usize;
        let (mut nonzero, mut min) = (0usize, f64::INFINITY);
        for s in shards {
            crate::error::ensure(
                s.uniform_floor.to_bits() == gamma.to_bits(),
                "uniform_floor",
                "the same on every shard",
            )?;
            crate::error::ensure(s.examples >= 1, "examples", "at least 1 on every shard")?;
            crate::error::ensure(s.prior.is_some() == with_prior, "prior", "on every shard or on none")?;
            examples = examples.saturating_add(s.examples);
            nonzero = nonzero.saturating_add(s.nonzero);
            if let Some(m) = s.min {
                min = min.min(m);
            }
        }
        crate::error::ensure(examples <= u32::MAX as usize, "examples", "at most 2^32 - 1 over all shards")?;
        if with_prior {
            return Self::with_prior(shards, examples, nonzero, min, gamma);
        }
        let scored = ShardPlan::build(shards.len(), |i| shards[i].total)?;
        let counts = ShardPlan::build(shards.len(), |i| shards[i].examples as f64)?;
        let min = crate::adaptive::drawable_min(min.is_finite().then_some(min), nonzero == examples, gamma);
        let mut plan = AdaptivePlan {
            scored,
            counts,
            examples,
            gamma,
            ln_p_min: 0.0,
            #[cfg(feature = "prior")]
            prior: None,
        };
        plan.ln_p_min = libm::log(plan.probability(&ShardDraw { index: 0, mass: min, prior: 1.0 }));
        Ok(plan)
    }

    #[cfg(feature = "prior")]
    fn with_prior(shards: &[AdaptiveShard], examples: usize, nonzero: usize, min: f64, gamma: f64) -> Result<Self> {
        let p = |i: usize| shards[i].prior.unwrap_or(PriorShard::EMPTY);
        let target = p(0).target;
        let (mut q_min, mut mass_min, mut mass_nonzero) = (f64::INFINITY, f64::INFINITY, 0usize);
        for i in 0..shards.len() {
            crate::error::ensure(p(i).target == target, "target", "the same on every shard")?;
            q_min = q_min.min(p(i).min);
            mass_min = p(i).mass_min.map_or(mass_min, |m| mass_min.min(m));
            mass_nonzero = mass_nonzero.saturating_add(p(i).mass_nonzero);
        }
        let scored = ShardPlan::build(shards.len(), |i| p(i).mass)?;
        let counts = ShardPlan::build(shards.len(), |i| p(i).total)?;
        let sums = crate::prior::Sums::new(
            crate::prior::Totals { q: counts.total(), mass: scored.total(), examples },
            crate::prior::Minima {
                q: q_min,
                mass: mass_min.is_finite().then_some(mass_min),
                mass_nonzero,
                t: min.is_finite().then_some(min),
                t_nonzero: nonzero,
            },
            gamma,
        );
        Ok(AdaptivePlan { scored, counts, examples, gamma, ln_p_min: 0.0, prior: Some((sums, target)) })
    }

    #[cfg(not(feature = "prior"))]
    fn with_prior(_: &[AdaptiveShard], _: usize, _: usize, _: f64, _: f64) -> Result<Self> {
        Err(Error::InvalidConfig { field: "prior", expected: "the `prior` feature" })
    }

    /// Whether the shards have a prior.
    fn has_prior(&self) -> bool {
        #[cfg(feature = "prior")]
        return self.prior.is_some();
        #[cfg(not(feature = "prior"))]
        false
    }

    /// Draws `out.len()` global points with `rng` (seeded alike on every
    /// rank): stratum `j` of `[0, 1]` goes to the floor's share below
    /// `gamma`, to the scores' above it, as in
    /// [`AdaptiveBatchSampler::sample_with`](crate::adaptive::AdaptiveBatchSampler::sample_with).
    pub fn draw<R: RngCore + ?Sized>(&self, rng: &mut R, out: &mut [AdaptivePoint]) -> Result<()> {
        let total = self.scored.total();
        let gamma = if total > 0.0 { self.gamma } else { 1.0 };
        let (n, segments, prior) = (self.examples, out.len(), self.has_prior());
        let floor_total = self.counts.total();
        for (j, pt) in out.iter_mut().enumerate() {
            let v = crate::adaptive::unit_stratum(rng, j, segments);
            *pt = match crate::adaptive::share(v, gamma) {
                crate::adaptive::Share::Floor(f) if prior => {
                    let u = crate::tree::clamp_below(f * floor_total, floor_total);
                    let (shard, residual) = self.counts.tree.descend_residual(u);
                    AdaptivePoint::PriorFloor { shard, residual }
                }
                crate::adaptive::Share::Floor(f) => {
                    let global = crate::adaptive::floor_index(f, n);
                    // Integers below 2^32: the descent's subtractions are exact.
                    let (shard, local) = self.counts.tree.descend_residual(global as f64);
                    AdaptivePoint::Floor { shard, index: local as usize }
                }
                crate::adaptive::Share::Scored(f) => {
                    let (shard, residual) =
                        self.scored.tree.descend_residual(crate::tree::clamp_below(f * total, total));
                    AdaptivePoint::Scored { shard, residual }
                }
            };
        }
        Ok(())
    }

    /// `P` of a drawn example, with the global totals.
    pub fn probability(&self, d: &ShardDraw) -> f64 {
        #[cfg(feature = "prior")]
        if let Some((sums, _)) = &self.prior {
            return libm::exp(sums.ln_p(d.prior, d.prior * d.mass));
        }
        crate::adaptive::mixture(d.mass, self.scored.total(), self.examples as f64, self.gamma, false)
    }

    /// The importance weight of a drawn example, normalised over every
    /// shard as one sampler over the concatenation normalises it.
    pub fn weight(&self, d: &ShardDraw, beta: f64) -> f64 {
        #[cfg(feature = "prior")]
        if let Some((sums, target)) = &self.prior {
            return sums.weight(d.prior, d.prior * d.mass, d.mass, *target, beta);
        }
        crate::per::is_weight(self.ln_p_min, self.probability(d), beta)
    }
}

impl PriorShard {
    #[cfg(feature = "prior")]
    const EMPTY: Self = PriorShard {
        total: 0.0,
        min: 0.0,
        mass: 0.0,
        mass_min: None,
        mass_nonzero: 0,
        target: crate::adaptive::WeightTarget::Uniform,
    };
}
