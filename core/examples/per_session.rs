//! A prioritized-replay session on a synthetic task, printed step by step.
//!
//! Each transition has a hidden "surprise" that its TD error reveals and that
//! shrinks every time it is replayed (as a value estimate converges). PER should
//! replay surprising transitions first, anneal beta to 1, skip updates for
//! slots the ring has overwritten, and survive a snapshot/restore bit for bit.
//!
//! Run: `cargo run -p adasample --example per_session --features serde`
//! (`make demo`).

use adasample::per::{Batch, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use adasample::{DefaultRng, Result};
use rand_core::{RngCore, SeedableRng};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Transition {
    id: u32,
    rare: bool,
}

const CAPACITY: usize = 4096;
const BATCH: usize = 64;
const STEPS: u64 = 400;

fn main() -> Result<()> {
    let config =
        PerConfig { alpha: 0.6, beta: 0.4, beta_final: 1.0, beta_steps: STEPS, seed: 7, ..PerConfig::new(CAPACITY) };
    let mut replay: PrioritizedReplayBuffer<Transition, Heap> = PrioritizedReplayBuffer::new(config)?;
    let mut env = DefaultRng::seed_from_u64(1);
    // Hidden: how wrong the value estimate is for each transition (by id).
    let mut surprise: Vec<f64> = Vec::new();
    let mut add =
        |replay: &mut PrioritizedReplayBuffer<Transition, Heap>, surprise: &mut Vec<f64>, n: usize| -> Result<()> {
            for _ in 0..n {
                // 5% of transitions are surprising (rare rewards), the rest are not.
                let rare = env.next_u32() % 20 == 0;
                surprise.push(if rare { 5.0 } else { 0.1 } * (1.0 + (env.next_u32() % 100) as f64 / 100.0));
                replay.add(Transition { id: surprise.len() as u32 - 1, rare })?;
            }
            Ok(())
        };

    println!(
        "adasample PER session: capacity {CAPACITY}, batch {BATCH}, alpha 0.6, beta 0.4 -> 1.0 over {STEPS} steps\n"
    );
    add(&mut replay, &mut surprise, 3000)?;
    println!(
        "{:>5} {:>6} {:>6} {:>11} {:>8} {:>10} {:>6}",
        "step", "beta", "size", "rare share", "min w", "mean |td|", "stale"
    );
    let mut snapshot_at_200 = None;
    for step in 1..=STEPS {
        let beta = replay.beta();
        let Batch { items, weights, indices, .. } = replay.sample(BATCH)?;
        let rare = items.iter().filter(|t| t.rare).count();
        let td: Vec<f64> = items.iter().map(|t| surprise[t.id as usize]).collect();
        let mean_td = td.iter().sum::<f64>() / td.len() as f64;
        let min_w = weights.iter().copied().fold(f64::INFINITY, f64::min);
        let ids: Vec<u32> = items.iter().map(|t| t.id).collect();
        // Learning: each replayed transition becomes less surprising.
        for &id in &ids {
            surprise[id as usize] *= 0.7;
        }
        // New experience arrives while we learn: the ring overwrites old slots,
        // so some keys in `indices` go stale before their update lands.
        add(&mut replay, &mut surprise, 16)?;
        let report = replay.update_priorities(&indices, &td)?;
        if step == 200 {
            snapshot_at_200 = Some(replay.snapshot()?);
        }
        if step % 50 == 0 || step == 1 {
            println!(
                "{step:>5} {beta:>6.3} {:>6} {:>10.1}% {min_w:>8.4} {mean_td:>10.3} {:>6}",
                replay.len(),
                100.0 * rare as f64 / BATCH as f64,
                report.stale
            );
        }
    }
    println!("\nRare transitions are 5% of the data; uniform replay would draw them 5% of the time.");
    println!("PER replays them first, then moves on as their TD errors shrink; beta reaches 1.");

    // Snapshot / restore: the restored buffer makes the same draws.
    let bytes = snapshot_at_200.unwrap_or_default();
    let mut a: PrioritizedReplayBuffer<Transition, Heap> = PrioritizedReplayBuffer::restore(&bytes)?;
    let mut b: PrioritizedReplayBuffer<Transition, Heap> = PrioritizedReplayBuffer::restore(&bytes)?;
    let same = a.sample(BATCH)?.indices == b.sample(BATCH)?.indices;
    println!("snapshot at step 200: {} bytes; restored copies draw identical batches: {same}", bytes.len());
    let corrupt = &bytes[..bytes.len() / 2];
    match PrioritizedReplayBuffer::<Transition, Heap>::restore(corrupt) {
        Err(e) => println!("a truncated snapshot is refused: {e} (code {})", e.code()),
        Ok(_) => println!("BUG: truncated snapshot accepted"),
    }
    Ok(())
}
