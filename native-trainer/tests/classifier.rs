//! The classifier's batches are the core sampler's, draw for draw; the binary
//! writes every output; bad CSV files are clear errors.

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode, WeightTarget};
use adasample::storage::Heap;
use adasample_trainer::classifier::{batch_sampler, class_prior, ClsConfig, ClsSampler};
use std::path::Path;
use std::process::Command;

#[test]
fn batches_are_the_core_samplers_draw_for_draw() {
    let cfg = ClsConfig::default();
    let n = 300;
    // Three classes of 200, 80 and 20 examples, interleaved.
    let labels: Vec<i64> = (0..n)
        .map(|i| {
            if i % 15 == 0 {
                2
            } else if i % 15 < 5 {
                1
            } else {
                0
            }
        })
        .collect();
    let q = class_prior(&labels, 3);
    assert_eq!((q[0], q[1], q[5]), (1.0, 20.0 / 80.0, 20.0 / 200.0));
    for (kind, mode, floor, target) in [
        (ClsSampler::Uniform, AdaptiveMode::Ema, 1.0, WeightTarget::Uniform),
        (ClsSampler::Adaptive, AdaptiveMode::Ema, 0.1, WeightTarget::Uniform),
        (ClsSampler::Adaboost, AdaptiveMode::AdaBoost, 0.1, WeightTarget::Uniform),
        (ClsSampler::Ohem, AdaptiveMode::Ohem, 0.1, WeightTarget::Uniform),
        (ClsSampler::ClassBalanced, AdaptiveMode::Ema, 1.0, WeightTarget::Prior),
        (ClsSampler::BalancedAdaptive, AdaptiveMode::Ema, 0.1, WeightTarget::Prior),
    ] {
        let mut ours = batch_sampler(&cfg, kind, &labels, 3, 7).unwrap();
        let expected = AdaptiveConfig {
            mode,
            uniform_floor: floor,
            target,
            seed: 7 ^ 0xC1A5,
            ..AdaptiveConfig::new(n, cfg.sampler_learning_rate)
        };
        let mut core: AdaptiveBatchSampler<Heap> = if kind.balanced() {
            AdaptiveBatchSampler::with_prior(expected, &q).unwrap()
        } else {
            AdaptiveBatchSampler::new(expected).unwrap()
        };
        let mut class_draws = [0usize; 3];
        for step in 0..30 {
            let (a, b) = (ours.sample(cfg.batch).unwrap(), core.sample(cfg.batch).unwrap());
            assert_eq!(a.0, b.0, "{kind:?} step {step}: indices");
            assert_eq!(a.1, b.1, "{kind:?} step {step}: weights");
            for &i in &a.0 {
                class_draws[labels[i] as usize] += 1;
            }
            // Hard examples: losses that depend on the index, as a model's would.
            let losses: Vec<f64> = a.0.iter().map(|&i| ((i * 37) % 11) as f64 / 3.0).collect();
            if kind.feedback() {
                ours.update_weights(&a.0, &losses).unwrap();
                core.update_weights(&b.0, &losses).unwrap();
            }
            if matches!(kind, ClsSampler::Uniform | ClsSampler::ClassBalanced) {
                assert!(a.1.iter().all(|&w| w == 1.0), "{kind:?}: {:?}", a.1);
            }
        }
        match kind {
            ClsSampler::Uniform => assert_eq!(ours.probability(0).unwrap(), 1.0 / n as f64),
            // The losses moved the distribution: index 11 (class 0, loss 0) is now rarer than uniform.
            ClsSampler::Adaptive => assert!(ours.probability(11).unwrap() < 1.0 / n as f64),
            // Each class a third of the mass: class 2's 20 examples drew about a third
            // of 1,920 draws (a binomial sd of 21; 4 sd either side).
            ClsSampler::ClassBalanced => {
                assert!((ours.probability(0).unwrap() - 1.0 / 60.0).abs() < 1e-12);
                assert!((class_draws[2] as i64 - 640).abs() < 84, "{class_draws:?}");
            }
            _ => {}
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
    for f in ["metrics.csv", "recall.csv", "summary.json", "balanced_accuracy.png", "confusion.png", "report.md"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    for png in ["balanced_accuracy.png", "confusion.png"] {
        let bytes = std::fs::read(dir.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "{png} is not a real plot");
    }
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "sampler",
            "seed",
            "epoch",
            "train_loss",
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "draws_digest",
            "elapsed_s"
        ]
    );
    let mut epochs = 0;
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), header.len(), "{line}");
        for v in &cols[4..7] {
            let v: f64 = v.parse().unwrap();
            assert!((0.0..=1.0).contains(&v), "{line}");
        }
        assert!(cols[7].len() == 16 && u64::from_str_radix(cols[7], 16).is_ok(), "draws digest: {line}");
        epochs += 1;
    }
    // recall.csv: one row per (epoch, class), long format.
    let recall = std::fs::read_to_string(dir.join("recall.csv")).unwrap();
    let mut lines = recall.lines();
    assert_eq!(lines.next(), Some("sampler,seed,epoch,class,recall"));
    assert_eq!(lines.clone().count(), epochs * classes);
    for line in lines {
        let r = line.rsplit(',').next().unwrap();
        assert!(r.is_empty() || (0.0..=1.0).contains(&r.parse::<f64>().unwrap()), "{line}");
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
    let summary = check_folder(&dir, 12, 6);
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
        (
            vec!["--sampler".into(), "uniform,focal".into()],
            "invalid value 'focal' for '--sampler <SAMPLER>': expected uniform, adaptive, adaboost, ohem, \
             class-balanced, balanced-adaptive or all",
        ),
        (vec!["--seeds".into(), "0".into()], "'--seeds <SEEDS>'"),
        (vec!["--epochs".into(), "0".into()], "'--epochs <EPOCHS>'"),
        (vec!["--dataset".into(), "long-tail".into(), "--imbalance".into(), "0.5".into()], "--imbalance"),
    ] {
        let out = bin().arg("classifier").args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
