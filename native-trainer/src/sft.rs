//! The iw-SFT scenario (Qin & Springenberg 2025), at a scale one machine runs:
//! 1. a reference GPT trained from scratch on broad addition data of mixed
//!    quality (or a GPT-2 checkpoint loaded from disk with `--model`);
//! 2. curation with the reward: sample completions from the reference for
//!    training problems, keep only the correct ones, as the paper curates;
//! 3. fine-tuning copies of the reference on the curated set with SFT and with
//!    iw-SFT (same batches, same steps), the reference's log-probabilities of
//!    the curated tokens computed once;
//! 4. exact-match accuracy on held-out problems, greedy and sampled (T = 1),
//!    during fine-tuning.
//!
//! Sampling uses the run's own generator (`DefaultRng`), so runs in parallel
//! threads stay reproducible; initialisation holds a lock around tch's global
//! seed for the same reason.

use crate::arith::{Problem, Task, ALPHABET};
use crate::gpt::{token_log_probs, Gpt, GptConfig};
use crate::iwloss::{sft_loss, IwSftLoss};
use crate::tokenizer::Tokenizer;
use adasample::iw::IwSftConfig;
use adasample::rng::{below, unit_f64, DefaultRng};
use anyhow::{bail, Context, Result};
use rand_core::SeedableRng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Plain SFT or importance-weighted SFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Sft,
    IwSft,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Sft => "sft",
            Method::IwSft => "iw-sft",
        }
    }
}

/// Every size of the scenario.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SftConfig {
    pub task: Task,
    /// The model trained from scratch (ignored with `model_dir`).
    pub gpt: GptConfig,
    /// Load the reference (config.json, model.safetensors, tokenizer.json) from here.
    pub model_dir: Option<PathBuf>,
    pub pretrain_steps: usize,
    /// Share of right answers in the broad data.
    pub pretrain_correct: f64,
    pub pretrain_lr: f64,
    pub curate_problems: usize,
    pub samples_per_problem: usize,
    pub finetune_steps: usize,
    pub finetune_lr: f64,
    pub batch: usize,
    pub eval_problems: usize,
    pub eval_every: usize,
    pub iw: IwSftConfig,
    pub methods: Vec<Method>,
}

impl SftConfig {
    /// Two-digit addition, a 2-layer GPT (about 0.1 M parameters), 3,000
    /// pre-training steps, 2,000 x 4 curation samples, 600 fine-tuning steps.
    pub fn standard(iw: IwSftConfig, methods: Vec<Method>) -> Self {
        SftConfig {
            task: Task { digits: 2 },
            gpt: GptConfig {
                vocab_size: ALPHABET.len() as i64,
                n_positions: 16,
                n_embd: 64,
                n_layer: 2,
                n_head: 4,
                layer_norm_epsilon: 1e-5,
            },
            model_dir: None,
            pretrain_steps: 3_000,
            pretrain_correct: 0.4,
            pretrain_lr: 1e-3,
            curate_problems: 2_000,
            samples_per_problem: 4,
            finetune_steps: 600,
            finetune_lr: 1e-4,
            batch: 64,
            eval_problems: 500,
            eval_every: 50,
            iw,
            methods,
        }
    }

    /// Seconds, not minutes: one-digit addition and a few hundred steps.
    pub fn quick(iw: IwSftConfig, methods: Vec<Method>) -> Self {
        SftConfig {
            task: Task { digits: 1 },
            gpt: GptConfig { n_embd: 32, n_layer: 1, n_positions: 8, ..Self::standard(iw, vec![]).gpt },
            pretrain_steps: 1_000,
            curate_problems: 60,
            finetune_steps: 60,
            eval_problems: 20,
            eval_every: 20,
            ..Self::standard(iw, methods)
        }
    }
}

/// A language model and its tokenizer.
pub struct Lm {
    pub vs: nn::VarStore,
    pub gpt: Gpt,
    pub tok: Tokenizer,
    newline: i64,
}

impl Lm {
    /// A fresh GPT over the task's alphabet, initialised from `seed`.
    pub fn fresh(config: &GptConfig, seed: u64, device: Device) -> Result<Self> {
        let tok = Tokenizer::chars(ALPHABET)?;
        let vs = nn::VarStore::new(device);
        let gpt = crate::layers::seeded(seed, || Gpt::new(&vs.root(), config))?;
        Self::assemble(vs, gpt, tok)
    }

