//! The replay memory of the DQN scenario: `adasample`'s `ReplayTable`, a
//! selector (uniform, proportional or rank-based) over row storage of
//! columns `obs`, `action`, `reward`, `next_obs`, `terminated`. No replay
//! logic here, and no per-transition heap memory: a batch is gathered into
//! one reused buffer per column, ready to become tensors.

use adasample::per::{PerConfig, PrioritizedSelector};
use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
use adasample::select::{Draw, Key, Selector};
use adasample::storage::Heap;
use adasample::table::ReplayTable;
use adasample::uniform::{UniformConfig, UniformSelector};
use anyhow::Result;

/// Which replay the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Uniform replay, independent draws with replacement (the DQN baseline).
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

    /// The core's PER config for the prioritized samplers: the paper's
    /// defaults, beta annealed to 1 over `beta_steps` samples (the number of
    /// gradient updates of the run). `None` for uniform.
    pub fn per_config(self, capacity: usize, beta_steps: u64, seed: u64) -> Option<PerConfig> {
        match self {
            Sampler::Uniform => None,
            Sampler::Per => Some(PerConfig { beta_steps, seed, ..PerConfig::new(capacity) }),
            Sampler::Rank => Some(PerConfig { beta_steps, seed, ..PerConfig::rank(capacity) }),
        }
    }

    /// The core selector this sampler names.
    pub fn selector(self, capacity: usize, beta_steps: u64, seed: u64) -> Result<Box<dyn Selector + Send>> {
        Ok(match self.per_config(capacity, beta_steps, seed) {
            Some(config) => Box::new(PrioritizedSelector::<Heap>::new(config)?),
            None => Box::new(UniformSelector::<Heap>::new(UniformConfig { seed, ..UniformConfig::new(capacity) })?),
        })
    }
}

/// A sampled batch, one slice per column (row `j` = draw `j`), plus the
/// keys for the priority update and the IS weights.
pub struct Batch<'a> {
    pub keys: Vec<Key>,
    pub weights: Vec<f64>,
    pub obs: &'a [f32],
    pub actions: &'a [i32],
    pub rewards: &'a [f32],
    pub next_obs: &'a [f32],
    /// 1 where the transition ended in a terminal state (no bootstrap).
    pub terminated: &'a [u8],
}

#[derive(Default)]
struct Columns {
    obs: Vec<f32>,
    actions: Vec<i32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<u8>,
}

pub struct Replay {
    table: ReplayTable<Box<dyn Selector + Send>, Heap>,
    obs_dim: usize,
    draws: Vec<Draw>,
    out: Columns,
}

impl Replay {
    pub fn new(sampler: Sampler, capacity: usize, obs_dim: usize, beta_steps: u64, seed: u64) -> Result<Self> {
        let shape = [obs_dim];
        let rows = RowStorage::new(
            capacity,
            &[
                ColumnSpec::new("obs", DType::F32, &shape),
                ColumnSpec::new("action", DType::I32, &[]),
                ColumnSpec::new("reward", DType::F32, &[]),
                ColumnSpec::new("next_obs", DType::F32, &shape),
                ColumnSpec::new("terminated", DType::U8, &[]),
            ],
        )?;
        let table = ReplayTable::new(sampler.selector(capacity, beta_steps, seed)?, rows)?;
        Ok(Replay { table, obs_dim, draws: Vec::new(), out: Columns::default() })
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The IS exponent the next sample uses.
    pub fn beta(&self) -> f64 {
        self.table.selector().beta()
    }

    /// Stores a transition with the largest priority seen so far.
    /// `terminated` (not truncation) stops bootstrapping.
    pub fn push(&mut self, obs: &[f32], action: i64, reward: f32, next_obs: &[f32], terminated: bool) -> Result<Key> {
        let action = i32::try_from(action)?;
        let row =
            [Values::F32(obs), Values::I32(&[action]), Values::F32(&[reward]), Values::F32(next_obs), Values::U8(&[u8::from(terminated)])];
        Ok(self.table.add(&row, None)?)
    }

    /// Samples a batch of `n` with the table's selector.
    pub fn sample(&mut self, n: usize) -> Result<Batch<'_>> {
        let d = self.obs_dim;
        self.draws.resize(n, Draw::default());
        let c = &mut self.out;
        c.obs.resize(n * d, 0.0);
        c.actions.resize(n, 0);
        c.rewards.resize(n, 0.0);
        c.next_obs.resize(n * d, 0.0);
        c.terminated.resize(n, 0);
        self.table.sample_into(
            &mut self.draws,
            &mut [
                ValuesMut::F32(&mut c.obs),
                ValuesMut::I32(&mut c.actions),
                ValuesMut::F32(&mut c.rewards),
                ValuesMut::F32(&mut c.next_obs),
                ValuesMut::U8(&mut c.terminated),
            ],
        )?;
        Ok(Batch {
            keys: self.draws.iter().map(|d| d.key).collect(),
            weights: self.draws.iter().map(|d| d.weight).collect(),
            obs: &c.obs,
            actions: &c.actions,
            rewards: &c.rewards,
            next_obs: &c.next_obs,
            terminated: &c.terminated,
        })
    }

    /// New priorities from TD errors; returns how many keys were stale.
    pub fn update(&mut self, keys: &[Key], td_errors: &[f64]) -> Result<usize> {
        Ok(self.table.update_priorities(keys, td_errors)?.stale)
    }
}

impl crate::runner::Named for Sampler {
    fn name(self) -> &'static str {
        Sampler::name(self)
    }
}
