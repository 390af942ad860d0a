//! One workload, several samplers, one JSON line each (see tests/perf/bench.py):
//! N items with priorities from a fixed stream; `sample`: batches of B
//! indices; `step`: a batch, then new priorities for those B; `add`: N more
//! items into the full ring, in chunks of B (each system's batch API where it
//! has one); `update`: new priorities for a batch drawn beforehand (one of
//! `BATCHES` drawn before timing, in turn), the update alone. Alpha 0.6,
//! beta 0.4 where the system has them.
//!
//!   peers adasample|adasample-table|rand_distr|textbook N B   one system
//!   (adasample-table: the npm ReplayBuffer's columnar workload on the core's replay table)
//!   peers latency                             the memory floor

use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use rand::SeedableRng;
use rand_distr::weighted::WeightedTreeIndex;
use rand_distr::Distribution;
use std::hint::black_box;
use std::time::Instant;

const ALPHA: f64 = 0.6;
const BETA: f64 = 0.4;
const EPS: f64 = 1e-6;

/// A raw priority stream in [0.001, 2.001) (xorshift), the same everywhere.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 + 1e-3
    }
}

/// Repetitions so that each phase runs about `secs` seconds (at least 3).
fn reps(first: f64, secs: f64) -> usize {
    ((secs / first.max(1e-9)) as usize).max(3)
}

struct Result {
    sample_ns: f64,
    step_per_s: f64,
    add_per_s: f64,
    /// Batches of B updated per second.
    update_per_s: f64,
}

/// Batches drawn before the update-alone timing, updated in turn.
const BATCHES: usize = 32;

/// Times `f` once to size the run, then `reps` times; seconds per call.
fn time(mut f: impl FnMut(), secs: f64) -> f64 {
    let t = Instant::now();
    f();
    let n = reps(t.elapsed().as_secs_f64(), secs);
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() / n as f64
}

/// What the sample, update and step timings need of an adasample system.
trait Prioritized {
    fn draw(&mut self, draws: &mut [Draw]);
    fn update(&mut self, keys: &[Key], td: &[f64]);
}

impl Prioritized for PrioritizedReplayBuffer<u32, Heap> {
    fn draw(&mut self, draws: &mut [Draw]) {
        self.sample_into(draws).unwrap();
    }
    fn update(&mut self, keys: &[Key], td: &[f64]) {
        self.update_priorities(keys, td).unwrap();
    }
}

/// The replay table with its batch's column slices (float32 obs of 4, int32
/// action, float32 reward), gathered with every draw.
struct Table {
    table: adasample::table::ReplayTable<adasample::per::PrioritizedSelector<Heap>, Heap>,
    obs: Vec<f32>,
    action: Vec<i32>,
    reward: Vec<f32>,
}

impl Prioritized for Table {
    fn draw(&mut self, draws: &mut [Draw]) {
        use adasample::rows::ValuesMut;
        let mut out =
            [ValuesMut::F32(&mut self.obs), ValuesMut::I32(&mut self.action), ValuesMut::F32(&mut self.reward)];
        self.table.sample_into(draws, &mut out).unwrap();
    }
    fn update(&mut self, keys: &[Key], td: &[f64]) {
        self.table.update_priorities(keys, td).unwrap();
    }
}

/// Seconds per batch of B: sampling, the update alone (one of `BATCHES`
/// batches drawn beforehand, in turn) and a step (a batch, then its update).
fn time_batches(sys: &mut impl Prioritized, b: usize, s: &mut Stream) -> (f64, f64, f64) {
    let mut draws = vec![Draw::default(); b];
    let mut keys = vec![Key::default(); b];
    let mut td = vec![0.0; b];
    let sample = time(|| sys.draw(black_box(&mut draws)), 1.0);
    let batches: Vec<Vec<Key>> = (0..BATCHES)
        .map(|_| {
            sys.draw(&mut draws);
            draws.iter().map(|d| d.key).collect()
        })
        .collect();
    let mut turn = 0;
    let update = time(
        || {
            for t in td.iter_mut() {
                *t = s.next();
            }
            sys.update(&batches[turn % BATCHES], &td);
            turn += 1;
        },
        1.0,
    );
    let step = time(
        || {
            sys.draw(&mut draws);
            for ((k, t), d) in keys.iter_mut().zip(td.iter_mut()).zip(&draws) {
                *k = d.key;
                *t = s.next();
            }
            sys.update(&keys, &td);
        },
        1.0,
    );
    (sample, update, step)
}

