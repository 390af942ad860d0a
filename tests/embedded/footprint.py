#!/usr/bin/env python3
"""Builds the footprint probe and its baseline for several fixed capacities
and feature sets, runs both under qemu, and prints the footprint table:
flash (.text + .rodata + .data, whose initial image is in flash) and RAM
(.data + .bss + stack high-water mark) of the whole probe firmware and of the
library part alone (probe minus baseline; the caller's own batch buffers are
not counted as the library's).

Fails (exit 1) when the library part of the issue's configuration (PER,
adaptive sampler, iw weights; no `rank`, no `reward`) is over its budget,
flash <= 16 KiB and RAM <= storage + 1 KiB, or when any probe puts library
data in `.data` (a sampler's `EMPTY` that is not all zero bits would copy its
whole fixed storage into flash). The rank and reward rows show what those
features add; they are not held to the budget (nor is the adaptive prior's row)."""
import os
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ELF_DIR = HERE / "target" / "thumbv7em-none-eabihf" / "release"
QEMU = ["qemu-system-arm", "-cpu", "cortex-m4", "-machine", "mps2-an386", "-nographic",
        "-semihosting-config", "enable=on,target=native", "-kernel"]
FLASH_BUDGET, RAM_OVERHEAD_BUDGET = 16 * 1024, 1024


def sections(path):
    d = path.read_bytes()
    shoff = struct.unpack_from("<I", d, 0x20)[0]
    entsize, num, strndx = struct.unpack_from("<HHH", d, 0x2E)
    hdrs = [struct.unpack_from("<IIIIIIIIII", d, shoff + i * entsize) for i in range(num)]
    names = hdrs[strndx][4]
    out = {}
    for h in hdrs:
        name = d[names + h[0]:d.index(b"\0", names + h[0])].decode()
        out[name] = h[5]
    return out


def measure(binary, cap):
    s = sections(ELF_DIR / binary)
    run = subprocess.run(QEMU + [str(ELF_DIR / binary)], capture_output=True, text=True, timeout=120)
    line = next((l for l in run.stdout.splitlines() if l.startswith("footprint")), None)
    if run.returncode != 0 or line is None:
        sys.exit(f"{binary} (CAP {cap}) failed:\n{run.stdout}{run.stderr}")
    _, c, _, storage, _, stack, _, buffers = line.split()
    assert int(c) == cap
    flash = s.get(".text", 0) + s.get(".rodata", 0) + s.get(".data", 0)
    ram = s.get(".data", 0) + s.get(".bss", 0) + int(stack)
    return flash, ram, int(storage), int(stack), int(buffers), s.get(".data", 0)


ROWS = [  # (capacity, cargo features, label, held to the budget)
    (256, ["--no-default-features"], "256", True),
    (1024, ["--no-default-features"], "1024", True),
    (4096, ["--no-default-features"], "4096", True),
    (1024, [], "1024 + rank-based PER", False),
    (1024, ["--no-default-features", "--features", "reward"], "1024 + reward sampler", False),
    (1024, ["--no-default-features", "--features", "prior"], "1024 + adaptive prior", False),
]


def main():
    rows, failures = [], []
    for cap, features, label, budgeted in ROWS:
        env = dict(os.environ, ADASAMPLE_FW_CAP=str(cap))
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "footprint", "--bin", "baseline"] + features, cwd=HERE, env=env, check=True)
        f_flash, f_ram, storage, f_stack, buffers, f_data = measure("footprint", cap)
        b_flash, b_ram, _, b_stack, _, b_data = measure("baseline", cap)
        lib_flash = f_flash - b_flash
        lib_ram = f_ram - b_ram - buffers
        overhead = lib_ram - storage
        if f_data > b_data:
            failures.append(f"{label}: {f_data - b_data} B of library data in .data (copied from flash at boot)")
        if budgeted and lib_flash > FLASH_BUDGET:
            failures.append(f"{label}: library flash {lib_flash} B > {FLASH_BUDGET} B")
        if budgeted and overhead > RAM_OVERHEAD_BUDGET:
            failures.append(f"{label}: library RAM beyond storage {overhead} B > {RAM_OVERHEAD_BUDGET} B")
        rows.append(f"| {label} | {f_flash:,} | {f_ram:,} | {lib_flash:,} | {lib_ram:,} | {storage:,} | {overhead:,} |")
    print("| capacity | probe flash | probe RAM | library flash | library RAM | of which storage | library RAM beyond storage (stack) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"budgets (PER + adaptive + iw rows): library flash <= {FLASH_BUDGET} B, library RAM <= storage + {RAM_OVERHEAD_BUDGET} B, "
          f"no library .data: {'met' if not failures else 'NOT MET'}")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
