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
        for (position, &value) in totals.iter().enumerate() {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::InvalidArgument { name: "shard total", position, value });
            }
        }
        crate::error::ensure(!totals.is_empty(), "shards", "at least 1")?;
        let mut tree = SumTree::new(totals.len())?;
        for (leaf, &t) in tree.leaves_mut().iter_mut().zip(totals) {
            // -0.0 is 0.0: leaves are compared as bit patterns elsewhere.
            *leaf = t + 0.0;
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