    /// A GPT-2 folder: config.json, model.safetensors, tokenizer.json.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let (vs, gpt) = Gpt::load(dir, device)?;
        let tok = Tokenizer::load(&dir.join("tokenizer.json"))?;
        Self::assemble(vs, gpt, tok)
    }

    fn assemble(vs: nn::VarStore, gpt: Gpt, tok: Tokenizer) -> Result<Self> {
        if tok.vocab_size() > gpt.config.vocab_size {
            bail!("the tokenizer has {} ids, the model only {}", tok.vocab_size(), gpt.config.vocab_size);
        }
        let newline = match tok.encode("\n")?.as_slice() {
            [id] => *id,
            other => bail!("the tokenizer must encode a newline as one token, got {other:?}"),
        };
        Ok(Lm { vs, gpt, tok, newline })
    }

    /// A trainable copy with the same weights.
    pub fn copy(&self) -> Result<Self> {
        let mut vs = nn::VarStore::new(self.vs.device());
        let gpt = Gpt::new(&vs.root(), &self.gpt.config)?;
        vs.copy(&self.vs)?;
        Ok(Lm { vs, gpt, tok: self.tok.clone(), newline: self.newline })
    }

    /// Writes a Hugging Face GPT-2 folder.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.gpt.save(&self.vs, dir)?;
        self.tok.save(&dir.join("tokenizer.json"))
    }
}

/// Right-padded training rows: inputs, and targets with -100 at prompt and
/// padding positions.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub ids: Vec<i64>,
    pub targets: Vec<i64>,
    pub len: usize,
    pub count: usize,
}

impl Rows {
    /// Rows of `prompt + completion` pairs (the two encoded apart, as generation sees them).
    pub fn encode(lm: &Lm, pairs: &[(String, String)]) -> Result<Rows> {
        let mut seqs = Vec::with_capacity(pairs.len());
        for (p, c) in pairs {
            let (p, c) = (lm.tok.encode(p)?, lm.tok.encode(c)?);
            if p.is_empty() || c.is_empty() {
                bail!("empty prompt or completion");
            }
            seqs.push((p.len(), [p, c].concat()));
        }
        let len = seqs.iter().map(|s| s.1.len() - 1).max().unwrap_or(0);
        if len as i64 > lm.gpt.config.n_positions {
            bail!("sequences of {len} tokens exceed the model's {} positions", lm.gpt.config.n_positions);
        }
        let mut rows = Rows { len, count: seqs.len(), ..Rows::default() };
        for (plen, s) in seqs {
            for j in 0..len {
                rows.ids.push(s.get(j).copied().filter(|_| j + 1 < s.len()).unwrap_or(lm.newline));
                rows.targets.push(if j + 1 >= plen && j + 1 < s.len() { s[j + 1] } else { -100 });
            }
        }
        Ok(rows)
    }

    fn tensors(&self, pick: &[usize], device: Device) -> (Tensor, Tensor) {
        let gather = |v: &[i64]| {
            pick.iter().flat_map(|&i| v[i * self.len..(i + 1) * self.len].iter().copied()).collect::<Vec<_>>()
        };
        let shape = [pick.len() as i64, self.len as i64];
        (
            Tensor::from_slice(&gather(&self.ids)).view(shape).to(device),
            Tensor::from_slice(&gather(&self.targets)).view(shape).to(device),
        )
    }
}

