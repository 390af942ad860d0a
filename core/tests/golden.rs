//! Golden vectors shared by the core, wasm and embedded builds.
//!
//! Each file in `tests/golden/` holds a sampler config (in the npm package's
//! option names), a list of operations, and the exact outputs (indices,
//! probabilities and weights as shortest round-trip decimals, which parse back
//! to the same bits). This test replays every file and compares bit for bit.
//!
//! To regenerate after a deliberate change of outputs (all targets together,
//! with the reason in the commit): `ADASAMPLE_BLESS=1 cargo test -p adasample
//! --all-features --test golden`.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::nstep::{NStepConfig, NStepWindows, Step};
use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::rng::unit_f64;
use adasample::rows::{ColumnSpec, DType, RowStorage, Values, ValuesMut};
use adasample::storage::Heap;
use adasample::DefaultRng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{json, Value};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

fn f(v: &Value, k: &str, default: f64) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(default)
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// Runs a case's operations, filling each op's `expect` with what happened.
fn run(case: &Value) -> Value {
    let mut out = case.clone();
    let cfg = &case["config"];
    let ops = out["ops"].as_array_mut().unwrap();
    match case["sampler"].as_str().unwrap() {
        "rng" => {
            let mut r = DefaultRng::seed_from_u64(u(cfg, "seed"));
            for op in ops {
                let n = u(op, "count") as usize;
                op["expect"] = match op["op"].as_str().unwrap() {
                    "nextU64" => json!((0..n).map(|_| r.next_u64().to_string()).collect::<Vec<_>>()),
                    "unitF64" => json!((0..n).map(|_| unit_f64(&mut r)).collect::<Vec<_>>()),
                    other => panic!("unknown op {other}"),
                };
            }
        }
        "per" => {
            let rank = cfg["rank"].as_bool().unwrap_or(false);
            let base = if rank { PerConfig::rank(0) } else { PerConfig::new(0) };
            let c = PerConfig {
                capacity: u(cfg, "capacity") as usize,
                alpha: f(cfg, "alpha", base.alpha),
                beta: f(cfg, "beta", base.beta),
                beta_final: f(cfg, "betaFinal", base.beta_final),
                beta_steps: u(cfg, "betaSteps"),
                epsilon: f(cfg, "epsilon", base.epsilon),
                seed: u(cfg, "seed"),
                ..base
            };
            let mut b: PrioritizedReplayBuffer<u64, Heap> = PrioritizedReplayBuffer::new(c).unwrap();
            let mut item = 0u64;
            for op in ops {
                match op["op"].as_str().unwrap() {
                    "add" => {
                        let mut keys = vec![];
                        for p in op["priorities"].as_array().unwrap() {
                            let key = match p.as_f64() {
                                Some(p) => b.add_with_priority(item, p),
                                None => b.add(item),
                            }
                            .unwrap();
                            keys.push(key.slot);
                            item += 1;
                        }
                        op["expect"] = json!({ "slots": keys });
                    }
                    "sample" => {
                        let beta = b.beta();
                        let mut d = vec![Draw::default(); u(op, "batch") as usize];
                        b.sample_into(&mut d).unwrap();
                        op["expect"] = json!({
                            "beta": beta,
                            "slots": d.iter().map(|x| x.key.slot).collect::<Vec<_>>(),
                            "generations": d.iter().map(|x| x.key.generation).collect::<Vec<_>>(),
                            "items": d.iter().map(|x| *b.get(x.key).unwrap()).collect::<Vec<_>>(),
                            "probabilities": d.iter().map(|x| x.probability).collect::<Vec<_>>(),
                            "weights": d.iter().map(|x| x.weight).collect::<Vec<_>>(),
                        });
                    }
                    "update" => {
                        let keys: Vec<Key> = ints(&op["slots"])
                            .into_iter()
                            .zip(ints(&op["generations"]))
                            .map(|(s, g)| Key { slot: s as u32, generation: g as u32 })
                            .collect();
                        let rep = b.update_priorities(&keys, &floats(&op["tdErrors"])).unwrap();
                        op["expect"] = json!({ "stale": rep.stale });
                    }
                    other => panic!("unknown op {other}"),
                }
            }
        }
        "adaptive" => {
            let mode = match cfg["mode"].as_str().unwrap_or("ema") {
                "ema" => AdaptiveMode::Ema,
                "adaboost" => AdaptiveMode::AdaBoost,
                "ohem" => AdaptiveMode::Ohem,
                other => panic!("unknown mode {other}"),
            };
            let c = AdaptiveConfig {
                mode,
                seed: u(cfg, "seed"),
                ..AdaptiveConfig::new(u(cfg, "datasetSize") as usize, f(cfg, "learningRate", 0.1))
            };
            let mut s: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(c).unwrap();
            for op in ops {
                match op["op"].as_str().unwrap() {
                    "sample" => {
                        let (i, w) = s.sample(u(op, "batch") as usize).unwrap();
                        op["expect"] = json!({ "indices": i, "weights": w });
                    }
                    "update" => {
                        let idx: Vec<usize> = ints(&op["indices"]).into_iter().map(|x| x as usize).collect();
                        s.update_weights(&idx, &floats(&op["losses"])).unwrap();
                        let mut p = vec![0.0; c.dataset_size];
                        s.probabilities_into(&mut p).unwrap();
                        op["expect"] = json!({ "probabilities": p });
                    }
                    other => panic!("unknown op {other}"),
                }
            }
        }
        "columns" => {
            // n-step windows feeding a row storage; the firmware replays the same.
            // The item of a step: its id, observation and action.
            let mut w: NStepWindows<(u64, Vec<f64>, f64), Heap> = NStepWindows::new(NStepConfig {
                n: u(cfg, "n") as usize,
                gamma: f(cfg, "gamma", 0.0),
                streams: u(cfg, "streams") as usize,
            })
            .unwrap();
            let capacity = u(cfg, "capacity") as usize;
            let schema: Vec<(String, DType, Vec<usize>)> = cfg["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let dtype = DType::from_name(c["dtype"].as_str().unwrap()).unwrap();
                    (
                        c["name"].as_str().unwrap().to_string(),
                        dtype,
                        ints(&c["shape"]).into_iter().map(|d| d as usize).collect(),
                    )
                })
                .collect();
            let columns: Vec<ColumnSpec> = schema.iter().map(|(n, d, s)| ColumnSpec::new(n, *d, s)).collect();
            let mut rows = RowStorage::<Heap>::new(capacity, &columns).unwrap();
            let mut written = 0usize;
            for op in ops {
                op["expect"] = match op["op"].as_str().unwrap() {
                    "step" => {
                        let stream = u(op, "stream") as usize;
                        let next_obs = floats(&op["nextObs"]);
                        let (term, trunc) = (op["terminated"].as_bool().unwrap(), op["truncated"].as_bool().unwrap());
                        let item = (u(op, "id"), floats(&op["obs"]), f(op, "action", 0.0));
                        let step = Step { item, reward: f(op, "reward", 0.0), terminated: term, truncated: trunc };
                        w.push(stream, step).unwrap();
                        let mut out = vec![];
                        w.drain(stream, |t| {
                            let (id, obs, action) = t.item;
                            // Every column from f64 input: the conversions are part of the vector.
                            let row = [
                                Values::F64(obs),
                                Values::F64(&[*action]),
                                Values::F64(&[t.reward]),
                                Values::F64(&[t.discount]),
                                Values::F64(&next_obs),
                            ];
                            rows.write(written % capacity, &row)?;
                            written += 1;
                            out.push(json!({ "id": id, "reward": t.reward, "discount": t.discount, "steps": t.steps }));
                            Ok(())
                        })
                        .unwrap();
                        json!(out)
                    }
                    "gather" => {
                        let slots: Vec<u32> = ints(&op["slots"]).into_iter().map(|x| x as u32).collect();
                        let n = slots.len();
                        let (mut o, mut a, mut g, mut d, mut x) =
                            (vec![0f32; 2 * n], vec![0i32; n], vec![0f64; n], vec![0f32; n], vec![0f32; 2 * n]);
                        rows.gather(
                            &slots,
                            &mut [
                                ValuesMut::F32(&mut o),
                                ValuesMut::I32(&mut a),
                                ValuesMut::F64(&mut g),
                                ValuesMut::F32(&mut d),
                                ValuesMut::F32(&mut x),
                            ],
                        )
                        .unwrap();
                        let wide = |v: &[f32]| v.iter().map(|&y| f64::from(y)).collect::<Vec<_>>();
                        json!({ "obs": wide(&o), "action": a, "return": g, "discount": wide(&d), "nextObs": wide(&x) })
                    }
                    other => panic!("unknown op {other}"),
                };
            }
        }
        "reward" => {
            let c = RewardConfig {
                temperature: f(cfg, "temperature", 1.0),
                max_weight: f(cfg, "maxWeight", 20.0),
                seed: u(cfg, "seed"),
                ..RewardConfig::new(u32::MAX as usize)
            };
            let mut s: RewardWeightedSampler<Heap> = RewardWeightedSampler::new(c).unwrap();
            for op in ops {
                match op["op"].as_str().unwrap() {
                    "extend" => s.extend(&floats(&op["rewards"])).unwrap(),
                    "sample" => {
                        let (i, w) = s.sample(u(op, "batch") as usize).unwrap();
                        op["expect"] = json!({ "indices": i, "weights": w });
                    }
                    other => panic!("unknown op {other}"),
                }
            }
        }
        "iw" => {
            for op in ops {
                let mode = if op["mode"] == "token" { IwMode::Token } else { IwMode::Sequence };
                let c = IwSftConfig { mode, temperature: f(op, "temperature", 1.0), ..IwSftConfig::default() };
                let policy = floats(&op["policyLogProbs"]);
                let mask: Option<Vec<bool>> = op.get("mask").map(|m| ints(m).into_iter().map(|x| x != 0).collect());
                let seq_len = u(op, "seqLen") as usize;
                let mut w = vec![0.0; c.output_len(policy.len(), seq_len)];
                iw::weights(&c, &policy, &floats(&op["refLogProbs"]), mask.as_deref(), seq_len, &mut w).unwrap();
                op["expect"] = json!(w);
            }
        }
        other => panic!("unknown sampler {other}"),
    }
    out
}

