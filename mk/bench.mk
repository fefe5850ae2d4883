# Benchmarks (owned with bench/): `make bench` measures tzwasm against native code and WAMR's
# iwasm in one headless Linux boot (plus one bare-metal boot for the world-switch figure) and
# writes docs/benchmarks.md and docs/benchmarks.json; `make bench-smoke` runs the same harness
# once on tiny inputs (part of `make test`) and writes only under build/bench/smoke.
# See bench/README.md.
BENCH_OUT    := $(BUILD)/bench
BENCH_C      := intmix matmul sha256 qsort nbody stream strfmt interp
BENCH_ALL    := $(BENCH_C) rsmix hello
BENCH_NATIVE := $(addprefix $(BENCH_OUT)/native/,$(BENCH_ALL))
BENCH_AOT    := $(foreach v,hw sw,$(addprefix $(BENCH_OUT)/$(v)/,$(addsuffix .aot,$(BENCH_ALL))))
BENCH_NATIVE_CFLAGS := -O2 -static -ffp-contract=off -Wall -Wextra
BENCH_HELPER := $(BENCH_OUT)/cargo/$(TOOL_TARGET)/release/tzbench
BENCH_RUST   := $(BENCH_OUT)/cargo/rsmix
BENCH_BIG    := $(BENCH_OUT)/big1m.aot $(BENCH_OUT)/big4m.aot
# The LOAD figures' modules are qemu-test's (mk/qemu.mk: about 1 MiB and 4 MiB).
# WAMR's iwasm for Linux userspace in the guest: the same driver and sources as mk/wamr.mk,
# linked statically (the initramfs has no libc); hardware and software bounds checks.
BENCH_IWASM  := $(BENCH_OUT)/iwasm-hw $(BENCH_OUT)/iwasm-sw
bench_iwasm_hw :=
bench_iwasm_sw := -DWAMR_DISABLE_HW_BOUND_CHECK=1
BENCH_INPUTS := $(BENCH_NATIVE) $(BENCH_AOT) $(BENCH_HELPER) $(BENCH_BIG) $(BENCH_IWASM) $(QEMU_W10)
BENCH_RUN    := python3 bench/run-bench.py --bench-dir $(BENCH_OUT) --flash-linux $(FLASH_LINUX) \
	--initramfs $(INITRAMFS) --flash-baremetal $(FLASH) --bl32 $(BL32_BIN) --bl32-elf $(FW_ELF) \
	--bl32-no-attestation $(BL32_NOATT_BIN) --write10mib $(QEMU_W10)

.PHONY: bench bench-smoke bench-inputs bench-helper
EXTRA_TESTS += bench-smoke

bench: linux-image $(FLASH) $(BL32_NOATT_BIN) bench-inputs
	$(BENCH_RUN) --mode full --reps $(or $(BENCH_REPS),5) --md docs/benchmarks.md --json docs/benchmarks.json

bench-smoke: linux-image $(FLASH) $(BL32_NOATT_BIN) bench-inputs
	$(BENCH_RUN) --mode smoke --reps 1

bench-inputs: bench-helper
	$(MAKE) --no-print-directory $(BENCH_INPUTS)

$(BENCH_OUT)/native/%: bench/c/%.c bench/c/bench.h
	@mkdir -p $(@D)
	$(CROSS_COMPILE)gcc $(BENCH_NATIVE_CFLAGS) -o $@ $< -lm
$(BENCH_OUT)/native/hello: guests/c/hello.c
	@mkdir -p $(@D)
	$(CROSS_COMPILE)gcc $(BENCH_NATIVE_CFLAGS) -o $@ $<
$(BENCH_OUT)/wasm/%.wasm: bench/c/%.c bench/c/bench.h | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	$(WASI_CC) -O2 -Wall -Wextra -o $@ $<
$(BENCH_OUT)/wasm/hello.wasm: guests/c/hello.c | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	$(WASI_CC) -O2 -o $@ $<

# The Rust workload, for wasm32-wasip1 and as a static aarch64 Linux program.
$(BENCH_RUST).stamp: bench/rust/Cargo.toml bench/rust/Cargo.lock bench/rust/src/main.rs | $(WAMR_SETUP_STAMP)
	@mkdir -p $(BENCH_OUT)/wasm $(BENCH_OUT)/native
	$(CARGO) build --release --manifest-path bench/rust/Cargo.toml --target-dir $(BENCH_OUT)/cargo \
		--target wasm32-wasip1
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release --manifest-path bench/rust/Cargo.toml --target-dir $(BENCH_OUT)/cargo \
		--target $(TOOL_TARGET)
	cp $(BENCH_OUT)/cargo/wasm32-wasip1/release/rsmix.wasm $(BENCH_OUT)/wasm/rsmix.wasm
	cp $(BENCH_OUT)/cargo/$(TOOL_TARGET)/release/rsmix $(BENCH_OUT)/native/rsmix
	touch $@
$(BENCH_OUT)/native/rsmix $(BENCH_OUT)/wasm/rsmix.wasm: $(BENCH_RUST).stamp
	@test -f $@

$(BENCH_OUT)/hw/%.aot: $(BENCH_OUT)/wasm/%.wasm $(WAMRC)
	@mkdir -p $(@D)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=0 -o $@ $< >/dev/null
$(BENCH_OUT)/sw/%.aot: $(BENCH_OUT)/wasm/%.wasm $(WAMRC)
	@mkdir -p $(@D)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=1 -o $@ $< >/dev/null
.SECONDARY: $(addprefix $(BENCH_OUT)/wasm/,$(addsuffix .wasm,$(BENCH_ALL)))

$(BENCH_OUT)/big%.aot: $(BUILD)/qemu-guests/big%.aot
	@mkdir -p $(@D)
	cp $< $@

$(BENCH_OUT)/iwasm-%: $(IWASM_SRCS) $(WAMR_ROOT_STAMP)
	$(CMAKE_LOCKED) -S $(WAMR_TOOLS)/iwasm-driver -B $(BENCH_OUT)/iwasm-$*-build -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DWAMR_ROOT=$(WAMR_ROOT) $(iwasm_cmake_aarch64) \
		$(bench_iwasm_$*) -DCMAKE_EXE_LINKER_FLAGS=-static \
		> $(BENCH_OUT)/iwasm-$*-cmake.log || { cat $(BENCH_OUT)/iwasm-$*-cmake.log; exit 1; }
	ninja -C $(BENCH_OUT)/iwasm-$*-build -j$(NINJA_JOBS) iwasm
	$(CROSS_COMPILE)strip -o $@ $(BENCH_OUT)/iwasm-$*-build/iwasm

# The in-guest timing helper (bench/helper): static musl, like the tool.
bench-helper: | $(LINUX_SETUP_STAMP)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release --manifest-path bench/helper/Cargo.toml \
		--target-dir $(BENCH_OUT)/cargo --target $(TOOL_TARGET)
