#!/usr/bin/env python3
"""Compares the firmware's output (read from stdin or a file) with the golden
vectors of tests/golden/, bit for bit: floats are printed by the firmware as
the 16 hex digits of their IEEE-754 bits. Exits 1 on any difference."""
import json
import struct
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def bits(x):
    return format(struct.unpack("<Q", struct.pack("<d", float(x)))[0], "016x")


def expected_lines(cap):
    lines = []

    def emit(prefix, label, values, kind):
        vals = [bits(v) for v in values] if kind == "f" else [str(v) for v in values]
        lines.append(" ".join([prefix, label] + vals))

    for name in ["per_proportional", "per_rank", "per_fixed1024"]:
        case = json.loads((GOLDEN / f"{name}.json").read_text())
        if case["config"]["capacity"] > cap:
            continue
        for k, op in enumerate(case["ops"]):
            p, e = f"{name} {k}", op["expect"]
            if op["op"] == "add":
                emit(p, "slots", e["slots"], "d")
            elif op["op"] == "sample":
                emit(p, "beta", [e["beta"]], "f")
                for label in ["slots", "generations", "items"]:
                    emit(p, label, e[label], "d")
                emit(p, "probabilities", e["probabilities"], "f")
                emit(p, "weights", e["weights"], "f")
            else:
                emit(p, "stale", [e["stale"]], "d")
    for name in ["adaptive_ema", "adaptive_adaboost", "adaptive_ohem"]:
        case = json.loads((GOLDEN / f"{name}.json").read_text())
        for k, op in enumerate(case["ops"]):
            p, e = f"{name} {k}", op["expect"]
            if op["op"] == "sample":
                emit(p, "indices", e["indices"], "d")
                emit(p, "weights", e["weights"], "f")
            else:
                emit(p, "probabilities", e["probabilities"], "f")
    case = json.loads((GOLDEN / "reward.json").read_text())
    for k, op in enumerate(case["ops"]):
        if op["op"] == "sample":
            emit(f"reward {k}", "indices", op["expect"]["indices"], "d")
            emit(f"reward {k}", "weights", op["expect"]["weights"], "f")
    for k, op in enumerate(json.loads((GOLDEN / "iw.json").read_text())["ops"]):
        emit(f"iw {k}", "weights", op["expect"], "f")
    for k, op in enumerate(json.loads((GOLDEN / "columns.json").read_text())["ops"]):
        p, e = f"columns {k}", op["expect"]
        if op["op"] == "step":
            emit(p, "ids", [t["id"] for t in e], "d")
            emit(p, "returns", [t["reward"] for t in e], "f")
            emit(p, "discounts", [t["discount"] for t in e], "f")
            emit(p, "steps", [t["steps"] for t in e], "d")
        else:
            emit(p, "obs", e["obs"], "f")
            emit(p, "action", e["action"], "d")
            emit(p, "return", e["return"], "f")
            emit(p, "discount", e["discount"], "f")
            emit(p, "nextObs", e["nextObs"], "f")
    rng = json.loads((GOLDEN / "rng.json").read_text())["ops"]
    emit("rng 0", "nextU64", rng[0]["expect"], "d")
    emit("rng 1", "unitF64", rng[1]["expect"], "f")
    return lines


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    out = [l.strip() for l in text.splitlines()]
    header = next((l for l in out if l.startswith("adasample firmware: CAP")), None)
    if header is None or "done" not in out:
        print("firmware did not run to the end:\n" + text[-2000:])
        return 1
    cap = int(header.split()[-1])
    got = [l for l in out if l and not l.startswith(("adasample firmware", "footprint", "done"))]
    want = expected_lines(cap)
    bad = 0
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else "<missing>"
        w = want[i] if i < len(want) else "<extra>"
        if g != w:
            bad += 1
            if bad <= 5:
                print(f"line {i}:\n  firmware: {g[:200]}\n  golden:   {w[:200]}")
    values = sum(len(l.split()) - 3 for l in want)
    if bad:
        print(f"embedded: {bad} of {len(want)} lines differ from the golden vectors")
        return 1
    print(f"embedded: {len(want)} lines, {values} values, all bit-identical to tests/golden (CAP {cap})")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
