//! Ape-X DQN (Horgan et al. 2018) over the ranks of `mpirun` (feature
//! `mpi`): ranks 1..K are actors, each stepping its own environment with its
//! own epsilon and holding a replay shard (proportional PER) with the
//! priorities it computes itself; rank 0 is the learner, which samples the
//! union of the shards exactly (the core's `ShardPlan`), trains Double DQN
//! on the batch, sends the new priorities back and, every so often, its
//! network weights.
//!
//! The ranks move in rounds, every message a collective that every rank
//! enters (so a failure on one rank is an error on all, never a hang):
//! 1. each actor takes `train_frequency` env steps and gives its new
//!    transitions their priorities `|TD|` under its own network copy;
//! 2. all-gather of each rank's status, total priority, smallest priority,
//!    size and recent returns (6 floats per rank), then an agreement;
//! 3. once the shards hold `learning_starts` transitions: every rank draws
//!    the same B global points from a shared seed; the actors reduce their
//!    rows onto the learner (B x (4 + 2 d) floats, each row from the one
//!    actor that holds it, zeros elsewhere: the sum is exact);
//! 4. the learner trains and broadcasts the B new priorities; each actor
//!    updates the draws it holds (a slot overwritten meanwhile is skipped);
//! 5. every `weight_sync` updates, a broadcast of the learner's weights.
//!
//! Exploration: actor `i` of `N` anneals linearly, as CleanRL's single
//! agent does, from `start_e` to Ape-X's constant `0.4^(1 + 7 i / (N - 1))`
//! (`end_e` for a single actor) over `exploration_fraction` of its steps.

use crate::distributed::{self, Group};
use crate::dqn::{self, DqnConfig, EvalPoint, RunResult};
use crate::replay::{Batch, Replay, Returns, Sampler};
use adasample::per::{PerConfig, PrioritizedSelector};
use adasample::rng::{below, unit_f64};
use adasample::schedule::Schedule;
use adasample::select::Key;
use adasample::shard::{global_weight, ShardPlan, ShardPoint};
use adasample::storage::Heap;
use adasample::DefaultRng;
use anyhow::{anyhow, bail, Result};
use rand_core::SeedableRng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

/// Learner updates between weight broadcasts (Ape-X's actors fetch every
/// 400 frames; at `train_frequency` 1 and a few actors this is close).
pub const WEIGHT_SYNC: u64 = 100;

/// The floats each rank gives per round.
const STATUS: usize = 6;

/// Actor `i`'s final epsilon of `n` actors.
pub fn actor_epsilon(cfg: &DqnConfig, i: usize, n: usize) -> f64 {
    if n <= 1 {
        cfg.end_e
    } else {
        0.4f64.powf(1.0 + 7.0 * i as f64 / (n - 1) as f64)
    }
}

/// Appends what the run was to a DQN `report.md`: the table above it
/// counts env steps over all actors.
pub fn note(report: &std::path::Path, cfg: &DqnConfig, ranks: usize) -> Result<()> {
    use std::io::Write;
    let actors = ranks.saturating_sub(1);
    let text = format!(
        "\n**Ape-X over {ranks} ranks** (`--distributed`): rank 0 the learner, {actors} actor(s) of {} env steps per round each, \
         so one learner update per {} env steps (the line at the top says one per {}). Each actor holds a PER shard of {} \
         transitions and anneals epsilon from {} to 0.4^(1 + 7i/(N-1)) ({} for a single actor); the learner's batches are \
         drawn exactly from the union of the shards, its weights broadcast every {WEIGHT_SYNC} updates. \
         *Reached* is over the mean of the actors' last-10 training returns, which explore.\n",
        cfg.train_frequency,
        actors as u64 * cfg.train_frequency,
        cfg.train_frequency,
        cfg.buffer_size / actors.max(1),
        cfg.start_e,
        cfg.end_e,
    );
    std::fs::OpenOptions::new().append(true).open(report)?.write_all(text.as_bytes())?;
    Ok(())
}

/// One actor: its environment, shard, network copy and returns.
struct Actor {
    env: crate::envs::Env,
    rng: DefaultRng,
    obs: Vec<f32>,
    replay: Replay<PrioritizedSelector<Heap>>,
    vs: nn::VarStore,
    net: nn::Sequential,
    episodes: dqn::Episodes,
    schedule: Schedule,
    steps: u64,
    /// The keys of this round's draws held here, by batch position.
    drawn: Vec<(usize, Key)>,
}

