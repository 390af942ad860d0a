//! A GPT-2 in tch (after tch-rs's min-gpt, laid out as Hugging Face's GPT-2):
//! pre-norm blocks, fused `c_attn`, GELU (tanh form), learned positions and an
//! output head tied to the token embedding. Parameter names and shapes are
//! HF's (`h.0.attn.c_attn.weight` is `[n_embd, 3 n_embd]`, a `Conv1D` applied
//! as `x @ W + b`), so a `model.safetensors` + `config.json` from a GPT-2
//! checkpoint loads as is, with or without the `transformer.` prefix, and what
//! we save loads back into Hugging Face.
//!
//! Cost: one forward is O(B T n_embd (12 n_embd + T) n_layer) plus the
//! vocabulary projection O(B T n_embd V); generation recomputes the prefix at
//! each token (no KV cache), fine for the short completions used here.

use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

/// The fields of Hugging Face's `GPT2Config` that shape the network.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptConfig {
    pub vocab_size: i64,
    #[serde(alias = "n_ctx")]
    pub n_positions: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
}

fn default_eps() -> f64 {
    1e-5
}

impl GptConfig {
    pub fn validate(&self) -> Result<()> {
        let positive = [self.vocab_size, self.n_positions, self.n_embd, self.n_layer, self.n_head];
        if positive.iter().any(|&v| v <= 0) {
            bail!("GPT config: every size must be positive: {self:?}");
        }
        if self.n_embd % self.n_head != 0 {
            bail!("GPT config: n_embd {} is not a multiple of n_head {}", self.n_embd, self.n_head);
        }
        if !(self.layer_norm_epsilon > 0.0 && self.layer_norm_epsilon.is_finite()) {
            bail!("GPT config: layer_norm_epsilon must be finite and > 0");
        }
        Ok(())
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    fn new(p: nn::Path, dim: i64) -> Self {
        LayerNorm { weight: p.var("weight", &[dim], Init::Const(1.0)), bias: p.var("bias", &[dim], Init::Const(0.0)) }
    }

    fn forward(&self, x: &Tensor, eps: f64) -> Tensor {
        x.layer_norm([*self.weight.size().last().unwrap_or(&1)], Some(&self.weight), Some(&self.bias), eps, true)
    }
}

/// HF's `Conv1D`: `x @ weight + bias`, weight `[in, out]`.
struct Conv1D {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1D {
    fn new(p: nn::Path, n_in: i64, n_out: i64, std: f64) -> Self {
        Conv1D {
            weight: p.var("weight", &[n_in, n_out], Init::Randn { mean: 0.0, stdev: std }),
            bias: p.var("bias", &[n_out], Init::Const(0.0)),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.weight) + &self.bias
    }
}

struct Block {
    ln_1: LayerNorm,
    c_attn: Conv1D,
    attn_proj: Conv1D,
    ln_2: LayerNorm,
    c_fc: Conv1D,
    mlp_proj: Conv1D,
}

/// A GPT-2 language model.
pub struct Gpt {
    pub config: GptConfig,
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
}

impl Gpt {
    /// A freshly initialised model (GPT-2's init: N(0, 0.02), residual
    /// projections scaled by 1/sqrt(2 n_layer)) with its variables under `p`.
    pub fn new(p: &nn::Path, config: &GptConfig) -> Result<Self> {
        config.validate()?;
        let (e, std) = (config.n_embd, 0.02);
        let proj_std = std / (2.0 * config.n_layer as f64).sqrt();
        let h = p / "h";
        let blocks = (0..config.n_layer)
            .map(|i| {
                let b = &h / i;
                Block {
                    ln_1: LayerNorm::new(&b / "ln_1", e),
                    c_attn: Conv1D::new(&b / "attn" / "c_attn", e, 3 * e, std),
                    attn_proj: Conv1D::new(&b / "attn" / "c_proj", e, e, proj_std),
                    ln_2: LayerNorm::new(&b / "ln_2", e),
                    c_fc: Conv1D::new(&b / "mlp" / "c_fc", e, 4 * e, std),
                    mlp_proj: Conv1D::new(&b / "mlp" / "c_proj", 4 * e, e, proj_std),
                }
            })
            .collect();
        Ok(Gpt {
            config: config.clone(),
            wte: (p / "wte").var("weight", &[config.vocab_size, e], Init::Randn { mean: 0.0, stdev: std }),
            wpe: (p / "wpe").var("weight", &[config.n_positions, e], Init::Randn { mean: 0.0, stdev: 0.01 }),
            blocks,
            ln_f: LayerNorm::new(p / "ln_f", e),
        })
    }

