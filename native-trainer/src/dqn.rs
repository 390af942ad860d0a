//! Double DQN (van Hasselt et al. 2016) with a target network and replay
//! through `adasample` (uniform, stratified uniform, proportional PER or
//! rank PER; Schaul et al. 2016): IS weights scale the loss, |TD error|
//! becomes the new priority, beta anneals to 1 over the run's gradient
//! updates; n-step returns come from the core's windows.
//!
//! Reads top to bottom: config, one run (act, store, learn, sync,
//! evaluate), the greedy evaluation.

use crate::envs::{Env, EnvId};
use crate::replay::{Batch, Replay, Returns, Sampler};
use adasample::rng::{below, unit_f64};
use adasample::schedule::Schedule;
use adasample::DefaultRng;
use anyhow::Result;
use rand_core::SeedableRng;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

/// The loss on the TD error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Squared error (CleanRL's `F.mse_loss`).
    Mse,
    /// Huber (smooth L1) with delta 1.
    Huber,
}

/// Hyperparameters, named as in CleanRL's `dqn.py`. [`DqnConfig::new`]
/// learns CartPole-v1 in a few tens of thousands of steps on a CPU;
/// [`DqnConfig::cleanrl`] is CleanRL's configuration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DqnConfig {
    pub env: EnvId,
    /// Environment steps of training.
    pub total_timesteps: u64,
    pub learning_rate: f64,
    /// Replay capacity (transitions).
    pub buffer_size: usize,
    pub gamma: f64,
    /// Target update rate: `target <- tau * online + (1 - tau) * target` (1: a hard copy).
    pub tau: f64,
    /// Env steps between target updates.
    pub target_network_frequency: u64,
    pub batch_size: usize,
    pub start_e: f64,
    pub end_e: f64,
    /// Fraction of `total_timesteps` over which epsilon decays linearly.
    pub exploration_fraction: f64,
    /// Env steps of play before the first update.
    pub learning_starts: u64,
    /// Env steps between gradient updates.
    pub train_frequency: u64,
    pub loss: Loss,
    /// Gradient-norm clip; `None`: no clipping.
    pub max_grad_norm: Option<f64>,
    /// Hidden layer sizes of the Q network.
    pub hidden: Vec<i64>,
    /// Steps per transition (n-step returns through the core's windows; 1: plain).
    pub n_step: usize,
    /// Env steps between greedy evaluations; 0: none.
    pub eval_every: u64,
    pub eval_episodes: usize,
}

impl DqnConfig {
    pub fn new(env: EnvId, total_timesteps: u64) -> Self {
        DqnConfig {
            env,
            total_timesteps,
            learning_rate: 5e-4,
            buffer_size: 50_000,
            gamma: 0.99,
            tau: 1.0,
            target_network_frequency: 500,
            batch_size: 64,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.2,
            learning_starts: 1_000,
            train_frequency: 1,
            loss: Loss::Huber,
            max_grad_norm: Some(10.0),
            hidden: vec![128, 128],
            n_step: 1,
            eval_every: (total_timesteps / 20).max(500),
            eval_episodes: 5,
        }
    }

    /// CleanRL's `dqn.py` defaults (its CartPole-v1 configuration).
    pub fn cleanrl(env: EnvId) -> Self {
        DqnConfig {
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            buffer_size: 10_000,
            gamma: 0.99,
            tau: 1.0,
            target_network_frequency: 500,
            batch_size: 128,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.5,
            learning_starts: 10_000,
            train_frequency: 10,
            loss: Loss::Mse,
            max_grad_norm: None,
            hidden: vec![120, 84],
            eval_every: 25_000,
            ..Self::new(env, 500_000)
        }
    }

    /// A short run that checks the whole pipeline in seconds (`--quick`).
    pub fn quicken(self) -> Self {
        DqnConfig { total_timesteps: 4_000, learning_starts: 500, eval_every: 1_000, eval_episodes: 3, ..self }
    }

    /// Gymnasium's `reward_threshold` for the env: "solved".
    pub fn threshold(&self) -> f64 {
        match self.env {
            EnvId::CartPole => 475.0,
            EnvId::Acrobot => -100.0,
            EnvId::MountainCar => -110.0,
        }
    }

    /// CleanRL's `linear_schedule`: from `start_e` to `end_e` over
    /// `exploration_fraction` of the run (at least one step), then `end_e`.
    pub fn epsilon(&self, step: u64) -> f64 {
        let steps = (self.exploration_fraction * self.total_timesteps as f64).round().max(1.0) as u64;
        Schedule::Linear { start: self.start_e, end: self.end_e, steps }.value(step)
    }

    /// Gradient updates of a run: what beta anneals over.
    pub fn updates(&self) -> u64 {
        self.total_timesteps.saturating_sub(self.learning_starts) / self.train_frequency.max(1)
    }
}

