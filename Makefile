# tzwasm top-level Makefile. `make test` and `make qemu-run` install what is missing, build
# everything and run. Fragments under mk/ own one area each.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOP    := $(CURDIR)
CACHE  := $(TOP)/.cache
BUILD  := $(TOP)/build
CARGO  ?= cargo
AARCH64_NONE := aarch64-unknown-none-softfloat
CROSS_COMPILE ?= aarch64-linux-gnu-

# Secure-world log level, chosen at build time: error|warn|info|debug|trace.
TZWASM_LOG ?= info
export TZWASM_LOG

include mk/setup.mk
include mk/rust.mk
include mk/device.mk
include mk/tfa.mk
include mk/qemu.mk
-include mk/wamr.mk
-include mk/files.mk
-include mk/aot.mk
-include mk/spec.mk
-include mk/fuzz.mk
include mk/linux.mk
-include mk/bench.mk

.PHONY: help build test clean
help:
	@echo "tzwasm make targets:"
	@echo "  make qemu-run    install what is missing, build everything, boot TF-A + tzwasm + Linux with a shell"
	@echo "  make linux-test  the same Linux image headless: end-to-end cases through tzwasm.ko and the tool"
	@echo "  make qemu-run-baremetal  boot TF-A + tzwasm + the bare-metal test client"
	@echo "  make test        fmt + clippy (host and aarch64) + host unit tests + QEMU system tests"
	@echo "  make qemu-test   boot TF-A + tzwasm + bare-metal test client headless, check results"
	@echo "  make size        print the BL32 image size by section"
	@echo "  make aot-test    AOT runtime vs WAMR iwasm on the guest corpus (x86_64 + aarch64, both bounds-check modes)"
	@echo "  make difffuzz    random modules, iwasm vs the AOT runtime (DIFFFUZZ_N=, DIFFFUZZ_SEED=)"
	@echo "  make loader-fuzz cargo fuzz over the AOT loader (LOADER_FUZZ_TIME= s, LOADER_FUZZ_RUNS=)"
	@echo "  make bench       tzwasm vs native and iwasm in one QEMU boot -> docs/benchmarks.md (not in make test)"
	@echo "  make setup       only install prerequisites (apt, rustup targets, TF-A source)"

build: firmware test-client flash

test: lint unit-test qemu-test $(EXTRA_TESTS)
	@echo "make test: all layers passed"

clean:
	rm -rf $(BUILD)
	$(CARGO) clean
