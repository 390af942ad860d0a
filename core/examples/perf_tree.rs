use adasample::{storage::Heap, tree::SumTree, DefaultRng};
use rand_core::SeedableRng;
use std::time::Instant;
fn main() {
    for n in [4096usize, 65536, 1 << 20] {
        let mut t: SumTree<Heap> = SumTree::new(n).unwrap();
        for i in 0..n {
            t.set(i, ((i % 1000) as f64 + 1.0) * 0.01).unwrap();
        }
        let mut rng = DefaultRng::seed_from_u64(1);
        let mut out = vec![0usize; 256];
        let reps = 20000;
        let s = Instant::now();
        let mut acc = 0;
        for _ in 0..reps {
            t.sample_stratified(&mut rng, &mut out).unwrap();
            acc += out[7];
        }
        let ns = s.elapsed().as_secs_f64() / (reps * 256) as f64 * 1e9;
        let s = Instant::now();
        let mut x = 0u64;
        for _ in 0..reps * 256 {
            x = x.wrapping_add(adasample::rng::unit_f64(&mut rng).to_bits());
        }
        let rng_ns = s.elapsed().as_secs_f64() / (reps * 256) as f64 * 1e9;
        println!("N={n}: stratified descent {ns:.1} ns/index (rng alone {rng_ns:.1}) {acc} {x}");
    }
}