fn adasample(n: usize, b: usize) -> Result {
    let mut per: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(PerConfig {
        alpha: ALPHA,
        beta: BETA,
        epsilon: EPS,
        seed: 1,
        ..PerConfig::new(n)
    })
    .unwrap();
    let mut s = Stream(0x9E37_79B9_7F4A_7C15);
    for i in 0..n as u32 {
        per.add_with_priority(i, s.next()).unwrap();
    }
    let mut draws = vec![Draw::default(); b];
    let mut keys = vec![Key::default(); b];
    let mut td = vec![0.0; b];
    if let Some(steps) = std::env::var("PEERS_PROFILE_STEPS").ok().and_then(|s| s.parse().ok()) {
        // For a profiler: only `steps` steps, in one function to collect.
        profiled_steps(&mut per, steps, &mut draws, &mut keys, &mut td, &mut s);
        std::process::exit(0);
    }
    let (sample, update, step) = time_batches(&mut per, b, &mut s);
    let mut next = 0u32;
    let add = time(
        || {
            for _ in 0..n / b {
                per.extend(next..next + b as u32).unwrap();
                next = next.wrapping_add(b as u32);
            }
        },
        1.0,
    );
    Result {
        sample_ns: sample / b as f64 * 1e9,
        step_per_s: 1.0 / step,
        add_per_s: (n / b * b) as f64 / add,
        update_per_s: 1.0 / update,
    }
}

/// The npm `ReplayBuffer`'s headline workload on the core's replay table:
/// rows of a float32 `obs` of 4 values, an int32 `action` and a float32
/// `reward`; a step samples B rows (gathered into one slice per column) and
/// updates their B priorities. Add is one row at a time.
fn adasample_table(n: usize, b: usize) -> Result {
    use adasample::per::PrioritizedSelector;
    use adasample::rows::{ColumnSpec, DType, RowStorage, Values};
    use adasample::table::ReplayTable;
    let config = PerConfig { alpha: ALPHA, beta: BETA, epsilon: EPS, seed: 1, ..PerConfig::new(n) };
    let cols = [
        ColumnSpec::new("obs", DType::F32, &[4]),
        ColumnSpec::new("action", DType::I32, &[]),
        ColumnSpec::new("reward", DType::F32, &[]),
    ];
    let table =
        ReplayTable::new(PrioritizedSelector::<Heap>::new(config).unwrap(), RowStorage::<Heap>::new(n, &cols).unwrap())
            .unwrap();
    let mut t = Table { table, obs: vec![0.0; 4 * b], action: vec![0; b], reward: vec![0.0; b] };
    let mut s = Stream(0x9E37_79B9_7F4A_7C15);
    let row = |i: usize| ([i as f32, 0.5, -0.5, 1.0], [(i % 2) as i32], [1.0f32]);
    for i in 0..n {
        let (obs, action, reward) = row(i);
        t.table.add(&[Values::F32(&obs), Values::I32(&action), Values::F32(&reward)], Some(s.next())).unwrap();
    }
    let (sample, update, step) = time_batches(&mut t, b, &mut s);
    let adds = n.min(1 << 18);
    let mut next = 0;
    let add = time(
        || {
            for _ in 0..adds {
                let (obs, action, reward) = row(next);
                next += 1;
                t.table.add(&[Values::F32(&obs), Values::I32(&action), Values::F32(&reward)], None).unwrap();
            }
        },
        1.0,
    );
    Result { sample_ns: sample / b as f64 * 1e9, step_per_s: 1.0 / step, add_per_s: adds as f64 / add, update_per_s: 1.0 / update }
}

