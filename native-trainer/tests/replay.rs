//! The trainer's replay path is the core's: for the same seed and the same
//! transitions and updates, its batches (keys) and IS weights equal what
//! `adasample` returns directly, bit for bit.

use adasample::per::{Draw, PrioritizedReplayBuffer};
use adasample::storage::Heap;
use adasample_trainer::replay::{Replay, Sampler, Transition};

#[test]
fn batches_and_weights_are_the_cores() {
    for sampler in Sampler::ALL {
        let config = sampler.config(300, 50, 77);
        let mut ours = Replay::new(config).unwrap();
        let mut core: PrioritizedReplayBuffer<u32, Heap> = PrioritizedReplayBuffer::new(config).unwrap();
        for step in 0..400u32 {
            let t = Transition {
                obs: vec![step as f32; 4],
                action: (step % 2) as i64,
                reward: 1.0,
                next_obs: vec![0.0; 4],
                terminated: false,
            };
            assert_eq!(ours.push(t).unwrap(), core.add(step).unwrap());
            if step >= 64 && step % 4 == 0 {
                let batch = ours.sample(32).unwrap();
                let mut draws = vec![Draw::default(); 32];
                core.sample_into(&mut draws).unwrap();
                assert_eq!(batch.keys, draws.iter().map(|d| d.key).collect::<Vec<_>>(), "{sampler:?} step {step}");
                let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&batch.weights), bits(&draws.iter().map(|d| d.weight).collect::<Vec<_>>()));
                // The items are the transitions stored under those keys.
                for (item, d) in batch.items.iter().zip(&draws) {
                    assert_eq!(item.obs[0] as u32, *core.get(d.key).unwrap());
                }
                let keys = batch.keys.clone();
                let td: Vec<f64> = keys.iter().map(|k| (k.slot as f64 * 0.37 + step as f64).sin()).collect();
                assert_eq!(ours.update(&keys, &td).unwrap(), core.update_priorities(&keys, &td).unwrap().stale);
            }
        }
        if sampler == Sampler::Uniform {
            // alpha 0: every weight is exactly 1.
            assert!(ours.sample(16).unwrap().weights.iter().all(|&w| w == 1.0));
        }
    }
}
