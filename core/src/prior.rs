//! The adaptive sampler's per-example prior `q_i` (feature `prior`).
//!
//! With a prior, [`AdaptiveBatchSampler`](crate::adaptive::AdaptiveBatchSampler)
//! samples
//! `P_i = (1 - gamma) q_i t_i / M + gamma q_i / Q`, with `t_i = s_i^alpha`,
//! `M = sum_k q_k t_k` and `Q = sum_k q_k`: two sum trees, one over `q_i`
//! (the floor's draws, `Q`, `min q`) and one over `q_i t_i` (the scored
//! draws, `M`, `min q t`), beside the sampler's own tree over `t_i`.
//!
//! Importance weights, normalised by their largest value:
//! - target [`Prior`](crate::adaptive::WeightTarget::Prior), toward the
//!   re-balanced objective: `w_i ∝ (q_i / Q / P_i)^beta
//!   = ((1 - gamma) t_i Q / M + gamma)^-beta`, a function of `t_i` alone, so
//!   the largest weight is at `min t` and the normalisation is exact (but
//!   where a product `q_i t_i` underflows to 0, below).
//! - target [`Uniform`](crate::adaptive::WeightTarget::Uniform), toward the
//!   dataset's own objective: `w_i ∝ (N P_i)^-beta`. The smallest `P_j`
//!   is not held by any tree when the prior and the scores disagree, so the
//!   weights are normalised by the bound `P_min >= (1 - gamma) min(q t) / M +
//!   gamma min(q) / Q`: every weight is in `(0, 1]`, and the largest is exactly
//!   1 whenever one example has both the smallest `q t` and the smallest `q`
//!   (equal scores, as before any loss feedback; or `gamma = 0`, or `q`
//!   constant).
//!
//! # Numerics
//! Prior values are in `(0, 1]` (divide any positive weights by their
//! largest), so `Q <= 2^32` and `q_i t_i <= t_i`: no sum can overflow. A
//! product `q_i t_i` below the smallest subnormal is 0, and that example is
//! then drawn by the floor alone. Weights are computed from logarithms (a
//! `ln(a + b)` that never forms a sum that could leave the normal range), so
//! a weight is a normal float whenever its true value is.
//!
//! # Cost
//! Setting a whole prior O(N); one value O(log N); each loss update one more
//! tree write, O(log N); a batch two descents' worth, O(B log N). Memory:
//! about 48 more bytes per example, allocated only when a prior is set (on
//! the heap; `Fixed<N>` storage holds it inline whether it is used or not).

use crate::adaptive::{AdaptiveConfig, WeightTarget};
use crate::error::{Error, Result};
use crate::storage::Storage;
use crate::tree::SumTree;

/// The prior's two trees; both empty when no prior is set.
#[derive(Clone, PartialEq)]
pub(crate) struct Prior<S: Storage> {
    /// Leaves `q_i`.
    pub(crate) q: SumTree<S>,
    /// Leaves `q_i t_i`.
    pub(crate) mass: SumTree<S>,
}

/// Checks prior values: each finite and in `(0, 1]`.
pub(crate) fn check_values(values: &[f64]) -> Result<()> {
    match values.iter().position(|&q| !(q > 0.0 && crate::math::not_above(q, 1.0))) {
        Some(position) => Err(Error::InvalidArgument { name: "prior", position, value: values[position] }),
        None => Ok(()),
    }
}

/// `ln(e^a + e^b)`, exact for an infinite `-inf` operand, without forming
/// `e^a` or `e^b`. `ln(1 + x)` as `log`, not `log1p`: for a tiny `x` it is
/// off by at most 2^-53 in absolute terms, which no weight can see, and
/// `log1p` would be one more libm routine in every build.
fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + libm::log(1.0 + libm::exp(lo - hi))
    }
}

/// `ln x`, `-inf` for 0.
/// The prior's global totals: one sampler's, or a plan's over every shard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Totals {
    /// `Q = sum q`.
    pub(crate) q: f64,
    /// `M = sum q t`.
    pub(crate) mass: f64,
    pub(crate) examples: usize,
}

