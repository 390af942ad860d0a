//! The one power function of the crate, and the one way `<=` is written.
//!
//! `x^y` as `exp(y * ln x)`: `exp` and `log` are linked anyway, and libm's
//! `pow` (exact to 1 ulp, with its own tables and a `sqrt` path) costs about
//! 3.3 KB of flash on a Cortex-M, a fifth of the embedded budget. The relative
//! error is about `|y ln x| * 2^-53` more than `pow`'s: for the exponents of
//! sampling (alpha, beta in [0, 1]) and priorities within 2^±1000, below
//! 1e-13, invisible to any sampling decision. Being `exp` and `log` from
//! `libm`, it gives the same bits on every target.

/// `x^y` for `x >= 0`; exact for `y == 0` (1, even for `x == 0`), `y == 1`
/// (the adaptive sampler's default alpha), `x == 1` and `x == 0` (0 for
/// `y > 0`, infinity for `y < 0`).
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        1.0
    } else if y == 1.0 {
        x
    } else if x == 0.0 {
        if y > 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        libm::exp(y * libm::log(x))
    }
}

/// `a <= b`, or either is NaN: `!(a > b)`. The crate compares floats with
/// `<`, `>`, `>=` and `==` only: on targets without an `f64` unit (Cortex-M4F)
/// each comparison kind is a routine of its own, and `<=` alone would add
/// 120 bytes of flash. Where an operand may be NaN, a check that rejects NaN
/// comes first (`x >= 0.0 && not_above(x, 1.0)`).
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub(crate) fn not_above(a: f64, b: f64) -> bool {
    !(a > b)
}

/// `x` in `[0, 1]` (NaN is not).
pub(crate) fn in_unit(x: f64) -> bool {
    x >= 0.0 && not_above(x, 1.0)
}

#[cfg(test)]
mod tests {
    use super::pow;

    #[test]
    fn close_to_libm_pow_and_exact_where_it_matters() {
        assert_eq!(pow(0.0, 0.0), 1.0);
        assert_eq!(pow(0.0, 0.6), 0.0);
        assert_eq!(pow(0.0, -0.6), f64::INFINITY);
        assert_eq!(pow(1.0, 0.6), 1.0);
        assert_eq!(pow(7.5, 0.0), 1.0);
        assert_eq!(pow(7.5, 1.0), 7.5);
        for &x in &[1e-300, 1e-12, 0.3, 0.999, 2.0, 12345.678, 1e300] {
            for &y in &[-1.0, -0.7, -0.4, 0.4, 0.5, 0.6, 1.0] {
                let (a, b) = (pow(x, y), libm::pow(x, y));
                assert!(((a - b) / b).abs() < 1e-12, "{x}^{y}: {a} vs {b}");
            }
        }
    }
}
