# The Linux normal world (owned with normal-world/linux, normal-world/tool, qemu/linux): Debian's
# arm64 kernel behind TF-A, tzwasm.ko, the tzwasm tool, an initramfs with busybox, and the
# boots: `make qemu-run` (interactive shell), `make linux-test` (end-to-end cases), and
# qemu/tzwasm-qemu (one module, headless). See docs/linux.md.
LINUX_SETUP_STAMP := $(CACHE)/setup-linux.stamp
# scripts/setup.sh linux unpacks the current Debian arm64 kernel here (a symlink to its version).
LINUX_ROOT  := $(CACHE)/linux/current/root
LINUX_OUT   := $(BUILD)/linux
LINUX_KO    := $(LINUX_OUT)/tzwasm.ko
TOOL_TARGET := aarch64-unknown-linux-musl
TOOL_BIN    := $(TOP)/target/$(TOOL_TARGET)/release/tzwasm
INITRAMFS   := $(LINUX_OUT)/initramfs.cpio.gz
FLASH_LINUX := $(BUILD)/flash-linux.bin

# Normal-world memory layout of a Linux boot (RAM is 0x40000000..0x80000000 with -m 1024; QEMU's
# own DTB stays at 0x40000000). BL2 hands Linux (BL33, preloaded by QEMU) the DTB address in x0.
LINUX_DTB_ADDR    := 0x44000000
LINUX_INITRD_ADDR := 0x48000000
LINUX_KERNEL_ADDR := 0x60000000
export LINUX_DTB_ADDR LINUX_INITRD_ADDR LINUX_KERNEL_ADDR

# TF-A again, for Linux as BL33: a second build in its own directory (the bare-metal one in
# mk/tfa.mk is untouched), same flags plus the preloaded kernel and DTB addresses.
TFA_LINUX_BUILD := $(CACHE)/tf-a-linux-build
TFA_LINUX_OUT   := $(TFA_LINUX_BUILD)/qemu/release
TFA_LINUX_STAMP := $(TFA_LINUX_BUILD)/tfa.stamp
TFA_LINUX_FLAGS := $(filter-out BUILD_BASE=%,$(TFA_FLAGS)) BUILD_BASE=$(TFA_LINUX_BUILD) \
	ARM_LINUX_KERNEL_AS_BL33=1 PRELOADED_BL33_BASE=$(LINUX_KERNEL_ADDR) \
	ARM_PRELOADED_DTB_BASE=$(LINUX_DTB_ADDR)

# Example and test modules put into the initramfs: the whole aarch64 corpus (hardware bounds
# checks) with iwasm's expected results, the 10 MiB writer, an endless loop and a finite one,
# the two modules of issue 11's reproduced cases (an export taking an externref, a
# 1,000,000-slot table.copy), and the hand-made modules of tools/hostile-aot's linux.rs (the
# isolation victim, one attacker per victim address with its .patch list, many symbols).
LINUX_GUESTS := $(addprefix $(BUILD)/linux/guests/,spin.aot busy.aot externref-arg.aot \
	table-copy-1m.aot tee-selftest.aot tee-demo.aot tee-demo-bc1.aot tee-provision.aot \
	tee-provision-bc1.aot stdin-cat.aot stdin-repl.aot stdin-head1.aot stdin-pollin.aot \
	sealed-counter.aot sealed-counter-bc1.aot deep.aot deep-bc1.aot)
LINUX_HOSTILE_DIR := $(BUILD)/hostile-aot/linux
LINUX_ATTACKS := code data stack memory page2 stubs
LINUX_HOSTILE := $(LINUX_HOSTILE_DIR)/isolation-victim.aot $(LINUX_HOSTILE_DIR)/many-symbols.aot \
	$(foreach t,$(LINUX_ATTACKS),$(LINUX_HOSTILE_DIR)/isolation-attack-$(t).aot \
		$(LINUX_HOSTILE_DIR)/isolation-attack-$(t).patch)