/// One evaluation point of a run (a `metrics.csv` row after the sampler and
/// seed; a value not defined yet is an empty field, the wall clock last).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EvalPoint {
    pub env_step: u64,
    #[serde(rename = "eval_return_mean")]
    pub return_mean: f64,
    #[serde(rename = "eval_return_std")]
    pub return_std: f64,
    pub train_episodes: u64,
    /// Mean of the last 10 training-episode returns (none before the first episode ends).
    pub train_return_mean10: Option<f64>,
    /// Mean loss since the previous evaluation (none before the first update).
    pub loss_mean: Option<f64>,
    pub epsilon: f64,
    pub beta: f64,
    pub elapsed_s: f64,
}

/// What a run leaves.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunResult {
    pub sampler: Sampler,
    pub seed: u64,
    pub evals: Vec<EvalPoint>,
    pub env_steps: u64,
    pub steps_per_second: f64,
    /// The first env step at which the mean of the last 10 training-episode
    /// returns reached the env's threshold (CleanRL-style reports).
    pub steps_to_threshold: Option<u64>,
    pub interrupted: bool,
}

/// Training episodes: how many ended, the running return, the last 10
/// returns (CleanRL-style reports) and when their mean first reached the
/// env's threshold.
#[derive(Debug, Default)]
pub struct Episodes {
    pub count: u64,
    current: f64,
    recent: VecDeque<f64>,
    pub steps_to_threshold: Option<u64>,
}

impl Episodes {
    pub fn reward(&mut self, r: f64) {
        self.current += r;
    }

    /// The running episode ended at env step `step`.
    pub fn end(&mut self, step: u64, threshold: f64) {
        self.count += 1;
        if self.recent.len() == 10 {
            self.recent.pop_front();
        }
        self.recent.push_back(self.current);
        self.current = 0.0;
        if self.steps_to_threshold.is_none() && self.recent.len() == 10 && self.mean10() >= Some(threshold) {
            self.steps_to_threshold = Some(step);
        }
    }

    /// The mean of the last (up to) 10 returns; none before the first ends.
    pub fn mean10(&self) -> Option<f64> {
        (!self.recent.is_empty()).then(|| self.recent.iter().sum::<f64>() / self.recent.len() as f64)
    }
}

pub fn greedy(net: &impl Module, obs: &[f32], device: Device) -> usize {
    let q = tch::no_grad(|| net.forward(&Tensor::from_slice(obs).to(device).unsqueeze(0)));
    q.argmax(1, false).int64_value(&[0]) as usize
}

/// Where a run's online network comes from and goes to (safetensors files).
#[derive(Debug, Clone, Copy, Default)]
pub struct Models<'a> {
    pub load: Option<&'a Path>,
    pub save: Option<&'a Path>,
}

