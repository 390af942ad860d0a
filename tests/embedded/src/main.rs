//! adasample on a Cortex-M4F with no allocator: a fixed-capacity PER
//! (`Fixed<CAP>` storage, 1024 slots by default), the adaptive and
//! reward-weighted samplers and the iw-SFT weights, driven by the golden
//! vectors of `tests/golden/` (compiled in by build.rs). Every result is
//! printed over semihosting, floats as their 64 bits in hex, and
//! `tests/embedded/check.py` compares the lines with the golden vectors bit
//! for bit. The firmware exits with status 0, or 1 on any error.
//!
//! Run: `make embedded` (builds, runs under `qemu-system-arm -machine
//! mps2-an386`, compares).

#![no_std]
#![no_main]
// `&mut *&raw mut STATIC`: the one reference to each `static mut`, formed
// without the intermediate shared reference that `static_mut_refs` warns of.
#![allow(clippy::deref_addrof)]

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::nstep::{NStepConfig, NStepWindows, Step};
use adasample::per::{Draw, Key, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::rng::unit_f64;
use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
use adasample::storage::Fixed;
use adasample::DefaultRng;
use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use rand_core::{RngCore, SeedableRng};

mod golden {
    use super::AdaptiveMode;
    use adasample::per::{Normalization, PerConfig, PerKind};
    pub struct PerCase {
        pub name: &'static str,
        pub config: PerConfig,
        pub ops: &'static [PerOp],
    }
    pub enum PerOp {
        Add(&'static [Option<f64>]),
        Sample(usize),
        Update { slots: &'static [u32], generations: &'static [u32], td_errors: &'static [f64] },
    }
    pub struct AdaptiveCase {
        pub name: &'static str,
        pub dataset_size: usize,
        pub learning_rate: f64,
        pub mode: AdaptiveMode,
        pub seed: u64,
        pub ops: &'static [AdaptiveOp],
    }
    pub enum AdaptiveOp {
        Sample(usize),
        Update { indices: &'static [u32], losses: &'static [f64] },
    }
    pub struct RewardCase {
        pub temperature: f64,
        pub max_weight: f64,
        pub seed: u64,
        pub ops: &'static [RewardOp],
    }
    pub enum RewardOp {
        Extend(&'static [f64]),
        Sample(usize),
    }
    pub struct ColumnsCase {
        pub n: usize,
        pub gamma: f64,
        pub streams: usize,
        pub capacity: usize,
        pub ops: &'static [ColumnsOp],
    }
    pub enum ColumnsOp {
        Step {
            id: u32,
            stream: usize,
            obs: &'static [f64],
            action: f64,
            reward: f64,
            terminated: bool,
            truncated: bool,
            next_obs: &'static [f64],
        },
        Gather(&'static [u32]),
    }
    pub struct IwOp {
        pub token: bool,
        pub seq_len: usize,
        pub temperature: f64,
        pub policy: &'static [f64],
        pub reference: &'static [f64],
        pub mask: &'static [bool],
    }
    include!(concat!(env!("OUT_DIR"), "/golden.rs"));
}
use golden::*;

const CAP: usize = golden::CAP;
/// Largest batch in the golden vectors.
const MAX_BATCH: usize = 64;

type Per = PrioritizedReplayBuffer<u32, Fixed<CAP>>;
type Adaptive = AdaptiveBatchSampler<Fixed<CAP>>;
type Reward = RewardWeightedSampler<Fixed<CAP>>;

/// The samplers live in statics, initialised in place (no stack copy).
static mut PER: Per = Per::EMPTY;
static mut ADAPTIVE: Adaptive = Adaptive::EMPTY;
static mut REWARD: Reward = Reward::EMPTY;

fn hex(label: &str, prefix: &str, values: impl Iterator<Item = f64>) {
    hprint!("{} {}", prefix, label);
    for v in values {
        hprint!(" {:016x}", v.to_bits());
    }
    hprintln!();
}

fn dec(label: &str, prefix: &str, values: impl Iterator<Item = u64>) {
    hprint!("{} {}", prefix, label);
    for v in values {
        hprint!(" {}", v);
    }
    hprintln!();
}

fn fail(what: &str, e: adasample::Error) -> ! {
    hprintln!("error {}: {}", what, e);
    adasample_firmware::exit(false)
}

fn run_per(per: &mut Per, case: &PerCase) {
    per.reset(case.config).unwrap_or_else(|e| fail(case.name, e));
    let mut item = 0u32;
    let mut draws = [Draw::default(); MAX_BATCH];
    let mut keys = [Key::default(); MAX_BATCH];
    for (k, op) in case.ops.iter().enumerate() {
        let prefix = &*heapless_prefix(case.name, k);
        match op {
            PerOp::Add(priorities) => {
                hprint!("{} slots", prefix);
                for p in priorities.iter() {
                    let key = match p {
                        Some(p) => per.add_with_priority(item, *p),
                        None => per.add(item),
                    }
                    .unwrap_or_else(|e| fail(case.name, e));
                    hprint!(" {}", key.slot);
                    item += 1;
                }
                hprintln!();
            }
            PerOp::Sample(b) => {
                hex("beta", prefix, core::iter::once(per.beta()));
                let d = &mut draws[..*b];
                per.sample_into(d).unwrap_or_else(|e| fail(case.name, e));
                dec("slots", prefix, d.iter().map(|x| u64::from(x.key.slot)));
                dec("generations", prefix, d.iter().map(|x| u64::from(x.key.generation)));
                dec("items", prefix, d.iter().map(|x| u64::from(per.get(x.key).copied().unwrap_or(u32::MAX))));
                hex("probabilities", prefix, d.iter().map(|x| x.probability));
                hex("weights", prefix, d.iter().map(|x| x.weight));
            }
            PerOp::Update { slots, generations, td_errors } => {
                for (key, (&slot, &generation)) in keys.iter_mut().zip(slots.iter().zip(generations.iter())) {
                    *key = Key { slot, generation };
                }
                let report =
                    per.update_priorities(&keys[..slots.len()], td_errors).unwrap_or_else(|e| fail(case.name, e));
                dec("stale", prefix, core::iter::once(report.stale as u64));
            }
        }
    }
}

fn run_adaptive(s: &mut Adaptive, case: &AdaptiveCase) {
    let config = AdaptiveConfig {
        mode: case.mode,
        seed: case.seed,
        ..AdaptiveConfig::new(case.dataset_size, case.learning_rate)
    };
    s.reset(config).unwrap_or_else(|e| fail(case.name, e));
    let mut idx = [0usize; MAX_BATCH];
    let mut w = [0.0f64; MAX_BATCH];
    let mut p = [0.0f64; 64];
    for (k, op) in case.ops.iter().enumerate() {
        let prefix = &*heapless_prefix(case.name, k);
        match op {
            AdaptiveOp::Sample(b) => {
                s.sample_into(&mut idx[..*b], &mut w[..*b]).unwrap_or_else(|e| fail(case.name, e));
                dec("indices", prefix, idx[..*b].iter().map(|&i| i as u64));
                hex("weights", prefix, w[..*b].iter().copied());
            }
            AdaptiveOp::Update { indices, losses } => {
                for (d, &i) in idx.iter_mut().zip(indices.iter()) {
                    *d = i as usize;
                }
                s.update_weights(&idx[..indices.len()], losses).unwrap_or_else(|e| fail(case.name, e));
                let p = &mut p[..case.dataset_size];
                s.probabilities_into(p).unwrap_or_else(|e| fail(case.name, e));
                hex("probabilities", prefix, p.iter().copied());
            }
        }
    }
}

fn run_reward(s: &mut Reward) {
    let c = &REWARD_CASE;
    let config =
        RewardConfig { temperature: c.temperature, max_weight: c.max_weight, seed: c.seed, ..RewardConfig::new(CAP) };
    s.reset(config).unwrap_or_else(|e| fail("reward", e));
    let mut idx = [0usize; MAX_BATCH];
    let mut w = [0.0f64; MAX_BATCH];
    for (k, op) in c.ops.iter().enumerate() {
        let prefix = &*heapless_prefix("reward", k);
        match op {
            RewardOp::Extend(r) => s.extend(r).unwrap_or_else(|e| fail("reward", e)),
            RewardOp::Sample(b) => {
                s.sample_into(&mut idx[..*b], &mut w[..*b]).unwrap_or_else(|e| fail("reward", e));
                dec("indices", prefix, idx[..*b].iter().map(|&i| i as u64));
                hex("weights", prefix, w[..*b].iter().copied());
            }
        }
    }
}

/// Storage of the n-step and row-storage vector: 16 rows of 32 bytes, 3 windows of 3.
type ColumnsStorage = Fixed<512>;

fn run_columns() {
    let c = &COLUMNS_CASE;
    let config = NStepConfig { n: c.n, gamma: c.gamma, streams: c.streams };
    // The item of a step: its id, observation and action.
    let mut w: NStepWindows<(u32, &[f64], f64), ColumnsStorage> =
        NStepWindows::new(config).unwrap_or_else(|e| fail("columns", e));
    let columns = COLUMNS.map(|(name, dtype, shape)| match DType::from_name(dtype) {
        Some(dtype) => ColumnSpec::new(name, dtype, shape),
        None => fail("columns", adasample::Error::InvalidConfig { field: "columns", expected: "npm dtype names" }),
    });
    let mut rows: RowStorage<ColumnsStorage> =
        RowStorage::new(c.capacity, &columns).unwrap_or_else(|e| fail("columns", e));
    let mut written = 0usize;
    for (k, op) in c.ops.iter().enumerate() {
        let prefix = &*heapless_prefix("columns", k);
        match *op {
            ColumnsOp::Step { id, stream, obs, action, reward, terminated, truncated, next_obs } => {
                let item = (id, obs, action);
                w.push(stream, Step { item, reward, terminated, truncated }).unwrap_or_else(|e| fail("columns", e));
                let (mut ids, mut rets, mut discs, mut steps, mut n) = ([0u64; 8], [0f64; 8], [0f64; 8], [0u64; 8], 0);
                w.drain(stream, |t| {
                    let (id, obs, action) = *t.item;
                    let row = [
                        Values::F64(obs),
                        Values::F64(&[action]),
                        Values::F64(&[t.reward]),
                        Values::F64(&[t.discount]),
                        Values::F64(next_obs),
                    ];
                    rows.write(written % c.capacity, &row)?;
                    written += 1;
                    (ids[n], rets[n], discs[n], steps[n]) = (u64::from(id), t.reward, t.discount, t.steps as u64);
                    n += 1;
                    Ok(())
                })
                .unwrap_or_else(|e| fail("columns", e));
                dec("ids", prefix, ids[..n].iter().copied());
                hex("returns", prefix, rets[..n].iter().copied());
                hex("discounts", prefix, discs[..n].iter().copied());
                dec("steps", prefix, steps[..n].iter().copied());
            }
            ColumnsOp::Gather(slots) => {
                let (mut o, mut a, mut g, mut d, mut x) = ([0f32; 16], [0i32; 8], [0f64; 8], [0f32; 8], [0f32; 16]);
                let n = slots.len();
                let out = &mut [
                    ValuesMut::F32(&mut o[..2 * n]),
                    ValuesMut::I32(&mut a[..n]),
                    ValuesMut::F64(&mut g[..n]),
                    ValuesMut::F32(&mut d[..n]),
                    ValuesMut::F32(&mut x[..2 * n]),
                ];
                rows.gather(slots, out).unwrap_or_else(|e| fail("columns", e));
                hex("obs", prefix, o[..2 * n].iter().map(|&v| f64::from(v)));
                dec("action", prefix, a[..n].iter().map(|&v| v as u64));
                hex("return", prefix, g[..n].iter().copied());
                hex("discount", prefix, d[..n].iter().map(|&v| f64::from(v)));
                hex("nextObs", prefix, x[..2 * n].iter().map(|&v| f64::from(v)));
            }
        }
    }
}

fn run_iw() {
    let mut out = [0.0f64; 64];
    for (k, op) in IW_OPS.iter().enumerate() {
        let mode = if op.token { IwMode::Token } else { IwMode::Sequence };
        let config = IwSftConfig { mode, temperature: op.temperature, ..IwSftConfig::default() };
        let n = config.output_len(op.policy.len(), op.seq_len);
        iw::weights(&config, op.policy, op.reference, Some(op.mask), op.seq_len, &mut out[..n])
            .unwrap_or_else(|e| fail("iw", e));
        hex("weights", &heapless_prefix("iw", k), out[..n].iter().copied());
    }
}

fn run_rng() {
    let mut r = DefaultRng::seed_from_u64(RNG_SEED);
    dec("nextU64", &heapless_prefix("rng", 0), (0..RNG_COUNTS[0]).map(|_| r.next_u64()));
    hex("unitF64", &heapless_prefix("rng", 1), (0..RNG_COUNTS[1]).map(|_| unit_f64(&mut r)));
}

/// "name opindex", the line prefix the checker expects.
fn heapless_prefix(name: &str, op: usize) -> Prefix {
    let mut p = Prefix { buf: [0; 48], len: 0 };
    let _ = core::fmt::write(&mut p, format_args!("{name} {op}"));
    p
}

struct Prefix {
    buf: [u8; 48],
    len: usize,
}

impl core::fmt::Write for Prefix {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl core::ops::Deref for Prefix {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

#[entry]
fn main() -> ! {
    adasample_firmware::paint_stack();
    hprintln!("adasample firmware: CAP {}", CAP);
    // SAFETY: single-threaded, no interrupts touch these; one &mut each.
    let (per, adaptive, reward) = unsafe { (&mut *&raw mut PER, &mut *&raw mut ADAPTIVE, &mut *&raw mut REWARD) };
    for case in PER_CASES.iter().filter(|c| c.config.capacity <= CAP) {
        run_per(per, case);
    }
    for case in ADAPTIVE_CASES.iter().filter(|c| c.dataset_size <= CAP) {
        run_adaptive(adaptive, case);
    }
    run_reward(reward);
    run_iw();
    run_columns();
    run_rng();

    hprintln!(
        "footprint storage {} {} {} stack {}",
        core::mem::size_of::<Per>(),
        core::mem::size_of::<Adaptive>(),
        core::mem::size_of::<Reward>(),
        adasample_firmware::stack_high_water_mark()
    );
    hprintln!("done");
    adasample_firmware::exit(true)
}