    /// Logits `[B, T, vocab]` for token ids `[B, T]` (`T <= n_positions`).
    /// Attention is causal, so right padding never changes earlier positions.
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        let (b, t) = ids.size2().unwrap_or((1, 1));
        let c = &self.config;
        let (e, nh) = (c.n_embd, c.n_head);
        let pos = Tensor::arange(t, (Kind::Int64, ids.device()));
        let mut x =
            Tensor::embedding(&self.wte, ids, -1, false, false) + Tensor::embedding(&self.wpe, &pos, -1, false, false);
        // `x = x + f(x)`, not `x += f(x)`: an in-place add would overwrite the
        // input that layer_norm saved for the backward pass.
        #[allow(clippy::assign_op_pattern)]
        for blk in &self.blocks {
            let qkv = blk.c_attn.forward(&blk.ln_1.forward(&x, c.layer_norm_epsilon));
            let heads = |k: i64| qkv.narrow(2, k * e, e).view([b, t, nh, e / nh]).transpose(1, 2);
            let y = Tensor::scaled_dot_product_attention::<Tensor>(
                &heads(0),
                &heads(1),
                &heads(2),
                None,
                0.0,
                true,
                None,
                false,
            );
            x = x + blk.attn_proj.forward(&y.transpose(1, 2).contiguous().view([b, t, e]));
            let m = blk.c_fc.forward(&blk.ln_2.forward(&x, c.layer_norm_epsilon)).gelu("tanh");
            x = x + blk.mlp_proj.forward(&m);
        }
        self.ln_f.forward(&x, c.layer_norm_epsilon).matmul(&self.wte.tr())
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face GPT-2
    /// folder into a new var store on `device`. Keys may carry the
    /// `transformer.` prefix; `lm_head.weight` (tied) and the attention-mask
    /// buffers are skipped. Every parameter must be present with its shape.
    pub fn load(dir: &Path, device: Device) -> Result<(nn::VarStore, Gpt)> {
        let config_path = dir.join("config.json");
        let config: GptConfig = serde_json::from_str(
            &std::fs::read_to_string(&config_path).with_context(|| format!("reading {}", config_path.display()))?,
        )
        .with_context(|| format!("{}: not a GPT-2 config", config_path.display()))?;
        let vs = nn::VarStore::new(device);
        let gpt = Gpt::new(&vs.root(), &config)?;
        let weights_path = dir.join("model.safetensors");
        let tensors =
            Tensor::read_safetensors(&weights_path).with_context(|| format!("reading {}", weights_path.display()))?;
        let named: std::collections::HashMap<String, Tensor> = tensors
            .into_iter()
            .map(|(k, v)| (k.strip_prefix("transformer.").map(str::to_string).unwrap_or(k), v))
            .collect();
        let mut vars = vs.variables();
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        for name in names {
            let Some(src) = named.get(name) else {
                bail!("{}: no tensor `{name}` (nor `transformer.{name}`)", weights_path.display());
            };
            let dst = &vars[name];
            if src.size() != dst.size() {
                bail!(
                    "{}: `{name}` has shape {:?}, the config needs {:?}",
                    weights_path.display(),
                    src.size(),
                    dst.size()
                );
            }
        }
        tch::no_grad(|| -> Result<()> {
            for (name, dst) in vars.iter_mut() {
                dst.f_copy_(&named[name].to_kind(Kind::Float).to(device))?;
            }
            Ok(())
        })?;
        Ok((vs, gpt))
    }

    /// Writes `config.json` and `model.safetensors` (HF names, tied head not
    /// duplicated) into `dir`.
    pub fn save(&self, vs: &nn::VarStore, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(&self.config)? + "\n")?;
        vs.save(dir.join("model.safetensors"))?;
        Ok(())
    }

    /// Per-token log-probabilities of `targets` `[B, T]` under the model given
    /// `ids` `[B, T]` (position t's logits predict `targets[t]`); entries whose
    /// target is negative (masked) get 0.
    pub fn token_log_probs(&self, ids: &Tensor, targets: &Tensor) -> Tensor {
        token_log_probs(&self.forward(ids), targets)
    }
}

/// `log softmax(logits)[.., target]` per position, 0 where `target < 0`.
pub fn token_log_probs(logits: &Tensor, targets: &Tensor) -> Tensor {
    let valid = targets.ge(0);
    let safe = targets.clamp_min(0);
    let lp = logits.log_softmax(-1, logits.kind()).gather(-1, &safe.unsqueeze(-1), false).squeeze_dim(-1);
    lp * valid.to_kind(logits.kind())
}