/// One training run. `on_eval` sees every evaluation as it happens (metrics
/// file, log); `stop` ends the run early (Ctrl-C), keeping what was done.
#[allow(clippy::too_many_arguments)]
pub fn run(
    cfg: &DqnConfig,
    sampler: Sampler,
    seed: u64,
    device: Device,
    models: Models<'_>,
    stop: &AtomicBool,
    mut on_step: impl FnMut(u64),
    mut on_eval: impl FnMut(&EvalPoint),
) -> Result<RunResult> {
    let mut rng = DefaultRng::seed_from_u64(seed);
    let mut env = cfg.env.make();
    let (obs_dim, n_actions) = (env.obs_dim as i64, env.actions as i64);
    let mut online_vs = nn::VarStore::new(device);
    let mut target_vs = nn::VarStore::new(device);
    let (online, target) = crate::layers::seeded(seed, || {
        let online = crate::layers::mlp(&online_vs.root(), obs_dim, &cfg.hidden, n_actions);
        let target = crate::layers::mlp(&target_vs.root(), obs_dim, &cfg.hidden, n_actions);
        (online, target)
    });
    if let Some(path) = models.load {
        crate::layers::load(&mut online_vs, path)?;
    }
    target_vs.copy(&online_vs)?;
    let mut opt = nn::Adam::default().build(&online_vs, cfg.learning_rate)?;
    let returns = Returns { n: cfg.n_step, gamma: cfg.gamma };
    let mut replay = Replay::new(sampler, cfg.buffer_size, env.obs_dim, returns, cfg.updates(), seed ^ 0x5eed)?;

    let start = Instant::now();
    let mut obs = env.reset(&mut rng);
    let (mut episodes, mut losses, mut loss_count) = (Episodes::default(), 0.0, 0u64);
    let mut evals = Vec::new();
    let mut step = 0;
    while step < cfg.total_timesteps && !stop.load(Ordering::Relaxed) {
        // ---- act (epsilon-greedy) and store
        let action = if unit_f64(&mut rng) < cfg.epsilon(step) {
            below(&mut rng, env.actions)
        } else {
            greedy(&online, &obs, device)
        };
        let out = env.step(action)?;
        replay.step(std::mem::take(&mut obs), action as i32, out.reward, &out.obs, out.terminated, out.truncated)?;
        step += 1;
        episodes.reward(out.reward);
        obs = if out.terminated || out.truncated {
            episodes.end(step, cfg.threshold());
            env.reset(&mut rng)
        } else {
            out.obs
        };

        // ---- learn: Double DQN target, IS-weighted loss, new priorities
        if step > cfg.learning_starts && step % cfg.train_frequency == 0 && !replay.is_empty() {
            let batch = replay.sample(cfg.batch_size)?;
            let (td, loss) = learn(cfg, &online, &target, &mut opt, &batch, device)?;
            let keys = batch.keys.clone();
            drop(batch);
            replay.update(&keys, &td)?;
            losses += loss;
            loss_count += 1;
        }
        if step % cfg.target_network_frequency == 0 {
            crate::layers::soft_update(&mut target_vs, &online_vs, cfg.tau)?;
        }
        on_step(step);

        // ---- evaluate
        let last = step == cfg.total_timesteps;
        if (cfg.eval_every > 0 && step % cfg.eval_every == 0) || last {
            let (mean, std) = evaluate(cfg, &online, device, seed.wrapping_add(step))?;
            let point = EvalPoint {
                env_step: step,
                return_mean: mean,
                return_std: std,
                train_episodes: episodes.count,
                train_return_mean10: episodes.mean10(),
                loss_mean: if loss_count > 0 { Some(losses / loss_count as f64) } else { None },
                epsilon: cfg.epsilon(step),
                beta: replay.beta(),
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            on_eval(&point);
            evals.push(point);
            (losses, loss_count) = (0.0, 0);
        }
    }
    if let Some(path) = models.save {
        crate::layers::save(&online_vs, path)?;
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(RunResult {
        sampler,
        seed,
        evals,
        env_steps: step,
        steps_per_second: step as f64 / secs,
        steps_to_threshold: episodes.steps_to_threshold,
        interrupted: step < cfg.total_timesteps,
    })
}

/// One gradient update on `batch`: the Double DQN target (the online net
/// picks the next action, the target net values it), the IS-weighted loss,
/// an optimizer step. Returns the TD errors (the new priorities) and the loss.
pub fn learn(
    cfg: &DqnConfig,
    online: &impl Module,
    target: &impl Module,
    opt: &mut nn::Optimizer,
    batch: &Batch<'_>,
    device: Device,
) -> Result<(Vec<f64>, f64)> {
    let n = batch.weights.len() as i64;
    let obs_dim = batch.obs.len() as i64 / n.max(1);
    let s = Tensor::from_slice(batch.obs).view([n, obs_dim]).to(device);
    let s2 = Tensor::from_slice(batch.next_obs).view([n, obs_dim]).to(device);
    let a = Tensor::from_slice(batch.actions).to_kind(Kind::Int64).to(device).unsqueeze(1);
    let g = Tensor::from_slice(batch.returns).to(device);
    let discount = Tensor::from_slice(batch.discounts).to(device);
    let w = Tensor::from_slice(&batch.weights).to_kind(Kind::Float).to(device);
    let y = tch::no_grad(|| {
        let next_a = online.forward(&s2).argmax(1, true);
        let q_next = target.forward(&s2).gather(1, &next_a, false).squeeze_dim(1);
        g + discount * q_next
    });
    let q = online.forward(&s).gather(1, &a, false).squeeze_dim(1);
    let td = &y - &q;
    let per_item = match cfg.loss {
        Loss::Mse => td.square(),
        Loss::Huber => q.huber_loss(&y, tch::Reduction::None, 1.0),
    };
    let loss = (per_item * &w).mean(Kind::Float);
    opt.zero_grad();
    loss.backward();
    if let Some(max) = cfg.max_grad_norm {
        opt.clip_grad_norm(max);
    }
    opt.step();
    let td: Vec<f64> = Vec::<f32>::try_from(td.detach().to(Device::Cpu))?.into_iter().map(f64::from).collect();
    Ok((td, loss.double_value(&[])))
}

/// Greedy episodes on a fresh environment: mean and standard deviation of returns.
pub fn evaluate(cfg: &DqnConfig, net: &impl Module, device: Device, seed: u64) -> Result<(f64, f64)> {
    let mut rng = DefaultRng::seed_from_u64(seed ^ 0xE7A1);
    let mut env: Env = cfg.env.make();
    let mut returns = Vec::with_capacity(cfg.eval_episodes);
    for _ in 0..cfg.eval_episodes {
        let mut obs = env.reset(&mut rng);
        let mut total = 0.0;
        loop {
            let out = env.step(greedy(net, &obs, device))?;
            total += out.reward;
            if out.terminated || out.truncated {
                break;
            }
            obs = out.obs;
        }
        returns.push(total);
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    Ok((mean, var.sqrt()))
}
