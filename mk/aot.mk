# AOT runtime tests (owned with aot-loader/ and tools/aot-run/): the host runner `aot-run`
# (x86_64 native; aarch64 static musl run under qemu-aarch64) against WAMR iwasm's recorded
# results for every corpus test, both processors, both bounds-check modes. See
# docs/aot-loader.md, "Runtime".
AOT_RUN_TARGET := aarch64-unknown-linux-musl
AOT_RUN_X86    := $(TOP)/target/release/aot-run
AOT_RUN_A64    := $(TOP)/target/$(AOT_RUN_TARGET)/release/aot-run
AOT_TEST_JOBS  ?= 2

.PHONY: aot-run aot-test aot-test-aarch64 aot-test-corpus
EXTRA_TESTS += aot-test

aot-run: FORCE | $(SETUP_STAMP)
	$(CARGO) build --release -p tzwasm-aot-run
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release -p tzwasm-aot-run --target $(AOT_RUN_TARGET)

aot-test: aot-run corpus-expected aot-test-aarch64 aot-test-corpus
	AOT_TEST_JOBS=$(AOT_TEST_JOBS) tools/aot-run/aot-test.sh $(AOT_RUN_X86) $(AOT_RUN_A64)

# The runtime tests that execute real code, cross-built and run under qemu-aarch64 (the host
# `make unit-test` runs them on x86_64).
aot-test-aarch64: | $(SETUP_STAMP)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64 \
		$(CARGO) test --target $(AOT_RUN_TARGET) -p tzwasm-aot-run --test runtime \
		-p tzwasm-aot-loader --test exec_native

# The loader's own tests over every real corpus file (parse, relocate, truncation, mutation),
# which `make unit-test` skips on a fresh clone because the corpus does not exist yet.
aot-test-corpus: corpus | $(SETUP_STAMP)
	TZWASM_REQUIRE_CORPUS=1 $(CARGO) test --release -p tzwasm-aot-loader --test corpus