impl Actor {
    /// `train_frequency` env steps, then the new transitions' priorities.
    fn act(&mut self, cfg: &DqnConfig, device: Device) -> Result<()> {
        for _ in 0..cfg.train_frequency {
            let action = if unit_f64(&mut self.rng) < self.schedule.value(self.steps) {
                below(&mut self.rng, self.env.actions)
            } else {
                dqn::greedy(&self.net, &self.obs, device)
            };
            let out = self.env.step(action)?;
            let obs = std::mem::take(&mut self.obs);
            self.replay.step(obs, action as i32, out.reward, &out.obs, out.terminated, out.truncated)?;
            self.steps += 1;
            self.episodes.reward(out.reward);
            self.obs = if out.terminated || out.truncated {
                self.episodes.end(self.steps, cfg.threshold());
                self.env.reset(&mut self.rng)
            } else {
                out.obs
            };
        }
        // Ape-X: actors compute the first priorities with their own copy.
        let keys = self.replay.take_fresh();
        if keys.is_empty() {
            return Ok(());
        }
        let td = {
            let b = self.replay.gather(&keys)?;
            td_errors(&self.net, &b, device)?
        };
        self.replay.update(&keys, &td)?;
        Ok(())
    }

    /// Writes the rows of the points that landed here into `record`, one
    /// gather for all of them: `p, action, return, discount, obs, next_obs`.
    fn rows(&mut self, points: &[ShardPoint], rank: usize, record: &mut [f64], width: usize) -> Result<()> {
        self.drawn.clear();
        let mut priorities = Vec::new();
        for (j, pt) in points.iter().enumerate().filter(|(_, pt)| pt.shard == rank) {
            let (key, p) = self.replay.table().selector().resolve(pt.residual)?;
            self.drawn.push((j, key));
            priorities.push(p);
        }
        let keys: Vec<Key> = self.drawn.iter().map(|&(_, key)| key).collect();
        let b = self.replay.gather(&keys)?;
        let d = b.obs.len() / keys.len().max(1);
        for (m, (&(j, _), &p)) in self.drawn.iter().zip(&priorities).enumerate() {
            let r = &mut record[j * width..(j + 1) * width];
            r[0] = p;
            r[1] = f64::from(b.actions[m]);
            r[2] = f64::from(b.returns[m]);
            r[3] = f64::from(b.discounts[m]);
            for k in 0..d {
                r[4 + k] = f64::from(b.obs[m * d + k]);
                r[4 + d + k] = f64::from(b.next_obs[m * d + k]);
            }
        }
        Ok(())
    }
}

/// `|r + discount * max_a Q(s', a) - Q(s, a)|` under one network (the
/// actor's first priorities).
fn td_errors(net: &impl Module, b: &Batch<'_>, device: Device) -> Result<Vec<f64>> {
    let n = b.actions.len() as i64;
    let d = b.obs.len() as i64 / n.max(1);
    let td = tch::no_grad(|| {
        let s = Tensor::from_slice(b.obs).view([n, d]).to(device);
        let s2 = Tensor::from_slice(b.next_obs).view([n, d]).to(device);
        let a = Tensor::from_slice(b.actions).to_kind(Kind::Int64).to(device).unsqueeze(1);
        let q = net.forward(&s).gather(1, &a, false).squeeze_dim(1);
        let q_next = net.forward(&s2).max_dim(1, false).0;
        Tensor::from_slice(b.returns).to(device) + Tensor::from_slice(b.discounts).to(device) * q_next - q
    });
    Ok(Vec::<f32>::try_from(td.to(Device::Cpu))?.into_iter().map(f64::from).collect())
}

/// The learner's networks and optimizer.
struct Learner {
    online_vs: nn::VarStore,
    target_vs: nn::VarStore,
    online: nn::Sequential,
    target: nn::Sequential,
    opt: nn::Optimizer,
    beta: Schedule,
}