/// Completions of `prompts` (text up to and including the first newline, or
/// what came before running out of tokens), greedy or sampled at `temperature`.
pub fn generate(
    lm: &Lm,
    prompts: &[String],
    max_new: usize,
    temperature: Option<f64>,
    rng: &mut DefaultRng,
) -> Result<Vec<String>> {
    let device = lm.vs.device();
    let encoded: Vec<Vec<i64>> = prompts.iter().map(|p| lm.tok.encode(p)).collect::<Result<_>>()?;
    let mut out = vec![String::new(); prompts.len()];
    // Same-length prompts run together: no padding, positions stay right.
    let mut lengths: Vec<usize> = encoded.iter().map(Vec::len).collect();
    lengths.sort_unstable();
    lengths.dedup();
    for len in lengths {
        let rows: Vec<usize> = (0..prompts.len()).filter(|&i| encoded[i].len() == len).collect();
        let flat: Vec<i64> = rows.iter().flat_map(|&i| encoded[i].iter().copied()).collect();
        let mut ids = Tensor::from_slice(&flat).view([rows.len() as i64, len as i64]).to(device);
        let mut new: Vec<Vec<i64>> = vec![vec![]; rows.len()];
        let steps = max_new.min((lm.gpt.config.n_positions as usize).saturating_sub(len));
        for _ in 0..steps {
            let logits = tch::no_grad(|| lm.gpt.forward(&ids).select(1, -1));
            let next: Vec<i64> = match temperature {
                None => Vec::<i64>::try_from(logits.argmax(-1, false).to(Device::Cpu))?,
                Some(t) => {
                    let v = logits.size()[1] as usize;
                    let probs = Vec::<f64>::try_from(
                        (logits.to_kind(Kind::Double) / t).softmax(-1, Kind::Double).to(Device::Cpu).flatten(0, -1),
                    )?;
                    probs.chunks(v).map(|p| sample_index(p, unit_f64(rng)) as i64).collect()
                }
            };
            for (row, &id) in new.iter_mut().zip(&next) {
                row.push(id);
            }
            ids = Tensor::cat(&[ids, Tensor::from_slice(&next).to(device).unsqueeze(1)], 1);
            if new.iter().all(|r| r.contains(&lm.newline)) {
                break;
            }
        }
        for (&i, toks) in rows.iter().zip(&new) {
            let end = toks.iter().position(|&t| t == lm.newline).map_or(toks.len(), |p| p + 1);
            out[i] = lm.tok.decode(&toks[..end]);
        }
    }
    Ok(out)
}

/// Inverse-CDF draw from probabilities summing to about 1.
fn sample_index(p: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, &x) in p.iter().enumerate() {
        acc += x;
        if u < acc {
            return i;
        }
    }
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

/// Exact-match accuracy on `problems`, greedy and sampled at T = 1.
pub fn evaluate(lm: &Lm, task: &Task, problems: &[Problem], seed: u64) -> Result<(f64, f64)> {
    let prompts: Vec<String> = problems.iter().map(|&p| task.prompt(p)).collect();
    let max_new = task.answer(Problem { a: 0, b: 0 }).len() + 2;
    let mut rng = DefaultRng::seed_from_u64(seed ^ 0xE7A1);
    let score = |outs: Vec<String>| {
        outs.iter().zip(problems).filter(|(o, &p)| task.reward(p, o)).count() as f64 / problems.len().max(1) as f64
    };
    Ok((
        score(generate(lm, &prompts, max_new, None, &mut rng)?),
        score(generate(lm, &prompts, max_new, Some(1.0), &mut rng)?),
    ))
}

/// One evaluation during fine-tuning.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    pub step: usize,
    pub greedy: f64,
    pub sampled: f64,
    /// Mean training loss since the previous point (NaN at step 0).
    pub loss: f64,
    /// Mean iw-SFT weight since the previous point (1 for SFT).
    pub mean_weight: f64,
    pub elapsed_s: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MethodRun {
    pub method: Method,
    pub points: Vec<Point>,
    pub ms_per_step: f64,
}

/// Everything one seed produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeedRun {
    pub seed: u64,
    pub reference_greedy: f64,
    pub reference_sampled: f64,
    pub pretrain_ms_per_step: f64,
    pub curated: usize,
    pub curation_samples: usize,
    pub methods: Vec<MethodRun>,
    pub interrupted: bool,
}

/// Progress and stop hooks of a run.
pub struct Hooks<'a> {
    pub stop: &'a AtomicBool,
    pub tick: &'a (dyn Fn(u64) + Sync),
    pub point: &'a (dyn Fn(u64, Method, &Point) + Sync),
    pub log: &'a (dyn Fn(String) + Sync),
}

fn stopped(h: &Hooks) -> bool {
    h.stop.load(Ordering::Relaxed)
}

