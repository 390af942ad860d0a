//! Exact global sampling over the ranks of `mpirun` (feature `mpi`): the
//! core's shard math (`adasample::shard`) over MPI collectives, nothing of
//! our own in between.
//!
//! - [`classifier()`]: data-parallel training. Each rank holds a contiguous
//!   shard of the training set and its loss scores; every step, the ranks
//!   all-gather their shard summaries, draw the same global batch from a
//!   shared seed, each trains on the draws that landed in its shard, the
//!   gradients are summed by one all-reduce, and each rank feeds its own
//!   losses back into its own scores.
//! - [`crate::apex`]: Ape-X DQN, actors holding replay shards and one
//!   learner sampling them globally.
//! - [`crate::shardcheck`]: the equality, chi-square and fault checks of
//!   `mpi-check` (`make test-mpi`).
//!
//! Every collective is entered by every rank on every path: a rank's
//! failure is carried to the next agreement point ([`Group::agree`]), where
//! every rank returns the same error, naming the rank and its cause.

use crate::classifier::{self, Batches, ClsRun, ClsSampler, EpochPoint, Job};
use crate::datasets::Table;
use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveMode, WeightTarget};
use adasample::shard::{AdaptivePlan, AdaptivePoint, AdaptiveShard, PriorShard};
use adasample::storage::Heap;
use adasample::DefaultRng;
use anyhow::{anyhow, bail, Result};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::sync::atomic::AtomicBool;
use tch::{nn, Device, Tensor};

/// The bytes of one rank's error message in an agreement.
const MESSAGE: usize = 240;

/// `MPI_COMM_WORLD`, its size and this process's rank.
pub struct Group {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
}

