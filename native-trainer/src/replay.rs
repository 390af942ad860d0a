//! The replay memory of the DQN scenario: transitions stored in, and sampled
//! through, `adasample`'s `PrioritizedReplayBuffer` (no replay logic here).
//! Uniform replay is the same buffer with alpha 0 (every priority 1, every
//! weight 1), so the three samplers differ only in their config.

use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use anyhow::Result;

/// Which replay the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Uniform replay (the DQN baseline).
    Uniform,
    /// Proportional PER, alpha 0.6, beta 0.4 -> 1.
    Per,
    /// Rank-based PER, alpha 0.7, beta 0.5 -> 1.
    Rank,
}

impl Sampler {
    pub const ALL: [Sampler; 3] = [Sampler::Uniform, Sampler::Per, Sampler::Rank];

    pub fn name(self) -> &'static str {
        match self {
            Sampler::Uniform => "uniform",
            Sampler::Per => "per",
            Sampler::Rank => "rank",
        }
    }

    /// The core config: the paper's defaults, beta annealed to 1 over
    /// `beta_steps` samples (the number of gradient updates of the run).
    pub fn config(self, capacity: usize, beta_steps: u64, seed: u64) -> PerConfig {
        match self {
            Sampler::Uniform => PerConfig { alpha: 0.0, beta: 0.0, beta_final: 0.0, seed, ..PerConfig::new(capacity) },
            Sampler::Per => PerConfig { beta_steps, seed, ..PerConfig::new(capacity) },
            Sampler::Rank => PerConfig { beta_steps, seed, ..PerConfig::rank(capacity) },
        }
    }
}

/// One transition. `terminated` (not truncation) stops bootstrapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub obs: Vec<f32>,
    pub action: i64,
    pub reward: f32,
    pub next_obs: Vec<f32>,
    pub terminated: bool,
}

/// A sampled batch: keys (slot + generation) for the priority update, IS
/// weights, and the transitions.
pub struct Batch<'a> {
    pub keys: Vec<Key>,
    pub weights: Vec<f64>,
    pub items: Vec<&'a Transition>,
}

pub struct Replay {
    buf: PrioritizedReplayBuffer<Transition, Heap>,
    draws: Vec<Draw>,
}

impl Replay {
    pub fn new(config: PerConfig) -> Result<Self> {
        Ok(Replay { buf: PrioritizedReplayBuffer::new(config)?, draws: Vec::new() })
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The beta the next sample uses.
    pub fn beta(&self) -> f64 {
        self.buf.beta()
    }

    /// Stores a transition with the largest priority seen so far.
    pub fn push(&mut self, t: Transition) -> Result<Key> {
        Ok(self.buf.add(t)?)
    }

    /// Samples a stratified batch of `n`.
    pub fn sample(&mut self, n: usize) -> Result<Batch<'_>> {
        self.draws.resize(n, Draw::default());
        self.buf.sample_into(&mut self.draws)?;
        let buf = &self.buf;
        Ok(Batch {
            keys: self.draws.iter().map(|d| d.key).collect(),
            weights: self.draws.iter().map(|d| d.weight).collect(),
            // Every sampled key is current: nothing was added since sampling.
            items: self.draws.iter().filter_map(|d| buf.get(d.key)).collect(),
        })
    }

    /// New priorities from TD errors; returns how many keys were stale.
    pub fn update(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<usize> {
        Ok(self.buf.update_priorities(keys, td_errors)?.stale)
    }
}

impl crate::runner::Named for Sampler {
    fn name(self) -> &'static str {
        Sampler::name(self)
    }
}
