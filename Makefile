# adasample: `make demo` runs the main demo, `make test` runs every test.
# Both install what they need (rustup targets, components) idempotently.

SHELL := /bin/bash
CARGO ?= cargo
NO_STD_TARGETS := thumbv7em-none-eabihf wasm32-unknown-unknown
CLIPPY_LIB_FLAGS := -D warnings -D clippy::unwrap_used -D clippy::expect_used -D clippy::panic

.PHONY: demo test setup test-core check-no-std clippy doc drift-1e8 golden-bless

demo: setup
	$(CARGO) run --release -q -p adasample --example per_session --features serde

test: setup test-core check-no-std clippy doc
	@echo "make test: all suites passed"

setup:
	@installed="$$(rustup target list --installed)"; \
	for t in $(NO_STD_TARGETS); do \
	  grep -qx "$$t" <<<"$$installed" || rustup target add "$$t"; \
	done
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

# Unit, doc, property, statistical, drift, bad-input, snapshot and golden tests.
test-core:
	$(CARGO) test --workspace --all-features

# The core builds without an allocator for a Cortex-M4F and for wasm32, in
# every feature combination that makes sense there.
check-no-std:
	$(CARGO) build -p adasample --no-default-features --target thumbv7em-none-eabihf
	$(CARGO) build -p adasample --no-default-features --features alloc --target thumbv7em-none-eabihf
	$(CARGO) build -p adasample --no-default-features --target wasm32-unknown-unknown
	$(CARGO) build -p adasample --all-features --target wasm32-unknown-unknown

# Library code: no unwrap, expect or panic. Tests and examples: plain warnings.
clippy:
	$(CARGO) clippy -p adasample --lib --all-features -- $(CLIPPY_LIB_FLAGS)
	$(CARGO) clippy -p adasample --lib --no-default-features --target thumbv7em-none-eabihf -- $(CLIPPY_LIB_FLAGS)
	$(CARGO) clippy -p adasample --all-targets --all-features -- -D warnings

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p adasample --all-features --no-deps -q

# The 10^8-update drift test (a few minutes in release).
drift-1e8:
	$(CARGO) test --release -p adasample --test drift -- --ignored

# Regenerate tests/golden/ after a deliberate change of outputs (all targets together).
golden-bless:
	ADASAMPLE_BLESS=1 $(CARGO) test -p adasample --all-features --test golden