/// The smallest values the weights are normalised by, over every example.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Minima {
    /// The smallest `q`.
    pub(crate) q: f64,
    /// The smallest non-zero `q t`, and how many are non-zero.
    pub(crate) mass: Option<f64>,
    pub(crate) mass_nonzero: usize,
    /// The smallest non-zero `t`, and how many are non-zero.
    pub(crate) t: Option<f64>,
    pub(crate) t_nonzero: usize,
}

/// What the prior's probabilities and weights read: `Q`, `M`, the floor in
/// use (1 once no scored mass is left) and the logs of the normalisers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sums {
    q: f64,
    mass: f64,
    gamma: f64,
    /// `ln P_min` (the bound) for target `Uniform`.
    ln_p_min: f64,
    /// `ln` of the smallest `P / (q / Q)` for target `Prior`.
    ln_r_min: f64,
}

impl Sums {
    /// The totals alone, for [`ln_p`](Self::ln_p): the normalisers are left
    /// at 0, so [`weight`](Self::weight) needs [`new`](Self::new).
    pub(crate) fn at(totals: Totals, gamma: f64) -> Self {
        let gamma = if totals.mass > 0.0 { gamma } else { 1.0 };
        Sums { q: totals.q, mass: totals.mass, gamma, ln_p_min: 0.0, ln_r_min: 0.0 }
    }

    pub(crate) fn new(totals: Totals, min: Minima, gamma: f64) -> Self {
        let n = totals.examples;
        let mut sums = Sums::at(totals, gamma);
        let gamma = sums.gamma;
        // The smallest q t among examples that can be drawn: with a floor, all
        // of them (0 if one has none); without, those with q t > 0.
        let qt_min = match min.mass {
            Some(m) if min.mass_nonzero == n || gamma == 0.0 => m,
            _ => 0.0,
        };
        // The smallest t: over all examples with a floor, else over those
        // with t > 0 (a bound, not the exact value, only where some q t
        // underflowed to 0 and left its example to the floor alone).
        let t_min = match min.t {
            Some(m) if min.t_nonzero == n || gamma == 0.0 => m,
            _ => 0.0,
        };
        sums.ln_p_min = sums.ln_p(min.q, qt_min);
        sums.ln_r_min = sums.ln_ratio(t_min);
        sums
    }

    /// `ln P` from `q` and `q t` values (`ln(1 - gamma) + ln(q t / M)` and
    /// `ln gamma + ln(q / Q)` added in log space).
    pub(crate) fn ln_p(&self, q: f64, qt: f64) -> f64 {
        let gamma = self.gamma;
        let scored = if gamma < 1.0 { ln(1.0 - gamma) + ln(qt) - ln(self.mass) } else { f64::NEG_INFINITY };
        let floor = if gamma > 0.0 { ln(gamma) + ln(q) - ln(self.q) } else { f64::NEG_INFINITY };
        ln_add(scored, floor)
    }

    /// `ln((1 - gamma) t Q / M + gamma)`: the log of `P_i / (q_i / Q)`.
    fn ln_ratio(&self, t: f64) -> f64 {
        let gamma = self.gamma;
        let scored = if gamma < 1.0 { ln(1.0 - gamma) + ln(t) + ln(self.q) - ln(self.mass) } else { f64::NEG_INFINITY };
        ln_add(scored, ln(gamma))
    }

    /// The importance weight of an example of prior `q`, `q t` and `t`.
    pub(crate) fn weight(&self, q: f64, qt: f64, t: f64, target: WeightTarget, beta: f64) -> f64 {
        match target {
            WeightTarget::Uniform => libm::exp(beta * (self.ln_p_min - self.ln_p(q, qt))),
            WeightTarget::Prior => libm::exp(beta * (self.ln_r_min - self.ln_ratio(t))),
        }
    }
}

fn ln(x: f64) -> f64 {
    if x > 0.0 {
        libm::log(x)
    } else {
        f64::NEG_INFINITY
    }
}

