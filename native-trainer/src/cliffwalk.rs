//! The Blind Cliffwalk of Schaul et al. (2016, section 3 and Figure 1), the
//! one experiment where prioritized replay's effect is large and certain at
//! laptop scale.
//!
//! A chain of `n` states with two actions: "right" moves on (at the last
//! state it ends the episode with reward 1), "wrong" ends the episode with
//! reward 0. A random agent needs about 2^n episodes to see the reward once,
//! so the one rewarding transition is rare in the replay memory. The memory
//! holds every transition of 2^n random episodes (played on until the reward
//! has been seen). Tabular Q-learning replays from it, one transition per
//! update, until the mean squared error to Q* is below a threshold; the count
//! of updates is the result. Samplers: uniform, proportional PER and rank PER
//! (all the core's selectors, without IS correction, as in the paper), and
//! the oracle, which greedily picks the update that most lowers the global
//! error (a bound, not a method).
//!
//! Cost: a run does one draw and one priority update per Q update, O(log m)
//! each for a memory of m transitions; the oracle scans the 2n distinct
//! transitions per update. Uniform replay needs about m·n updates, so the
//! largest `n` dominates: n = 12, 10 seeds is about a second on one core.

use adasample::per::{PerConfig, PrioritizedSelector};
use adasample::rng::below;
use adasample::select::{Draw, Selector};
use adasample::storage::Heap;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample::DefaultRng;
use anyhow::Result;

/// How replay picks the transition of the next update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CliffSampler {
    /// Every transition equally likely (the core's uniform selector).
    Uniform,
    /// Proportional PER on |TD error| (alpha from the config, no IS correction).
    Per,
    /// Rank-based PER (alpha 0.7, no IS correction).
    Rank,
    /// Hindsight: the update that most lowers the error to Q* now.
    Oracle,
}

impl CliffSampler {
    pub const ALL: [CliffSampler; 4] =
        [CliffSampler::Uniform, CliffSampler::Per, CliffSampler::Rank, CliffSampler::Oracle];

    pub fn name(self) -> &'static str {
        match self {
            CliffSampler::Uniform => "uniform",
            CliffSampler::Per => "per",
            CliffSampler::Rank => "rank",
            CliffSampler::Oracle => "oracle",
        }
    }
}

/// One experiment's settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CliffConfig {
    /// Chain lengths to run.
    pub ns: Vec<usize>,
    pub samplers: Vec<CliffSampler>,
    /// Seeds 1..=seeds (offset by the base seed); a seed fixes the memory, shared by every sampler.
    pub seeds: u64,
    pub base_seed: u64,
    /// Q-learning step size.
    pub lr: f64,
    /// Learned when the mean squared error to Q* over the 2n entries is below this.
    pub threshold: f64,
    /// A run that has not learned after this many updates stops (reported as not learned).
    pub max_updates: u64,
    /// Proportional PER's alpha.
    pub alpha: f64,
}

impl CliffConfig {
    /// Figure 1's setting at laptop scale: n = 2..=12, 10 seeds, step size
    /// 0.25, threshold 1e-3, alpha 0.6.
    pub fn new() -> Self {
        CliffConfig {
            ns: (2..=12).collect(),
            samplers: CliffSampler::ALL.to_vec(),
            seeds: 10,
            base_seed: 1,
            lr: 0.25,
            threshold: 1e-3,
            max_updates: 20_000_000,
            alpha: 0.6,
        }
    }

    /// The discount of a chain of `n` states: 1 - 1/n, so Q* spans the same range at every n.
    pub fn gamma(n: usize) -> f64 {
        1.0 - 1.0 / n as f64
    }
}

impl Default for CliffConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A transition of the chain; action 1 is "right".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    pub state: usize,
    pub action: usize,
    pub reward: f64,
    pub next: usize,
    pub terminal: bool,
}

/// Every transition of at least 2^n episodes of a uniformly random policy,
/// played on until the rewarding transition appears at least once.
pub fn fill_memory(n: usize, rng: &mut DefaultRng) -> Vec<Transition> {
    let mut memory = Vec::new();
    let mut seen = false;
    let mut episode = 0u64;
    while episode < (1u64 << n.min(40)) || !seen {
        for s in 0..n {
            let right = below(rng, 2) == 1;
            if !right {
                memory.push(Transition { state: s, action: 0, reward: 0.0, next: s, terminal: true });
                break;
            }
            if s + 1 == n {
                memory.push(Transition { state: s, action: 1, reward: 1.0, next: s, terminal: true });
                seen = true;
                break;
            }
            memory.push(Transition { state: s, action: 1, reward: 0.0, next: s + 1, terminal: false });
        }
        episode += 1;
    }
    memory
}

/// Q*: "right" is worth gamma^(steps to the reward - 1), "wrong" 0.
pub fn optimal_q(n: usize, gamma: f64) -> Vec<[f64; 2]> {
    (0..n).map(|s| [0.0, gamma.powi((n - 1 - s) as i32)]).collect()
}

/// One run's result.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Outcome {
    pub updates: u64,
    pub learned: bool,
}