impl Group {
    /// The world of an initialised MPI (`mpi::initialize_with_threading`,
    /// kept alive by the caller).
    pub fn world() -> Self {
        let world = SimpleCommunicator::world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Group { world, rank, size }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Every rank's outcome: `Ok` on all when `Ok` on all, else the same
    /// error on every rank, naming each rank that failed and why. Two
    /// all-gathers (the second only when something failed, and then on
    /// every rank).
    pub fn agree(&self, local: Result<()>) -> Result<()> {
        let flag = i32::from(local.is_err());
        let mut flags = vec![0i32; self.size];
        self.world.all_gather_into(&flag, &mut flags[..]);
        if flags.iter().all(|&f| f == 0) {
            return Ok(());
        }
        let mut mine = [0u8; MESSAGE];
        if let Err(e) = &local {
            let text = format!("{e:#}");
            // Cut at a character boundary so every rank decodes valid text.
            let mut end = text.len().min(MESSAGE);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            mine[..end].copy_from_slice(&text.as_bytes()[..end]);
        }
        let mut all = vec![0u8; MESSAGE * self.size];
        self.world.all_gather_into(&mine[..], &mut all[..]);
        let causes: Vec<String> = flags
            .iter()
            .enumerate()
            .filter(|(_, &f)| f != 0)
            .map(|(r, _)| {
                let m = &all[r * MESSAGE..(r + 1) * MESSAGE];
                let end = m.iter().position(|&b| b == 0).unwrap_or(MESSAGE);
                format!("rank {r}: {}", String::from_utf8_lossy(&m[..end]))
            })
            .collect();
        bail!("{}", causes.join("; "))
    }

    /// Every rank's `local` values, concatenated in rank order (each rank
    /// gives the same count).
    pub fn gather(&self, local: &[f64]) -> Vec<f64> {
        let mut all = vec![0.0; local.len() * self.size];
        self.world.all_gather_into(local, &mut all[..]);
        all
    }

    /// The element-wise sum over ranks, on every rank.
    pub fn sum(&self, values: &mut [f64]) {
        let local = values.to_vec();
        self.world.all_reduce_into(&local[..], values, SystemOperation::sum());
    }

    /// The wrapping sum of one integer over ranks, on every rank.
    pub fn sum_u64(&self, value: u64) -> u64 {
        let mut out = 0u64;
        self.world.all_reduce_into(&value, &mut out, SystemOperation::sum());
        out
    }

    /// Whether any rank says yes.
    pub fn any(&self, local: bool) -> bool {
        let mut out = 0i32;
        self.world.all_reduce_into(&i32::from(local), &mut out, SystemOperation::max());
        out != 0
    }

    /// The element-wise sum over ranks, on the root only (others get their own values back).
    pub fn sum_to_root(&self, values: &mut [f64]) {
        let local = values.to_vec();
        let root = self.world.process_at_rank(0);
        if self.is_root() {
            root.reduce_into_root(&local[..], values, SystemOperation::sum());
        } else {
            root.reduce_into(&local[..], SystemOperation::sum());
        }
    }

    /// The root's `values` on every rank.
    pub fn broadcast(&self, values: &mut [f64]) {
        self.world.process_at_rank(0).broadcast_into(values);
    }

    /// The root's `values` (f32) on every rank.
    pub fn broadcast_f32(&self, values: &mut [f32]) {
        self.world.process_at_rank(0).broadcast_into(values);
    }
}

/// The rows `[lo, hi)` of `n` that rank `rank` of `size` holds: contiguous,
/// sizes differing by at most one, in rank order (their concatenation is
/// the whole set).
pub fn shard_range(n: usize, size: usize, rank: usize) -> (usize, usize) {
    (rank * n / size, (rank + 1) * n / size)
}

/// Rows `[lo, hi)` of `t`.
fn rows(t: &Table, lo: usize, hi: usize) -> Table {
    Table { features: t.features[lo * t.dim..hi * t.dim].to_vec(), dim: t.dim, labels: t.labels[lo..hi].to_vec() }
}

/// The floats of one shard summary.
const SUMMARY: usize = 12;

/// A shard summary as the floats the ranks exchange (a missing minimum is -1).
fn encode(s: &AdaptiveShard) -> [f64; SUMMARY] {
    let p = s.prior.as_ref();
    [
        s.examples as f64,
        s.total,
        s.min.unwrap_or(-1.0),
        s.nonzero as f64,
        s.uniform_floor,
        f64::from(u8::from(p.is_some())),
        p.map_or(0.0, |p| p.total),
        p.map_or(0.0, |p| p.min),
        p.map_or(0.0, |p| p.mass),
        p.and_then(|p| p.mass_min).unwrap_or(-1.0),
        p.map_or(0.0, |p| p.mass_nonzero as f64),
        f64::from(u8::from(p.is_some_and(|p| p.target == WeightTarget::Prior))),
    ]
}

fn decode(v: &[f64]) -> AdaptiveShard {
    let min = |x: f64| (x >= 0.0).then_some(x);
    AdaptiveShard {
        examples: v[0] as usize,
        total: v[1],
        min: min(v[2]),
        nonzero: v[3] as usize,
        uniform_floor: v[4],
        prior: (v[5] != 0.0).then(|| PriorShard {
            total: v[6],
            min: v[7],
            mass: v[8],
            mass_min: min(v[9]),
            mass_nonzero: v[10] as usize,
            target: if v[11] != 0.0 { WeightTarget::Prior } else { WeightTarget::Uniform },
        }),
    }
}

/// Every rank's summary (an agreement, then one all-gather of a dozen
/// floats per rank): the same `Vec` on every rank, or the same error.
pub fn summaries(group: &Group, local: Result<AdaptiveShard>) -> Result<Vec<AdaptiveShard>> {
    let mine = local.as_ref().map(encode).unwrap_or([0.0; SUMMARY]);
    group.agree(local.map(drop))?;
    Ok(group.gather(&mine).chunks(SUMMARY).map(decode).collect())
}

/// This rank's part of a loss-driven sampler's global batch.
pub struct ShardBatches<'g> {
    group: &'g Group,
    sampler: AdaptiveBatchSampler<Heap>,
    /// The plan's generator: seeded alike on every rank, so every rank
    /// draws the same global points.
    rng: DefaultRng,
    /// The global index of this shard's first example.
    offset: usize,
    points: Vec<AdaptivePoint>,
    /// The batch positions of this rank's last draws.
    positions: Vec<usize>,
    /// A local failure since the last agreement.
    pending: Result<()>,
    digest: u64,
}

