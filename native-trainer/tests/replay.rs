//! The trainer's replay path is the core's: for the same seed and the same
//! transitions and updates, its batches (keys), IS weights and rows equal
//! what `adasample`'s selectors return directly, bit for bit.

use adasample::per::{Draw, PrioritizedReplayBuffer};
use adasample::select::Selector;
use adasample::storage::Heap;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample_trainer::replay::{Replay, Sampler};

#[test]
fn batches_weights_and_rows_are_the_cores() {
    let seed = 77;
    for sampler in Sampler::ALL {
        let mut ours = Replay::new(sampler, 300, 4, 50, seed).unwrap();
        // The same selector, driven directly: a PER buffer of step numbers, or a bare uniform selector.
        let mut per: Option<PrioritizedReplayBuffer<u32, Heap>> =
            sampler.per_config(300, 50, seed).map(|c| PrioritizedReplayBuffer::new(c).unwrap());
        let mut uniform = UniformSelector::<Heap>::new(UniformConfig { seed, ..UniformConfig::new(300) }).unwrap();
        let mut steps = vec![0u32; 300];
        for step in 0..400u32 {
            let obs = [step as f32, 0.5, -1.0, 2.0];
            let key = ours.push(&obs, i64::from(step % 2), step as f32 * 0.25, &[0.0; 4], step % 7 == 0).unwrap();
            let core_key = match &mut per {
                Some(b) => b.add(step).unwrap(),
                None => uniform.insert(None).unwrap(),
            };
            assert_eq!(key, core_key);
            steps[key.slot as usize] = step;
            if step >= 64 && step % 4 == 0 {
                let mut draws = vec![Draw::default(); 32];
                match &mut per {
                    Some(b) => b.sample_into(&mut draws).unwrap(),
                    None => uniform.sample_into(&mut draws).unwrap(),
                }
                let batch = ours.sample(32).unwrap();
                assert_eq!(batch.keys, draws.iter().map(|d| d.key).collect::<Vec<_>>(), "{sampler:?} step {step}");
                let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&batch.weights), bits(&draws.iter().map(|d| d.weight).collect::<Vec<_>>()));
                // The rows are the transitions stored under those keys.
                for (j, d) in draws.iter().enumerate() {
                    let s = steps[d.key.slot as usize];
                    assert_eq!(batch.obs[4 * j..4 * j + 4], [s as f32, 0.5, -1.0, 2.0]);
                    assert_eq!((batch.actions[j], batch.rewards[j]), ((s % 2) as i32, s as f32 * 0.25));
                    assert_eq!(batch.terminated[j], u8::from(s % 7 == 0));
                }
                let keys = batch.keys.clone();
                let td: Vec<f64> = keys.iter().map(|k| (k.slot as f64 * 0.37 + step as f64).sin()).collect();
                let stale = match &mut per {
                    Some(b) => b.update_priorities(&keys, &td).unwrap().stale,
                    None => uniform.update_priorities(&keys, &td).unwrap().stale,
                };
                assert_eq!(ours.update(&keys, &td).unwrap(), stale);
            }
        }
        if sampler == Sampler::Uniform {
            assert!(ours.sample(16).unwrap().weights.iter().all(|&w| w == 1.0));
        }
    }
}