$(LINUX_HOSTILE): $(QEMU_HOSTILE)
$(BUILD)/linux/guests/%.aot: qemu/linux/guests/%.wat $(WAMRC)
	@mkdir -p $(dir $@)
	wat2wasm $< -o $(@:.aot=.wasm)
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# The native-stack case's module with software checks (its stack check, not the guard page).
$(BUILD)/linux/guests/deep-bc1.aot: $(BUILD)/linux/guests/deep.aot
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=1 -o $@ $(<:.aot=.wasm) >/dev/null

# Modules that read stdin (guests/stdin, issue 13): cat, a line REPL, one that stops reading
# after a line, poll_oneoff on stdin. Not in the corpus: the corpus runs with stdin at EOF.
$(BUILD)/linux/guests/stdin-%.aot: guests/stdin/%.c $(WAMRC)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -o $(@:.aot=.wasm) $<
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# The sealed directory's counter (guests/sealed, issue 13), and its twin with software bounds
# checks: another file, so another measurement, so another module to the sealed directory.
$(BUILD)/linux/guests/sealed-%.aot: guests/sealed/%.c $(WAMRC)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -o $(@:.aot=.wasm) $<
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null
$(BUILD)/linux/guests/sealed-counter-bc1.aot: $(BUILD)/linux/guests/sealed-counter.aot
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=1 -o $@ $(<:.aot=.wasm) >/dev/null

# The tzwasm imports' self-test (guests/tee, with guests/include/tzwasm.h): a C module that
# only runs under tzwasm (iwasm has no `tzwasm` imports), so it is not in the corpus.
$(BUILD)/linux/guests/tee-selftest.aot: guests/tee/selftest.c guests/include/tzwasm.h $(WAMRC)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -I$(GUESTS)/include -o $(@:.aot=.wasm) $<
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(@:.aot=.wasm) >/dev/null

