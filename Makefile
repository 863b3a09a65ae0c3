# The recipes CI uses. `make ci` is what .ci/run runs.
CARGO ?= cargo

.PHONY: ci fmt clippy test test-slow bench bench-stf bench-channels fuzz-smoke

ci: fmt clippy test

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The README's test command.
test:
	$(CARGO) test --workspace --release

# Long simulations and sweeps, kept out of the default run.
test-slow:
	$(CARGO) test --workspace --release -- --ignored

bench:
	$(CARGO) bench -p terrace-l1 -p terrace-l2

bench-stf:
	$(CARGO) run --release -p terrace-cli -- bench stf

# Terrace's channel state machine against LDK 0.2.7, same machine, same
# run; prints payments/s of both and the ratio. Its own workspace (LDK
# takes minutes to build and stays out of CI).
bench-channels:
	cd bench/channels && $(CARGO) bench

# A short libFuzzer run of every target (needs cargo-fuzz; stable toolchain
# with RUSTC_BOOTSTRAP=1 for the sanitizer flags).
FUZZ_SECONDS ?= 60
fuzz-smoke:
	cd fuzz && for t in $$(RUSTC_BOOTSTRAP=1 $(CARGO) fuzz list); do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
