//! The iw-SFT scenario (Qin & Springenberg 2025), at a scale one machine runs:
//! 1. a reference GPT trained from scratch on broad addition data of mixed
//!    quality (or a GPT-2 checkpoint loaded from disk with `--model`);
//! 2. curation with the reward: sample completions from the reference for
//!    training problems, keep only the correct ones, as the paper curates;
//! 3. fine-tuning copies of the reference on the curated set with SFT and with
//!    iw-SFT (same batches, same steps), the reference's log-probabilities of
//!    the curated tokens computed once; and with `rwr`: SFT on *all* sampled
//!    completions, drawn through the core's `RewardWeightedSampler` by their
//!    graded reward (RWR, or AWR with advantage normalisation);
//! 4. exact-match accuracy on held-out problems, greedy and sampled (T = 1),
//!    and the mean graded reward of the sampled answers, during fine-tuning;
//!    for iw-SFT also the spread of its weights.
//!
//! Sampling uses the run's own generator (`DefaultRng`), so runs in parallel
//! threads stay reproducible; initialisation holds a lock around tch's global
//! seed for the same reason.

use crate::arith::{Problem, Task, ALPHABET};
use crate::gpt::{token_log_probs, Gpt, GptConfig};
use crate::iwloss::{sft_loss, IwSftLoss};
use crate::tokenizer::Tokenizer;
use adasample::iw::IwSftConfig;
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::rng::{below, unit_f64, DefaultRng};
use adasample::schedule::Schedule;
use adasample::storage::Heap;
use anyhow::{bail, Context, Result};
use rand_core::SeedableRng;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// How the reference is fine-tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// SFT on the curated (right) samples, batches uniform.
    Sft,
    /// iw-SFT on the curated samples: the same batches, importance-weighted.
    IwSft,
    /// SFT on every sample, batches drawn by reward (RWR, or AWR with --advantage).
    Rwr,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Sft, Method::IwSft, Method::Rwr];

    pub fn name(self) -> &'static str {
        match self {
            Method::Sft => "sft",
            Method::IwSft => "iw-sft",
            Method::Rwr => "rwr",
        }
    }
}

/// The reward-weighted sampler of `rwr`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RwrConfig {
    /// Temperature of the reward weights (`exp((R - max R) / T)`, or `exp(A / T)` with advantages).
    pub temperature: f64,
    /// AWR: normalised advantages, weights clipped at 20.
    pub advantage: bool,
}

