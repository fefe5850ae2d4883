# Booting the stack on QEMU: interactive (qemu-run) and headless system tests (qemu-test).
QEMU_OUT := $(BUILD)/qemu-test

.PHONY: qemu-run-baremetal qemu-test mmu-qemu-test
# `make qemu-run` boots Linux (mk/linux.mk); this is the bare-metal test client's boot.
qemu-run-baremetal: $(FLASH_TEST)
	qemu/boot.sh run $(FLASH_TEST)

# Real wamrc modules from the corpus, LOADed and RUN through the protocol by the client (and
# the first also by TEST_RUN), with iwasm's recorded outputs to compare against.
CORPUS_A64    := $(BUILD)/corpus/aarch64-bc1
CORPUS_EXPECT := $(BUILD)/corpus/expected/aarch64-bc1
QEMU_TEST_PRELOAD := $(CORPUS_A64)/c-hello.aot $(CORPUS_A64)/c-large_output.aot \
	$(CORPUS_EXPECT)/c-large-output/stdout $(CORPUS_EXPECT)/c-large-output/stderr \
	$(CORPUS_EXPECT)/c-hello/stdout

# Every WASI-command test of the aarch64 corpus (both bounds-check modes) with iwasm's results,
# packed for the client's protocol runs (qemu/make-bundle.py; skips in qemu/bundle-skip.txt).
QEMU_BUNDLE := $(BUILD)/corpus-bundle.bin
.PHONY: corpus-bundle
corpus-bundle: corpus-expected
	python3 qemu/make-bundle.py guests/manifest.txt $(BUILD)/corpus $(BUILD)/corpus/expected \
		$(QEMU_BUNDLE) qemu/bundle-skip.txt

# A module that writes 10 MiB to stdout (qemu/guests/write10mib.wat), for the ring test.
QEMU_W10 := $(BUILD)/qemu-guests/write10mib.aot
$(QEMU_W10): qemu/guests/write10mib.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# A module that spins forever (qemu/guests/spin.wat), for the preemption checks.
QEMU_SPIN := $(BUILD)/qemu-guests/spin-forever.aot
$(QEMU_SPIN): qemu/guests/spin.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# A CPU-bound module that waits for N CPUs running modules at once (qemu/guests/parallel.wat),
# for the -smp 4 parallel-run check.
QEMU_PAR := $(BUILD)/qemu-guests/parallel.aot
$(QEMU_PAR): qemu/guests/parallel.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# A 1,000,000-slot funcref table and a table.copy over it (qemu/guests/big-table.wat), for the
# client's check of issue 11's reproduced pool exhaustion (not in the corpus: it needs more
# than the Linux tool's default 8 MiB heap).
QEMU_BIGTABLE := $(BUILD)/qemu-guests/big-table.aot
$(QEMU_BIGTABLE): qemu/guests/big-table.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# Modules of about 1 MiB and 4 MiB (qemu/guests/gen-big.py N 50), for the load-vs-hash figure
# and the bounded-latency check here, and for make bench's LOAD figures (mk/bench.mk copies
# them): gen-big.py functions per module, ~970 bytes of .aot each, so about 1 MiB, and the
# largest module that fits the Linux driver's 4 MiB of shared memory with its LOAD report.
# Compiled once: wamrc takes about 100 s for the larger one.
BIG_FUNCS_1m := 1081
BIG_FUNCS_4m := 4235
QEMU_BIG := $(BUILD)/qemu-guests/big1m.aot
QEMU_BIG4 := $(BUILD)/qemu-guests/big4m.aot
$(BUILD)/qemu-guests/big%.aot: qemu/guests/gen-big.py $(WAMRC)
	@mkdir -p $(dir $@)
	python3 $< $(BIG_FUNCS_$*) 50 > $(@:.aot=.wat)
	wat2wasm $(@:.aot=.wat) -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null
	rm -f $(@:.aot=.wat)

# The bounded-latency check: a module that asks random_get for 12 MiB at once
# (qemu/guests/random12.wat), and a module of about 4 MiB (qemu/guests/gen-big.py) to LOAD.
QEMU_RAND := $(BUILD)/qemu-guests/random12.aot
$(QEMU_RAND): qemu/guests/random12.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# Hand-made hostile modules and their bundle (tools/hostile-aot), for the hostile checks.
QEMU_HOSTILE := $(BUILD)/hostile-aot/hostile-bundle.bin
.PHONY: hostile-aot
hostile-aot $(QEMU_HOSTILE): FORCE | $(SETUP_STAMP)
	$(CARGO) run --release -q -p tzwasm-hostile-aot -- $(BUILD)/hostile-aot

# The stdin checks' module (guests/stdin/cat.c, built by mk/linux.mk).
QEMU_STDIN_CAT := $(BUILD)/linux/guests/stdin-cat.aot

qemu-test: $(QEMU_HOSTILE) $(FLASH_TEST) $(FLASH) $(FLASH_NOATT) mmu-qemu-test corpus-bundle $(QEMU_W10) $(QEMU_SPIN) $(QEMU_BIG) $(QEMU_PAR) $(QEMU_BIGTABLE) $(QEMU_RAND) $(QEMU_BIG4) $(QEMU_STDIN_CAT)
	TZWASM_TEST_PRELOAD="$(QEMU_TEST_PRELOAD) $(QEMU_W10) $(QEMU_SPIN)" TZWASM_TEST_BUNDLE=$(QEMU_BUNDLE) \
	TZWASM_TEST_STDIN=$(QEMU_STDIN_CAT) \
	TZWASM_TEST_BIG=$(QEMU_BIG) TZWASM_TEST_PARALLEL=$(QEMU_PAR) TZWASM_TEST_BIGTABLE=$(QEMU_BIGTABLE) \
	TZWASM_TEST_BIG4=$(QEMU_BIG4) TZWASM_TEST_RANDOM=$(QEMU_RAND) \
	TZWASM_TEST_HOSTILE=$(QEMU_HOSTILE) \
	TZWASM_TEST_AOT_EXPECT="[module stdout] Hello from wasm32-wasi! argc=1" \
		qemu/system-test.sh $(FLASH_TEST) $(QEMU_OUT) $(FLASH) $(FLASH_NOATT)

# The crash check every QEMU suite shares (qemu/secure-log-check.sh), against recorded secure
# console logs: TF-A's power-off panic after "system off" is not a crash, everything else is.
.PHONY: secure-log-check-test
EXTRA_TESTS += secure-log-check-test
secure-log-check-test:
	qemu/tests/secure-log-check-test.sh
