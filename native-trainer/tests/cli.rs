//! The binary end to end: `dqn --quick` writes every output with sane numbers,
//! Ctrl-C leaves a complete folder, `env replay` prints Gymnasium's steps, and
//! bad arguments are clear errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adasample-trainer"))
}

/// Runs the binary to completion and requires success.
fn run_ok(args: &[&str], out: Option<&Path>) -> std::process::Output {
    let mut cmd = bin();
    cmd.args(args);
    if let Some(dir) = out {
        cmd.arg("--out").arg(dir);
    }
    let output = cmd.output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("adasample-trainer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn check_folder(dir: &Path, runs: usize) -> serde_json::Value {
    for f in ["metrics.csv", "summary.json", "returns.png", "report.md"] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let png = std::fs::read(dir.join("returns.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "returns.png is not a real plot");
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("sampler,seed,env_step,eval_return_mean"));
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 10, "{line}");
        let ret: f64 = cols[3].parse().unwrap();
        assert!((8.0..=500.0).contains(&ret), "CartPole returns lie in [8, 500]: {line}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"].as_array().unwrap().len(), runs);
    assert!(std::fs::read_to_string(dir.join("report.md")).unwrap().contains("| sampler | seeds |"));
    summary
}

#[test]
fn dqn_quick_writes_every_output() {
    let dir = tmp("quick");
    run_ok(&["dqn", "--quick", "--seeds", "2", "--device", "cpu"], Some(&dir));
    let summary = check_folder(&dir, 6);
    assert_eq!(summary["interrupted"], false);
    for run in summary["runs"].as_array().unwrap() {
        assert_eq!(run["env_steps"], 4000);
        assert!(run["final_return"].as_f64().unwrap() >= 8.0);
    }
    // Learning happened: on average across the six runs, the final greedy
    // return beats a random policy's (about 22 on CartPole).
    let finals: Vec<f64> =
        summary["runs"].as_array().unwrap().iter().map(|r| r["final_return"].as_f64().unwrap()).collect();
    assert!(finals.iter().sum::<f64>() / 6.0 > 40.0, "{finals:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_leaves_a_complete_folder() {
    let dir = tmp("sigint");
    let mut child = bin()
        .args(["dqn", "--steps", "200000", "--sampler", "per", "--device", "cpu", "--out"])
        .arg(&dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first evaluation row, then interrupt.
    let start = Instant::now();
    while std::fs::read_to_string(dir.join("metrics.csv")).map_or(0, |s| s.lines().count()) < 2 {
        assert!(start.elapsed() < Duration::from_secs(120), "no evaluation within 2 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling our own child process.
    unsafe { libc_kill(child.id() as i32, 2) };
    let status = child.wait().unwrap();
    assert!(status.success(), "interrupted run exit status {status}");
    let summary = check_folder(&dir, 1);
    assert_eq!(summary["interrupted"], true);
    assert!(std::fs::read_to_string(dir.join("report.md")).unwrap().contains("Interrupted"));
    let _ = std::fs::remove_dir_all(&dir);
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn env_replay_prints_gymnasium_steps() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/../tests/envs/cartpole-v1.json", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    let case = &fx["cases"][1];
    let join =
        |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let (state, actions) = (join(&case["state"]), join(&case["actions"]));
    let out = run_ok(&["env", "replay", "--env", "cartpole-v1", "--state", &state, "--actions", &actions], None);
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let want = case["steps"].as_array().unwrap();
    assert_eq!(lines.len(), want.len());
    for (g, w) in lines.iter().zip(want) {
        assert_eq!(g["terminated"], w["terminated"]);
        assert_eq!(g["reward"], w["reward"]);
        for (a, b) in g["obs"].as_array().unwrap().iter().zip(w["obs"].as_array().unwrap()) {
            assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6);
        }
    }
}

#[test]
fn bad_arguments_are_clear_errors() {
    for (args, needle) in [
        (vec!["env", "replay", "--env", "cartpole-v1", "--state", "0,0,0", "--actions", "1"], "state of 4 numbers"),
        (vec!["env", "replay", "--env", "cartpole-v1", "--state", "0,0,0,x", "--actions", "1"], "not a number"),
        (vec!["env", "replay", "--env", "cartpole-v1", "--state", "0,0,0,0", "--actions", "5"], "takes actions 0..2"),
        (vec!["dqn", "--sampler", "greedy"], "not uniform, per, rank or all"),
        (vec!["dqn", "--seeds", "0"], "at least 1"),
        (vec!["env", "replay", "--env", "pong", "--state", "0", "--actions", "1"], "invalid value 'pong'"),
        (vec!["classifier", "--label-column", "quality"], "--csv <CSV>"),
    ] {
        let out = bin().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn all_quick_writes_the_three_folders_and_a_combined_report() {
    let dir = tmp("all");
    run_ok(&["all", "--quick", "--device", "cpu"], Some(&dir));
    check_folder(&dir.join("dqn"), 6);
    for (folder, files) in [
        ("iw-sft", vec!["metrics.csv", "summary.json", "accuracy_greedy.png", "accuracy_sampled.png", "report.md"]),
        ("classifier", vec!["metrics.csv", "summary.json", "balanced_accuracy.png", "confusion.png", "report.md"]),
    ] {
        for f in files {
            assert!(dir.join(folder).join(f).is_file(), "{folder}/{f} missing");
        }
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for link in ["(dqn/report.md)", "(iw-sft/report.md)", "(classifier/report.md)"] {
        assert!(report.contains(link), "{link} missing from the combined report");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["folders"], serde_json::json!(["dqn", "iw-sft", "classifier"]));
    assert_eq!(summary["interrupted"], false);
    let _ = std::fs::remove_dir_all(&dir);
}