/// The cases, without their expected outputs.
fn cases() -> Vec<(&'static str, Value)> {
    let tds = |n: usize, k: f64| (0..n).map(|i| ((i as f64 + 1.0) * k).sin() * 3.0).collect::<Vec<f64>>();
    let per_ops = |capacity: usize| {
        let mut ops = vec![
            json!({ "op": "add", "priorities": (0..capacity + capacity / 2).map(|i| if i % 3 == 0 { Value::Null } else { json!((i % 11) as f64 * 0.25) }).collect::<Vec<_>>() }),
        ];
        for round in 0..6 {
            ops.push(json!({ "op": "sample", "batch": 16 }));
            // Updates for slots 0..16 at generation 1 (overwritten once) and 0
            // (stale for the overwritten ones).
            ops.push(json!({ "op": "update", "slots": (0..16).collect::<Vec<_>>(), "generations": (0..16).map(|i| if i < capacity / 2 { 1 } else { 0 }).collect::<Vec<_>>(), "tdErrors": tds(16, 0.7 + round as f64) }));
            ops.push(
                json!({ "op": "update", "slots": [0, 1, 2], "generations": [0, 0, 0], "tdErrors": [9.0, 9.0, 9.0] }),
            );
            ops.push(json!({ "op": "add", "priorities": [Value::Null, json!(0.5), json!(4.0)] }));
        }
        ops
    };
    let column_ops = {
        let mut ops = vec![];
        let mut r = DefaultRng::seed_from_u64(11);
        for id in 0..60u32 {
            let end = r.next_u64() % 9;
            let x = unit_f64(&mut r);
            let obs = [f64::from(id) * 0.1 + 1.0 / 3.0, -f64::from(id) * 1e-3];
            ops.push(json!({ "op": "step", "id": id, "stream": r.next_u64() % 3, "obs": obs, "action": id % 3, "reward": (x - 0.3) * 4.0, "terminated": end == 0, "truncated": end == 1, "nextObs": [x, 1.0 / (f64::from(id) + 3.0)] }));
            if id % 20 == 19 {
                ops.push(
                    json!({ "op": "gather", "slots": (0..8).map(|k| (k * 5 + id as u64) % 16).collect::<Vec<_>>() }),
                );
            }
        }
        ops
    };
    vec![
        (
            "columns",
            json!({ "sampler": "columns", "description": "3-step windows over 3 interleaved streams (random terminations and truncations) writing rows of f32, i32, f64 and f32 columns from f64 input into a 16-row ring; gathers of 8 rows", "config": { "n": 3, "gamma": 0.9, "streams": 3, "capacity": 16, "columns": [
                { "name": "obs", "dtype": "float32", "shape": [2] },
                { "name": "action", "dtype": "int32", "shape": [] },
                { "name": "return", "dtype": "float64", "shape": [] },
                { "name": "discount", "dtype": "float32", "shape": [] },
                { "name": "next_obs", "dtype": "float32", "shape": [2] },
            ] }, "ops": column_ops }),
        ),
        (
            "rng",
            json!({ "sampler": "rng", "description": "DefaultRng (xoshiro256++ seeded by SplitMix64): raw u64 (as decimal strings) and unit floats", "config": { "seed": 42 }, "ops": [{ "op": "nextU64", "count": 8 }, { "op": "unitF64", "count": 8 }] }),
        ),
        (
            "per_proportional",
            json!({ "sampler": "per", "description": "proportional PER, ring overwrite, stale updates, beta annealed over 4 samples", "config": { "capacity": 48, "alpha": 0.6, "beta": 0.4, "betaFinal": 1.0, "betaSteps": 4, "epsilon": 1e-6, "seed": 42, "rank": false }, "ops": per_ops(48) }),
        ),
        (
            "per_fixed1024",
            json!({ "sampler": "per", "description": "proportional PER filling 1024 slots (the embedded build's fixed storage) and wrapping", "config": { "capacity": 1024, "alpha": 0.6, "beta": 0.4, "betaFinal": 1.0, "betaSteps": 3, "epsilon": 1e-6, "seed": 1024, "rank": false }, "ops": per_ops(1024) }),
        ),
        (
            "per_rank",
            json!({ "sampler": "per", "description": "rank-based PER, ring overwrite, stale updates, constant beta", "config": { "capacity": 40, "alpha": 0.7, "beta": 0.5, "betaFinal": 1.0, "betaSteps": 0, "epsilon": 1e-6, "seed": 7, "rank": true }, "ops": per_ops(40) }),
        ),
        ("adaptive_ema", adaptive_case("ema", 11)),
        ("adaptive_adaboost", adaptive_case("adaboost", 12)),
        ("adaptive_ohem", adaptive_case("ohem", 13)),
        (
            "reward",
            json!({ "sampler": "reward", "description": "reward-weighted sampling, temperature 0.5, clip 20", "config": { "temperature": 0.5, "maxWeight": 20.0, "seed": 99 }, "ops": [
            { "op": "extend", "rewards": [0.0, 1.0, -2.0, 3.5, 0.25, 2.0, 1.5, -0.5] },
            { "op": "sample", "batch": 12 },
            { "op": "extend", "rewards": [10.0, -10.0] },
            { "op": "sample", "batch": 12 },
        ] }),
        ),
        (
            "iw",
            json!({ "sampler": "iw", "description": "iw-SFT weights, paper direction, sequence and token modes, with a mask", "config": {}, "ops": [
            { "op": "weights", "mode": "sequence", "seqLen": 4, "temperature": 1.0,
              "policyLogProbs": [-0.5, -1.25, -0.75, -2.0, -0.1, -0.2, -0.3, -0.4, -3.0, -0.01, -5.0, -0.5],
              "refLogProbs":    [-0.75, -1.0, -1.5, -1.0, -0.3, -0.1, -0.6, -9.0, -0.2, -4.0, -0.05, -0.5],
              "mask": [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0] },
            { "op": "weights", "mode": "token", "seqLen": 4, "temperature": 2.0,
              "policyLogProbs": [-0.5, -1.25, -0.75, -2.0, -0.1, -0.2, -0.3, -0.4, -3.0, -0.01, -5.0, -0.5],
              "refLogProbs":    [-0.75, -1.0, -1.5, -1.0, -0.3, -0.1, -0.6, -9.0, -0.2, -4.0, -0.05, -0.5],
              "mask": [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0] },
        ] }),
        ),
    ]
}

