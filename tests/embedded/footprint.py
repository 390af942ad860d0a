#!/usr/bin/env python3
"""Builds the footprint probe and its baseline for several fixed capacities,
runs both under qemu, and prints the footprint table: flash (.text + .rodata)
and RAM (.data + .bss + stack high-water mark) of the whole probe firmware and
of the library part alone (probe minus baseline), and says whether the library
part meets its budget: flash <= 16 KiB, RAM <= storage + 1 KiB (the caller's
own batch buffers on the stack are not counted as the library's)."""
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
    flash = s.get(".text", 0) + s.get(".rodata", 0)
    ram = s.get(".data", 0) + s.get(".bss", 0) + int(stack)
    return flash, ram, int(storage), int(stack), int(buffers)


def main():
    rows = []
    ok = True
    for cap, features in [(256, []), (1024, []), (4096, []), (1024, ["--features", "reward"])]:
        env = dict(os.environ, ADASAMPLE_FW_CAP=str(cap))
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "footprint", "--bin", "baseline"] + features, cwd=HERE, env=env, check=True)
        f_flash, f_ram, storage, f_stack, buffers = measure("footprint", cap)
        b_flash, b_ram, _, b_stack, _ = measure("baseline", cap)
        lib_flash = f_flash - b_flash
        lib_ram = f_ram - b_ram - buffers
        overhead = lib_ram - storage
        ok &= lib_flash <= FLASH_BUDGET and overhead <= RAM_OVERHEAD_BUDGET
        label = f"{cap} + reward sampler" if features else str(cap)
        rows.append(f"| {label} | {f_flash:,} | {f_ram:,} | {lib_flash:,} | {lib_ram:,} | {storage:,} | {overhead:,} |")
    print("| capacity | probe flash | probe RAM | library flash | library RAM | of which storage | library RAM beyond storage (stack) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"budgets: library flash <= {FLASH_BUDGET} B, library RAM <= storage + {RAM_OVERHEAD_BUDGET} B: {'met' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