# tee-demo (guests/tee: the Rust bindings tzwasm-guest and a command-line demo of them).
TEE_GUEST_SRCS := $(wildcard $(GUESTS)/tee/Cargo.* $(GUESTS)/tee/*/Cargo.toml $(GUESTS)/tee/*/src/*.rs)
$(BUILD)/linux/guests/tee-demo.aot: $(TEE_GUEST_SRCS) $(WAMRC)
	@mkdir -p $(dir $@)
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path $(GUESTS)/tee/Cargo.toml \
		--target-dir $(BUILD)/tee-target
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ $(BUILD)/tee-target/wasm32-wasip1/release/tee-demo.wasm >/dev/null
# The same program with software bounds checks: another file, so another measurement (the
# "another module cannot unseal" case).
$(BUILD)/linux/guests/tee-demo-bc1.aot: $(BUILD)/linux/guests/tee-demo.aot
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=1 -o $@ \
		$(BUILD)/tee-target/wasm32-wasip1/release/tee-demo.wasm >/dev/null
# tee-provision (issue 12's remote-provisioning example), from the same cargo build (which the
# tee-demo rule runs for the whole guests/tee workspace), and its other-measurement twin.
$(BUILD)/linux/guests/tee-provision.aot: $(BUILD)/linux/guests/tee-demo.aot
	$(WAMRC) $(WAMRC_FLAGS_aarch64) -o $@ \
		$(BUILD)/tee-target/wasm32-wasip1/release/tee-provision.wasm >/dev/null
$(BUILD)/linux/guests/tee-provision-bc1.aot: $(BUILD)/linux/guests/tee-demo.aot
	$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=1 -o $@ \
		$(BUILD)/tee-target/wasm32-wasip1/release/tee-provision.wasm >/dev/null

.PHONY: setup-linux linux-module linux-tool linux-tfa linux-image linux-test

setup-linux: $(LINUX_SETUP_STAMP)
$(LINUX_SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh linux
	@mkdir -p $(CACHE) && touch $@

# tzwasm.ko, cross-built out of tree against the Debian headers (a copy of the sources in
# build/, so the source tree gets no Kbuild droppings).
linux-module: $(LINUX_KO)
$(LINUX_KO): normal-world/linux/tzwasm.c normal-world/linux/Kbuild \
		normal-world/include/tzwasm_ioctl.h $(LINUX_SETUP_STAMP)
	@mkdir -p $(LINUX_OUT)/module
	cp normal-world/linux/tzwasm.c normal-world/linux/Kbuild $(LINUX_OUT)/module/
	kdir=$$(echo $(LINUX_ROOT)/usr/src/linux-headers-*-arm64); \
	$(MAKE) --no-print-directory -C $$kdir M=$(LINUX_OUT)/module ARCH=arm64 \
		CROSS_COMPILE=$(CROSS_COMPILE) TZWASM_INCLUDE=$(TOP)/normal-world/include W=1 modules
	cp $(LINUX_OUT)/module/tzwasm.ko $@

# The tzwasm tool and the verifier (tzwasm-verify, next to it in the same directory), static musl.
linux-tool: FORCE | $(LINUX_SETUP_STAMP)
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(CROSS_COMPILE)gcc \
		$(CARGO) build --release --target $(TOOL_TARGET) -p tzwasm-tool -p tzwasm-verify

linux-tfa: $(TFA_LINUX_STAMP)
$(TFA_LINUX_STAMP): mk/tfa.mk mk/linux.mk $(TFA_STAMP)
	rm -rf $(TFA_LINUX_BUILD) && mkdir -p $(TFA_LINUX_BUILD)
	cd $(TFA_SRC) && TF_LDFLAGS=--no-warn-rwx-segments CFLAGS=--param=min-pagesize=0 \
		$(MAKE) $(TFA_LINUX_FLAGS) bl1 bl2 bl31 >$(TFA_LINUX_BUILD)/build.log 2>&1 \
		|| { tail -30 $(TFA_LINUX_BUILD)/build.log; exit 1; }
	touch $@

# flash image: BL1 + a FIP with BL2, BL31 and the release BL32 (no BL33: QEMU preloads Linux).
$(FLASH_LINUX): $(TFA_LINUX_STAMP) $(BL32_BIN) $(DEVICE_PAGE) $(DEVICE_PUB)
	rm -f $@ $@.fip
	$(FIPTOOL) create --tb-fw $(TFA_LINUX_OUT)/bl2.bin --soc-fw $(TFA_LINUX_OUT)/bl31.bin \
		--tos-fw $(BL32_BIN) $@.fip >/dev/null
	dd if=$(TFA_LINUX_OUT)/bl1.bin of=$@ bs=4096 conv=notrunc status=none
	dd if=$@.fip of=$@ bs=4096 seek=64 conv=notrunc status=none
	rm -f $@.fip
	$(call put_device_page,$@,$(TFA_LINUX_OUT)/bl1.bin)

# The initramfs: busybox, /init, tzwasm.ko, the tool, examples and the in-guest tests.
$(INITRAMFS): $(DEVICE_PUB) linux-tool $(LINUX_KO) $(LINUX_GUESTS) $(LINUX_HOSTILE) $(QEMU_W10) corpus-expected \
		files-expected $(wildcard qemu/linux/*) | $(LINUX_SETUP_STAMP)
	FILES_DIR=$(FILES_DIR) qemu/linux/mkinitramfs.sh $@ $(LINUX_ROOT) $(LINUX_KO) $(TOOL_BIN) \
		$(CORPUS_A64) $(CORPUS_EXPECT) $(LINUX_GUESTS) $(LINUX_HOSTILE) $(QEMU_W10)

linux-image: $(FLASH_LINUX) $(INITRAMFS)

# `make qemu-run`: the whole stack with a shell. The bare-metal client boot is
# qemu-run-baremetal (mk/qemu.mk).
.PHONY: qemu-run
qemu-run: linux-image
	qemu/linux/boot-linux.sh run $(FLASH_LINUX) $(INITRAMFS)

# `make linux-test`: the same image headless, the in-guest end-to-end cases (qemu/linux/
# linux-test.sh); passes only if the guest reports "N passed, 0 failed" and powers off.
EXTRA_TESTS += linux-test
linux-test: linux-image
	TZWASM_BL32=$(BL32_BIN) TZWASM_DEVICE_SECRET=$(DEVICE_SECRET) CARGO="$(CARGO)" \
		TZWASM_FILES_DIR=$(FILES_DIR) qemu/linux/run-linux-test.sh $(FLASH_LINUX) $(INITRAMFS) $(LINUX_OUT)/test \
		$(CORPUS_A64) $(CORPUS_EXPECT) $(BUILD)/linux/guests
