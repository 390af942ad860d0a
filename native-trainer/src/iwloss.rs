//! The iw-SFT loss on tch tensors, mirroring the seed's
//! `ImportanceWeightedSFTLoss(epsilon, temperature).loss_fn(logits, labels,
//! ref_log_probs)`. The weights come from `adasample::iw` (the core, so the
//! trainer, wasm and embedded builds share one definition) and enter the
//! graph as constants: no gradient flows through them.
//!
//! Shapes: `logits [B, T, V]`, `labels [B, T]` already aligned with the
//! logits (position t predicts `labels[t]`; shift before calling, as for any
//! causal LM), with `-100` (any negative id) at prompt and padding positions;
//! `ref_log_probs [B, T]`, the reference model's log-probability of
//! `labels[t]` (its value at masked positions is ignored).
//!
//! Loss (the paper's normalisation): `sum_t w_t * nll_t / (valid tokens)`, with
//! `nll_t = (1 - eps)(-log p(label_t)) + eps * mean_v(-log p(v))` (label
//! smoothing as in the published loss class) and `w_t` the weight of `t`'s
//! sequence (sequence mode) or of `t` itself (token mode). With all weights 1
//! it is plain SFT. The seed's inverted ratio is available only as
//! `IwDirection::SeedInverse`, set explicitly.

use adasample::iw::{self, IwDirection, IwMode, IwSftConfig};
use anyhow::{bail, Result};
use tch::{Device, Kind, Tensor};

/// The iw-SFT loss (paper direction unless configured otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IwSftLoss {
    pub config: IwSftConfig,
}

/// A loss value with the weights it used.
pub struct LossOutput {
    /// Scalar, differentiable with respect to the logits.
    pub loss: Tensor,
    /// One per sequence (sequence mode) or per token (token mode, 0 when masked).
    pub weights: Vec<f64>,
}

fn to_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(Vec::<f64>::try_from(t.detach().to_kind(Kind::Double).to(Device::Cpu).flatten(0, -1))?)
}

/// Per-token label-smoothed NLL `[B, T]` (0 at masked positions), the valid
/// mask `[B, T]` as floats, and the policy's token log-probabilities.
fn token_terms(logits: &Tensor, labels: &Tensor, epsilon: f64) -> Result<(Tensor, Tensor, Tensor)> {
    let (Ok((b, t, _)), Ok((lb, lt))) = (logits.size3(), labels.size2()) else {
        bail!(
            "iw-SFT loss: logits must be [B, T, V] and labels [B, T], got {:?} and {:?}",
            logits.size(),
            labels.size()
        );
    };
    if (b, t) != (lb, lt) {
        bail!("iw-SFT loss: logits {:?} and labels {:?} disagree on [B, T]", logits.size(), labels.size());
    }
    let logp = logits.log_softmax(-1, logits.kind());
    let valid = labels.ge(0).to_kind(logits.kind());
    let token_lp = logp.gather(-1, &labels.clamp_min(0).unsqueeze(-1), false).squeeze_dim(-1);
    let smooth = logp.mean_dim(-1, false, logits.kind());
    let nll = (token_lp.neg() * (1.0 - epsilon) - smooth * epsilon) * &valid;
    Ok((nll, valid, token_lp))
}

fn normalise(weighted: Tensor, valid: &Tensor) -> Tensor {
    weighted.sum(weighted.kind()) / valid.sum(valid.kind()).clamp_min(1.0)
}

/// Plain SFT: mean label-smoothed NLL over valid tokens.
pub fn sft_loss(logits: &Tensor, labels: &Tensor, epsilon: f64) -> Result<Tensor> {
    let (nll, valid, _) = token_terms(logits, labels, epsilon)?;
    Ok(normalise(nll, &valid))
}

impl IwSftLoss {
    /// The seed's `ImportanceWeightedSFTLoss(epsilon, temperature)`: label
    /// smoothing `epsilon`, temperature `T`, sequence weights, paper direction.
    pub fn new(epsilon: f64, temperature: f64) -> Result<Self> {
        Self::with_config(IwSftConfig::new(epsilon, temperature))
    }

    pub fn with_config(config: IwSftConfig) -> Result<Self> {
        config.validate()?;
        Ok(IwSftLoss { config })
    }

    /// The seed's form `exp((log pi_ref - log pi_theta) / T)`: NOT the paper's
    /// method, kept only to reproduce the seed.
    pub fn seed_inverse(self) -> Self {
        IwSftLoss { config: IwSftConfig { direction: IwDirection::SeedInverse, ..self.config } }
    }

    /// The loss of a batch; see the module docs for shapes.
    pub fn loss_fn(&self, logits: &Tensor, labels: &Tensor, ref_log_probs: &Tensor) -> Result<LossOutput> {
        let (nll, valid, token_lp) = token_terms(logits, labels, self.config.epsilon)?;
        if ref_log_probs.size() != labels.size() {
            bail!("iw-SFT loss: ref_log_probs {:?} must match labels {:?}", ref_log_probs.size(), labels.size());
        }
        let (b, t) = labels.size2()?;
        let mask: Vec<bool> =
            Vec::<i64>::try_from(labels.to(Device::Cpu).flatten(0, -1))?.iter().map(|&l| l >= 0).collect();
        let mut weights = vec![0.0; self.config.output_len(mask.len(), t as usize)];
        iw::weights(&self.config, &to_f64(&token_lp)?, &to_f64(ref_log_probs)?, Some(&mask), t as usize, &mut weights)?;
        let shape: &[i64] = match self.config.mode {
            IwMode::Sequence => &[b, 1],
            IwMode::Token => &[b, t],
        };
        let w = Tensor::from_slice(&weights).view(shape).to_kind(logits.kind()).to(logits.device());
        Ok(LossOutput { loss: normalise(nll * w, &valid), weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_are_reported() {
        let loss = IwSftLoss::new(0.0, 1.0).unwrap();
        let logits = Tensor::zeros([2, 3, 4], (Kind::Float, Device::Cpu));
        let labels = Tensor::zeros([2, 4], (Kind::Int64, Device::Cpu));
        let r = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
        assert!(loss.loss_fn(&logits, &labels, &r).err().unwrap().to_string().contains("disagree"));
        assert!(IwSftLoss::new(1.5, 1.0).is_err());
    }
}
