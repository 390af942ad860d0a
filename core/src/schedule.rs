//! Schedules: a value as a function of a step counter (beta annealing,
//! temperatures, learning rates).
//!
//! O(1) per evaluation, no state: the caller owns the step. Linear and cosine
//! schedules hold their end value after `steps`. Cosine uses `libm::cos`, so
//! its bits are the same on every target.

use crate::error::{ensure, Result};
use crate::math::not_above;

/// A value over steps.
///
/// ```
/// use adasample::schedule::Schedule;
/// let beta = Schedule::Linear { start: 0.4, end: 1.0, steps: 100 };
/// assert_eq!(beta.value(0), 0.4);
/// assert!((beta.value(50) - 0.7).abs() < 1e-12);
/// assert_eq!(beta.value(100), 1.0);
/// assert_eq!(beta.value(10_000), 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Schedule {
    /// Always the given value.
    Constant(f64),
    /// `start + (end - start) * min(step, steps) / steps`.
    Linear {
        /// Value at step 0.
        start: f64,
        /// Value from `steps` on.
        end: f64,
        /// Length of the ramp; 0 means `end` from the start.
        steps: u64,
    },
    /// `end + (start - end) * (1 + cos(pi * min(step, steps) / steps)) / 2`.
    Cosine {
        /// Value at step 0.
        start: f64,
        /// Value from `steps` on.
        end: f64,
        /// Length of the ramp; 0 means `end` from the start.
        steps: u64,
    },
}

impl Schedule {
    /// The value at `step`.
    // Inlined, so that a caller whose schedule is never `Cosine` (PER's
    // beta) does not link `cos`: about 6 KB of wasm.
    #[inline(always)]
    pub fn value(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { start, end, steps } => {
                if step >= steps {
                    end
                } else {
                    start + (end - start) * (step as f64 / steps as f64)
                }
            }
            Schedule::Cosine { start, end, steps } => {
                if step >= steps {
                    end
                } else {
                    let t = step as f64 / steps as f64;
                    end + (start - end) * 0.5 * (1.0 + libm::cos(core::f64::consts::PI * t))
                }
            }
        }
    }

    /// Checks that every value the schedule can take lies in `[lo, hi]`
    /// (both ends are enough: the ramps are monotone). `field` names the
    /// config field in the error.
    pub fn check_range(&self, field: &'static str, lo: f64, hi: f64, expected: &'static str) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v >= lo && not_above(v, hi);
        let fine = match *self {
            Schedule::Constant(v) => ok(v),
            Schedule::Linear { start, end, .. } | Schedule::Cosine { start, end, .. } => ok(start) && ok(end),
        };
        ensure(fine, field, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_endpoints_and_midpoint() {
        let s = Schedule::Cosine { start: 1.0, end: 0.0, steps: 10 };
        assert_eq!(s.value(0), 1.0);
        assert!((s.value(5) - 0.5).abs() < 1e-15);
        assert_eq!(s.value(10), 0.0);
    }

    #[test]
    fn zero_length_ramp_is_end() {
        assert_eq!(Schedule::Linear { start: 0.0, end: 2.0, steps: 0 }.value(0), 2.0);
        assert_eq!(Schedule::Constant(3.0).value(99), 3.0);
    }

    #[test]
    fn range_check() {
        let s = Schedule::Linear { start: 0.4, end: 1.5, steps: 3 };
        assert!(s.check_range("beta", 0.0, 1.0, "in [0, 1]").is_err());
        assert!(Schedule::Constant(f64::NAN).check_range("beta", 0.0, 1.0, "in [0, 1]").is_err());
        assert!(Schedule::Constant(0.5).check_range("beta", 0.0, 1.0, "in [0, 1]").is_ok());
    }
}
