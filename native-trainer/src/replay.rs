//! The replay memory of the DQN scenario: `adasample`'s `ReplayTable`, a
//! selector (uniform, stratified, proportional or rank-based) over row
//! storage of columns `obs`, `action`, `return` (n-step), `discount` (the
//! bootstrap's gamma^k, 0 after a termination), `next_obs`. No replay
//! logic here, and no per-transition heap memory: a batch is gathered into
//! one reused buffer per column, ready to become tensors.

use adasample::nstep::{NStepConfig, NStepWindows, Step};
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
    /// Uniform replay, independent draws with replacement (the DQN baseline of CleanRL and SB3).
    Uniform,
    /// Uniform over B equal strata of the buffer: a stronger baseline than iid.
    Stratified,
    /// Proportional PER, alpha 0.6, beta 0.4 -> 1.
    Per,
    /// Rank-based PER, alpha 0.7, beta 0.5 -> 1.
    Rank,
}

impl Sampler {
    pub const ALL: [Sampler; 4] = [Sampler::Uniform, Sampler::Stratified, Sampler::Per, Sampler::Rank];

    pub fn name(self) -> &'static str {
        match self {
            Sampler::Uniform => "uniform",
            Sampler::Stratified => "stratified",
            Sampler::Per => "per",
            Sampler::Rank => "rank",
        }
    }

    /// The core's PER config for the prioritized samplers: the paper's
    /// defaults, beta annealed to 1 over `beta_steps` samples (the number of
    /// gradient updates of the run). `None` for uniform.
    pub fn per_config(self, capacity: usize, beta_steps: u64, seed: u64) -> Option<PerConfig> {
        match self {
            Sampler::Uniform | Sampler::Stratified => None,
            Sampler::Per => Some(PerConfig { beta_steps, seed, ..PerConfig::new(capacity) }),
            Sampler::Rank => Some(PerConfig { beta_steps, seed, ..PerConfig::rank(capacity) }),
        }
    }

    /// The core selector this sampler names.
    pub fn selector(self, capacity: usize, beta_steps: u64, seed: u64) -> Result<Box<dyn Selector + Send>> {
        Ok(match self.per_config(capacity, beta_steps, seed) {
            Some(config) => Box::new(PrioritizedSelector::<Heap>::new(config)?),
            None => {
                let stratified = self == Sampler::Stratified;
                Box::new(UniformSelector::<Heap>::new(UniformConfig {
                    seed,
                    stratified,
                    ..UniformConfig::new(capacity)
                })?)
            }
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
    /// n-step discounted returns.
    pub returns: &'a [f32],
    /// The bootstrap's discount: gamma^k, 0 where the span ended in a termination.
    pub discounts: &'a [f32],
    pub next_obs: &'a [f32],
}

#[derive(Default)]
struct Columns {
    obs: Vec<f32>,
    actions: Vec<i32>,
    returns: Vec<f32>,
    discounts: Vec<f32>,
    next_obs: Vec<f32>,
}

impl Columns {
    /// Room for `n` rows of `d`-wide observations.
    fn resize(&mut self, n: usize, d: usize) {
        self.obs.resize(n * d, 0.0);
        self.actions.resize(n, 0);
        self.returns.resize(n, 0.0);
        self.discounts.resize(n, 0.0);
        self.next_obs.resize(n * d, 0.0);
    }

    fn batch(&self, keys: Vec<Key>, weights: Vec<f64>) -> Batch<'_> {
        Batch {
            keys,
            weights,
            obs: &self.obs,
            actions: &self.actions,
            returns: &self.returns,
            discounts: &self.discounts,
            next_obs: &self.next_obs,
        }
    }
}

/// How environment steps become transitions: `n`-step returns discounted by `gamma`.
#[derive(Debug, Clone, Copy)]
pub struct Returns {
    pub n: usize,
    pub gamma: f64,
}

pub struct Replay<Sel: Selector = Box<dyn Selector + Send>> {
    table: ReplayTable<Sel, Heap>,
    /// One stream: the env's steps, its pending observation and action each.
    windows: NStepWindows<(Vec<f32>, i32), Heap>,
    obs_dim: usize,
    draws: Vec<Draw>,
    out: Columns,
    /// Keys stored since the last [`take_fresh`](Replay::take_fresh).
    fresh: Vec<Key>,
}

impl Replay {
    pub fn new(
        sampler: Sampler,
        capacity: usize,
        obs_dim: usize,
        returns: Returns,
        beta_steps: u64,
        seed: u64,
    ) -> Result<Self> {
        Replay::with_selector(sampler.selector(capacity, beta_steps, seed)?, capacity, obs_dim, returns)
    }
}

impl<Sel: Selector> Replay<Sel> {
    /// A replay over `selector` (of `capacity` slots).
    pub fn with_selector(selector: Sel, capacity: usize, obs_dim: usize, returns: Returns) -> Result<Self> {
        let shape = [obs_dim];
        let rows = RowStorage::new(
            capacity,
            &[
                ColumnSpec::new("obs", DType::F32, &shape),
                ColumnSpec::new("action", DType::I32, &[]),
                ColumnSpec::new("return", DType::F32, &[]),
                ColumnSpec::new("discount", DType::F32, &[]),
                ColumnSpec::new("next_obs", DType::F32, &shape),
            ],
        )?;
        let table = ReplayTable::new(selector, rows)?;
        let windows = NStepWindows::new(NStepConfig { n: returns.n, gamma: returns.gamma, streams: 1 })?;
        Ok(Replay { table, windows, obs_dim, draws: Vec::new(), out: Columns::default(), fresh: Vec::new() })
    }

    pub fn table(&self) -> &ReplayTable<Sel, Heap> {
        &self.table
    }

    /// The keys of the transitions stored since the last call.
    pub fn take_fresh(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.fresh)
    }

    /// The rows under `keys`, as a batch of weight 1 (a stale key's row is
    /// whatever its slot holds now, and its key is kept for the update to skip).
    pub fn gather(&mut self, keys: &[Key]) -> Result<Batch<'_>> {
        let (n, d) = (keys.len(), self.obs_dim);
        self.out.resize(n, d);
        let c = &mut self.out;
        for (j, &key) in keys.iter().enumerate() {
            self.table.get(
                key,
                &mut [
                    ValuesMut::F32(&mut c.obs[j * d..(j + 1) * d]),
                    ValuesMut::I32(&mut c.actions[j..j + 1]),
                    ValuesMut::F32(&mut c.returns[j..j + 1]),
                    ValuesMut::F32(&mut c.discounts[j..j + 1]),
                    ValuesMut::F32(&mut c.next_obs[j * d..(j + 1) * d]),
                ],
            )?;
        }
        Ok(c.batch(keys.to_vec(), vec![1.0; n]))
    }

    /// One environment step: `obs`, the `action` taken, its `reward`, and
    /// the `next_obs` it led to. Stores the transitions it completes (the
    /// core's n-step windows: none while a window fills, all pending ones
    /// at an episode end; termination cuts the bootstrap, truncation keeps
    /// it) and returns how many.
    pub fn step(
        &mut self,
        obs: Vec<f32>,
        action: i32,
        reward: f64,
        next_obs: &[f32],
        terminated: bool,
        truncated: bool,
    ) -> Result<usize> {
        self.windows.push(0, Step { item: (obs, action), reward, terminated, truncated })?;
        let (table, fresh) = (&mut self.table, &mut self.fresh);
        Ok(self.windows.drain(0, |t| {
            let (o, a) = t.item;
            let row = [
                Values::F32(o),
                Values::I32(&[*a]),
                Values::F64(&[t.reward]),
                Values::F64(&[t.discount]),
                Values::F32(next_obs),
            ];
            table.add(&row, None).map(|key| fresh.push(key))
        })?)
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

    /// Samples a batch of `n` with the table's selector.
    pub fn sample(&mut self, n: usize) -> Result<Batch<'_>> {
        self.draws.resize(n, Draw::default());
        self.out.resize(n, self.obs_dim);
        let c = &mut self.out;
        self.table.sample_into(
            &mut self.draws,
            &mut [
                ValuesMut::F32(&mut c.obs),
                ValuesMut::I32(&mut c.actions),
                ValuesMut::F32(&mut c.returns),
                ValuesMut::F32(&mut c.discounts),
                ValuesMut::F32(&mut c.next_obs),
            ],
        )?;
        let keys = self.draws.iter().map(|d| d.key).collect();
        let weights = self.draws.iter().map(|d| d.weight).collect();
        Ok(c.batch(keys, weights))
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