fn pretrain(cfg: &SftConfig, lm: &Lm, train: &[Problem], rng: &mut DefaultRng, h: &Hooks) -> Result<f64> {
    let mut opt = nn::AdamW { wd: 0.01, ..Default::default() }.build(&lm.vs, cfg.pretrain_lr)?;
    let start = Instant::now();
    let mut done = 0;
    for step in 0..cfg.pretrain_steps {
        if stopped(h) {
            break;
        }
        let pairs: Vec<(String, String)> = (0..cfg.batch)
            .map(|_| {
                let p = train[below(rng, train.len())];
                let answer = if unit_f64(rng) < cfg.pretrain_correct {
                    cfg.task.answer(p)
                } else {
                    cfg.task.wrong_answer(p, rng)
                };
                (cfg.task.prompt(p), answer)
            })
            .collect();
        let rows = Rows::encode(lm, &pairs)?;
        let all: Vec<usize> = (0..rows.count).collect();
        let (ids, targets) = rows.tensors(&all, lm.vs.device());
        // Warm-up then cosine decay: stable from scratch.
        let frac = step as f64 / cfg.pretrain_steps as f64;
        let warm = ((step + 1) as f64 / 100.0).min(1.0);
        opt.set_lr(cfg.pretrain_lr * warm * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
        let loss = sft_loss(&lm.gpt.forward(&ids), &targets, 0.0)?;
        opt.zero_grad();
        loss.backward();
        opt.clip_grad_norm(1.0);
        opt.step();
        done += 1;
        (h.tick)(1);
        if (step + 1) % 500 == 0 {
            (h.log)(format!("pre-training step {}: loss {:.4}", step + 1, loss.double_value(&[])));
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e3 / done.max(1) as f64)
}

/// Samples `samples_per_problem` completions per problem at T = 1 and keeps the right ones.
fn curate(cfg: &SftConfig, lm: &Lm, problems: &[Problem], rng: &mut DefaultRng) -> Result<Vec<(String, String)>> {
    let mut prompts = Vec::new();
    let mut owners = Vec::new();
    for &p in problems {
        for _ in 0..cfg.samples_per_problem {
            prompts.push(cfg.task.prompt(p));
            owners.push(p);
        }
    }
    let max_new = cfg.task.answer(Problem { a: 0, b: 0 }).len() + 2;
    let mut kept = Vec::new();
    for (chunk, who) in prompts.chunks(1024).zip(owners.chunks(1024)) {
        for ((prompt, out), &p) in chunk.iter().zip(generate(lm, chunk, max_new, Some(1.0), rng)?).zip(who) {
            if cfg.task.reward(p, &out) {
                kept.push((prompt.clone(), out));
            }
        }
    }
    Ok(kept)
}

/// What every fine-tuning run of a seed shares.
struct Curated<'a> {
    reference: &'a Lm,
    data: Rows,
    /// The reference's log-probabilities of `data`'s targets, `[rows, len]`.
    ref_lp: Tensor,
    eval: &'a [Problem],
    seed: u64,
    /// The reference's held-out (greedy, sampled) accuracy: every method's step 0.
    reference_scores: (f64, f64),
}

fn finetune(cfg: &SftConfig, c: &Curated, method: Method, h: &Hooks) -> Result<MethodRun> {
    let Curated { reference, data, ref_lp, eval, seed, reference_scores } = c;
    let (eval, seed) = (*eval, *seed);
    let lm = reference.copy()?;
    let device = lm.vs.device();
    let mut opt = nn::AdamW { wd: 0.0, ..Default::default() }.build(&lm.vs, cfg.finetune_lr)?;
    let loss_fn = IwSftLoss::with_config(cfg.iw)?;
    // The same batches for every method.
    let mut rng = DefaultRng::seed_from_u64(seed ^ 0xF1E7);
    let start = Instant::now();
    // The copy is the reference: its step-0 scores are the reference's, already measured.
    let (greedy, sampled) = *reference_scores;
    let first = Point { step: 0, greedy, sampled, loss: f64::NAN, mean_weight: 1.0, elapsed_s: 0.0 };
    (h.point)(seed, method, &first);
    let mut points = vec![first];
    let (mut loss_sum, mut weight_sum, mut n, mut train_s) = (0.0, 0.0, 0usize, 0.0);
    let mut step = 0;
    while step < cfg.finetune_steps && !stopped(h) {
        let t0 = Instant::now();
        let pick: Vec<usize> = (0..cfg.batch).map(|_| below(&mut rng, data.count)).collect();
        let (ids, targets) = data.tensors(&pick, device);
        let logits = lm.gpt.forward(&ids);
        let (loss, mean_w) = match method {
            Method::Sft => (sft_loss(&logits, &targets, cfg.iw.epsilon)?, 1.0),
            Method::IwSft => {
                let idx = Tensor::from_slice(&pick.iter().map(|&i| i as i64).collect::<Vec<_>>()).to(device);
                let out = loss_fn.loss_fn(&logits, &targets, &ref_lp.index_select(0, &idx))?;
                let positive: Vec<f64> = out.weights.iter().copied().filter(|&w| w > 0.0).collect();
                (out.loss, positive.iter().sum::<f64>() / positive.len().max(1) as f64)
            }
        };
        opt.zero_grad();
        loss.backward();
        opt.clip_grad_norm(1.0);
        opt.step();
        train_s += t0.elapsed().as_secs_f64();
        loss_sum += loss.double_value(&[]);
        weight_sum += mean_w;
        n += 1;
        step += 1;
        (h.tick)(1);
        if step % cfg.eval_every == 0 || step == cfg.finetune_steps {
            let (greedy, sampled) = evaluate(&lm, &cfg.task, eval, seed)?;
            let p = Point {
                step,
                greedy,
                sampled,
                loss: loss_sum / n as f64,
                mean_weight: weight_sum / n as f64,
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            (h.point)(seed, method, &p);
            points.push(p);
            (loss_sum, weight_sum, n) = (0.0, 0.0, 0);
        }
    }
    Ok(MethodRun { method, points, ms_per_step: train_s * 1e3 / step.max(1) as f64 })
}

/// The whole pipeline for one seed. With `save_reference`, the reference is
/// written there as a Hugging Face GPT-2 folder.
pub fn run_seed(
    cfg: &SftConfig,
    seed: u64,
    device: Device,
    save_reference: Option<&Path>,
    h: &Hooks,
) -> Result<SeedRun> {
    let (train, eval) = cfg.task.split(cfg.eval_problems)?;
    let mut rng = DefaultRng::seed_from_u64(seed);
    let (reference, pretrain_ms) = match &cfg.model_dir {
        Some(dir) => (Lm::load(dir, device).with_context(|| format!("--model {}", dir.display()))?, 0.0),
        None => {
            let lm = Lm::fresh(&cfg.gpt, seed, device)?;
            let ms = pretrain(cfg, &lm, &train, &mut rng, h)?;
            (lm, ms)
        }
    };
    if let Some(dir) = save_reference {
        reference.save(dir)?;
    }
    let (reference_greedy, reference_sampled) = evaluate(&reference, &cfg.task, &eval, seed)?;
    (h.log)(format!("[seed {seed}] reference: greedy {reference_greedy:.3}, sampled {reference_sampled:.3}"));
    let pool: Vec<Problem> =
        (0..cfg.curate_problems.min(train.len())).map(|_| train[below(&mut rng, train.len())]).collect();
    let curated = curate(cfg, &reference, &pool, &mut rng)?;
    let curation_samples = pool.len() * cfg.samples_per_problem;
    if curated.is_empty() {
        bail!("curation kept nothing: the reference solved none of {curation_samples} sampled problems (train it longer, or load a stronger --model)");
    }
    (h.log)(format!("[seed {seed}] curated {} of {curation_samples} samples", curated.len()));
    let data = Rows::encode(&reference, &curated)?;
    let all: Vec<usize> = (0..data.count).collect();
    let (ids, targets) = data.tensors(&all, device);
    let ref_lp = tch::no_grad(|| token_log_probs(&reference.gpt.forward(&ids), &targets));
    let shared = Curated {
        reference: &reference,
        data,
        ref_lp,
        eval: &eval,
        seed,
        reference_scores: (reference_greedy, reference_sampled),
    };
    let mut methods = Vec::new();
    for &m in &cfg.methods {
        if !stopped(h) {
            methods.push(finetune(cfg, &shared, m, h)?);
        }
    }
    let interrupted = stopped(h);
    Ok(SeedRun {
        seed,
        reference_greedy,
        reference_sampled,
        pretrain_ms_per_step: pretrain_ms,
        curated: curated.len(),
        curation_samples,
        methods,
        interrupted,
    })
}
