"""`make bench-trainer`: env steps per second of `adasample-trainer dqn` and of
the CleanRL-style PyTorch script (tests/perf/cleanrl_dqn.py), the same
configuration (CleanRL's dqn.py on CartPole-v1), one process at a time, each
pinned to one core, for uniform and proportional PER. Prints a table and the
trainer / PyTorch ratio per sampler, then a SUMMARY line.

Environment: BENCH_STEPS (default 100000 env steps per run, so both pass
learning_starts and train for most of the run), TRAINER, LIBTORCH_LIB, PYTHON.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = int(os.environ.get("BENCH_STEPS", "100000"))
TRAINER = os.environ.get("TRAINER", str(ROOT / "target/release/adasample-trainer"))
PYTHON = os.environ.get("PYTHON", str(ROOT / ".venv-golden/bin/python"))


def pinned(cmd):
    """On one core where `taskset` exists; the same command otherwise."""
    return (["taskset", "-c", "0"] if subprocess.run(["which", "taskset"], capture_output=True).returncode == 0 else []) + cmd


def trainer(sampler):
    with tempfile.TemporaryDirectory() as out:
        cmd = [TRAINER, "dqn", "--preset", "cleanrl", "--total-timesteps", str(STEPS), "--sampler", sampler,
               "--seeds", "1", "--jobs", "1", "--eval-every", "0", "--eval-episodes", "1", "--device", "cpu", "--out", out]
        env = dict(os.environ)
        if "LIBTORCH_LIB" in os.environ:
            env["LD_LIBRARY_PATH"] = os.environ["LIBTORCH_LIB"]
        subprocess.run(pinned(cmd), check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = json.loads((Path(out) / "summary.json").read_text())["runs"][0]
        return run["steps_per_second"]


def pytorch(sampler):
    cmd = [PYTHON, str(ROOT / "tests/perf/cleanrl_dqn.py"), "--sampler", sampler, "--total-timesteps", str(STEPS)]
    out = subprocess.run(pinned(cmd), check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["steps_per_second"]


def main():
    print(f"DQN, CleanRL's configuration, CartPole-v1, {STEPS} env steps per run, one core, one process at a time")
    print(f"{'sampler':8} {'trainer steps/s':>16} {'PyTorch steps/s':>16} {'ratio':>6}")
    ratios = {}
    for sampler in ["uniform", "per"]:
        ours, theirs = trainer(sampler), pytorch(sampler)
        ratios[sampler] = ours / theirs
        print(f"{sampler:8} {ours:16.0f} {theirs:16.0f} {ratios[sampler]:6.2f}")
        sys.stdout.flush()
    print("SUMMARY " + json.dumps({"steps": STEPS, "trainer_vs_pytorch": {k: round(v, 2) for k, v in ratios.items()}}))


if __name__ == "__main__":
    main()
