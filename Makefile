# adasample: `make demo` runs the main demo, `make test` runs every test.
# Both install what they need (rustup targets, components) idempotently.

SHELL := /bin/bash
CARGO ?= cargo
NO_STD_TARGETS := thumbv7em-none-eabihf wasm32-unknown-unknown
# Installed by `setup` too: the core's golden test runs as a wasm32 binary in Node's WASI.
TARGETS := $(NO_STD_TARGETS) wasm32-wasip1
CLIPPY_LIB_FLAGS := -D warnings -D clippy::unwrap_used -D clippy::expect_used -D clippy::panic

WASM_BINDGEN_VERSION := 0.2.130
WASM_PACK_VERSION := 0.15.1
CHROMIUM_PACKAGES := chromium chromium-driver
# Open MPI for `--distributed`; the mpi crate generates its bindings with libclang.
MPI_PACKAGES := openmpi-bin libopenmpi-dev libclang-dev

# The torch wheel is libtorch for tch: a project-local venv, nothing system-wide.
VENV := $(CURDIR)/.venv
TORCH_PIP := torch==2.11.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
LIBTORCH = $(shell ls -d $(VENV)/lib/python3*/site-packages/torch 2>/dev/null)
# Identical between builds, or torch-sys rebuilds (~3 min).
TORCH_ENV = LIBTORCH=$(LIBTORCH) LIBTORCH_CXX11_ABI=1 LD_LIBRARY_PATH=$(LIBTORCH)/lib
TRAINER := target/release/adasample-trainer

FUZZ_SECONDS ?= 60

.PHONY: mpi test-mpi tokenizer-fixture fuzz bench-rank demo test setup venv trainer test-trainer web-deps web web-dev test-web wasm-tools browser qemu npm test-core test-wasm embedded embedded-footprint check-no-std clippy doc drift-1e8 golden-bless golden-wasm32 bench-trainer fmt package msrv env-fixtures iwsft-golden bench

# First the Blind Cliffwalk (a result certain at this size, with its plot),
# then the three scenarios at quick sizes with 5 seeds; every table says
# what its seeds support. About 40 s on 2 cores once the trainer is built.
demo: setup trainer
	@rm -rf runs/demo
	set -o pipefail; $(TORCH_ENV) $(TRAINER) cliffwalk --out runs/demo/cliffwalk 2>&1 | grep -v '^\[n '
	@echo "The plot: runs/demo/cliffwalk/updates.png"
	@echo
	$(TORCH_ENV) $(TRAINER) all --quick --seeds 5 --out runs/demo/scenarios 2>runs/demo/scenarios.log
	@echo; cat runs/demo/scenarios/report.md
	@echo; echo "Everything is under runs/demo/ (the scenarios' log: runs/demo/scenarios.log)."

test: setup fmt test-core golden-wasm32 package msrv check-no-std clippy doc test-wasm test-web embedded test-trainer test-mpi
	@echo "make test: all suites passed"

setup:
	@installed="$$(rustup target list --installed)"; \
	for t in $(TARGETS); do \
	  grep -qx "$$t" <<<"$$installed" || rustup target add "$$t"; \
	done
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# wasm-bindgen's CLI (the exact version of the crate), wasm-pack, and the npm
# tooling (binaryen's wasm-opt, Vite and playwright-core for the tests).
wasm-tools: setup
	@wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" || $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@wasm-pack --version 2>/dev/null | grep -qF "$(WASM_PACK_VERSION)" || $(CARGO) install --locked wasm-pack --version $(WASM_PACK_VERSION)
	@cd wasm && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

venv:
	@ls $(VENV)/lib/python3*/site-packages/torch/lib/libtorch_cpu.so >/dev/null 2>&1 || { \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --no-deps $(TORCH_PIP); }

trainer: setup venv
	$(TORCH_ENV) $(CARGO) build --release -q -p adasample-trainer

# Environments against Gymnasium fixtures, the replay path against the core,
# the binary end to end (dqn --quick, Ctrl-C, env replay, bad arguments); CPU.
test-trainer: trainer
	$(TORCH_ENV) $(CARGO) test --release -p adasample-trainer
	$(TORCH_ENV) $(CARGO) clippy --release -q -p adasample-trainer --all-targets -- -D warnings

# Re-records tests/envs/*.json from Gymnasium (needs PyPI).
env-fixtures: venv
	$(VENV)/bin/pip install -q gymnasium==1.2.2 numpy
	$(VENV)/bin/python tests/envs/record.py