impl<S: Storage> Prior<S> {
    pub(crate) const EMPTY: Self = Prior { q: SumTree::EMPTY, mass: SumTree::EMPTY };

    pub(crate) fn is_set(&self) -> bool {
        self.q.capacity() > 0
    }

    pub(crate) fn clear(&mut self) {
        self.q.make_empty();
        self.mass.make_empty();
    }

    /// Sets every `q_i` (validated, length `t.len()`; `None`: all 1) with `t`
    /// the sampler's `s_i^alpha`. On an allocation failure the prior is cleared.
    pub(crate) fn set(&mut self, values: Option<&[f64]>, t: &[f64]) -> Result<()> {
        let n = t.len();
        if self.q.capacity() != n {
            let made = self.q.reset(n).and_then(|()| self.mass.reset(n));
            if let Err(e) = made {
                self.clear();
                return Err(e);
            }
        }
        for (i, (q, m)) in self.q.leaves_mut().iter_mut().zip(self.mass.leaves_mut().iter_mut()).enumerate() {
            let v = values.map_or(1.0, |v| v[i]);
            *q = v;
            *m = v * t[i];
        }
        self.q.rebuild();
        self.mass.rebuild();
        Ok(())
    }

    /// Example `i`'s `q_i` to a validated value.
    pub(crate) fn write_q(&mut self, i: usize, q: f64, t_i: f64) {
        self.q.write(i, q);
        self.mass.write(i, q * t_i);
    }

    /// Example `i`'s `t_i` changed.
    pub(crate) fn write_t(&mut self, i: usize, t_i: f64) {
        let q = self.q.leaves()[i];
        self.mass.write(i, q * t_i);
    }

    /// `gamma`, or 1 when no scored mass is left (every `q t` is 0).
    pub(crate) fn floor(&self, gamma: f64) -> f64 {
        if self.mass.total() > 0.0 {
            gamma
        } else {
            1.0
        }
    }

    /// The example at `v` in `[0, 1]` of the mixture laid out as the floor's
    /// `[0, gamma)` then the scored `[gamma, 1]`.
    pub(crate) fn find(&self, v: f64, gamma: f64) -> Result<usize> {
        let (tree, f) = match crate::adaptive::share(v, gamma) {
            crate::adaptive::Share::Floor(f) => (&self.q, f),
            crate::adaptive::Share::Scored(f) => (&self.mass, f),
        };
        let total = tree.total();
        tree.find(crate::tree::clamp_below(f * total, total))
    }

    /// `P_i` (the weights' own `ln P`, exponentiated; may be subnormal).
    pub(crate) fn probability(&self, i: usize, gamma: f64) -> f64 {
        libm::exp(Sums::at(self.totals(), gamma).ln_p(self.q.leaves()[i], self.mass.leaves()[i]))
    }

    fn totals(&self) -> Totals {
        Totals { q: self.q.total(), mass: self.mass.total(), examples: self.q.capacity() }
    }

    /// This sampler's [`Sums`]; `t` is its tree over `s^alpha`.
    fn sums(&self, t: &SumTree<S>, gamma: f64) -> Sums {
        let minima = Minima {
            q: self.q.min().unwrap_or(0.0),
            mass: self.mass.min(),
            mass_nonzero: self.mass.nonzero(),
            t: t.min(),
            t_nonzero: t.nonzero(),
        };
        Sums::new(self.totals(), minima, gamma)
    }

    /// Weights for drawn `indices`; `t` is the sampler's tree over `s^alpha`.
    pub(crate) fn weights(&self, indices: &[usize], weights: &mut [f64], t: &SumTree<S>, c: &AdaptiveConfig) {
        let sums = self.sums(t, c.uniform_floor);
        for (w, &i) in weights.iter_mut().zip(indices) {
            *w = sums.weight(self.q.leaves()[i], self.mass.leaves()[i], t.leaves()[i], c.target, c.beta);
        }
    }
}
