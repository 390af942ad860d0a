//! Generates the golden-vector inputs (not the expected outputs: the host
//! compares those) as Rust statics, and puts memory.x on the linker path.
//! ADASAMPLE_FW_CAP sets the fixed storage size (default 1024 slots).

use serde_json::Value;
use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

fn f(v: &Value) -> String {
    format!("f64::from_bits({:#018x})", v.as_f64().expect("number").to_bits())
}

fn floats(v: &Value) -> String {
    let items: Vec<String> = v.as_array().expect("array").iter().map(f).collect();
    format!("&[{}]", items.join(", "))
}

fn ints(v: &Value) -> String {
    let items: Vec<String> =
        v.as_array().expect("array").iter().map(|x| x.as_u64().expect("int").to_string()).collect();
    format!("&[{}]", items.join(", "))
}

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=ADASAMPLE_FW_CAP");
    let cap: usize = env::var("ADASAMPLE_FW_CAP").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);

    let golden = PathBuf::from("../golden");
    let load = |name: &str| -> Value {
        let p = golden.join(format!("{name}.json"));
        println!("cargo:rerun-if-changed={}", p.display());
        serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
    };
    fs::write(out.join("cap.rs"), cap.to_string()).unwrap();
    let mut s = format!("pub const CAP: usize = {cap};\n");

    s += "pub static PER_CASES: &[PerCase] = &[\n";
    for name in ["per_proportional", "per_rank", "per_fixed1024"] {
        let c = load(name);
        let cfg = &c["config"];
        let kind = if cfg["rank"] == true { "Rank" } else { "Proportional" };
        writeln!(s, "PerCase {{ name: {name:?}, config: PerConfig {{ capacity: {}, alpha: {}, beta: {}, beta_final: {}, beta_steps: {}, epsilon: {}, seed: {}, \
            kind: PerKind::{kind}, without_replacement: false, normalization: Normalization::Global }}, ops: &[",
            cfg["capacity"], f(&cfg["alpha"]), f(&cfg["beta"]), f(&cfg["betaFinal"]), cfg["betaSteps"], f(&cfg["epsilon"]), cfg["seed"]).unwrap();
        for op in c["ops"].as_array().unwrap() {
            match op["op"].as_str().unwrap() {
                "add" => {
                    let p: Vec<String> = op["priorities"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| if p.is_null() { "None".into() } else { format!("Some({})", f(p)) })
                        .collect();
                    writeln!(s, "PerOp::Add(&[{}]),", p.join(", ")).unwrap();
                }
                "sample" => writeln!(s, "PerOp::Sample({}),", op["batch"]).unwrap(),
                "update" => writeln!(
                    s,
                    "PerOp::Update {{ slots: {}, generations: {}, td_errors: {} }},",
                    ints(&op["slots"]),
                    ints(&op["generations"]),
                    floats(&op["tdErrors"])
                )
                .unwrap(),
                other => panic!("{other}"),
            }
        }
        s += "]},\n";
    }
    s += "];\n";

    s += "pub static ADAPTIVE_CASES: &[AdaptiveCase] = &[\n";
    for name in ["adaptive_ema", "adaptive_adaboost", "adaptive_ohem"] {
        let c = load(name);
        let cfg = &c["config"];
        let mode = match cfg["mode"].as_str().unwrap() {
            "ema" => "Ema",
            "adaboost" => "AdaBoost",
            _ => "Ohem",
        };
        writeln!(s, "AdaptiveCase {{ name: {name:?}, dataset_size: {}, learning_rate: {}, mode: AdaptiveMode::{mode}, seed: {}, ops: &[",
            cfg["datasetSize"], f(&cfg["learningRate"]), cfg["seed"]).unwrap();
        for op in c["ops"].as_array().unwrap() {
            match op["op"].as_str().unwrap() {
                "sample" => writeln!(s, "AdaptiveOp::Sample({}),", op["batch"]).unwrap(),
                "update" => writeln!(
                    s,
                    "AdaptiveOp::Update {{ indices: {}, losses: {} }},",
                    ints(&op["indices"]),
                    floats(&op["losses"])
                )
                .unwrap(),
                other => panic!("{other}"),
            }
        }
        s += "]},\n";
    }
    s += "];\n";

    let c = load("reward");
    let cfg = &c["config"];
    writeln!(
        s,
        "pub static REWARD_CASE: RewardCase = RewardCase {{ temperature: {}, max_weight: {}, seed: {}, ops: &[",
        f(&cfg["temperature"]),
        f(&cfg["maxWeight"]),
        cfg["seed"]
    )
    .unwrap();
    for op in c["ops"].as_array().unwrap() {
        match op["op"].as_str().unwrap() {
            "extend" => writeln!(s, "RewardOp::Extend({}),", floats(&op["rewards"])).unwrap(),
            "sample" => writeln!(s, "RewardOp::Sample({}),", op["batch"]).unwrap(),
            other => panic!("{other}"),
        }
    }
    s += "]};\n";

    s += "pub static IW_OPS: &[IwOp] = &[\n";
    for op in load("iw")["ops"].as_array().unwrap() {
        let mask: Vec<String> =
            op["mask"].as_array().unwrap().iter().map(|m| (m.as_u64() != Some(0)).to_string()).collect();
        writeln!(
            s,
            "IwOp {{ token: {}, seq_len: {}, temperature: {}, policy: {}, reference: {}, mask: &[{}] }},",
            op["mode"] == "token",
            op["seqLen"],
            f(&op["temperature"]),
            floats(&op["policyLogProbs"]),
            floats(&op["refLogProbs"]),
            mask.join(", ")
        )
        .unwrap();
    }
    s += "];\n";

    let c = load("columns");
    let cfg = &c["config"];
    writeln!(
        s,
        "pub static COLUMNS_CASE: ColumnsCase = ColumnsCase {{ n: {}, gamma: {}, streams: {}, capacity: {}, ops: &[",
        cfg["n"],
        f(&cfg["gamma"]),
        cfg["streams"],
        cfg["capacity"]
    )
    .unwrap();
    for op in c["ops"].as_array().unwrap() {
        match op["op"].as_str().unwrap() {
            "step" => writeln!(
                s,
                "ColumnsOp::Step {{ id: {}, stream: {}, obs: {}, action: {}, reward: {}, terminated: {}, truncated: {}, next_obs: {} }},",
                op["id"],
                op["stream"],
                floats(&op["obs"]),
                f(&op["action"]),
                f(&op["reward"]),
                op["terminated"],
                op["truncated"],
                floats(&op["nextObs"])
            )
            .unwrap(),
            "gather" => writeln!(s, "ColumnsOp::Gather({}),", ints(&op["slots"])).unwrap(),
            other => panic!("{other}"),
        }
    }
    s += "]};\n";
    let columns: Vec<String> = cfg["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("({}, {}, {})", c["name"], c["dtype"], ints(&c["shape"])))
        .collect();
    writeln!(s, "pub static COLUMNS: [(&str, &str, &[usize]); {}] = [{}];", columns.len(), columns.join(", ")).unwrap();

    let rng = load("rng");
    let seed = &rng["config"]["seed"];
    let counts: Vec<String> = rng["ops"].as_array().unwrap().iter().map(|o| o["count"].to_string()).collect();
    writeln!(s, "pub const RNG_SEED: u64 = {seed};\npub const RNG_COUNTS: [usize; 2] = [{}];", counts.join(", "))
        .unwrap();

    fs::write(out.join("golden.rs"), s).unwrap();
}
