//! Importance weights for iw-SFT (Qin & Springenberg 2025, arXiv:2507.12856).
//!
//! SFT on curated data maximises a lower bound of an RL objective; weighting each
//! curated sequence by `stopgrad(pi_theta / pi_ref)` tightens it. Here:
//! - sequence mode (the default): `w = clip(exp(mean_t(log pi_theta - log pi_ref) / T), lo, hi)`
//!   over the sequence's valid tokens [T 1, clip [0, 16]];
//! - token mode: `w_t = clip(exp((log pi_theta_t - log pi_ref_t) / T), lo, hi)`
//!   [clip [0.2, 1.8]]; masked tokens get 0;
//! - loss: `sum_i w_i * nll_i / (number of valid tokens)` ([`weighted_loss`]),
//!   with the weights held constant (no gradient through them).
//!
//! Direction: the seed writes `exp((log pi_ref - log pi_theta) / T)`, the inverse
//! ratio. We follow the paper and its published code ([`IwDirection::Paper`]);
//! the seed's form is [`IwDirection::SeedInverse`], only when asked for.
//!
//! Temperature: we divide the log ratio by `T`. The published code *multiplies*
//! the mean log ratio by its `temp`; their `temp = c` is our `T = 1 / c`.
//!
//! The seed's `ImportanceWeightedSFTLoss(epsilon=0.1, temperature=1.0)` takes
//! `epsilon` as in the published loss class: a label-smoothing factor
//! (`(1 - eps) * nll + eps * mean_v(-log p_v)`, [`label_smoothed_nll`]), not part
//! of the weight. [`IwSftConfig::epsilon`] defaults to 0, as in the paper's runs.
//!
//! Numerics: weights are computed in log space and clipped before `exp`, so no
//! input overflows; a sequence with no valid token gets weight 0. Inputs are
//! flattened row-major `[sequences x seq_len]`. O(sequences x seq_len), no storage.

use crate::error::{check_len, ensure, Error, Result};
use crate::math::not_above;

/// One weight per sequence or per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum IwMode {
    /// One weight per sequence, from the mean log ratio over its valid tokens.
    #[default]
    Sequence,
    /// One weight per token.
    Token,
}

/// Which ratio the weight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum IwDirection {
    /// `pi_theta / pi_ref`, as in the paper and its code.
    #[default]
    Paper,
    /// `pi_ref / pi_theta`, as the seed's README writes it. Not the paper's method.
    SeedInverse,
}

/// Configuration of the iw-SFT weights and loss.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IwSftConfig {
    /// Temperature `T`, finite and `> 0`; the log ratio is divided by it. Default: 1.0.
    pub temperature: f64,
    /// Label smoothing of the loss, in `[0, 1)`; not used by the weights. Default: 0.0.
    pub epsilon: f64,
    /// Sequence or token weights. Default: Sequence.
    pub mode: IwMode,
    /// Paper or seed direction. Default: Paper.
    pub direction: IwDirection,
    /// Clip range of sequence weights, `0 <= lo <= hi`, `hi` finite. Default: 0, 16.
    pub sequence_clip: (f64, f64),
    /// Clip range of token weights. Default: 0.2, 1.8.
    pub token_clip: (f64, f64),
}

impl Default for IwSftConfig {
    fn default() -> Self {
        IwSftConfig {
            temperature: 1.0,
            epsilon: 0.0,
            mode: IwMode::Sequence,
            direction: IwDirection::Paper,
            sequence_clip: (0.0, 16.0),
            token_clip: (0.2, 1.8),
        }
    }
}

impl IwSftConfig {
    /// The configuration of the original specification's
    /// `ImportanceWeightedSFTLoss(epsilon, temperature)`, in the paper's direction.
    ///
    /// ```
    /// use adasample::iw::IwSftConfig;
    /// let cfg = IwSftConfig::new(0.1, 1.0);
    /// assert_eq!((cfg.epsilon, cfg.temperature), (0.1, 1.0));
    /// ```
    pub fn new(epsilon: f64, temperature: f64) -> Self {
        IwSftConfig { epsilon, temperature, ..Self::default() }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        let clip_ok = |(lo, hi): (f64, f64)| lo >= 0.0 && hi.is_finite() && not_above(lo, hi);
        ensure(self.temperature.is_finite() && self.temperature > 0.0, "temperature", "finite and > 0")?;
        ensure((0.0..1.0).contains(&self.epsilon), "epsilon", "in [0, 1)")?;
        ensure(clip_ok(self.sequence_clip), "sequence_clip", "0 <= lo <= hi, hi finite")?;
        ensure(clip_ok(self.token_clip), "token_clip", "0 <= lo <= hi, hi finite")
    }

    /// Number of weights for `values` inputs of `seq_len` tokens per row.
    ///
    /// ```
    /// use adasample::iw::{IwMode, IwSftConfig};
    /// let seq = IwSftConfig::default();
    /// assert_eq!(seq.output_len(12, 4), 3); // one weight per sequence
    /// let tok = IwSftConfig { mode: IwMode::Token, ..seq };
    /// assert_eq!(tok.output_len(12, 4), 12); // one per token
    /// ```
    pub fn output_len(&self, values: usize, seq_len: usize) -> usize {
        match self.mode {
            IwMode::Sequence => values.checked_div(seq_len).unwrap_or(0),
            IwMode::Token => values,
        }
    }
}