impl RwrConfig {
    /// The core sampler's config for `rows` samples and a run's `seed` (its own
    /// stream, apart from the uniform batches'). IS weights off (beta 0): the
    /// biased distribution is the point of RWR.
    pub fn sampler_config(&self, rows: usize, seed: u64) -> RewardConfig {
        RewardConfig {
            temperature: self.temperature,
            normalize_advantages: self.advantage,
            seed: seed ^ 0x5_EED0_F4A4,
            ..RewardConfig::new(rows)
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
    pub rwr: RwrConfig,
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
            rwr: RwrConfig { temperature: 1.0, advantage: false },
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
            out[i] = lm.tok.decode(&toks[..end])?;
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

/// Held-out scores of a model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Exact match, greedy decoding.
    pub greedy: f64,
    /// Exact match, sampled at T = 1.
    pub sampled: f64,
    /// Mean graded reward (`Task::score`) of the sampled answers.
    pub reward: f64,
}

/// Exact-match accuracy on `problems`, greedy and sampled at T = 1, and the
/// sampled answers' mean graded reward.
pub fn evaluate(lm: &Lm, task: &Task, problems: &[Problem], seed: u64) -> Result<Scores> {
    let prompts: Vec<String> = problems.iter().map(|&p| task.prompt(p)).collect();
    let max_new = task.answer(Problem { a: 0, b: 0 }).len() + 2;
    let mut rng = DefaultRng::seed_from_u64(seed ^ 0xE7A1);
    let n = problems.len().max(1) as f64;
    let exact = |outs: &[String]| outs.iter().zip(problems).filter(|(o, &p)| task.reward(p, o)).count() as f64 / n;
    let greedy = generate(lm, &prompts, max_new, None, &mut rng)?;
    let sampled = generate(lm, &prompts, max_new, Some(1.0), &mut rng)?;
    let reward = sampled.iter().zip(problems).map(|(o, &p)| task.score(p, o)).sum::<f64>() / n;
    Ok(Scores { greedy: exact(&greedy), sampled: exact(&sampled), reward })
}

/// Bins of the iw-SFT weight histograms: `[k/8, (k+1)/8)` for k < 24, and
/// one last bin for 3 and above (sequence weights are clipped at 16, token
/// weights at 1.8).
pub const WEIGHT_BIN: f64 = 0.125;
pub const WEIGHT_BINS: usize = 25;

/// The spread of the iw-SFT weights used since the previous evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WeightStats {
    pub count: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
    /// Counts per bin of `WEIGHT_BIN` from 0; the last bin holds everything from 3 up.
    pub histogram: Vec<u64>,
}

impl WeightStats {
    /// Of the weights a batch used (sequence weights, or the weights of valid tokens).
    pub fn of(weights: &[f64]) -> Option<Self> {
        let mut w: Vec<f64> = weights.iter().copied().filter(|x| x.is_finite()).collect();
        if w.is_empty() {
            return None;
        }
        w.sort_by(f64::total_cmp);
        let n = w.len();
        let mean = w.iter().sum::<f64>() / n as f64;
        let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let q = |f: f64| w[((n - 1) as f64 * f).round() as usize];
        let mut histogram = vec![0u64; WEIGHT_BINS];
        for &x in &w {
            histogram[((x.max(0.0) / WEIGHT_BIN) as usize).min(WEIGHT_BINS - 1)] += 1;
        }
        Some(WeightStats {
            count: n,
            mean,
            sd,
            min: w[0],
            p10: q(0.1),
            p50: q(0.5),
            p90: q(0.9),
            max: w[n - 1],
            histogram,
        })
    }
}

/// One evaluation during fine-tuning.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    pub step: usize,
    pub greedy: f64,
    pub sampled: f64,
    /// Mean graded reward of the sampled held-out answers.
    pub reward: f64,
    /// Mean training loss since the previous point (NaN at step 0).
    pub loss: f64,
    /// Mean iw-SFT weight since the previous point (1 for SFT and rwr).
    pub mean_weight: f64,
    /// iw-SFT only: the weights since the previous point.
    pub weights: Option<WeightStats>,
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
    pub reference: Scores,
    pub pretrain_ms_per_step: f64,
    /// Right samples kept for SFT and iw-SFT.
    pub curated: usize,
    pub curation_samples: usize,
    /// Mean graded reward of every curation sample (what rwr weighs).
    pub curation_reward: f64,
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
    // A linear warm-up over 100 steps, then cosine decay to 0: stable from scratch.
    let warm_up = Schedule::Linear { start: 0.01, end: 1.0, steps: 99 };
    let decay = Schedule::Cosine { start: cfg.pretrain_lr, end: 0.0, steps: cfg.pretrain_steps as u64 };
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
        opt.set_lr(warm_up.value(step as u64) * decay.value(step as u64));
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

/// A sampled completion of a training problem with its graded reward.
#[derive(Debug, Clone)]
pub struct Sample {
    pub prompt: String,
    pub completion: String,
    pub reward: f64,
    pub right: bool,
}

/// Samples `samples_per_problem` completions per problem at T = 1, each
/// with its graded reward.
fn sample_pool(cfg: &SftConfig, lm: &Lm, problems: &[Problem], rng: &mut DefaultRng) -> Result<Vec<Sample>> {
    let mut prompts = Vec::new();
    let mut owners = Vec::new();
    for &p in problems {
        for _ in 0..cfg.samples_per_problem {
            prompts.push(cfg.task.prompt(p));
            owners.push(p);
        }
    }
    let max_new = cfg.task.answer(Problem { a: 0, b: 0 }).len() + 2;
    let mut pool = Vec::with_capacity(prompts.len());
    for (chunk, who) in prompts.chunks(1024).zip(owners.chunks(1024)) {
        for ((prompt, out), &p) in chunk.iter().zip(generate(lm, chunk, max_new, Some(1.0), rng)?).zip(who) {
            if out.is_empty() {
                // Only ids the tokenizer does not know: nothing to train on.
                continue;
            }
            let (reward, right) = (cfg.task.score(p, &out), cfg.task.reward(p, &out));
            pool.push(Sample { prompt: prompt.clone(), completion: out, reward, right });
        }
    }
    Ok(pool)
}

/// Where a method's batches come from: uniform over its rows (SFT and
/// iw-SFT, the same draws for both), or the core's reward-weighted sampler
/// over the rows' graded rewards (rwr).
pub enum Batches {
    Uniform { rows: usize, rng: DefaultRng },
    Reward(RewardWeightedSampler<Heap>),
}

impl Batches {
    /// The batches of `method` for `seed`; `rewards` are the rows' graded rewards (used by rwr).
    pub fn new(method: Method, rwr: &RwrConfig, rewards: &[f64], seed: u64) -> Result<Self> {
        if rewards.is_empty() {
            bail!("{}: no rows to draw batches from", method.name());
        }
        Ok(match method {
            Method::Sft | Method::IwSft => {
                Batches::Uniform { rows: rewards.len(), rng: DefaultRng::seed_from_u64(seed ^ 0xF1E7) }
            }
            Method::Rwr => {
                let mut sampler = RewardWeightedSampler::new(rwr.sampler_config(rewards.len(), seed))?;
                sampler.extend(rewards)?;
                Batches::Reward(sampler)
            }
        })
    }