# Prioritized replay side by side with cpprb, TorchRL, rand_distr, a textbook
# sum tree and a NumPy segment tree, one core, one workload (tests/perf/).
# Not part of `make test`: no timed assertions anywhere.
bench: setup npm
	python3 tests/perf/bench.py

# The trainer against a CleanRL-style PyTorch script of the same DQN
# (tests/perf/cleanrl_dqn.py), same configuration, one core each, one process
# at a time: env steps/s and their ratio, uniform and PER. The script's venv
# is the full PyTorch one (about 3 GB, shared with iwsft-golden) plus Gymnasium.
BENCH_STEPS ?= 100000
bench-trainer: trainer
	test -x .venv-golden/bin/python || (python3 -m venv .venv-golden && .venv-golden/bin/pip install -q torch==2.11.0 numpy)
	.venv-golden/bin/python -c "import gymnasium" 2>/dev/null || .venv-golden/bin/pip install -q gymnasium==1.2.2
	BENCH_STEPS=$(BENCH_STEPS) LIBTORCH_LIB=$(LIBTORCH)/lib python3 tests/perf/bench_trainer.py

# Golden values of the iw-SFT loss and GPT-2 forward (tests/iwsft/*.json), from
# an independent PyTorch script. `import torch` needs the wheel's CUDA
# dependencies (about 3 GB), so this uses its own venv, not the build's.
iwsft-golden:
	test -x .venv-golden/bin/python || (python3 -m venv .venv-golden && .venv-golden/bin/pip install -q torch==2.11.0 numpy)
	.venv-golden/bin/python tests/iwsft/golden.py

# tests/iwsft/tokenizer.json and the Python package's ids on it (PyPI `tokenizers`).
tokenizer-fixture:
	test -x .venv-fixtures/bin/python || (python3 -m venv .venv-fixtures && .venv-fixtures/bin/pip install -q tokenizers==0.23.3)
	.venv-fixtures/bin/python tests/iwsft/tokenizer.py

# Debian's Chromium and its driver, for the browser tests.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES); }

mpi:
	@dpkg -s $(MPI_PACKAGES) >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(MPI_PACKAGES); }

# Exact global sampling over 4 mpirun ranks (tests/mpi/run.sh says what is
# checked); the trainer with `--features mpi` (cached beside the default build).
test-mpi: trainer mpi
	$(TORCH_ENV) $(CARGO) build --release -q -p adasample-trainer --features mpi
	cp $(TRAINER) target/release/adasample-trainer-mpi
	$(TORCH_ENV) $(CARGO) clippy --release -q -p adasample-trainer --features mpi --all-targets -- -D warnings
	$(TORCH_ENV) $(CARGO) build --release -q -p adasample-trainer
	$(TORCH_ENV) bash tests/mpi/run.sh target/release/adasample-trainer-mpi

# Debian's qemu, for the Cortex-M4F firmware.
qemu:
	@command -v qemu-system-arm >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm; }

# The Cortex-M4F firmware (no allocator, Fixed<1024> storage) under qemu's
# mps2-an386 model; every printed index and weight is compared with the
# golden vectors bit for bit. Then the footprint probes, held to their budget.
embedded: setup qemu
	cd tests/embedded && $(CARGO) build --release -q
	cd tests/embedded && set -o pipefail && $(CARGO) run --release -q --bin adasample-firmware | python3 check.py
	cd tests/embedded && python3 footprint.py
	cd tests/embedded && $(CARGO) clippy --release -q -- -D warnings
	cd tests/embedded && $(CARGO) clippy --release -q --no-default-features --features reward,prior -- -D warnings

# The footprint table of README.md (flash and RAM for 256, 1024, 4096 slots,
# and what rank-based PER and the reward sampler add); fails over budget.
embedded-footprint: setup qemu
	cd tests/embedded && python3 footprint.py

# The npm package `adasample`, assembled in wasm/pkg/.
npm: wasm-tools
	cd wasm && wasm-pack --quiet build --target web --profile wasm-release --out-dir pkg-web --out-name adasample --mode no-install
	cd wasm && node js/build-package.mjs

# The demo site (Vite) over the package built from wasm/, into web/dist/.
web-deps: npm
	@cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

web: web-deps
	cd web && npx vite build --logLevel warn
	@echo "web/dist/ is built: open it through any static server (make web-dev for development)"

web-dev: web-deps
	cd web && npx vite --host 127.0.0.1

# Page logic with Vitest, then the built site in headless Chromium (every
# page, no console error, demos run to the end, screenshots in web/test-results/).
test-web: web-deps browser
	cd web && npx vitest run
	cd web && node --test tests/e2e.test.mjs