fn adaptive_case(mode: &str, seed: u64) -> Value {
    let mut ops = vec![];
    for round in 0..5u64 {
        ops.push(json!({ "op": "sample", "batch": 10 }));
        let idx: Vec<u64> = (0..10).map(|i| (i * 7 + round * 3) % 30).collect();
        let losses: Vec<f64> = idx.iter().map(|&i| (i % 6) as f64 * 0.8 + round as f64 * 0.1).collect();
        ops.push(json!({ "op": "update", "indices": idx, "losses": losses }));
    }
    ops.push(json!({ "op": "sample", "batch": 10 }));
    json!({ "sampler": "adaptive", "description": format!("adaptive batch sampler, {mode} mode, npm defaults otherwise"), "config": { "datasetSize": 30, "learningRate": 0.3, "mode": mode, "seed": seed }, "ops": ops })
}

/// One line per top-level field and per operation: diffs stay readable.
fn layout(case: &Value) -> String {
    let mut lines = vec![];
    for (k, v) in case.as_object().unwrap() {
        if k == "ops" {
            let ops: Vec<String> = v.as_array().unwrap().iter().map(|op| format!("    {op}")).collect();
            lines.push(format!("  \"ops\": [\n{}\n  ]", ops.join(",\n")));
        } else {
            lines.push(format!("  {}: {v}", Value::String(k.clone())));
        }
    }
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

/// Exact comparison: numbers by bits (the JSON text round-trips exactly).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The vectors live in the repository's tests/golden/, shared with the wasm
/// and embedded builds; the packaged crate does not carry them.
fn in_repository() -> bool {
    let here = dir().is_dir();
    if !here {
        eprintln!(
            "no {}: the golden vectors are checked in the repository, not in the packaged crate",
            dir().display()
        );
    }
    here
}

#[test]
fn golden_vectors() {
    if !in_repository() {
        return;
    }
    let bless = std::env::var_os("ADASAMPLE_BLESS").is_some();
    for (name, case) in cases() {
        let path = dir().join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, layout(&run(&case))).unwrap();
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (bless with ADASAMPLE_BLESS=1)", path.display()));
        let recorded: Value = serde_json::from_str(&text).unwrap();
        let replayed = run(&recorded);
        assert!(same(&recorded, &replayed), "{name}: outputs differ from {}", path.display());
        // The recorded case is the one defined here (nobody edited one side
        // only). Checked natively: the definitions compute some inputs with
        // std's `sin`, whose last bits differ in the wasm32 (WASI) libc; the
        // outputs above are compared on every target.
        if cfg!(target_family = "wasm") {
            continue;
        }
        let mut inputs = recorded.clone();
        for op in inputs["ops"].as_array_mut().unwrap() {
            op.as_object_mut().unwrap().remove("expect");
        }
        assert!(same(&inputs, &case), "{name}: recorded inputs differ from the case definition");
    }
}

#[test]
fn golden_files_cover_every_case() {
    if !in_repository() {
        return;
    }
    let names: Vec<String> = cases().iter().map(|(n, _)| format!("{n}.json")).collect();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if file.ends_with(".json") {
            assert!(names.contains(&file), "stray golden file {file}");
        }
    }
}