/// How far above 0 a log-probability may be (rounding in a log-softmax).
pub const LOG_PROB_TOLERANCE: f64 = 1e-6;

/// `clip(exp(log_w), lo, hi)` without overflow.
fn clipped_exp(log_w: f64, (lo, hi): (f64, f64)) -> f64 {
    // max/min, not clamp: clamp's panic path drags in float formatting.
    libm::exp(log_w.min(libm::log(hi))).max(lo).min(hi)
}

fn check_shape(values: usize, seq_len: usize, mask: Option<&[bool]>) -> Result<()> {
    if seq_len == 0 {
        return Err(Error::InvalidSize { name: "seq_len", value: 0, expected: "at least 1" });
    }
    if !values.is_multiple_of(seq_len) {
        return Err(Error::LengthMismatch { expected: values.next_multiple_of(seq_len), found: values });
    }
    if let Some(m) = mask {
        check_len(values, m.len())?;
    }
    Ok(())
}

/// iw-SFT weights from per-token log-probabilities of the policy and of the
/// reference model, into `out` (one per sequence, or one per token in token
/// mode). `mask[t] == false` marks prompt or padding tokens (their values are
/// ignored, whatever they hold); no mask means every token is valid.
///
/// Errors: [`Error::InvalidConfig`]; [`Error::InvalidSize`] for `seq_len` 0;
/// [`Error::InvalidArgument`] for a log-probability at a valid token that is below
/// `-MAX_PRIORITY` (NaN and infinities included) or above
/// [`LOG_PROB_TOLERANCE`] (logits passed by mistake); [`Error::LengthMismatch`]
/// for inputs that are not `[rows x seq_len]` or an `out` of the wrong length.
///
/// ```
/// use adasample::iw::{weights, IwSftConfig, IwDirection};
/// // Two sequences of 3 tokens; the last token of the second is padding.
/// let policy = [-1.0, -1.0, -1.0,   -0.5, -0.5, -9.0];
/// let refer  = [-1.0, -1.0, -1.0,   -1.0, -1.0, -1.0];
/// let mask   = [true, true, true,   true, true, false];
/// let mut w = [0.0; 2];
/// weights(&IwSftConfig::default(), &policy, &refer, Some(&mask), 3, &mut w)?;
/// assert_eq!(w[0], 1.0);                        // same model: weight 1
/// assert!((w[1] - 0.5f64.exp()).abs() < 1e-15); // mean log ratio 0.5
///
/// let seed = IwSftConfig { direction: IwDirection::SeedInverse, ..IwSftConfig::default() };
/// weights(&seed, &policy, &refer, Some(&mask), 3, &mut w)?;
/// assert!((w[1] - (-0.5f64).exp()).abs() < 1e-15);
/// # Ok::<(), adasample::Error>(())
/// ```
pub fn weights(
    config: &IwSftConfig,
    policy_log_probs: &[f64],
    ref_log_probs: &[f64],
    mask: Option<&[bool]>,
    seq_len: usize,
    out: &mut [f64],
) -> Result<()> {
    config.validate()?;
    let n = policy_log_probs.len();
    check_len(n, ref_log_probs.len())?;
    check_shape(n, seq_len, mask)?;
    check_len(config.output_len(n, seq_len), out.len())?;
    let valid = |t: usize| mask.is_none_or(|m| m[t]);
    for t in (0..n).filter(|&t| valid(t)) {
        for (name, v) in [("policy_log_prob", policy_log_probs[t]), ("ref_log_prob", ref_log_probs[t])] {
            // In [-MAX_PRIORITY, 0] (with room for rounding above 0): the
            // differences and their sums are then finite. (A log-prob below
            // -1.6e296 is no probability a float can hold: e^-1e296 is 0.)
            if crate::error::above_max(v) || !not_above(v, LOG_PROB_TOLERANCE) {
                return Err(Error::InvalidArgument { name, position: t, value: v });
            }
        }
    }
    let sign = match config.direction {
        IwDirection::Paper => 1.0,
        IwDirection::SeedInverse => -1.0,
    };
    // Token mode is sequence mode over rows of one token: the mean of one
    // value is that value, exactly (`0 + x`, `/ 1`), so both share one loop.
    let (width, clip) = match config.mode {
        IwMode::Token => (1, config.token_clip),
        IwMode::Sequence => (seq_len, config.sequence_clip),
    };
    for (row, o) in out.iter_mut().enumerate() {
        // Finite: each log ratio is at most 2 MAX_PRIORITY in magnitude (the
        // log-probs were checked), so no row that fits in memory (fewer than
        // 2^39 tokens) can overflow the sum.
        let (mut sum, mut count) = (0.0, 0usize);
        for t in (row * width..(row + 1) * width).filter(|&t| valid(t)) {
            sum += sign * (policy_log_probs[t] - ref_log_probs[t]);
            count += 1;
        }
        *o = if count == 0 { 0.0 } else { clipped_exp(sum / count as f64 / config.temperature, clip) };
    }
    Ok(())
}