fn td_error(q: &[[f64; 2]], t: &Transition, gamma: f64) -> f64 {
    let bootstrap = if t.terminal { 0.0 } else { gamma * q[t.next][0].max(q[t.next][1]) };
    t.reward + bootstrap - q[t.state][t.action]
}

fn selector(sampler: CliffSampler, capacity: usize, seed: u64, alpha: f64) -> Result<Option<Box<dyn Selector>>> {
    // No IS correction, as in the paper's Figure 1: beta 0 throughout.
    let per = |config: PerConfig| PerConfig { beta: 0.0, beta_final: 0.0, seed, ..config };
    Ok(match sampler {
        CliffSampler::Uniform => {
            Some(Box::new(UniformSelector::<Heap>::new(UniformConfig { seed, ..UniformConfig::new(capacity) })?))
        }
        CliffSampler::Per => {
            Some(Box::new(PrioritizedSelector::<Heap>::new(per(PerConfig { alpha, ..PerConfig::new(capacity) }))?))
        }
        CliffSampler::Rank => Some(Box::new(PrioritizedSelector::<Heap>::new(per(PerConfig::rank(capacity)))?)),
        CliffSampler::Oracle => None,
    })
}

/// Updates of tabular Q-learning until Q is learned, replaying `memory`
/// through `sampler`. `stop` is polled every 4096 updates (Ctrl-C).
pub fn updates_to_learn(
    n: usize,
    memory: &[Transition],
    sampler: CliffSampler,
    seed: u64,
    cfg: &CliffConfig,
    stop: &dyn Fn() -> bool,
) -> Result<Outcome> {
    let gamma = CliffConfig::gamma(n);
    let q_star = optimal_q(n, gamma);
    let mut q = vec![[0.0f64; 2]; n];
    let mut sel = selector(sampler, memory.len(), seed, cfg.alpha)?;
    if let Some(sel) = sel.as_mut() {
        for _ in memory {
            sel.insert(None)?;
        }
    }
    // The oracle's candidates: each distinct (state, action) once.
    let mut distinct: Vec<Transition> = Vec::new();
    for t in memory {
        if !distinct.iter().any(|d| d.state == t.state && d.action == t.action) {
            distinct.push(*t);
        }
    }
    let sq = |q: &[[f64; 2]], s: usize, a: usize| (q[s][a] - q_star[s][a]).powi(2);
    let entries = (2 * n) as f64;
    let mut draw = [Draw::default()];
    let mut updates = 0u64;
    let exact_err = |q: &[[f64; 2]]| (0..n).map(|s| sq(q, s, 0) + sq(q, s, 1)).sum::<f64>() / entries;
    let mut err = exact_err(&q);
    while updates < cfg.max_updates {
        if err < cfg.threshold {
            // The running error drifts by rounding; only the exact sum may stop a run.
            err = exact_err(&q);
            if err < cfg.threshold {
                break;
            }
        }
        if updates.is_multiple_of(4096) && stop() {
            break;
        }
        let t = match sel.as_mut() {
            Some(sel) => {
                sel.sample_into(&mut draw)?;
                memory[draw[0].key.slot as usize]
            }
            None => {
                let gain = |c: &Transition| {
                    let next = q[c.state][c.action] + cfg.lr * td_error(&q, c, gamma);
                    (next - q_star[c.state][c.action]).powi(2) - sq(&q, c.state, c.action)
                };
                let mut best = distinct[0];
                let mut best_gain = gain(&best);
                for c in &distinct[1..] {
                    let g = gain(c);
                    if g < best_gain {
                        best_gain = g;
                        best = *c;
                    }
                }
                best
            }
        };
        let delta = td_error(&q, &t, gamma);
        let before = sq(&q, t.state, t.action);
        q[t.state][t.action] += cfg.lr * delta;
        err += (sq(&q, t.state, t.action) - before) / entries;
        if let Some(sel) = sel.as_mut() {
            sel.update_priorities(&[draw[0].key], &[delta])?;
        }
        updates += 1;
    }
    Ok(Outcome { updates, learned: exact_err(&q) < cfg.threshold })
}

/// Every (n, seed) memory with its runs, one per sampler, in `cfg.samplers` order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    pub n: usize,
    pub seed: u64,
    pub transitions: usize,
    pub runs: Vec<(CliffSampler, Outcome)>,
}

/// The memory of chain length `n` for `seed` (the samplers' generators get their own streams).
pub fn memory_for(n: usize, seed: u64) -> Vec<Transition> {
    let mut rng = DefaultRng::new(seed ^ 0x243F_6A88_85A3_08D3);
    fill_memory(n, &mut rng)
}

/// The runs of every sampler of `cfg` on the memory of (`n`, `seed`).
pub fn run_point(n: usize, seed: u64, cfg: &CliffConfig, stop: &dyn Fn() -> bool) -> Result<Point> {
    let memory = memory_for(n, seed);
    let runs = cfg
        .samplers
        .iter()
        .map(|&s| Ok((s, updates_to_learn(n, &memory, s, seed, cfg, stop)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Point { n, seed, transitions: memory.len(), runs })
}