/// The step loop alone (`valgrind --tool=callgrind --toggle-collect=*profiled_steps*`).
#[inline(never)]
fn profiled_steps(
    per: &mut PrioritizedReplayBuffer<u32, Heap>,
    steps: usize,
    draws: &mut [Draw],
    keys: &mut [Key],
    td: &mut [f64],
    s: &mut Stream,
) {
    for _ in 0..steps {
        per.sample_into(draws).unwrap();
        for ((k, t), d) in keys.iter_mut().zip(td.iter_mut()).zip(draws.iter()) {
            *k = d.key;
            *t = s.next();
        }
        per.update_priorities(keys, td).unwrap();
    }
}

fn rand_distr(n: usize, b: usize) -> Result {
    let mut s = Stream(0x9E37_79B9_7F4A_7C15);
    let mut tree = WeightedTreeIndex::new((0..n).map(|_| (s.next() + EPS).powf(ALPHA))).unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let mut idx = vec![0usize; b];
    let sample = time(
        || {
            for i in idx.iter_mut() {
                *i = tree.sample(&mut rng);
            }
            black_box(&idx);
        },
        1.0,
    );
    let batches: Vec<Vec<usize>> = (0..BATCHES).map(|_| (0..b).map(|_| tree.sample(&mut rng)).collect()).collect();
    let mut turn = 0;
    let update = time(
        || {
            for &i in &batches[turn % BATCHES] {
                tree.update(i, (s.next() + EPS).powf(ALPHA)).unwrap();
            }
            turn += 1;
        },
        1.0,
    );
    let step = time(
        || {
            for i in idx.iter_mut() {
                *i = tree.sample(&mut rng);
            }
            for &i in &idx {
                tree.update(i, (s.next() + EPS).powf(ALPHA)).unwrap();
            }
        },
        1.0,
    );
    let mut next = 0usize;
    let add = time(
        || {
            for _ in 0..n / b * b {
                tree.update(next, 1.0).unwrap();
                next = (next + 1) % n;
            }
        },
        1.0,
    );
    Result {
        sample_ns: sample / b as f64 * 1e9,
        step_per_s: 1.0 / step,
        add_per_s: (n / b * b) as f64 / add,
        update_per_s: 1.0 / update,
    }
}

/// The textbook PER memory (as in OpenAI baselines, in Rust): binary sum and
/// min segment trees over a power-of-two array, one descent per draw,
/// stratified segments, IS weights `(N P)^-beta / max`, leaf-to-root updates.
struct Textbook {
    cap: usize,
    sum: Vec<f64>,
    min: Vec<f64>,
    next: usize,
    max_p: f64,
}

impl Textbook {
    fn new(n: usize) -> Self {
        let cap = n.next_power_of_two();
        Textbook { cap, sum: vec![0.0; 2 * cap], min: vec![f64::INFINITY; 2 * cap], next: 0, max_p: 1.0 }
    }
    fn set(&mut self, i: usize, p: f64) {
        let mut k = i + self.cap;
        self.sum[k] = p;
        self.min[k] = p;
        while k > 1 {
            k /= 2;
            self.sum[k] = self.sum[2 * k] + self.sum[2 * k + 1];
            self.min[k] = self.min[2 * k].min(self.min[2 * k + 1]);
        }
    }
    fn find(&self, mut u: f64) -> usize {
        let mut k = 1;
        while k < self.cap {
            if self.sum[2 * k] > u {
                k *= 2;
            } else {
                u -= self.sum[2 * k];
                k = 2 * k + 1;
            }
        }
        k - self.cap
    }
    fn sample(&self, rng: &mut rand::rngs::SmallRng, n: usize, idx: &mut [usize], w: &mut [f64]) {
        use rand::RngExt;
        let total = self.sum[1];
        let seg = total / idx.len() as f64;
        let p_min = self.min[1] / total;
        let max_w = (p_min * n as f64).powf(-BETA);
        for (j, (i, wj)) in idx.iter_mut().zip(w.iter_mut()).enumerate() {
            let u = seg * (j as f64 + rng.random::<f64>());
            *i = self.find(u.min(total * (1.0 - 1e-12)));
            *wj = (self.sum[*i + self.cap] / total * n as f64).powf(-BETA) / max_w;
        }
    }
}

