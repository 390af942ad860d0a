//! The iw-SFT loss against golden values from an independent PyTorch
//! implementation (`tests/iwsft/golden.py`), its gradients, the GPT-2 loader
//! against a PyTorch forward pass, and the `iw-sft` command end to end.

use adasample::iw::{IwDirection, IwMode, IwSftConfig};
use adasample_trainer::gpt::{token_log_probs, GptConfig};
use adasample_trainer::iwloss::{sft_loss, IwSftLoss};
use adasample_trainer::sft::Lm;
use adasample_trainer::tokenizer::Tokenizer;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind, Tensor};

fn golden(name: &str) -> Value {
    let path = format!("{}/../tests/iwsft/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

struct LossInputs {
    logits: Tensor,
    labels: Tensor,
    reference: Tensor,
}

fn loss_inputs(g: &Value) -> LossInputs {
    let shape: Vec<i64> = g["shape"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    let labels: Vec<i64> = g["labels"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    LossInputs {
        logits: Tensor::from_slice(&floats(&g["logits"])).view(shape.as_slice()),
        labels: Tensor::from_slice(&labels).view([shape[0], shape[1]]),
        reference: Tensor::from_slice(&floats(&g["ref_log_probs"])).view([shape[0], shape[1]]),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn loss_matches_the_pytorch_reference() {
    let g = golden("loss.json");
    let x = loss_inputs(&g);
    let sft = sft_loss(&x.logits, &x.labels, 0.0).unwrap().double_value(&[]);
    assert!(close(sft, g["sft_loss"].as_f64().unwrap(), 1e-12), "sft {sft}");
    for case in g["cases"].as_array().unwrap() {
        let config = IwSftConfig {
            mode: if case["mode"] == "token" { IwMode::Token } else { IwMode::Sequence },
            direction: if case["direction"] == "paper" { IwDirection::Paper } else { IwDirection::SeedInverse },
            epsilon: case["epsilon"].as_f64().unwrap(),
            temperature: case["temperature"].as_f64().unwrap(),
            ..IwSftConfig::default()
        };
        let out = IwSftLoss::with_config(config).unwrap().loss_fn(&x.logits, &x.labels, &x.reference).unwrap();
        let (want_w, want_loss) = (floats(&case["weights"]), case["loss"].as_f64().unwrap());
        assert_eq!(out.weights.len(), want_w.len(), "{}", case["name"]);
        for (a, b) in out.weights.iter().zip(&want_w) {
            assert!(close(*a, *b, 1e-12), "{}: weight {a} vs {b}", case["name"]);
        }
        let loss = out.loss.double_value(&[]);
        assert!(close(loss, want_loss, 1e-12), "{}: loss {loss} vs {want_loss}", case["name"]);
    }
    // The seed's constructor is the paper direction with label smoothing.
    let seed = IwSftLoss::new(0.1, 1.0).unwrap();
    let case = &g["cases"][1];
    assert_eq!(case["name"], "seed-defaults");
    let loss = seed.loss_fn(&x.logits, &x.labels, &x.reference).unwrap().loss.double_value(&[]);
    assert!(close(loss, case["loss"].as_f64().unwrap(), 1e-12));
    let inverse = seed.seed_inverse().loss_fn(&x.logits, &x.labels, &x.reference).unwrap().loss.double_value(&[]);
    assert!(close(inverse, g["cases"][6]["loss"].as_f64().unwrap(), 1e-12));
}

fn grad_of(logits: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
    let l = logits.detach().set_requires_grad(true);
    f(&l).backward();
    l.grad().detach()
}

#[test]
fn weights_carry_no_gradient_and_equal_models_give_sft() {
    let g = golden("loss.json");
    let x = loss_inputs(&g);
    let valid = x.labels.ge(0).to_kind(Kind::Double);
    for mode in [IwMode::Sequence, IwMode::Token] {
        let loss = IwSftLoss::with_config(IwSftConfig { mode, ..IwSftConfig::default() }).unwrap();
        // With pi_ref = pi_theta every weight is 1 (clip permitting) and the loss is SFT's.
        let own = token_log_probs(&x.logits, &x.labels);
        let out = loss.loss_fn(&x.logits, &x.labels, &own).unwrap();
        let valid_weights: Vec<f64> = out.weights.iter().copied().filter(|&w| w > 0.0).collect();
        assert!(valid_weights.iter().all(|&w| w == 1.0), "{mode:?}: {valid_weights:?}");
        let sft = sft_loss(&x.logits, &x.labels, 0.0).unwrap();
        assert!(close(out.loss.double_value(&[]), sft.double_value(&[]), 1e-14));
        let g_iw = grad_of(&x.logits, |l| loss.loss_fn(l, &x.labels, &own).unwrap().loss);
        let g_sft = grad_of(&x.logits, |l| sft_loss(l, &x.labels, 0.0).unwrap());
        assert!(g_iw.allclose(&g_sft, 1e-12, 1e-14, false), "{mode:?}: equal models, different gradients");

        // Different models: the gradient is exactly that of sum(w * nll) / count
        // with w a constant; a gradient through w would add a term and differ.
        let out = loss.loss_fn(&x.logits, &x.labels, &x.reference).unwrap();
        let w = Tensor::from_slice(&out.weights).view(match mode {
            IwMode::Sequence => [3, 1],
            IwMode::Token => [3, 6],
        });
        let g_iw = grad_of(&x.logits, |l| loss.loss_fn(l, &x.labels, &x.reference).unwrap().loss);
        let g_const = grad_of(&x.logits, |l| {
            let nll = -token_log_probs(l, &x.labels);
            (nll * &w * &valid).sum(Kind::Double) / valid.sum(Kind::Double)
        });
        assert!(g_iw.allclose(&g_const, 1e-12, 1e-14, false), "{mode:?}: gradient flows through the weights");
        assert!(!g_iw.allclose(&g_sft, 1e-6, 1e-8, false), "{mode:?}: the weights changed nothing");
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("adasample-iwsft-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The formula of `golden.py`: 0.2 sin(0.61 i + (sum of the name's bytes) mod 97).
fn param(name: &str, shape: &[i64]) -> Tensor {
    let seed = name.bytes().map(u64::from).sum::<u64>() % 97;
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (0.2 * (0.61 * i as f64 + seed as f64).sin()) as f32).collect();
    Tensor::from_slice(&v).view(shape)
}

/// A tiny GPT-2 as Hugging Face's GPT2LMHeadModel saves it: `transformer.`
/// prefix, the tied `lm_head.weight`, attention-mask buffers; and a byte-level
/// BPE tokenizer with merges and `<|endoftext|>`.
fn write_tiny_gpt2(dir: &Path, cfg: &GptConfig) {
    let e = cfg.n_embd;
    let mut shapes: Vec<(String, Vec<i64>)> =
        vec![("wte.weight".into(), vec![cfg.vocab_size, e]), ("wpe.weight".into(), vec![cfg.n_positions, e])];
    for i in 0..cfg.n_layer {
        for (n, s) in [
            ("ln_1.weight", vec![e]),
            ("ln_1.bias", vec![e]),
            ("attn.c_attn.weight", vec![e, 3 * e]),
            ("attn.c_attn.bias", vec![3 * e]),
            ("attn.c_proj.weight", vec![e, e]),
            ("attn.c_proj.bias", vec![e]),
            ("ln_2.weight", vec![e]),
            ("ln_2.bias", vec![e]),
            ("mlp.c_fc.weight", vec![e, 4 * e]),
            ("mlp.c_fc.bias", vec![4 * e]),
            ("mlp.c_proj.weight", vec![4 * e, e]),
            ("mlp.c_proj.bias", vec![e]),
        ] {
            shapes.push((format!("h.{i}.{n}"), s));
        }
    }
    shapes.push(("ln_f.weight".into(), vec![e]));
    shapes.push(("ln_f.bias".into(), vec![e]));
    let mut tensors: Vec<(String, Tensor)> =
        shapes.iter().map(|(n, s)| (format!("transformer.{n}"), param(n, s))).collect();
    tensors.push(("lm_head.weight".into(), param("wte.weight", &[cfg.vocab_size, e])));
    let p = cfg.n_positions;
    tensors.push(("transformer.h.0.attn.bias".into(), Tensor::ones([1, 1, p, p], (Kind::Float, Device::Cpu)).tril(0)));
    Tensor::write_safetensors(&tensors, dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_string(cfg).unwrap()).unwrap();
    // Vocabulary: the task's characters ("Ċ" is the newline byte), two merges, a special token.
    let mut vocab: HashMap<String, i64> = HashMap::new();
    for t in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "Ċ", "12", "+="] {
        let n = vocab.len() as i64;
        vocab.insert(t.to_string(), n);
    }
    let merges = vec![("1".to_string(), "2".to_string()), ("+".to_string(), "=".to_string())];
    Tokenizer::new(vocab, merges, vec![("<|endoftext|>".into(), 19)])
        .unwrap()
        .save(&dir.join("tokenizer.json"))
        .unwrap();
}

#[test]
fn gpt2_checkpoints_load_and_match_a_pytorch_forward() {
    let g = golden("gpt2.json");
    let cfg: GptConfig = serde_json::from_value(g["config"].clone()).unwrap();
    let dir = tmp("gpt2");
    write_tiny_gpt2(&dir, &cfg);
    let lm = Lm::load(&dir, Device::Cpu).unwrap();
    let ids: Vec<i64> = g["ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    let logits = lm.gpt.forward(&Tensor::from_slice(&ids).view([2, 6]));
    let got = Vec::<f32>::try_from(logits.flatten(0, -1)).unwrap();
    let want = floats(&g["logits"]);
    assert_eq!(got.len(), want.len());
    let worst = got.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
    assert!(worst < 2e-5, "largest logit difference {worst}");
    // The tokenizer file: merges apply, the special token is one id, text round-trips.
    let ids = lm.tok.encode("12+=7\n<|endoftext|>").unwrap();
    assert_eq!(ids, [13, 14, 7, 12, 19]);
    assert_eq!(lm.tok.decode(&ids).unwrap(), "12+=7\n<|endoftext|>");
    // Saved and loaded again: the same function.
    let again = tmp("gpt2-again");
    lm.save(&again).unwrap();
    let back = Lm::load(&again, Device::Cpu).unwrap();
    let x = Tensor::from_slice(&[1i64, 2, 3, 4]).view([1, 4]);
    assert!(back.gpt.forward(&x).allclose(&lm.gpt.forward(&x), 0.0, 0.0, false));

    // A checkpoint that does not fit the config is a clear error.
    std::fs::write(dir.join("config.json"), serde_json::to_string(&GptConfig { n_embd: 16, ..cfg.clone() }).unwrap())
        .unwrap();
    let err = Lm::load(&dir, Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("has shape") && err.contains("the config needs"), "{err}");
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    assert!(format!("{:#}", Lm::load(&dir, Device::Cpu).err().unwrap()).contains("not a GPT-2 config"));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&again);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adasample-trainer"))
}

#[test]
fn iw_sft_quick_writes_every_output_and_reloads_its_reference() {
    let dir = tmp("quick");
    let run = dir.join("scratch");
    let out =
        bin().args(["iw-sft", "--quick", "--method", "all", "--device", "cpu", "--out"]).arg(&run).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in [
        "metrics.csv",
        "summary.json",
        "accuracy_greedy.png",
        "accuracy_sampled.png",
        "reward.png",
        "iw_weights.png",
        "report.md",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let png = std::fs::read(run.join("accuracy_greedy.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let methods: Vec<&str> =
        summary["methods"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["sft", "iw-sft", "rwr"]);
    let seed = &summary["runs"][0];
    assert!(seed["curated"].as_u64().unwrap() > 0);
    let reward = seed["curation_reward"].as_f64().unwrap();
    assert!(reward > 0.0 && reward < 1.0, "{reward}");
    // Every method's first point is the reference itself.
    for m in seed["methods"].as_array().unwrap() {
        assert_eq!(m["points"][0]["greedy"], seed["reference"]["greedy"]);
        assert_eq!(m["points"][0]["reward"], seed["reference"]["reward"]);
        assert_eq!(m["points"].as_array().unwrap().len(), 4); // steps 0, 20, 40, 60
                                                              // Weight histograms only where iw-SFT weighed something, each one covering every weight used.
        for p in &m["points"].as_array().unwrap()[1..] {
            let w = &p["weights"];
            assert_eq!(w.is_null(), m["method"] != "iw-sft", "{}", m["method"]);
            if !w.is_null() {
                let total: u64 = w["histogram"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
                assert_eq!(total, w["count"].as_u64().unwrap());
                assert_eq!(total, 20 * 64, "20 steps of 64 sequence weights");
                assert!(w["p10"].as_f64() <= w["p50"].as_f64() && w["p50"].as_f64() <= w["p90"].as_f64());
            }
        }
    }
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 4);
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("| reference |") && report.contains("| rwr − sft (paired by seed) |"), "{report}");
    assert!(report.contains("iw-SFT weights over the last evaluation window") && !report.contains("NaN"), "{report}");

    // The saved reference is a GPT-2 folder the same command fine-tunes.
    let reloaded = dir.join("reloaded");
    let out = bin()
        .args(["iw-sft", "--quick", "--method", "iw-sft", "--mode", "token", "--model"])
        .arg(run.join("reference-seed1"))
        .arg("--out")
        .arg(&reloaded)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(reloaded.join("summary.json")).unwrap()).unwrap();
    // Same reference weights, same evaluation seed: the same reference accuracy.
    let first: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"][0]["reference"], first["runs"][0]["reference"]);
    assert_eq!(summary["config"]["iw"]["mode"], "Token");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn iw_sft_bad_arguments_are_clear_errors() {
    for (args, needle) in [
        (vec!["iw-sft", "--temperature", "0"], "temperature"),
        (vec!["iw-sft", "--epsilon", "1.5"], "epsilon"),
        (vec!["iw-sft", "--digits", "9"], "--digits must be in 1..=6"),
        (vec!["iw-sft", "--model", "/nonexistent"], "no config.json there"),
        (
            vec!["iw-sft", "--method", "dpo"],
            "invalid value 'dpo' for '--method <METHOD>': expected sft, iw-sft, rwr, both or all",
        ),
        (vec!["iw-sft", "--method", "sft,ppo"], "invalid value 'ppo'"),
        (vec!["iw-sft", "--seeds", "0"], "'--seeds <SEEDS>'"),
        (vec!["iw-sft", "--rwr-temperature", "0"], "'--rwr-temperature <RWR_TEMPERATURE>'"),
        (vec!["iw-sft", "--temperature=-1"], "--temperature"),
        (vec!["iw-sft", "--width", "30", "--heads", "4"], "--width 30 is not a multiple of --heads 4"),
        (vec!["iw-sft", "--layers", "0"], "'--layers <LAYERS>'"),
    ] {
        let out = bin().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// The ids of Hugging Face's Python `tokenizers` package on `tests/iwsft/tokenizer.json`
/// (a GPT-2-style byte-level BPE that `tokenizer.py` trains), on text with letters and
/// digits of other scripts, combining marks, contractions, whitespace runs and special
/// tokens: ours must be the same ids, and decode back to the same text.
#[test]
fn tokenizer_matches_the_python_package() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/iwsft");
    let tok = Tokenizer::load(&root.join("tokenizer.json")).unwrap();
    let fixture = golden("tokenizer_ids.json");
    assert_eq!(tok.vocab_size(), fixture["vocab_size"].as_i64().unwrap());
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let saved = tmp("tokenizer");
    tok.save(&saved.join("tokenizer.json")).unwrap();
    let again = Tokenizer::load(&saved.join("tokenizer.json")).unwrap();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<i64> = case["ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        assert_eq!(tok.encode(text).unwrap(), want, "{text:?}");
        assert_eq!(again.encode(text).unwrap(), want, "{text:?} after save and load");
        assert_eq!(tok.decode(&want).unwrap(), case["decoded"].as_str().unwrap(), "{text:?}");
    }
    assert_eq!(tok.special("<|endoftext|>"), Some(0));
    let err = Tokenizer::load(&root.join("loss.json")).err().unwrap().to_string();
    assert!(err.contains("not a tokenizer.json"), "{err}");
    let _ = std::fs::remove_dir_all(&saved);
}

/// The trainer's tensor loss is the core's formula: on the same numbers,
/// `IwSftLoss::loss_fn` and `sft_loss` equal `adasample::iw::weighted_loss`
/// over `adasample::iw::label_smoothed_nll`, in both modes, with and without
/// label smoothing (f64 logits, so the only difference is summation order).
#[test]
fn tensor_loss_equals_the_cores_function() {
    use adasample::iw::{label_smoothed_nll, weighted_loss};
    let (b, t, v) = (3i64, 5i64, 7i64);
    let logits =
        Tensor::from_slice(&(0..b * t * v).map(|i| (0.37 * i as f64).sin() * 2.0).collect::<Vec<_>>()).view([b, t, v]);
    let labels_v: Vec<i64> = (0..b * t).map(|i| if i % t < 2 || i == 14 { -100 } else { (i * 3) % v }).collect();
    let labels = Tensor::from_slice(&labels_v).view([b, t]);
    let ref_lp =
        Tensor::from_slice(&(0..b * t).map(|i| -1.0 - 0.3 * (i as f64).cos()).collect::<Vec<_>>()).view([b, t]);
    let logp = Vec::<f64>::try_from(logits.log_softmax(-1, Kind::Double).flatten(0, -1)).unwrap();
    let mask: Vec<bool> = labels_v.iter().map(|&l| l >= 0).collect();
    for eps in [0.0, 0.1] {
        let nll: Vec<f64> = (0..(b * t) as usize)
            .map(|k| {
                if mask[k] {
                    label_smoothed_nll(&logp[k * v as usize..(k + 1) * v as usize], labels_v[k] as usize, eps).unwrap()
                } else {
                    0.0
                }
            })
            .collect();
        let ones = vec![1.0; b as usize];
        let core_sft = weighted_loss(IwMode::Sequence, &ones, &nll, Some(&mask), t as usize).unwrap();
        let sft = sft_loss(&logits, &labels, eps).unwrap().double_value(&[]);
        assert!((sft - core_sft).abs() <= 1e-12 * core_sft.abs(), "sft eps {eps}: {sft} vs {core_sft}");
        for mode in [IwMode::Sequence, IwMode::Token] {
            let loss = IwSftLoss::with_config(IwSftConfig { mode, ..IwSftConfig::new(eps, 0.7) }).unwrap();
            let out = loss.loss_fn(&logits, &labels, &ref_lp).unwrap();
            let core = weighted_loss(mode, &out.weights, &nll, Some(&mask), t as usize).unwrap();
            let got = out.loss.double_value(&[]);
            assert!((got - core).abs() <= 1e-12 * core.abs(), "{mode:?} eps {eps}: {got} vs {core}");
            assert!(out.weights.iter().any(|&w| (w - 1.0).abs() > 1e-3), "weights must not all be 1");
        }
    }
}

/// rwr's batches are the core sampler's draws, one `sample(B)` per step, and
/// follow `P_i ∝ exp((R_i - max R) / T)`; SFT and iw-SFT share their uniform draws.
#[test]
fn rwr_batches_are_the_core_samplers_draws() {
    use adasample::reward::RewardWeightedSampler;
    use adasample::storage::Heap;
    use adasample_trainer::sft::{Batches, Method, RwrConfig};
    // Three reward levels, as graded rewards come: 0, 1/3, 1.
    let rewards: Vec<f64> = (0..300).map(|i| [0.0, 1.0 / 3.0, 1.0][i % 3]).collect();
    for rwr in [RwrConfig { temperature: 0.25, advantage: false }, RwrConfig { temperature: 1.0, advantage: true }] {
        let mut batches = Batches::new(Method::Rwr, &rwr, &rewards, 7).unwrap();
        let mut core = RewardWeightedSampler::<Heap>::new(rwr.sampler_config(rewards.len(), 7)).unwrap();
        core.extend(&rewards).unwrap();
        let mut counts = [0u64; 3];
        for _ in 0..200 {
            let ours = batches.next(64).unwrap();
            assert_eq!(ours, core.sample(64).unwrap().0);
            for i in ours {
                counts[i % 3] += 1;
            }
        }
        // The expected share of each level, from the formula, not from the sampler.
        let logits: Vec<f64> = if rwr.advantage {
            let mean = rewards.iter().sum::<f64>() / 300.0;
            let sd = (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 300.0).sqrt();
            [0.0, 1.0 / 3.0, 1.0].iter().map(|r| ((r - mean) / sd / rwr.temperature).min(20f64.ln())).collect()
        } else {
            [0.0, 1.0 / 3.0, 1.0].iter().map(|r| (r - 1.0) / rwr.temperature).collect()
        };
        let z: f64 = logits.iter().map(|l| l.exp()).sum();
        let n = counts.iter().sum::<u64>() as f64;
        // Chi-square with 2 degrees of freedom; 13.8 is its 0.999 quantile (false alarm 1e-3;
        // stratified batches make the true spread smaller still).
        let chi2: f64 =
            counts.iter().zip(&logits).map(|(&c, l)| (c as f64 - n * l.exp() / z).powi(2) / (n * l.exp() / z)).sum();
        assert!(chi2 < 13.8, "{rwr:?}: counts {counts:?}, chi2 {chi2}");
        assert!(counts[2] > counts[1] && counts[1] > counts[0], "{counts:?}");
    }
    // SFT and iw-SFT draw the same uniform batches for a seed.
    let (mut a, mut b) = (
        Batches::new(Method::Sft, &RwrConfig { temperature: 1.0, advantage: false }, &rewards, 3).unwrap(),
        Batches::new(Method::IwSft, &RwrConfig { temperature: 1.0, advantage: false }, &rewards, 3).unwrap(),
    );
    for _ in 0..10 {
        assert_eq!(a.next(32).unwrap(), b.next(32).unwrap());
    }
    assert!(Batches::new(Method::Rwr, &RwrConfig { temperature: 1.0, advantage: false }, &[], 1).is_err());
}
