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
        assert_eq!(cols.len(), 11, "{line}");
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
    let summary = check_folder(&dir, 8);
    // No NaN reaches a user: not in the report, not in the files.
    for f in ["report.md", "metrics.csv", "summary.json"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.contains("NaN") && !text.contains("nan"), "{f} prints a NaN");
    }
    assert_eq!(summary["interrupted"], false);
    for run in summary["runs"].as_array().unwrap() {
        assert_eq!(run["env_steps"], 4000);
        assert!(run["final_return"].as_f64().unwrap() >= 8.0);
    }
    // Learning happened: on average across the eight runs, the final greedy
    // return beats a random policy's (about 22 on CartPole).
    let finals: Vec<f64> =
        summary["runs"].as_array().unwrap().iter().map(|r| r["final_return"].as_f64().unwrap()).collect();
    assert!(finals.iter().sum::<f64>() / 8.0 > 40.0, "{finals:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `metrics.csv` without its wall-clock column, and each run's results.
fn results(dir: &Path) -> (Vec<String>, serde_json::Value) {
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut rows: Vec<String> = csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect();
    rows.sort();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    // Wall-clock figures differ from run to run; everything else must not.
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !matches!(k.as_str(), "steps_per_second" | "elapsed_s") && !k.ends_with("ms_per_step"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut runs = summary["runs"].clone();
    strip(&mut runs);
    (rows, runs)
}

#[test]
fn results_do_not_depend_on_jobs() {
    // The same (scenario, sampler, seed) gives the same metrics, bit for bit,
    // with runs one at a time and two in parallel threads.
    let scenarios: [&[&str]; 3] = [
        &["dqn", "--quick", "--seeds", "2", "--total-timesteps", "1500"],
        &["classifier", "--quick", "--seeds", "2", "--epochs", "2"],
        &["iw-sft", "--quick", "--seeds", "2", "--pretrain-steps", "400", "--steps", "20"],
    ];
    for args in scenarios {
        let (one, two) = (tmp(&format!("{}-jobs1", args[0])), tmp(&format!("{}-jobs2", args[0])));
        run_ok(&[args, &["--device", "cpu", "--jobs", "1"]].concat(), Some(&one));
        run_ok(&[args, &["--device", "cpu", "--jobs", "2"]].concat(), Some(&two));
        assert_eq!(results(&one), results(&two), "{args:?}");
        let _ = std::fs::remove_dir_all(&one);
        let _ = std::fs::remove_dir_all(&two);
    }
}

#[test]
fn every_dqn_flag_reaches_the_config() {
    let dir = tmp("flags");
    let flags = [
        "dqn",
        "--total-timesteps",
        "700",
        "--learning-rate",
        "0.001",
        "--buffer-size",
        "321",
        "--gamma",
        "0.95",
        "--tau",
        "0.5",
        "--target-network-frequency",
        "7",
        "--batch-size",
        "16",
        "--start-e",
        "0.9",
        "--end-e",
        "0.1",
        "--exploration-fraction",
        "0.3",
        "--learning-starts",
        "100",
        "--train-frequency",
        "3",
        "--loss",
        "mse",
        "--max-grad-norm",
        "0",
        "--hidden",
        "32,16,8",
        "--n-step",
        "3",
        "--eval-every",
        "350",
        "--eval-episodes",
        "2",
        "--sampler",
        "rank",
        "--env",
        "acrobot-v1",
    ];
    run_ok(&[&flags[..], &["--device", "cpu"]].concat(), Some(&dir));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let want = serde_json::json!({
        "env": "acrobot-v1", "total_timesteps": 700, "learning_rate": 0.001, "buffer_size": 321, "gamma": 0.95,
        "tau": 0.5, "target_network_frequency": 7, "batch_size": 16, "start_e": 0.9, "end_e": 0.1,
        "exploration_fraction": 0.3, "learning_starts": 100, "train_frequency": 3, "loss": "mse",
        "max_grad_norm": null, "hidden": [32, 16, 8], "n_step": 3, "eval_every": 350, "eval_episodes": 2,
    });
    assert_eq!(summary["config"], want);
    assert_eq!(summary["runs"][0]["sampler"], "rank");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn preset_cleanrl_is_cleanrls_configuration() {
    let dir = tmp("cleanrl");
    // Only the length is cut; every other value is the preset's.
    run_ok(
        &["dqn", "--preset", "cleanrl", "--total-timesteps", "300", "--sampler", "uniform", "--device", "cpu"],
        Some(&dir),
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let want = serde_json::json!({
        "env": "cartpole-v1", "total_timesteps": 300, "learning_rate": 2.5e-4, "buffer_size": 10000, "gamma": 0.99,
        "tau": 1.0, "target_network_frequency": 500, "batch_size": 128, "start_e": 1.0, "end_e": 0.05,
        "exploration_fraction": 0.5, "learning_starts": 10000, "train_frequency": 10, "loss": "mse",
        "max_grad_norm": null, "hidden": [120, 84], "n_step": 1, "eval_every": 25000, "eval_episodes": 5,
    });
    assert_eq!(summary["config"], want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_and_load_round_trip_a_network() {
    let dir = tmp("models");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.safetensors"), dir.join("b.safetensors"));
    let common = ["dqn", "--sampler", "per", "--device", "cpu", "--learning-starts", "100", "--eval-every", "0"];
    run_ok(
        &[&common[..], &["--total-timesteps", "400", "--save-model", a.to_str().unwrap()]].concat(),
        Some(&dir.join("run-a")),
    );
    // No update happens in 50 steps with learning starts at 100: what is saved is what was loaded.
    run_ok(
        &[
            &common[..],
            &["--total-timesteps", "50", "--load-model", a.to_str().unwrap(), "--save-model", b.to_str().unwrap()],
        ]
        .concat(),
        Some(&dir.join("run-b")),
    );
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(x.len() > 1_000);
    assert_eq!(x, y, "the loaded network, saved again, differs");
    // A file of another network is refused by name.
    let out = bin()
        .args([
            "dqn",
            "--sampler",
            "per",
            "--device",
            "cpu",
            "--total-timesteps",
            "10",
            "--hidden",
            "7",
            "--load-model",
        ])
        .arg(&a)
        .arg("--out")
        .arg(dir.join("run-c"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--load-model"), "{}", String::from_utf8_lossy(&out.stderr));
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
        (vec!["dqn", "--sampler", "greedy"], "invalid value 'greedy' for '--sampler"),
        (vec!["dqn", "--sampler", "per,greedy"], "possible values: uniform, stratified, per, rank, all"),
        (vec!["dqn", "--seeds", "0"], "'--seeds <SEEDS>'"),
        (vec!["dqn", "--jobs", "0"], "'--jobs <JOBS>'"),
        (vec!["dqn", "--gamma", "1.5"], "'--gamma <GAMMA>': a number in [0, 1]"),
        (vec!["dqn", "--learning-rate", "-1"], "'--learning-rate <LEARNING_RATE>': a finite number > 0"),
        (vec!["dqn", "--tau", "0"], "'--tau <TAU>'"),
        (vec!["dqn", "--hidden", "64,0"], "'--hidden <HIDDEN>'"),
        (vec!["dqn", "--n-step", "0"], "'--n-step <N_STEP>'"),
        (vec!["dqn", "--loss", "l1"], "possible values: mse, huber"),
        (vec!["dqn", "--batch-size", "0"], "'--batch-size <BATCH_SIZE>'"),
        (vec!["env", "replay", "--env", "pong", "--state", "0", "--actions", "1"], "invalid value 'pong'"),
        (vec!["classifier", "--label-column", "quality"], "--csv <CSV>"),
        (vec!["cliffwalk", "--min-n", "8", "--max-n", "5"], "--min-n 8 is above --max-n 5"),
        (vec!["cliffwalk", "--max-n", "21"], "'--max-n <MAX_N>'"),
        (vec!["cliffwalk", "--min-n", "1"], "'--min-n <MIN_N>'"),
        (vec!["cliffwalk", "--seeds", "0"], "'--seeds <SEEDS>'"),
        (vec!["cliffwalk", "--sampler", "per,greedy"], "uniform, per, rank, oracle or all"),
        (vec!["cliffwalk", "--lr", "0"], "'--lr <LR>'"),
        (vec!["all", "--seeds", "0"], "'--seeds <SEEDS>'"),
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
    check_folder(&dir.join("dqn"), 8);
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
    // Quick sizes have 1 or 2 seeds: no interval is printed, and each table says so.
    assert!(!report.contains('±') && !report.contains("NaN"), "{report}");
    assert_eq!(report.matches("means only").count(), 3, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cliffwalk_writes_its_table_plot_and_verdict() {
    let dir = tmp("cliffwalk");
    let out = run_ok(&["cliffwalk", "--min-n", "3", "--max-n", "8", "--seeds", "5"], Some(&dir));
    for f in ["metrics.csv", "summary.json", "updates.png", "report.md"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let png = std::fs::read(dir.join("updates.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "updates.png is not a real plot");
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("n,seed,transitions,sampler,updates,learned"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6 * 5 * 4, "6 chain lengths, 5 seeds, 4 samplers");
    assert!(rows.iter().all(|r| r.len() == 6 && r[5] == "true" && r[4].parse::<u64>().unwrap() > 0));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cells"].as_array().unwrap().len(), 6 * 4);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("| n | transitions | uniform | per | rank | oracle |"), "{report}");
    assert!(report.contains("fewer updates than uniform at n = 8") && !report.contains("NaN"), "{report}");
    // The table goes to the terminal too.
    assert!(String::from_utf8_lossy(&out.stderr).contains("uniform / per"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Built without the `mpi` feature, the distributed commands say how to get it.
#[cfg(not(feature = "mpi"))]
#[test]
fn distributed_commands_need_the_mpi_feature() {
    for args in [
        vec!["classifier", "--quick", "--distributed"],
        vec!["dqn", "--quick", "--sampler", "per", "--distributed"],
        vec!["mpi-check"],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("built without MPI") && err.contains("--features mpi"), "{args:?}: {err}");
    }
}
