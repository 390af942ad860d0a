//! The classifier's batches are the core sampler's, draw for draw; the binary
//! writes every output; bad CSV files are clear errors.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::storage::Heap;
use adasample_trainer::classifier::{batch_sampler, ClsConfig, ClsSampler};
use std::path::Path;
use std::process::Command;

#[test]
fn batches_are_the_core_samplers_draw_for_draw() {
    let cfg = ClsConfig::default();
    let n = 300;
    for (kind, mode, floor) in [
        (ClsSampler::Uniform, AdaptiveMode::Ema, 1.0),
        (ClsSampler::Adaptive, AdaptiveMode::Ema, 0.1),
        (ClsSampler::Adaboost, AdaptiveMode::AdaBoost, 0.1),
        (ClsSampler::Ohem, AdaptiveMode::Ohem, 0.1),
    ] {
        let mut ours = batch_sampler(&cfg, kind, n, 7).unwrap();
        let expected = AdaptiveConfig {
            mode,
            uniform_floor: floor,
            seed: 7 ^ 0xC1A5,
            ..AdaptiveConfig::new(n, cfg.sampler_learning_rate)
        };
        let mut core: AdaptiveBatchSampler<Heap> = AdaptiveBatchSampler::new(expected).unwrap();
        for step in 0..30 {
            let (a, b) = (ours.sample(cfg.batch).unwrap(), core.sample(cfg.batch).unwrap());
            assert_eq!(a.0, b.0, "{kind:?} step {step}: indices");
            assert_eq!(a.1, b.1, "{kind:?} step {step}: weights");
            // Hard examples: losses that depend on the index, as a model's would.
            let losses: Vec<f64> = a.0.iter().map(|&i| ((i * 37) % 11) as f64 / 3.0).collect();
            ours.update_weights(&a.0, &losses).unwrap();
            core.update_weights(&b.0, &losses).unwrap();
            if kind == ClsSampler::Uniform {
                assert!(a.1.iter().all(|&w| w == 1.0));
                assert_eq!(ours.probability(0).unwrap(), 1.0 / n as f64);
            }
        }
        if kind == ClsSampler::Adaptive {
            // The losses moved the distribution: index 0 (loss 0) is now rarer than uniform.
            assert!(ours.probability(0).unwrap() < 1.0 / n as f64);
        }
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adasample-trainer"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("adasample-cls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn check_folder(dir: &Path, runs: usize, classes: usize) -> serde_json::Value {
    for f in ["metrics.csv", "summary.json", "balanced_accuracy.png", "confusion.png", "report.md"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    for png in ["balanced_accuracy.png", "confusion.png"] {
        let bytes = std::fs::read(dir.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "{png} is not a real plot");
    }
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 8 + classes);
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), header.len(), "{line}");
        for v in &cols[4..7] {
            let v: f64 = v.parse().unwrap();
            assert!((0.0..=1.0).contains(&v), "{line}");
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"].as_array().unwrap().len(), runs);
    assert!(std::fs::read_to_string(dir.join("report.md")).unwrap().contains("Per-class recall"));
    summary
}

#[test]
fn classifier_quick_writes_every_output() {
    let dir = tmp("quick");
    let out = bin().args(["classifier", "--quick", "--device", "cpu", "--out"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = check_folder(&dir, 8, 6);
    assert_eq!(summary["dataset"], "wine-quality");
    assert_eq!(summary["train_counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 1198);
    // Six epochs learn something: a constant prediction has balanced accuracy 1/6.
    for run in summary["runs"].as_array().unwrap() {
        assert!(run["final"]["balanced_accuracy"].as_f64().unwrap() > 0.2, "{run}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classifier_reads_a_csv_and_names_what_is_wrong() {
    let dir = tmp("csv");
    std::fs::create_dir_all(&dir).unwrap();
    // Two separable classes, one minority.
    let mut good = String::from("x,y,kind\n");
    for i in 0..120 {
        let (kind, off) = if i % 6 == 0 { ("rare", 3.0) } else { ("common", 0.0) };
        good += &format!("{},{},{kind}\n", off + (i % 5) as f64 * 0.1, (i % 7) as f64 * 0.1 - off);
    }
    std::fs::write(dir.join("good.csv"), &good).unwrap();
    let run = dir.join("run");
    let out = bin()
        .args(["classifier", "--quick", "--seeds", "1", "--sampler", "uniform,adaptive", "--label-column", "kind"])
        .arg("--csv")
        .arg(dir.join("good.csv"))
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = check_folder(&run, 2, 2);
    assert_eq!(summary["classes"], serde_json::json!(["common", "rare"]));

    std::fs::write(dir.join("ragged.csv"), "x,y,kind\n1,2,a\n3,b\n").unwrap();
    std::fs::write(dir.join("text.csv"), "x,y,kind\n1,2,a\n3,oops,b\n").unwrap();
    std::fs::write(dir.join("one.csv"), "x,y,kind\n1,2,a\n3,4,a\n").unwrap();
    let csv = |f: &str| dir.join(f).display().to_string();
    for (args, needle) in [
        (
            vec!["--csv".to_string(), csv("good.csv"), "--label-column".into(), "label".into()],
            "no column named `label`",
        ),
        (vec!["--csv".into(), csv("ragged.csv"), "--label-column".into(), "kind".into()], "line 3"),
        (
            vec!["--csv".into(), csv("text.csv"), "--label-column".into(), "kind".into()],
            "`oops` is not a finite number",
        ),
        (vec!["--csv".into(), csv("one.csv"), "--label-column".into(), "kind".into()], "1 distinct label"),
        (vec!["--csv".into(), csv("missing.csv"), "--label-column".into(), "kind".into()], "cannot open"),
        (vec!["--csv".into(), csv("good.csv")], "--label-column"),
        (vec!["--sampler".into(), "focal".into()], "not uniform, adaptive, adaboost, ohem or all"),
        (vec!["--dataset".into(), "long-tail".into(), "--imbalance".into(), "0.5".into()], "--imbalance"),
    ] {
        let out = bin().arg("classifier").args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
