//! Criterion benchmarks of proportional PER over the grid N in {2^14, 2^20,
//! 2^24}, B in {32, 256, 1024} (alpha 0.6, beta 0.4): `sample` (a stratified
//! batch with IS weights), `update` (new priorities for a sampled batch),
//! `step` (both), and adding into a full ring (`add` one by one, `extend`).
//! Throughput is per sampled index (per item for adds).
//!
//!   cargo bench -p adasample --bench per            # the whole grid
//!   cargo bench -p adasample --bench per -- 'N=2^20' # one size
//!
//! `make bench` compares the same workload side by side with cpprb, TorchRL,
//! rand_distr and a textbook sum tree (tests/perf/).

use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

type Per = PrioritizedReplayBuffer<u32, Heap>;

/// A full buffer of `n` items with varied priorities (deterministic).
fn filled(n: usize) -> Per {
    let mut per = Per::new(PerConfig { alpha: 0.6, beta: 0.4, seed: 7, ..PerConfig::new(n) }).unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n as u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        per.add_with_priority(i, (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 + 1e-3).unwrap();
    }
    per
}

/// TD errors for a batch: a cheap deterministic stream.
fn errors(td: &mut [f64], state: &mut u64) {
    for t in td.iter_mut() {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *t = (*state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    }
}

fn bench(c: &mut Criterion) {
    for log_n in [14u32, 20, 24] {
        let n = 1usize << log_n;
        let mut per = filled(n);
        let mut group = c.benchmark_group(format!("N=2^{log_n}"));
        group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for b in [32usize, 256, 1024] {
            group.throughput(Throughput::Elements(b as u64));
            let mut draws = vec![Draw::default(); b];
            let (mut keys, mut td, mut state) = (vec![Key::default(); b], vec![0.0; b], 1u64);
            group.bench_function(BenchmarkId::new("sample", b), |bench| {
                bench.iter(|| per.sample_into(black_box(&mut draws)).unwrap())
            });
            per.sample_into(&mut draws).unwrap();
            for (k, d) in keys.iter_mut().zip(&draws) {
                *k = d.key;
            }
            group.bench_function(BenchmarkId::new("update", b), |bench| {
                bench.iter(|| {
                    errors(&mut td, &mut state);
                    per.update_priorities(black_box(&keys), &td).unwrap()
                })
            });
            group.bench_function(BenchmarkId::new("step", b), |bench| {
                bench.iter(|| {
                    per.sample_into(&mut draws).unwrap();
                    for (k, d) in keys.iter_mut().zip(&draws) {
                        *k = d.key;
                    }
                    errors(&mut td, &mut state);
                    per.update_priorities(&keys, &td).unwrap()
                })
            });
        }
        let chunk = 4096;
        group.throughput(Throughput::Elements(chunk as u64));
        group.bench_function(BenchmarkId::new("add", chunk), |bench| {
            bench.iter(|| {
                for i in 0..chunk as u32 {
                    per.add(black_box(i)).unwrap();
                }
            })
        });
        group.bench_function(BenchmarkId::new("extend", chunk), |bench| {
            bench.iter_batched(|| 0..chunk as u32, |items| per.extend(items).unwrap(), BatchSize::SmallInput)
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