/// One Ape-X run of `sampler` (only `per`: rank-based priorities depend on
/// the global order, which no shard knows); rank 0 sees `on_step` and
/// `on_eval` and returns the run, the actors return theirs with no evals.
/// `total_timesteps`, `buffer_size` and `learning_starts` count over all
/// actors (each shard holds `buffer_size / N`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    group: &Group,
    cfg: &DqnConfig,
    sampler: Sampler,
    seed: u64,
    device: Device,
    stop: &AtomicBool,
    mut on_step: impl FnMut(u64),
    mut on_eval: impl FnMut(&EvalPoint),
) -> Result<RunResult> {
    if sampler != Sampler::Per {
        bail!("--distributed: Ape-X samples proportional PER only (--sampler per), not {}", sampler.name());
    }
    let actors = group.size().saturating_sub(1);
    if actors == 0 {
        bail!("--distributed: Ape-X needs at least 2 ranks (one learner, one actor); run `mpirun -np K` with K >= 2, or plain `dqn` on one process");
    }
    let rank = group.rank();
    let per_round = actors as u64 * cfg.train_frequency.max(1);
    let env = cfg.env.make();
    let (obs_dim, n_actions) = (env.obs_dim, env.actions as i64);
    let width = 4 + 2 * obs_dim;
    let net = |vs: &nn::VarStore| crate::layers::mlp(&vs.root(), obs_dim as i64, &cfg.hidden, n_actions);
    // Every rank builds the learner's initial network from the same seed.
    let mut actor = None;
    let mut learner = None;
    if rank == 0 {
        let online_vs = nn::VarStore::new(device);
        let target_vs = nn::VarStore::new(device);
        let (online, target) = crate::layers::seeded(seed, || (net(&online_vs), net(&target_vs)));
        let mut target_vs = target_vs;
        target_vs.copy(&online_vs)?;
        let opt = nn::Adam::default().build(&online_vs, cfg.learning_rate)?;
        // Beta anneals over the learner's updates: one per round.
        let updates = cfg.total_timesteps.saturating_sub(cfg.learning_starts).div_ceil(per_round);
        let per = PerConfig { beta_steps: updates, ..PerConfig::new(1) };
        learner = Some(Learner { online_vs, target_vs, online, target, opt, beta: per.beta_schedule() });
    } else {
        let i = rank - 1;
        let capacity = (cfg.buffer_size / actors).max(1);
        let selector =
            PrioritizedSelector::<Heap>::new(PerConfig { seed: seed ^ rank as u64, ..PerConfig::new(capacity) })
                .map_err(|e| anyhow!("actor {i}: replay shard of {capacity}: {e}"));
        let made = selector
            .and_then(|s| Replay::with_selector(s, capacity, obs_dim, Returns { n: cfg.n_step, gamma: cfg.gamma }));
        group.agree(made.as_ref().map(drop).map_err(|e| anyhow!("{e:#}")))?;
        let vs = nn::VarStore::new(device);
        let actor_net = crate::layers::seeded(seed, || net(&vs));
        let mut rng = DefaultRng::seed_from_u64(seed.wrapping_add(1000 * rank as u64));
        let mut env = cfg.env.make();
        let obs = env.reset(&mut rng);
        let steps = (cfg.exploration_fraction * (cfg.total_timesteps / actors as u64) as f64).round().max(1.0) as u64;
        actor = Some(Actor {
            env,
            rng,
            obs,
            replay: made?,
            vs,
            net: actor_net,
            episodes: dqn::Episodes::default(),
            schedule: Schedule::Linear { start: cfg.start_e, end: actor_epsilon(cfg, i, actors), steps },
            steps: 0,
            drawn: Vec::new(),
        });
    }
    if rank == 0 {
        group.agree(Ok(()))?;
    }

    let rounds = cfg.total_timesteps.div_ceil(per_round);
    let mut plan_rng = DefaultRng::new(seed ^ 0xA9E5);
    let mut points = vec![ShardPoint::default(); cfg.batch_size];
    let start = Instant::now();
    let (mut updates, mut losses, mut loss_count, mut env_steps) = (0u64, 0.0, 0u64, 0u64);
    let mut evals = Vec::new();
    let mut td = vec![0.0; cfg.batch_size];
    let mut pending: Result<()> = Ok(());
    let mut steps_to_threshold = None;
    for _ in 0..rounds {
        if let Some(a) = actor.as_mut() {
            if pending.is_ok() {
                pending = a.act(cfg, device);
            }
        }
        // ---- the exchange: status, totals, minima, sizes, returns
        let mine = match actor.as_ref() {
            Some(a) => {
                let s = a.replay.table().selector();
                [
                    s.total_priority(),
                    s.min_priority().unwrap_or(f64::INFINITY),
                    s.len() as f64,
                    a.episodes.mean10().unwrap_or(f64::NAN),
                    a.episodes.count as f64,
                    a.episodes.steps_to_threshold.map_or(f64::NAN, |s| s as f64),
                ]
            }
            None => [0.0, f64::INFINITY, 0.0, f64::NAN, 0.0, f64::NAN],
        };
        group.agree(std::mem::replace(&mut pending, Ok(())))?;
        if group.any(stop.load(Ordering::Relaxed)) {
            break;
        }
        let all = group.gather(&mine);
        let rows: Vec<&[f64]> = all.chunks(STATUS).collect();
        env_steps += per_round;
        let stored: f64 = rows.iter().map(|r| r[2]).sum();
        let means: Vec<f64> = rows.iter().map(|r| r[3]).filter(|m| !m.is_nan()).collect();
        let train_mean = (!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64);
        let train_episodes = rows.iter().map(|r| r[4] as u64).sum();
        if steps_to_threshold.is_none() && train_mean.is_some_and(|m| m >= cfg.threshold()) {
            steps_to_threshold = Some(env_steps);
        }

        // ---- the global batch
        if stored >= cfg.learning_starts.max(1) as f64 {
            let totals: Vec<f64> = rows.iter().map(|r| r[0]).collect();
            let p_min = rows.iter().map(|r| r[1]).fold(f64::INFINITY, f64::min);
            let plan: ShardPlan<Heap> = ShardPlan::new(&totals)?;
            plan.draw(&mut plan_rng, &mut points)?;
            let mut record = vec![0.0; cfg.batch_size * width];
            if let Some(a) = actor.as_mut() {
                pending = a.rows(&points, rank, &mut record, width);
            }
            group.sum_to_root(&mut record);
            if let Some(l) = learner.as_mut() {
                let beta = l.beta.value(updates);
                let (td_new, loss) = learn(cfg, l, &record, width, p_min, beta, device)?;
                td = td_new;
                losses += loss;
                loss_count += 1;
            }
            group.broadcast(&mut td);
            if let Some(a) = actor.as_mut() {
                if pending.is_ok() {
                    let (keys, values): (Vec<Key>, Vec<f64>) = a.drawn.iter().map(|&(j, k)| (k, td[j])).unzip();
                    pending = a.replay.update(&keys, &values).map(drop);
                }
            }
            updates += 1;
            if updates.is_multiple_of(WEIGHT_SYNC) {
                match (learner.as_mut(), actor.as_mut()) {
                    (Some(l), _) => distributed::broadcast_weights(group, &mut l.online_vs)?,
                    (_, Some(a)) => distributed::broadcast_weights(group, &mut a.vs)?,
                    _ => {}
                }
            }
        }

        // ---- the learner: target network, progress, evaluation
        if let Some(l) = learner.as_mut() {
            let before = env_steps - per_round;
            if env_steps / cfg.target_network_frequency.max(1) > before / cfg.target_network_frequency.max(1) {
                crate::layers::soft_update(&mut l.target_vs, &l.online_vs, cfg.tau)?;
            }
            on_step(env_steps.min(cfg.total_timesteps));
            let crossed = cfg.eval_every > 0 && env_steps / cfg.eval_every > before / cfg.eval_every;
            if crossed || env_steps >= cfg.total_timesteps {
                let step = env_steps.min(cfg.total_timesteps);
                let (mean, std) = dqn::evaluate(cfg, &l.online, device, seed.wrapping_add(step))?;
                let point = EvalPoint {
                    env_step: step,
                    return_mean: mean,
                    return_std: std,
                    train_episodes,
                    train_return_mean10: train_mean,
                    loss_mean: (loss_count > 0).then(|| losses / loss_count as f64),
                    epsilon: actor_epsilon(cfg, 0, actors),
                    beta: l.beta.value(updates),
                    elapsed_s: start.elapsed().as_secs_f64(),
                };
                on_eval(&point);
                evals.push(point);
                (losses, loss_count) = (0.0, 0);
            }
        }
    }
    group.agree(pending)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok(RunResult {
        sampler,
        seed,
        evals,
        env_steps: env_steps.min(cfg.total_timesteps),
        steps_per_second: env_steps.min(cfg.total_timesteps) as f64 / secs,
        steps_to_threshold,
        interrupted: env_steps < cfg.total_timesteps,
    })
}

