//! Worst case of the rank order: 10^5 inserts (then 10^5 re-keyings) into a
//! rank-based PER, with priorities in random order against the orders an
//! adversary would pick (ascending, descending, zigzag, and the order of the
//! fixed slot hash that gave the old treap its heap priorities, which made
//! it a path). Prints ns per operation and each order's ratio to random:
//! near 1 means no order degrades the tree.
//!
//!   cargo bench -p adasample --bench rank
//!
//! Plain timing (best of 5 runs), not criterion: the point is the ratio,
//! measured side by side in one process.

use adasample::per::{Key, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use std::hint::black_box;
use std::time::Instant;

const N: usize = 100_000;

fn old_treap_hash(slot: u32) -> f64 {
    let mut h = slot.wrapping_add(0x9E37_79B9);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    f64::from(h ^ (h >> 16))
}

fn orders() -> Vec<(&'static str, Vec<f64>)> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let random = (0..N)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64
        })
        .collect();
    vec![
        ("random", random),
        ("ascending", (0..N).map(|i| i as f64).collect()),
        ("descending", (0..N).map(|i| (N - i) as f64).collect()),
        ("zigzag", (0..N).map(|i| if i % 2 == 0 { i as f64 } else { 1e9 - i as f64 }).collect()),
        ("old treap hash", (0..N as u32).map(old_treap_hash).collect()),
    ]
}

/// Best-of-5 seconds for `N` inserts and for `N` re-keyings (update_priorities
/// of one key at a time, each a remove and an insert), in the order of `keys`.
fn measure(keys: &[f64]) -> (f64, f64) {
    let (mut insert, mut update) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        let mut b: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(PerConfig::rank(N)).unwrap();
        let t = Instant::now();
        for (i, &k) in keys.iter().enumerate() {
            b.add_with_priority(i as u32, k).unwrap();
        }
        insert = insert.min(t.elapsed().as_secs_f64());
        let slots: Vec<Key> = (0..N).map(|s| b.key(s).unwrap()).collect();
        let t = Instant::now();
        for (s, &k) in slots.iter().zip(keys) {
            b.update_priorities(std::slice::from_ref(s), &[k + 1e12]).unwrap();
        }
        update = update.min(t.elapsed().as_secs_f64());
        black_box(&b);
    }
    (insert, update)
}

fn main() {
    let results: Vec<(&str, (f64, f64))> = orders().into_iter().map(|(name, keys)| (name, measure(&keys))).collect();
    let (ri, ru) = results[0].1;
    println!("rank order, {N} operations per column (best of 5)");
    println!("{:<16} {:>12} {:>8} {:>12} {:>8}", "order", "insert ns", "vs rnd", "re-key ns", "vs rnd");
    let (mut worst_i, mut worst_u) = (0.0f64, 0.0f64);
    for (name, (i, u)) in &results {
        println!(
            "{name:<16} {:>12.1} {:>8.2} {:>12.1} {:>8.2}",
            i * 1e9 / N as f64,
            i / ri,
            u * 1e9 / N as f64,
            u / ru
        );
        worst_i = worst_i.max(i / ri);
        worst_u = worst_u.max(u / ru);
    }
    println!("SUMMARY rank_insert_worst_vs_random={worst_i:.2} rank_rekey_worst_vs_random={worst_u:.2}");
}