    /// The row indices of the next batch of `size`.
    pub fn next(&mut self, size: usize) -> Result<Vec<usize>> {
        match self {
            Batches::Uniform { rows, rng } => Ok((0..size).map(|_| below(rng, *rows)).collect()),
            Batches::Reward(sampler) => Ok(sampler.sample(size)?.0),
        }
    }
}

/// One set of training rows and what the methods need of it.
struct Data {
    rows: Rows,
    rewards: Vec<f64>,
    /// The reference's log-probabilities of the rows' targets, `[rows, len]` (iw-SFT).
    ref_lp: Option<Tensor>,
}

/// What every fine-tuning run of a seed shares.
struct Shared<'a> {
    reference: &'a Lm,
    /// The right samples (SFT, iw-SFT), when a method trains on them.
    curated: Option<Data>,
    /// Every sample (rwr), when rwr runs.
    all: Option<Data>,
    eval: &'a [Problem],
    seed: u64,
    /// The reference's held-out scores: every method's step 0.
    reference_scores: Scores,
}

fn finetune(cfg: &SftConfig, c: &Shared, method: Method, h: &Hooks) -> Result<MethodRun> {
    let (eval, seed) = (c.eval, c.seed);
    let data = if method == Method::Rwr { c.all.as_ref() } else { c.curated.as_ref() }
        .with_context(|| format!("{}: its training rows were not prepared", method.name()))?;
    let lm = c.reference.copy()?;
    let device = lm.vs.device();
    let mut opt = nn::AdamW { wd: 0.0, ..Default::default() }.build(&lm.vs, cfg.finetune_lr)?;
    let loss_fn = IwSftLoss::with_config(cfg.iw)?;
    let mut batches = Batches::new(method, &cfg.rwr, &data.rewards, seed)?;
    let start = Instant::now();
    // The copy is the reference: its step-0 scores are the reference's, already measured.
    let Scores { greedy, sampled, reward } = c.reference_scores;
    let first =
        Point { step: 0, greedy, sampled, reward, loss: f64::NAN, mean_weight: 1.0, weights: None, elapsed_s: 0.0 };
    (h.point)(seed, method, &first);
    let mut points = vec![first];
    let (mut loss_sum, mut n, mut train_s) = (0.0, 0usize, 0.0);
    let mut used_weights: Vec<f64> = Vec::new();
    let mut step = 0;
    while step < cfg.finetune_steps && !stopped(h) {
        let t0 = Instant::now();
        let pick = batches.next(cfg.batch)?;
        let (ids, targets) = data.rows.tensors(&pick, device);
        let logits = lm.gpt.forward(&ids);
        let loss = match method {
            Method::IwSft => {
                let ref_lp = data.ref_lp.as_ref().context("iw-sft: the reference's log-probabilities are missing")?;
                let idx = Tensor::from_slice(&pick.iter().map(|&i| i as i64).collect::<Vec<_>>()).to(device);
                let out = loss_fn.loss_fn(&logits, &targets, &ref_lp.index_select(0, &idx))?;
                // Token mode reports 0 at masked tokens: not weights that were used.
                used_weights.extend(out.weights.iter().copied().filter(|&w| w > 0.0));
                out.loss
            }
            Method::Sft | Method::Rwr => sft_loss(&logits, &targets, cfg.iw.epsilon)?,
        };
        opt.zero_grad();
        loss.backward();
        opt.clip_grad_norm(1.0);
        opt.step();
        train_s += t0.elapsed().as_secs_f64();
        loss_sum += loss.double_value(&[]);
        n += 1;
        step += 1;
        (h.tick)(1);
        if step % cfg.eval_every == 0 || step == cfg.finetune_steps {
            let Scores { greedy, sampled, reward } = evaluate(&lm, &cfg.task, eval, seed)?;
            let weights = WeightStats::of(&used_weights);
            let p = Point {
                step,
                greedy,
                sampled,
                reward,
                loss: loss_sum / n as f64,
                mean_weight: weights.as_ref().map_or(1.0, |w| w.mean),
                weights,
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            (h.point)(seed, method, &p);
            points.push(p);
            (loss_sum, n) = (0.0, 0);
            used_weights.clear();
        }
    }
    Ok(MethodRun { method, points, ms_per_step: train_s * 1e3 / step.max(1) as f64 })
}

/// Rows of `samples` with their rewards, and the reference's log-probabilities when `with_ref`.
fn data_of(reference: &Lm, samples: &[&Sample], with_ref: bool) -> Result<Data> {
    let pairs: Vec<(String, String)> = samples.iter().map(|s| (s.prompt.clone(), s.completion.clone())).collect();
    let rows = Rows::encode(reference, &pairs)?;
    let ref_lp = if with_ref {
        let all: Vec<usize> = (0..rows.count).collect();
        let (ids, targets) = rows.tensors(&all, reference.vs.device());
        Some(tch::no_grad(|| token_log_probs(&reference.gpt.forward(&ids), &targets)))
    } else {
        None
    };
    Ok(Data { rows, rewards: samples.iter().map(|s| s.reward).collect(), ref_lp })
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
    let reference_scores = evaluate(&reference, &cfg.task, &eval, seed)?;
    (h.log)(format!(
        "[seed {seed}] reference: greedy {:.3}, sampled {:.3}, reward {:.3}",
        reference_scores.greedy, reference_scores.sampled, reference_scores.reward
    ));
    let problems: Vec<Problem> =
        (0..cfg.curate_problems.min(train.len())).map(|_| train[below(&mut rng, train.len())]).collect();
    let pool = sample_pool(cfg, &reference, &problems, &mut rng)?;
    let curation_samples = pool.len();
    let right: Vec<&Sample> = pool.iter().filter(|s| s.right).collect();
    let needs_curated = cfg.methods.iter().any(|&m| m != Method::Rwr);
    if right.is_empty() && needs_curated {
        bail!("curation kept nothing: the reference solved none of {curation_samples} sampled problems (train it longer, or load a stronger --model)");
    }
    let curation_reward = pool.iter().map(|s| s.reward).sum::<f64>() / curation_samples.max(1) as f64;
    (h.log)(format!(
        "[seed {seed}] curated {} of {curation_samples} samples (mean graded reward {curation_reward:.3})",
        right.len()
    ));
    let with_ref = cfg.methods.contains(&Method::IwSft);
    let curated = needs_curated.then(|| data_of(&reference, &right, with_ref)).transpose()?;
    let everything: Vec<&Sample> = pool.iter().collect();
    let all = cfg.methods.contains(&Method::Rwr).then(|| data_of(&reference, &everything, false)).transpose()?;
    let shared = Shared { reference: &reference, curated, all, eval: &eval, seed, reference_scores };
    let mut methods = Vec::new();
    for &m in &cfg.methods {
        if !stopped(h) {
            methods.push(finetune(cfg, &shared, m, h)?);
        }
    }
    let interrupted = stopped(h);
    Ok(SeedRun {
        seed,
        reference: reference_scores,
        pretrain_ms_per_step: pretrain_ms,
        curated: right.len(),
        curation_samples,
        curation_reward,
        methods,
        interrupted,
    })
}