# Unit, doc, property, statistical, drift, bad-input, snapshot and golden tests.
test-core:
	$(CARGO) test -p adasample --all-features
	# Every level of the sum trees stored (the embedded build's layout): the same sums.
	$(CARGO) test -p adasample --no-default-features --features alloc,rank,prior,serde
	$(CARGO) test -p adasample --no-default-features --features alloc --test no_rank

# The wasm32 build in Node and in headless Chromium (golden vectors, errors),
# then the installed package from outside, as a user: contract, distributions,
# errors, golden vectors, and a Vite app (build and dev server) in Chromium.
test-wasm: npm browser
	cd wasm && wasm-pack test --node --mode no-install
	cd wasm && WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome --mode no-install
	cd wasm && node --test js/test/*.test.mjs

# The core builds without an allocator for a Cortex-M4F and for wasm32, in
# every feature combination that makes sense there.
# The core's golden test compiled to wasm32 (WASI) and run in Node: every
# vector of tests/golden/, the n-step and row vector included, bit for bit.
golden-wasm32: setup
	CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $(CURDIR)/tests/wasm32/wasi-run.mjs" \
	  $(CARGO) test -p adasample --all-features --target wasm32-wasip1 --test golden

# Formatting, as rustfmt.toml says, in both cargo workspaces.
fmt:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	$(CARGO) fmt --all -- --check
	cd tests/embedded && $(CARGO) fmt -- --check

# The crate as crates.io would get it: packaged, unpacked outside the
# workspace with this Cargo.lock, then built and tested on its own.
PACKAGE_DIR := $(CURDIR)/target/package-test
package:
	$(CARGO) package -p adasample --allow-dirty -q
	rm -rf $(PACKAGE_DIR)/src && mkdir -p $(PACKAGE_DIR)/src
	tar xzf target/package/adasample-$$(sed -n 's/^version = "\(.*\)"/\1/p' core/Cargo.toml | head -1).crate -C $(PACKAGE_DIR)/src
	cp Cargo.lock $(PACKAGE_DIR)/src/adasample-*/
	cd $(PACKAGE_DIR)/src/adasample-* && CARGO_TARGET_DIR=$(PACKAGE_DIR)/target $(CARGO) test -q --all-features

# The declared minimum Rust version of the core, built with that toolchain.
MSRV := $(shell sed -n 's/^rust-version = "\(.*\)"/\1/p' core/Cargo.toml)
msrv:
	@rustup toolchain list | grep -q "^$(MSRV)" || rustup toolchain install $(MSRV) --profile minimal
	$(CARGO) +$(MSRV) build -q -p adasample --all-features
	$(CARGO) +$(MSRV) build -q -p adasample --no-default-features

check-no-std:
	$(CARGO) build -p adasample --no-default-features --target thumbv7em-none-eabihf
	$(CARGO) build -p adasample --no-default-features --features alloc --target thumbv7em-none-eabihf
	$(CARGO) build -p adasample --no-default-features --target wasm32-unknown-unknown
	$(CARGO) build -p adasample --all-features --target wasm32-unknown-unknown

# Library code: no unwrap, expect or panic. Tests and examples: plain warnings.
clippy:
	$(CARGO) clippy -p adasample --lib --all-features -- $(CLIPPY_LIB_FLAGS)
	$(CARGO) clippy -p adasample-wasm --lib --target wasm32-unknown-unknown -- $(CLIPPY_LIB_FLAGS)
	$(CARGO) clippy -p adasample --lib --no-default-features --target thumbv7em-none-eabihf -- $(CLIPPY_LIB_FLAGS)
	$(CARGO) clippy -p adasample --all-targets --all-features -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p adasample --all-features --no-deps -q

# The fuzz targets of core/tests/fuzz.rs (every snapshot decoder and every
# sampler API, arbitrary f64 bit patterns and sizes, mutated snapshots with
# valid checksums), in release, FUZZ_SECONDS each (default 60). `make test`
# runs the same targets for 1 s each.
fuzz:
	ADASAMPLE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --release -p adasample --all-features --test fuzz -- --nocapture --test-threads 1

# The rank order's worst case: adversarial vs random priority orders, 10^5
# inserts and re-keyings; prints the ratios (a benchmark, never a test).
bench-rank:
	$(CARGO) bench -p adasample --bench rank

# The 10^8-update drift test (a few minutes in release).
drift-1e8:
	$(CARGO) test --release -p adasample --test drift -- --ignored

# Regenerate tests/golden/ after a deliberate change of outputs (all targets together).
golden-bless:
	ADASAMPLE_BLESS=1 $(CARGO) test -p adasample --all-features --test golden
