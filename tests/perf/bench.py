#!/usr/bin/env python3
"""`make bench`: adasample's prioritized replay against its peers, side by
side, on one workload (N items, batches of B, alpha 0.6, beta 0.4; "step" =
sample B then update those B), each system pinned to the same core:

  adasample (native)   core's PrioritizedReplayBuffer (stratified, IS weights; add = extend)
  adasample (wasm)     the npm package in Node, through its JS API
  adasample-table      the core's replay table (rows of a float32 obs of 4, an int32
                       action, a float32 reward), the npm ReplayBuffer's workload
  adasample-wasm-table the npm ReplayBuffer in Node on the same rows (after a warm-up:
                       V8 tiers hot wasm up to optimized code after a while)
  rand_distr 0.6       WeightedTreeIndex (f64; one draw at a time, no IS weights, not stratified)
  textbook             a binary sum + min segment tree in Rust (f64), one descent per draw
  cpprb 11.0.0         PrioritizedReplayBuffer (C++ segment trees, fp32)
  TorchRL 0.12.0       PrioritizedReplayBuffer over LazyTensorStorage (C++ sum/min trees, fp32)
  numpy-baselines      OpenAI baselines' segment trees in Python over NumPy arrays

plus a memory-latency probe (the floor a descent past the caches meets). It
installs the Python peers into .venv-bench/ (pins that work together; torch
with its CUDA wheels is about 3 GB, once) and builds tests/perf/peers. The
last line is machine-readable:

SUMMARY sample_ns_per_index=F step_per_s=F add_per_s=F step_vs_cpprb=F
        step_vs_torchrl=F step_vs_rand_distr=F step_vs_textbook=F wasm_vs_native=F
        update_vs_best_peer=F step_vs_best_peer_min=F wasm_per_vs_native=F

wasm_vs_native: the native replay table's steps/s over the npm ReplayBuffer's
(the columnar workload, N = 2^20, B = 256); wasm_per_vs_native: the same for
the item-holding PrioritizedReplayBuffer;

update_vs_best_peer: adasample's updates/s (a batch of B drawn beforehand,
the update alone) over the best peer's at N = 2^20, B = 256;
step_vs_best_peer_min: the smallest, over every size of the grid, of
adasample's steps/s over the best peer's there.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / ".venv-bench"
PINS = ["numpy==2.4.6", "cpprb==11.0.0", "torch==2.11.0", "torchrl==0.12.0", "tensordict==0.12.4"]
PEERS = HERE / "peers" / "target" / "release" / "adasample-perf-peers"
MAIN = (1 << 20, 256)
GRID = [(1 << 14, 256), (1 << 24, 256), (1 << 20, 32), (1 << 20, 1024)]
CORE = os.environ.get("BENCH_CORE", "1")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pin(cmd):
    if shutil.which("taskset") and (os.cpu_count() or 1) > int(CORE):
        return ["taskset", "-c", CORE] + cmd
    return cmd


def run_json(cmd, label):
    log(f"  {label} ...")
    out = subprocess.run(pin(cmd), capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        log(f"  {label} failed:\n{out.stderr[-2000:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def setup():
    log("building tests/perf/peers ...")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=HERE / "peers", check=True)
    py = VENV / "bin" / "python"
    check = [str(py), "-c", "import cpprb, torchrl, numpy"]
    if not py.exists() or subprocess.run(check, capture_output=True).returncode != 0:
        log(f"installing {' '.join(PINS)} into {VENV} (once) ...")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q"] + PINS, check=True)
    if not (ROOT / "wasm" / "pkg" / "index.js").exists():
        sys.exit("wasm/pkg is missing: run `make npm` first (make bench does)")
    return str(py)


def point(py, n, b, systems):
    rows = {}
    for s in systems:
        if s in ("adasample", "adasample-table", "rand_distr", "textbook"):
            rows[s] = run_json([str(PEERS), s, str(n), str(b)], f"{s} N={n} B={b}")
        elif s == "adasample-wasm":
            rows[s] = run_json(["node", str(HERE / "wasm.mjs"), str(n), str(b)], f"{s} N={n} B={b}")
        elif s == "adasample-wasm-table":
            rows[s] = run_json(["node", str(HERE / "wasm.mjs"), str(n), str(b), "table"], f"{s} N={n} B={b}")
        else:
            rows[s] = run_json([py, str(HERE / "py_peers.py"), s, str(n), str(b)], f"{s} N={n} B={b}")
    return rows


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def main():
    py = setup()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    log(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; pinned to core {CORE}")
    lat = run_json([str(PEERS), "latency"], "memory latency")
    systems = ["adasample", "adasample-wasm", "rand_distr", "textbook", "cpprb", "torchrl", "numpy-baselines"]
    main_rows = point(py, *MAIN, systems)
    ours = main_rows["adasample"]
    print(f"\nN = 2^20, B = 256, one core ({cpu}); ratio = adasample's steps/s over the system's\n")
    print("| system | ns per sampled index | steps/s | updates/s | adds/s | adasample step ratio | adasample update ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in systems:
        r = main_rows.get(s)
        if r is None:
            print(f"| {s} | failed | | | | | |")
            continue
        ratio = ours["step_per_s"] / r["step_per_s"] if ours else None
        up = ours["update_per_s"] / r["update_per_s"] if ours else None
        print(f"| {s} | {fmt(r['sample_ns_per_index'], 1)} | {fmt(r['step_per_s'])} | {fmt(r['update_per_s'])} "
              f"| {fmt(r['add_per_s'])} | {fmt(ratio, 2)}x | {fmt(up, 2)}x |")
    # Three interleaved runs of the pair, the median run of each kept: the
    # ratio of two systems run once each moved by a third between runs here.
    runs = [point(py, *MAIN, ["adasample-table", "adasample-wasm-table"]) for _ in range(3)]

    def median_run(s):
        ok = sorted((r[s] for r in runs if r[s]), key=lambda r: r["step_per_s"])
        return ok[len(ok) // 2] if ok else None

    cols = {s: median_run(s) for s in ("adasample-table", "adasample-wasm-table")}
    native, npm = cols["adasample-table"], cols["adasample-wasm-table"]
    pair = [r["adasample-table"]["step_per_s"] / r["adasample-wasm-table"]["step_per_s"]
            for r in runs if r["adasample-table"] and r["adasample-wasm-table"]]
    print("\nThe columnar workload (npm ReplayBuffer): rows of a float32 obs of 4, an int32 action and a "
          "float32 reward, gathered with every batch; ratio = native steps/s over the system's "
          "(the median of three interleaved runs of each)\n")
    print("| system | ns per sampled index | steps/s | updates/s | adds/s (one row at a time) | native step ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for s, r in cols.items():
        if r is None:
            print(f"| {s} | failed | | | | |")
            continue
        ratio = native["step_per_s"] / r["step_per_s"] if native else None
        print(f"| {s} | {fmt(r['sample_ns_per_index'], 1)} | {fmt(r['step_per_s'])} | {fmt(r['update_per_s'])} "
              f"| {fmt(r['add_per_s'])} | {fmt(ratio, 2)}x |")
    if pair:
        print(f"\nnative over npm, run by run: {', '.join(f'{x:.2f}x' for x in pair)}")
    if lat:
        print(f"\nmemory: a dependent load {lat['dependent_ns']:.0f} ns; 16 chains in flight "
              f"{lat['parallel16_ns_per_load']:.1f} ns per load")
    print("\nOther sizes (steps/s; ratio = adasample over the best peer):\n")
    print("| N | B | adasample | rand_distr | textbook | cpprb | torchrl | ratio to best peer |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    peers_main = [main_rows[s]["step_per_s"] for s in ("rand_distr", "textbook", "cpprb", "torchrl") if main_rows.get(s)]
    step_ratios = [ours["step_per_s"] / max(peers_main)] if ours and peers_main else []
    for n, b in GRID:
        rows = point(py, n, b, ["adasample", "rand_distr", "textbook", "cpprb", "torchrl"])
        peers = [rows[s]["step_per_s"] for s in rows if s != "adasample" and rows[s]]
        a = rows["adasample"]["step_per_s"] if rows["adasample"] else None
        cells = [fmt(rows[s]["step_per_s"]) if rows[s] else "failed" for s in rows]
        ratio = a / max(peers) if a and peers else None
        if ratio is not None:
            step_ratios.append(ratio)
        print(f"| 2^{n.bit_length() - 1} | {b} | " + " | ".join(cells) + f" | {fmt(ratio, 2)}x |")

    def vs(s):
        r = main_rows.get(s)
        return ours["step_per_s"] / r["step_per_s"] if (ours and r) else float("nan")

    wasm = main_rows.get("adasample-wasm")
    peer_updates = [r["update_per_s"] for s, r in main_rows.items() if r and not s.startswith("adasample")]
    update_vs_best = ours["update_per_s"] / max(peer_updates) if ours and peer_updates else float("nan")
    print(
        "SUMMARY "
        f"sample_ns_per_index={ours['sample_ns_per_index']:.2f} step_per_s={ours['step_per_s']:.1f} "
        f"add_per_s={ours['add_per_s']:.0f} step_vs_cpprb={vs('cpprb'):.2f} step_vs_torchrl={vs('torchrl'):.2f} "
        f"step_vs_rand_distr={vs('rand_distr'):.2f} step_vs_textbook={vs('textbook'):.2f} "
        f"wasm_vs_native={(native['step_per_s'] / npm['step_per_s']) if (native and npm) else float('nan'):.2f} "
        f"update_vs_best_peer={update_vs_best:.2f} "
        f"step_vs_best_peer_min={min(step_ratios) if step_ratios else float('nan'):.2f} "
        f"wasm_per_vs_native={(ours['step_per_s'] / wasm['step_per_s']) if wasm else float('nan'):.2f}"
    )


if __name__ == "__main__":
    main()