fn textbook(n: usize, b: usize) -> Result {
    let mut t = Textbook::new(n);
    let mut s = Stream(0x9E37_79B9_7F4A_7C15);
    for i in 0..n {
        t.set(i, (s.next() + EPS).powf(ALPHA));
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let (mut idx, mut w) = (vec![0usize; b], vec![0.0; b]);
    let sample = time(|| t.sample(&mut rng, n, black_box(&mut idx), &mut w), 1.0);
    let batches: Vec<Vec<usize>> = (0..BATCHES)
        .map(|_| {
            t.sample(&mut rng, n, &mut idx, &mut w);
            idx.clone()
        })
        .collect();
    let mut turn = 0;
    let update = time(
        || {
            for &i in &batches[turn % BATCHES] {
                let raw = s.next();
                t.max_p = t.max_p.max(raw);
                t.set(i, (raw + EPS).powf(ALPHA));
            }
            turn += 1;
        },
        1.0,
    );
    let step = time(
        || {
            t.sample(&mut rng, n, &mut idx, &mut w);
            for &i in idx.iter() {
                let raw = s.next();
                t.max_p = t.max_p.max(raw);
                t.set(i, (raw + EPS).powf(ALPHA));
            }
        },
        1.0,
    );
    let add = time(
        || {
            for _ in 0..n / b * b {
                let (slot, p) = (t.next, (t.max_p + EPS).powf(ALPHA));
                t.set(slot, p);
                t.next = (slot + 1) % n;
            }
        },
        1.0,
    );
    Result {
        sample_ns: sample / b as f64 * 1e9,
        step_per_s: 1.0 / step,
        add_per_s: (n / b * b) as f64 / add,
        update_per_s: 1.0 / update,
    }
}

/// Dependent-load latency over a 512 MiB random cycle, and the rate of 16
/// independent chains: the floor for a tree descent past the caches.
fn latency() {
    let n = 64usize << 20; // 512 MiB of u64
    let mut next: Vec<u64> = (0..n as u64).collect();
    // Sattolo: one cycle through every element.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        next.swap(i, (x % i as u64) as usize);
    }
    let hops = 2_000_000;
    let t = Instant::now();
    let mut p = 0u64;
    for _ in 0..hops {
        p = next[p as usize];
    }
    let dependent = t.elapsed().as_secs_f64() / hops as f64 * 1e9;
    black_box(p);
    let t = Instant::now();
    let mut ps: [u64; 16] = core::array::from_fn(|k| (k * 4_000_037) as u64 % n as u64);
    for _ in 0..hops / 16 {
        for q in ps.iter_mut() {
            *q = next[*q as usize];
        }
    }
    let parallel = t.elapsed().as_secs_f64() / hops as f64 * 1e9;
    black_box(ps);
    println!("{{\"system\":\"latency\",\"dependent_ns\":{dependent:.1},\"parallel16_ns_per_load\":{parallel:.2}}}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("latency") {
        return latency();
    }
    let usage = "usage: peers adasample|adasample-table|rand_distr|textbook N B | peers latency";
    let (Some(system), Some(n), Some(b)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let (Ok(n), Ok(b)) = (n.parse::<usize>(), b.parse::<usize>()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let r = match system.as_str() {
        "adasample" => adasample(n, b),
        "adasample-table" => adasample_table(n, b),
        "rand_distr" => rand_distr(n, b),
        "textbook" => textbook(n, b),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    println!(
        "{{\"system\":\"{system}\",\"n\":{n},\"b\":{b},\"sample_ns_per_index\":{:.2},\"step_per_s\":{:.1},\"add_per_s\":{:.0},\"update_per_s\":{:.1}}}",
        r.sample_ns, r.step_per_s, r.add_per_s, r.update_per_s
    );
}