impl<'g> ShardBatches<'g> {
    /// Rank `group.rank()`'s shard of `examples` (its `sampler`, holding
    /// examples `offset..`), drawing with the generator the one-process
    /// sampler of `seed` would use.
    pub fn new(
        group: &'g Group,
        sampler: Result<AdaptiveBatchSampler<Heap>>,
        offset: usize,
        seed: u64,
    ) -> Result<Self> {
        let made = sampler.as_ref().map(drop).map_err(|e| anyhow!("{e}"));
        group.agree(made)?;
        let sampler = sampler?;
        Ok(ShardBatches {
            group,
            sampler,
            rng: DefaultRng::new(seed),
            offset,
            points: Vec::new(),
            positions: Vec::new(),
            pending: Ok(()),
            digest: 0,
        })
    }

    fn note(&mut self, r: Result<()>) {
        if self.pending.is_ok() {
            self.pending = r;
        }
    }

    /// The global batch's points (identical on every rank) and this
    /// rank's draws: `(position j in the batch, local index, weight)`.
    pub fn draw(&mut self, batch: usize) -> Result<Vec<(usize, usize, f64)>> {
        let pending = std::mem::replace(&mut self.pending, Ok(()));
        let local = pending.and_then(|()| Ok(self.sampler.shard_summary()?));
        let shards = summaries(self.group, local)?;
        let plan: AdaptivePlan<Heap> = AdaptivePlan::new(&shards)?;
        self.points.resize(batch, AdaptivePoint::default());
        plan.draw(&mut self.rng, &mut self.points)?;
        let beta = self.sampler.config().beta;
        let mut mine = Vec::new();
        for (j, pt) in self.points.iter().enumerate() {
            if pt.shard() != self.group.rank() {
                continue;
            }
            match self.sampler.resolve(*pt) {
                Ok(d) => mine.push((j, d.index, plan.weight(&d, beta))),
                Err(e) => {
                    self.note(Err(e.into()));
                    break;
                }
            }
        }
        self.positions = mine.iter().map(|d| d.0).collect();
        Ok(mine)
    }
}

impl Batches for ShardBatches<'_> {
    fn sample(&mut self, batch: usize) -> Result<(Vec<usize>, Vec<f64>)> {
        let mine = self.draw(batch)?;
        let local = mine.iter().fold(0u64, |d, &(j, i, _)| d.wrapping_add(classifier::draw_digest(j, self.offset + i)));
        self.digest = self.group.sum_u64(local);
        Ok((mine.iter().map(|d| d.1).collect(), mine.iter().map(|d| d.2).collect()))
    }

    fn update(&mut self, indices: &[usize], losses: &[f64]) -> Result<()> {
        let r = if self.sampler.config().mode == AdaptiveMode::AdaBoost {
            // AdaBoost moves scores by the loss minus the *global* batch's
            // mean: every loss in its batch position, zeros elsewhere, summed
            // over ranks (exact), then added up in batch order as one
            // sampler would.
            let mut all = vec![0.0; self.points.len()];
            for (&j, &l) in self.positions.iter().zip(losses) {
                all[j] = l;
            }
            self.group.sum(&mut all);
            let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
            self.sampler.update_weights_with_mean(indices, losses, mean)
        } else {
            self.sampler.update_weights(indices, losses)
        };
        self.note(r.map_err(Into::into));
        Ok(())
    }

    fn reduce(&mut self, vs: &nn::VarStore, loss: f64) -> Result<f64> {
        sum_gradients(self.group, vs, loss)
    }

    fn stop(&mut self, local: bool) -> Result<bool> {
        Ok(self.group.any(local))
    }

    fn reports(&self) -> bool {
        self.group.is_root()
    }

    fn digest(&self) -> u64 {
        self.digest
    }

    fn finish(&mut self) -> Result<()> {
        let pending = std::mem::replace(&mut self.pending, Ok(()));
        self.group.agree(pending)
    }
}