/// The iw-SFT loss `sum_t w_t * nll_t / (number of valid tokens)` over a batch,
/// `w_t` the sequence weight of `t`'s row (sequence mode, `weights.len() ==
/// rows`) or the token's own weight (token mode, `weights.len() == nll.len()`).
/// Returns 0 when no token is valid. Errors as [`weights`], and
/// [`Error::InvalidArgument`] for a non-finite nll or weight at a valid token;
/// [`Error::ResultOverflow`] when the loss itself exceeds `f64::MAX` (a sum
/// that merely overflows on the way is rescaled and gives the finite loss).
///
/// ```
/// use adasample::iw::{weighted_loss, IwMode};
/// let nll = [1.0, 2.0, 3.0, 4.0];
/// let loss = weighted_loss(IwMode::Sequence, &[1.0, 0.5], &nll, None, 2)?;
/// assert_eq!(loss, (1.0 + 2.0 + 0.5 * (3.0 + 4.0)) / 4.0);
/// # Ok::<(), adasample::Error>(())
/// ```
pub fn weighted_loss(mode: IwMode, weights: &[f64], nll: &[f64], mask: Option<&[bool]>, seq_len: usize) -> Result<f64> {
    let n = nll.len();
    check_shape(n, seq_len, mask)?;
    let config = IwSftConfig { mode, ..IwSftConfig::default() };
    check_len(config.output_len(n, seq_len), weights.len())?;
    let valid = |t: usize| mask.is_none_or(|m| m[t]);
    let weight_of = |t: usize| match mode {
        IwMode::Sequence => weights[t / seq_len],
        IwMode::Token => weights[t],
    };
    let (mut sum, mut count) = (0.0, 0usize);
    for t in (0..n).filter(|&t| valid(t)) {
        let (w, l) = (weight_of(t), nll[t]);
        if !w.is_finite() {
            return Err(Error::InvalidArgument { name: "weight", position: t, value: w });
        }
        if !l.is_finite() {
            return Err(Error::InvalidArgument { name: "nll", position: t, value: l });
        }
        sum += w * l;
        count += 1;
    }
    if count == 0 {
        return Ok(0.0);
    }
    let loss = sum / count as f64;
    if loss.is_finite() {
        return Ok(loss);
    }
    // A product or a partial sum overflowed: again with both factors scaled
    // by 2^-512 (exact, except for terms far below the ones that overflowed),
    // the mean taken at that scale and scaled back.
    const DOWN: f64 = 7.458340731200207e-155; // 2^-512, exactly
    let scaled: f64 =
        (0..n).filter(|&t| valid(t)).map(|t| (weight_of(t) * DOWN) * (nll[t] * DOWN) / count as f64).sum();
    let loss = scaled / DOWN / DOWN;
    if loss.is_finite() {
        Ok(loss)
    } else {
        Err(Error::ResultOverflow { name: "loss" })
    }
}

/// Label-smoothed negative log-likelihood of one token:
/// `(1 - eps) * (-log p[label]) + eps * mean_v(-log p[v])`, from the token's
/// log-probabilities over the vocabulary (as Hugging Face's label smoother and
/// the published iw-SFT loss). Errors: [`Error::IndexOutOfRange`] for the label,
/// [`Error::InvalidConfig`] for `epsilon` outside `[0, 1)`,
/// [`Error::InvalidArgument`] for a log-probability that is not finite or is
/// above [`LOG_PROB_TOLERANCE`]. Finite in, finite out: the mean is a sum of
/// `log p / V`, and `epsilon = 0` is exactly the plain nll.
///
/// ```
/// use adasample::iw::label_smoothed_nll;
/// let lp = [(0.5f64).ln(), (0.25f64).ln(), (0.25f64).ln()];
/// assert_eq!(label_smoothed_nll(&lp, 0, 0.0)?, -(0.5f64).ln());
/// # Ok::<(), adasample::Error>(())
/// ```
pub fn label_smoothed_nll(log_probs: &[f64], label: usize, epsilon: f64) -> Result<f64> {
    ensure((0.0..1.0).contains(&epsilon), "epsilon", "in [0, 1)")?;
    let target = *log_probs.get(label).ok_or(Error::IndexOutOfRange { index: label, len: log_probs.len() })?;
    if let Some(position) = log_probs.iter().position(|&v| !(v.is_finite() && not_above(v, LOG_PROB_TOLERANCE))) {
        return Err(Error::InvalidArgument { name: "log_prob", position, value: log_probs[position] });
    }
    let nll = -target;
    if epsilon == 0.0 {
        return Ok(nll);
    }
    let v = log_probs.len() as f64;
    let smooth = -log_probs.iter().map(|lp| lp / v).sum::<f64>();
    // `nll + eps (smooth - nll)` lies between the two; rounding could step
    // past the larger one (and past f64::MAX), so it is held to that range.
    let mixed = nll + epsilon * (smooth - nll);
    Ok(mixed.max(nll.min(smooth)).min(nll.max(smooth)))
}
