# AOT runtime tests (owned with aot-loader/ and tools/aot-run/): the host runner `aot-run`
# (x86_64 native; aarch64 static musl run under qemu-aarch64) against WAMR iwasm's recorded
# results for every corpus test, both processors, both bounds-check modes. See
# docs/aot-loader.md, "Runtime".
AOT_RUN_TARGET := aarch64-unknown-linux-musl
AOT_RUN_X86    := $(TOP)/target/release/aot-run
AOT_RUN_A64    := $(TOP)/target/$(AOT_RUN_TARGET)/release/aot-run
AOT_TEST_JOBS  ?= 2

.PHONY: aot-run aot-test
EXTRA_TESTS += aot-test

aot-run: FORCE | $(SETUP_STAMP)
	$(CARGO) build --release -p tzwasm-aot-run
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release -p tzwasm-aot-run --target $(AOT_RUN_TARGET)

aot-test: aot-run corpus-expected
	AOT_TEST_JOBS=$(AOT_TEST_JOBS) tools/aot-run/aot-test.sh $(AOT_RUN_X86) $(AOT_RUN_A64)