/// The variables of `vs` in name order (the same on every rank; a
/// `VarStore`'s own order is a hash map's).
pub fn ordered(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Sums every rank's gradients (and `loss`) with one all-reduce, in place:
/// every rank then holds the global batch's gradient. Returns the global loss.
pub fn sum_gradients(group: &Group, vs: &nn::VarStore, loss: f64) -> Result<f64> {
    let vars = ordered(vs);
    let mut flat = Vec::new();
    for (_, v) in &vars {
        let g = v.grad();
        let g = if g.defined() { g } else { v.zeros_like() };
        flat.extend(Vec::<f32>::try_from(g.flatten(0, -1).to(Device::Cpu))?.into_iter().map(f64::from));
    }
    flat.push(loss);
    group.sum(&mut flat);
    let mut at = 0;
    tch::no_grad(|| -> Result<()> {
        for (_, v) in &vars {
            let n = v.numel();
            let summed: Vec<f32> = flat[at..at + n].iter().map(|&x| x as f32).collect();
            let mut g = v.grad();
            if g.defined() {
                g.copy_(&Tensor::from_slice(&summed).view_as(v).to(v.device()));
            }
            at += n;
        }
        Ok(())
    })?;
    Ok(flat[at])
}

/// Copies the root's variables of `vs` to every rank (one broadcast).
pub fn broadcast_weights(group: &Group, vs: &mut nn::VarStore) -> Result<()> {
    let vars = ordered(vs);
    let mut flat = Vec::new();
    for (_, v) in &vars {
        flat.extend(Vec::<f32>::try_from(v.flatten(0, -1).to(Device::Cpu))?);
    }
    group.broadcast_f32(&mut flat);
    let mut at = 0;
    tch::no_grad(|| {
        for (_, v) in &vars {
            let n = v.numel();
            let mut v = v.shallow_clone();
            v.copy_(&Tensor::from_slice(&flat[at..at + n]).view_as(&v).to(v.device()));
            at += n;
        }
    });
    Ok(())
}

/// One classifier run over the ranks: this rank trains on its shard of the
/// training set; rank 0 evaluates and sees `on_epoch`. Every sampler but
/// OHEM (its pool is a local top-k; refused alike on every rank); the
/// class-balanced prior is computed over the whole training set, each
/// rank holding its shard's part.
pub fn classifier(group: &Group, job: Job<'_>, stop: &AtomicBool, on_epoch: impl FnMut(&EpochPoint)) -> Result<ClsRun> {
    let Job { cfg, split, sampler, seed, .. } = job;
    if sampler == ClsSampler::Ohem {
        bail!("--distributed: ohem picks the top losses of a local pool, which has no exact global form; use the other samplers");
    }
    let n = split.train.len();
    let (lo, hi) = shard_range(n, group.size(), group.rank());
    let shard = rows(&split.train, lo, hi);
    let config = sampler.config(hi - lo, cfg.sampler_learning_rate, seed ^ 0xC1A5);
    let made = if sampler.balanced() {
        let prior = classifier::class_prior(&split.train.labels, split.classes());
        AdaptiveBatchSampler::with_prior(config, &prior[lo..hi])
    } else {
        AdaptiveBatchSampler::new(config)
    };
    let made = made.map_err(|e| anyhow!("shard of {} examples (rows {lo}..{hi} of {n}): {e}", hi - lo));
    let mut batches = ShardBatches::new(group, made, lo, config.seed)?;
    classifier::train(job, &shard, &mut batches, stop, on_epoch)
}
