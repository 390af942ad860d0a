//! The environments against trajectories recorded from Gymnasium 1.x
//! (`tests/envs/*.json`, made by `tests/envs/record.py`): from the same state
//! and actions, the same observations (exactly, as float32), rewards,
//! termination and truncation; and reset states in Gymnasium's ranges.

use adasample::DefaultRng;
use adasample_trainer::envs::EnvId;
use rand_core::SeedableRng;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/envs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn check(id: EnvId, tolerance: f64) -> usize {
    let fx = fixture(id.name());
    let mut steps_checked = 0;
    for (c, case) in fx["cases"].as_array().unwrap().iter().enumerate() {
        let mut env = id.make();
        env.set_state(&floats(&case["state"])).unwrap();
        let actions: Vec<usize> =
            case["actions"].as_array().unwrap().iter().map(|a| a.as_u64().unwrap() as usize).collect();
        let want = case["steps"].as_array().unwrap();
        assert_eq!(actions.len(), want.len());
        for (k, (&a, w)) in actions.iter().zip(want).enumerate() {
            let got = env.step(a).unwrap();
            for (i, (&g, e)) in got.obs.iter().zip(floats(&w["obs"])).enumerate() {
                let e = e as f32;
                assert!(
                    (g - e).abs() as f64 <= tolerance * (1.0 + e.abs() as f64),
                    "{} case {c} step {k} obs[{i}]: {g} vs gymnasium {e}",
                    id.name()
                );
            }
            assert_eq!(got.reward, w["reward"].as_f64().unwrap(), "{} case {c} step {k} reward", id.name());
            assert_eq!(
                got.terminated,
                w["terminated"].as_bool().unwrap(),
                "{} case {c} step {k} terminated",
                id.name()
            );
            assert_eq!(got.truncated, w["truncated"].as_bool().unwrap(), "{} case {c} step {k} truncated", id.name());
            steps_checked += 1;
        }
    }
    steps_checked
}

#[test]
fn cartpole_matches_gymnasium() {
    assert!(check(EnvId::CartPole, 0.0) > 50);
}

#[test]
fn mountaincar_matches_gymnasium_including_truncation_at_200() {
    assert!(check(EnvId::MountainCar, 0.0) > 800);
    let fx = fixture("mountaincar-v0");
    assert!(fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["steps"].as_array().unwrap().last().unwrap()["truncated"] == true));
}

#[test]
fn acrobot_matches_gymnasium_including_truncation_at_500() {
    // RK4 over a chaotic system, 500 steps: still float32-exact.
    assert!(check(EnvId::Acrobot, 0.0) > 1000);
}

#[test]
fn reset_states_are_in_gymnasium_ranges() {
    for (id, lo, hi) in [
        (EnvId::CartPole, vec![-0.05; 4], vec![0.05; 4]),
        (EnvId::Acrobot, vec![-0.1; 4], vec![0.1; 4]),
        (EnvId::MountainCar, vec![-0.6, 0.0], vec![-0.4, 0.0]),
    ] {
        // Gymnasium's own reset states lie in the ranges we sample from...
        for s in fixture(id.name())["reset_states"].as_array().unwrap() {
            for (i, v) in floats(s).into_iter().enumerate() {
                assert!(v >= lo[i] && v <= hi[i], "{}: gymnasium reset {v} outside [{}, {}]", id.name(), lo[i], hi[i]);
            }
        }
        // ...and ours cover them: within range, spread over it.
        let mut rng = DefaultRng::seed_from_u64(4);
        let mut env = id.make();
        let mut seen_lo = vec![f64::INFINITY; lo.len()];
        let mut seen_hi = vec![f64::NEG_INFINITY; lo.len()];
        for _ in 0..2000 {
            env.reset(&mut rng);
            for (i, &v) in env.state().iter().enumerate() {
                assert!(v >= lo[i] && v <= hi[i]);
                seen_lo[i] = seen_lo[i].min(v);
                seen_hi[i] = seen_hi[i].max(v);
            }
        }
        for i in 0..lo.len() {
            assert!(
                seen_lo[i] - lo[i] <= 0.01 * (hi[i] - lo[i]) + 1e-12
                    && hi[i] - seen_hi[i] <= 0.01 * (hi[i] - lo[i]) + 1e-12,
                "{} dim {i}",
                id.name()
            );
        }
    }
}

#[test]
fn bad_actions_and_states_are_errors() {
    let mut env = EnvId::CartPole.make();
    assert!(env.step(2).is_err());
    assert!(env.set_state(&[0.0; 3]).is_err());
    assert!(env.set_state(&[0.0, f64::NAN, 0.0, 0.0]).is_err());
}

#[test]
fn observation_bounds_match_gymnasium_and_hold() {
    for id in [EnvId::CartPole, EnvId::Acrobot, EnvId::MountainCar] {
        let fx = fixture(id.name());
        let side = |k: &str, sign: f32| -> Vec<f32> {
            fx[k].as_array().unwrap().iter().map(|v| v.as_f64().map_or(sign * f32::INFINITY, |x| x as f32)).collect()
        };
        let (lo, hi) = id.make().observation_bounds();
        assert_eq!(lo, side("observation_low", -1.0), "{} low", id.name());
        assert_eq!(hi, side("observation_high", 1.0), "{} high", id.name());
        for case in fx["cases"].as_array().unwrap() {
            for step in case["steps"].as_array().unwrap() {
                for (i, o) in floats(&step["obs"]).into_iter().enumerate() {
                    assert!(o as f32 >= lo[i] && o as f32 <= hi[i], "{} obs[{i}] = {o}", id.name());
                }
            }
        }
    }
}
