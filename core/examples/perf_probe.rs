use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1 << 20);
    let b: usize = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(256);
    let mut per: PrioritizedReplayBuffer<u32, Heap> =
        PrioritizedReplayBuffer::new(PerConfig { alpha: 0.6, beta: 0.4, seed: 1, ..PerConfig::new(n) }).unwrap();
    if std::env::var("ONLY_STEP").is_ok() {
        for i in 0..n as u32 {
            per.add_with_priority(i, ((i % 1000) as f64 + 1.0) * 0.01).unwrap();
        }
        let mut draws = vec![Draw::default(); b];
        let mut keys = vec![Key::default(); b];
        let mut td = vec![0.0; b];
        let mut x = 0.37f64;
        let t = Instant::now();
        for _ in 0..10000 {
            per.sample_into(&mut draws).unwrap();
            for (j, d) in draws.iter().enumerate() {
                keys[j] = d.key;
                x = (x * 3.7) % 1.0;
                td[j] = x * 2.0 + 0.01;
            }
            per.update_priorities(&keys, &td).unwrap();
        }
        println!("step only: {:.0} steps/s", 10000.0 / t.elapsed().as_secs_f64());
        return;
    }
    if std::env::var("ONLY_SAMPLE").is_ok() {
        for i in 0..n as u32 {
            per.add_with_priority(i, ((i % 1000) as f64 + 1.0) * 0.01).unwrap();
        }
        let mut draws = vec![Draw::default(); b];
        let t = Instant::now();
        for _ in 0..20000 {
            per.sample_into(&mut draws).unwrap();
        }
        println!("sample only: {:.1} ns/index", t.elapsed().as_secs_f64() / (20000 * b) as f64 * 1e9);
        return;
    }
    let t = Instant::now();
    for i in 0..n as u32 {
        per.add_with_priority(i, ((i % 1000) as f64 + 1.0) * 0.01).unwrap();
    }
    let t_fill = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..n as u32 {
        per.add(i).unwrap();
    }
    let t_add = t.elapsed().as_secs_f64();
    let t = Instant::now();
    per.extend(0..n as u32).unwrap();
    let t_ext = t.elapsed().as_secs_f64();
    println!("extend {:.1} ns/item ({:.1} M/s)", t_ext / n as f64 * 1e9, n as f64 / t_ext / 1e6);
    for i in 0..n as u32 {
        per.add_with_priority(i, ((i % 1000) as f64 + 1.0) * 0.01).unwrap();
    }
    let mut draws = vec![Draw::default(); b];
    let mut keys = vec![Key::default(); b];
    let mut td = vec![0.0; b];
    let steps = 2000;
    let t = Instant::now();
    for _ in 0..steps {
        per.sample_into(&mut draws).unwrap();
    }
    let t_sample = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut x = 0.37f64;
    for _ in 0..steps {
        per.sample_into(&mut draws).unwrap();
        for (j, d) in draws.iter().enumerate() {
            keys[j] = d.key;
            x = (x * 3.7) % 1.0;
            td[j] = x * 2.0 + 0.01;
        }
        per.update_priorities(&keys, &td).unwrap();
    }
    let t_step = t.elapsed().as_secs_f64();
    println!("N={n} B={b}: fill {:.1} ns/item, add(full ring) {:.1} ns/item ({:.1} M/s), sample {:.1} ns/index, step {:.0} steps/s ({:.1} ns/index)",
        t_fill / n as f64 * 1e9, t_add / n as f64 * 1e9, n as f64 / t_add / 1e6, t_sample / (steps * b) as f64 * 1e9, steps as f64 / t_step, t_step / (steps * b) as f64 * 1e9);
    let s: f64 = draws.iter().map(|d| d.weight).sum();
    println!("checksum {s:.17}");
}
