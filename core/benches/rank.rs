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

#[path = "../tests/common/mod.rs"]
mod common;

const N: usize = 100_000;

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
    let results: Vec<(&str, (f64, f64))> =
        common::priority_orders(N).into_iter().map(|(name, keys)| (name, measure(&keys))).collect();
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
