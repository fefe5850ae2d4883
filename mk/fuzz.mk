# Fuzzing (owned with tools/difffuzz/ and aot-loader/fuzz/). See docs/conformance.md, "Fuzzing".
#   make difffuzz     random wasm-smith modules through wamrc, iwasm vs tzwasm's AOT runtime
#   make loader-fuzz  libFuzzer (cargo fuzz) over aot-loader's whole load path
#   make call-fuzz    the call layer: random SMC call sequences through the firmware's dispatcher
#                     and session machine with a fake platform (a release-mode host test)
# `make test` runs a short, fixed-seed run of each (EXTRA_TESTS).
FUZZ_SETUP_STAMP := $(CACHE)/setup-fuzz.stamp

.PHONY: setup-fuzz difffuzz difffuzz-bin difffuzz-smoke loader-fuzz loader-fuzz-build \
        loader-fuzz-seeds loader-fuzz-smoke call-fuzz call-fuzz-smoke
EXTRA_TESTS += difffuzz-smoke loader-fuzz-smoke call-fuzz-smoke

setup-fuzz: $(FUZZ_SETUP_STAMP)
$(FUZZ_SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh fuzz
	@mkdir -p $(CACHE) && touch $@

# ---- differential fuzzing ------------------------------------------------------------------------
# Module i of seed S is a pure function of (S, i): `make difffuzz DIFFFUZZ_SEED=S
# DIFFFUZZ_START=i DIFFFUZZ_N=1 DIFFFUZZ_ARGS=-v` shows one again. Mismatches are saved under
# build/difffuzz/<arch>/failures/.
DIFFFUZZ_BIN   := $(TOP)/target/release/tzwasm-difffuzz
# x86_64: tzwasm runs in the fuzzer's process; aarch64: both iwasm and tzwasm's aot-run
# (aarch64-unknown-linux-musl) run under qemu-aarch64 (about 10x slower).
DIFFFUZZ_ARCH  ?= x86_64
DIFFFUZZ_IWASM := $(WAMR_BUILD)/iwasm-$(DIFFFUZZ_ARCH)
DIFFFUZZ_N     ?= 1000
DIFFFUZZ_SEED  ?= 1
DIFFFUZZ_START ?= 0
DIFFFUZZ_JOBS  ?= 2
# Extra flags, e.g. --fuel 5000, --timeout 300, -v.
DIFFFUZZ_ARGS  ?=
# The CI run: a fixed seed, so `make test` is deterministic.
DIFFFUZZ_SMOKE_N    ?= 200
DIFFFUZZ_SMOKE_SEED ?= 20261123

difffuzz-bin: FORCE | $(SETUP_STAMP)
	$(CARGO) build --release -p tzwasm-difffuzz

difffuzz: difffuzz-bin $(WAMRC) $(DIFFFUZZ_IWASM) $(if $(filter aarch64,$(DIFFFUZZ_ARCH)),aot-run)
	$(DIFFFUZZ_BIN) -n $(DIFFFUZZ_N) --seed $(DIFFFUZZ_SEED) --start $(DIFFFUZZ_START) \
		--jobs $(DIFFFUZZ_JOBS) --wamrc $(WAMRC) --arch $(DIFFFUZZ_ARCH) \
		--iwasm $(DIFFFUZZ_IWASM) --aot-run $(AOT_RUN_A64) \
		--work $(BUILD)/difffuzz/$(DIFFFUZZ_ARCH) $(DIFFFUZZ_ARGS)

difffuzz-smoke:
	$(MAKE) --no-print-directory difffuzz DIFFFUZZ_N=$(DIFFFUZZ_SMOKE_N) \
		DIFFFUZZ_SEED=$(DIFFFUZZ_SMOKE_SEED) DIFFFUZZ_START=0 DIFFFUZZ_ARCH=x86_64

# ---- loader fuzzing ------------------------------------------------------------------------------
# cargo fuzz on the stable toolchain: RUSTC_BOOTSTRAP=1 lets it pass -Zsanitizer=address (the
# ASan runtime ships with stable's rust-std), so no nightly toolchain is needed.
# LOADER_FUZZ_TIME bounds the run in seconds, LOADER_FUZZ_RUNS in executions (-1 = no bound);
# the corpus grows in build/fuzz/loader/corpus across runs; crashes land in
# build/fuzz/loader/artifacts/ (then: save the input under aot-loader/tests/fuzz-regressions/).
LOADER_FUZZ_DIR    := $(TOP)/aot-loader/fuzz
LOADER_FUZZ_TARGET := $(TOP)/target/loader-fuzz
LOADER_FUZZ_BIN    := $(LOADER_FUZZ_TARGET)/x86_64-unknown-linux-gnu/release/load
LOADER_FUZZ_WORK   := $(BUILD)/fuzz/loader
LOADER_FUZZ_TIME   ?= 600
LOADER_FUZZ_RUNS   ?= -1
LOADER_FUZZ_ARGS   ?=
LOADER_FUZZ_SMOKE_TIME ?= 30
LOADER_FUZZ_FLAGS := -max_len=262144 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
                     -artifact_prefix=$(LOADER_FUZZ_WORK)/artifacts/
LOADER_FUZZ_CORPUS_DIRS := x86_64-bc0 x86_64-bc1 aarch64-bc0 aarch64-bc1 aarch64-large

loader-fuzz-build: | $(FUZZ_SETUP_STAMP)
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build -O --fuzz-dir $(LOADER_FUZZ_DIR) \
		--target-dir $(LOADER_FUZZ_TARGET) load

# Seeds: every real AOT file the build made (both processors, every corpus variant), the
# loader's committed fixtures and the saved regressions.
loader-fuzz-seeds: corpus
	rm -rf $(LOADER_FUZZ_WORK)/seeds && mkdir -p $(LOADER_FUZZ_WORK)/seeds
	for v in $(LOADER_FUZZ_CORPUS_DIRS); do for f in $(CORPUS)/$$v/*.aot; do \
		cp $$f $(LOADER_FUZZ_WORK)/seeds/$$v-$$(basename $$f); done; done
	cp $(TOP)/aot-loader/tests/data/*.aot $(LOADER_FUZZ_WORK)/seeds/
	cp $(TOP)/aot-loader/tests/fuzz-regressions/*.aot $(LOADER_FUZZ_WORK)/seeds/ 2>/dev/null || true

loader-fuzz: loader-fuzz-build loader-fuzz-seeds
	mkdir -p $(LOADER_FUZZ_WORK)/corpus $(LOADER_FUZZ_WORK)/artifacts
	nice -n 10 $(LOADER_FUZZ_BIN) $(LOADER_FUZZ_FLAGS) -max_total_time=$(LOADER_FUZZ_TIME) \
		-runs=$(LOADER_FUZZ_RUNS) $(LOADER_FUZZ_ARGS) \
		$(LOADER_FUZZ_WORK)/corpus $(LOADER_FUZZ_WORK)/seeds

# The CI run: a fresh corpus from the seeds, a fixed libFuzzer seed, LOADER_FUZZ_SMOKE_TIME s.
loader-fuzz-smoke: loader-fuzz-build loader-fuzz-seeds
	rm -rf $(LOADER_FUZZ_WORK)/smoke && mkdir -p $(LOADER_FUZZ_WORK)/smoke $(LOADER_FUZZ_WORK)/artifacts
	$(LOADER_FUZZ_BIN) $(LOADER_FUZZ_FLAGS) -seed=1 -max_total_time=$(LOADER_FUZZ_SMOKE_TIME) \
		$(LOADER_FUZZ_WORK)/smoke $(LOADER_FUZZ_WORK)/seeds

# ---- call-layer fuzzing --------------------------------------------------------------------------
# firmware/src/sessions/fuzz.rs: CALL_FUZZ_EXECS call sequences (1 to 24 calls each, well-formed
# and hostile registers, live, stale and foreign handles) from seed CALL_FUZZ_SEED through
# `dispatch` and the session Machine with a fake engine; invariants after every call, an empty
# machine after every sequence. It prints how many executions and calls it did. The smoke run
# (10^6 sequences, about 3 s after a 30 s release build) is the CI one.
CALL_FUZZ_EXECS       ?= 10000000
CALL_FUZZ_SEED        ?= 1
CALL_FUZZ_SMOKE_EXECS ?= 1000000

call-fuzz: | $(SETUP_STAMP)
	TZWASM_CALL_FUZZ_EXECS=$(CALL_FUZZ_EXECS) TZWASM_CALL_FUZZ_SEED=$(CALL_FUZZ_SEED) \
		$(CARGO) test --release -p tzwasm-firmware --lib sessions::fuzz -- --nocapture

call-fuzz-smoke:
	$(MAKE) --no-print-directory call-fuzz CALL_FUZZ_EXECS=$(CALL_FUZZ_SMOKE_EXECS) CALL_FUZZ_SEED=1