/// The learner's update on the reduced `record`: rows, IS weights from the
/// global minimum, one Double DQN step; the new priorities.
fn learn(
    cfg: &DqnConfig,
    l: &mut Learner,
    record: &[f64],
    width: usize,
    p_min: f64,
    beta: f64,
    device: Device,
) -> Result<(Vec<f64>, f64)> {
    let d = (width - 4) / 2;
    let n = record.len() / width;
    let (mut obs, mut next_obs) = (Vec::with_capacity(n * d), Vec::with_capacity(n * d));
    let (mut actions, mut returns, mut discounts, mut weights) = (vec![], vec![], vec![], vec![]);
    for r in record.chunks(width) {
        weights.push(global_weight(p_min, r[0], beta));
        actions.push(r[1] as i32);
        returns.push(r[2] as f32);
        discounts.push(r[3] as f32);
        obs.extend(r[4..4 + d].iter().map(|&x| x as f32));
        next_obs.extend(r[4 + d..].iter().map(|&x| x as f32));
    }
    let batch = Batch {
        keys: Vec::new(),
        weights,
        obs: &obs,
        actions: &actions,
        returns: &returns,
        discounts: &discounts,
        next_obs: &next_obs,
    };
    dqn::learn(cfg, &l.online, &l.target, &mut l.opt, &batch, device)
}
