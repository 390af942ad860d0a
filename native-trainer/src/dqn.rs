//! Double DQN (van Hasselt et al. 2016) with a target network and replay
//! through `adasample` (uniform, proportional PER or rank PER; Schaul et al.
//! 2016): IS weights scale the Huber loss, |TD error| becomes the new
//! priority, beta anneals to 1 over the run's gradient updates.
//!
//! Reads top to bottom: config, network, one run (act, store, learn, sync,
//! evaluate), the greedy evaluation.

use crate::envs::{Env, EnvId};
use crate::replay::{Replay, Sampler};
use adasample::rng::{below, unit_f64};
use adasample::DefaultRng;
use anyhow::Result;
use rand_core::SeedableRng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

/// Hyperparameters; the defaults learn CartPole-v1 in a few tens of
/// thousands of steps on a CPU.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DqnConfig {
    pub env: EnvId,
    /// Environment steps of training.
    pub steps: u64,
    pub learning_rate: f64,
    pub gamma: f64,
    pub batch: usize,
    pub buffer: usize,
    /// Steps of random play before the first update.
    pub learning_starts: u64,
    /// Steps between hard target-network syncs.
    pub target_every: u64,
    pub eps_start: f64,
    pub eps_end: f64,
    /// Fraction of `steps` over which epsilon decays linearly.
    pub eps_fraction: f64,
    /// Steps between evaluations.
    pub eval_every: u64,
    pub eval_episodes: usize,
    pub hidden: i64,
    /// Gradient-norm clip.
    pub max_grad_norm: f64,
}

impl DqnConfig {
    pub fn new(env: EnvId, steps: u64) -> Self {
        DqnConfig {
            env,
            steps,
            learning_rate: 5e-4,
            gamma: 0.99,
            batch: 64,
            buffer: 50_000,
            learning_starts: 1_000,
            target_every: 500,
            eps_start: 1.0,
            eps_end: 0.05,
            eps_fraction: 0.2,
            eval_every: (steps / 20).max(500),
            eval_episodes: 5,
            hidden: 128,
            max_grad_norm: 10.0,
        }
    }

    /// Gymnasium's `reward_threshold` for the env: "solved".
    pub fn threshold(&self) -> f64 {
        match self.env {
            EnvId::CartPole => 475.0,
            EnvId::Acrobot => -100.0,
            EnvId::MountainCar => -110.0,
        }
    }

    fn epsilon(&self, step: u64) -> f64 {
        let ramp = (self.eps_fraction * self.steps as f64).max(1.0);
        let t = (step as f64 / ramp).min(1.0);
        self.eps_start + t * (self.eps_end - self.eps_start)
    }
}

/// One evaluation point of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalPoint {
    pub env_step: u64,
    pub return_mean: f64,
    pub return_std: f64,
    pub train_episodes: u64,
    pub loss_mean: f64,
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
    pub interrupted: bool,
}

fn greedy(net: &impl Module, obs: &[f32], device: Device) -> usize {
    let q = tch::no_grad(|| net.forward(&Tensor::from_slice(obs).to(device).unsqueeze(0)));
    q.argmax(1, false).int64_value(&[0]) as usize
}

