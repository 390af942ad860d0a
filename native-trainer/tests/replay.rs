//! The trainer's replay path is the core's: for the same seed and the same
//! steps and updates, its batches (keys), IS weights and rows equal what
//! `adasample`'s selectors return directly, bit for bit; and its n-step
//! transitions equal a brute-force oracle's.

use adasample::per::{Draw, PrioritizedReplayBuffer};
use adasample::rng::{below, unit_f64};
use adasample::select::Selector;
use adasample::storage::Heap;
use adasample::uniform::{UniformConfig, UniformSelector};
use adasample::DefaultRng;
use adasample_trainer::replay::{Replay, Returns, Sampler};
use rand_core::SeedableRng;

#[test]
fn batches_weights_and_rows_are_the_cores() {
    let seed = 77;
    let one_step = Returns { n: 1, gamma: 0.99 };
    for sampler in Sampler::ALL {
        let mut ours = Replay::new(sampler, 300, 4, one_step, 50, seed).unwrap();
        // The same selector, driven directly: a PER buffer of step numbers, or a bare uniform selector.
        let mut per: Option<PrioritizedReplayBuffer<u32, Heap>> =
            sampler.per_config(300, 50, seed).map(|c| PrioritizedReplayBuffer::new(c).unwrap());
        let stratified = sampler == Sampler::Stratified;
        let mut uniform =
            UniformSelector::<Heap>::new(UniformConfig { seed, stratified, ..UniformConfig::new(300) }).unwrap();
        let mut steps = vec![0u32; 300];
        for step in 0..400u32 {
            let obs = vec![step as f32, 0.5, -1.0, 2.0];
            let stored =
                ours.step(obs, (step % 2) as i32, f64::from(step) * 0.25, &[0.0; 4], step.is_multiple_of(7), false);
            assert_eq!(stored.unwrap(), 1);
            let key = match &mut per {
                Some(b) => b.add(step).unwrap(),
                None => uniform.insert(None).unwrap(),
            };
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
                    assert_eq!((batch.actions[j], batch.returns[j]), ((s % 2) as i32, s as f32 * 0.25));
                    assert_eq!(batch.discounts[j], if s.is_multiple_of(7) { 0.0 } else { 0.99f32 });
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
        if matches!(sampler, Sampler::Uniform | Sampler::Stratified) {
            assert!(ours.sample(16).unwrap().weights.iter().all(|&w| w == 1.0));
        }
    }
}

/// Random episodes, ended by termination or truncation at random: the rows
/// stored are, slot by slot, the n-step transitions a brute-force pass over
/// each episode gives.
#[test]
fn n_step_transitions_are_the_oracles() {
    for (n, gamma, seed) in [(1, 0.99, 1), (3, 0.9, 2), (5, 0.5, 3)] {
        let mut rng = DefaultRng::seed_from_u64(seed);
        let mut ours = Replay::new(Sampler::Stratified, 10_000, 2, Returns { n, gamma }, 1, seed).unwrap();
        // Each step: (obs, action, reward, next obs, terminated, truncated).
        let mut steps = Vec::new();
        for t in 0..2_000u32 {
            let end = below(&mut rng, 12);
            let step = (
                vec![t as f32, 1.0],
                (t % 3) as i32,
                unit_f64(&mut rng) * 2.0 - 0.5,
                vec![t as f32 + 1.0, 1.0],
                end == 0,
                end == 1,
            );
            ours.step(step.0.clone(), step.1, step.2, &step.3, step.4, step.5).unwrap();
            steps.push(step);
        }
        // The oracle: a transition from every step whose span is complete.
        let mut want = Vec::new();
        for t in 0..steps.len() {
            let mut k = 0;
            let (mut ret, mut discount) = (0.0, 1.0);
            let mut ended = false;
            while k < n && t + k < steps.len() {
                let s = &steps[t + k];
                ret += discount * s.2;
                discount *= gamma;
                k += 1;
                if s.4 || s.5 {
                    ended = true;
                    if s.4 {
                        discount = 0.0;
                    }
                    break;
                }
            }
            if k == n || ended {
                want.push((steps[t].0.clone(), steps[t].1, ret, discount, steps[t + k - 1].3.clone()));
            }
        }
        let len = ours.len();
        assert_eq!(len, want.len(), "n {n}");
        // Stratified uniform with one stratum per row reads every slot in order.
        let batch = ours.sample(len).unwrap();
        for (j, w) in want.iter().enumerate() {
            assert_eq!(batch.obs[2 * j..2 * j + 2], w.0[..], "n {n} row {j}");
            assert_eq!(batch.actions[j], w.1);
            assert!(
                (f64::from(batch.returns[j]) - w.2).abs() <= 1e-5 * (1.0 + w.2.abs()),
                "n {n} row {j}: {} vs {}",
                batch.returns[j],
                w.2
            );
            assert!(
                (f64::from(batch.discounts[j]) - w.3).abs() <= 1e-6,
                "n {n} row {j}: {} vs {}",
                batch.discounts[j],
                w.3
            );
            assert_eq!(batch.next_obs[2 * j..2 * j + 2], w.4[..]);
        }
    }
}