/// One training run. `on_eval` sees every evaluation as it happens (metrics
/// file, log); `stop` ends the run early (Ctrl-C), keeping what was done.
pub fn run(
    cfg: &DqnConfig,
    sampler: Sampler,
    seed: u64,
    device: Device,
    stop: &AtomicBool,
    mut on_step: impl FnMut(u64),
    mut on_eval: impl FnMut(&EvalPoint),
) -> Result<RunResult> {
    tch::manual_seed(seed as i64);
    let mut rng = DefaultRng::seed_from_u64(seed);
    let mut env = cfg.env.make();
    let (obs_dim, n_actions) = (env.obs_dim as i64, env.actions as i64);
    let online_vs = nn::VarStore::new(device);
    let online = crate::layers::mlp(&online_vs.root(), obs_dim, cfg.hidden, n_actions);
    let mut target_vs = nn::VarStore::new(device);
    let target = crate::layers::mlp(&target_vs.root(), obs_dim, cfg.hidden, n_actions);
    target_vs.copy(&online_vs)?;
    let mut opt = nn::Adam::default().build(&online_vs, cfg.learning_rate)?;
    let updates = cfg.steps.saturating_sub(cfg.learning_starts);
    let mut replay = Replay::new(sampler, cfg.buffer, env.obs_dim, updates, seed ^ 0x5eed)?;

    let start = Instant::now();
    let mut obs = env.reset(&mut rng);
    let (mut episodes, mut losses, mut loss_count) = (0u64, 0.0, 0u64);
    let mut evals = Vec::new();
    let mut step = 0;
    while step < cfg.steps && !stop.load(Ordering::Relaxed) {
        // ---- act (epsilon-greedy) and store
        let action = if unit_f64(&mut rng) < cfg.epsilon(step) {
            below(&mut rng, env.actions)
        } else {
            greedy(&online, &obs, device)
        };
        let out = env.step(action)?;
        replay.push(&obs, action as i64, out.reward as f32, &out.obs, out.terminated)?;
        obs = if out.terminated || out.truncated {
            episodes += 1;
            env.reset(&mut rng)
        } else {
            out.obs
        };
        step += 1;

        // ---- learn: Double DQN target, IS-weighted Huber loss, new priorities
        if step > cfg.learning_starts {
            let batch = replay.sample(cfg.batch)?;
            let n = batch.keys.len() as i64;
            let s = Tensor::from_slice(batch.obs).view([n, obs_dim]).to(device);
            let s2 = Tensor::from_slice(batch.next_obs).view([n, obs_dim]).to(device);
            let a = Tensor::from_slice(batch.actions).to_kind(Kind::Int64).to(device).unsqueeze(1);
            let r = Tensor::from_slice(batch.rewards).to(device);
            let ended = Tensor::from_slice(batch.terminated).to_kind(Kind::Float).to(device);
            let live: Tensor = ended.ones_like() - &ended;
            let w = Tensor::from_slice(&batch.weights).to_kind(Kind::Float).to(device);
            let y = tch::no_grad(|| {
                let next_a = online.forward(&s2).argmax(1, true);
                let q_next = target.forward(&s2).gather(1, &next_a, false).squeeze_dim(1);
                r + live * cfg.gamma * q_next
            });
            let q = online.forward(&s).gather(1, &a, false).squeeze_dim(1);
            let td = &y - &q;
            let loss = (q.huber_loss(&y, tch::Reduction::None, 1.0) * &w).mean(Kind::Float);
            opt.zero_grad();
            loss.backward();
            opt.clip_grad_norm(cfg.max_grad_norm);
            opt.step();
            let td: Vec<f64> = Vec::<f32>::try_from(td.detach().to(Device::Cpu))?.into_iter().map(f64::from).collect();
            let keys = batch.keys.clone();
            drop(batch);
            replay.update(&keys, &td)?;
            losses += loss.double_value(&[]);
            loss_count += 1;
        }
        if step % cfg.target_every == 0 {
            target_vs.copy(&online_vs)?;
        }
        on_step(step);

        // ---- evaluate
        if step % cfg.eval_every == 0 || step == cfg.steps {
            let (mean, std) = evaluate(cfg, &online, device, seed.wrapping_add(step))?;
            let point = EvalPoint {
                env_step: step,
                return_mean: mean,
                return_std: std,
                train_episodes: episodes,
                loss_mean: if loss_count > 0 { losses / loss_count as f64 } else { f64::NAN },
                epsilon: cfg.epsilon(step),
                beta: replay.beta(),
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            on_eval(&point);
            evals.push(point);
            (losses, loss_count) = (0.0, 0);
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(RunResult {
        sampler,
        seed,
        evals,
        env_steps: step,
        steps_per_second: step as f64 / secs,
        interrupted: step < cfg.steps,
    })
}

/// Greedy episodes on a fresh environment: mean and standard deviation of returns.
fn evaluate(cfg: &DqnConfig, net: &impl Module, device: Device, seed: u64) -> Result<(f64, f64)> {
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
