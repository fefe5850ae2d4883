# Booting the stack on QEMU: interactive (qemu-run) and headless system tests (qemu-test).
QEMU_OUT := $(BUILD)/qemu-test

.PHONY: qemu-run qemu-test mmu-qemu-test
qemu-run: $(FLASH_TEST)
	qemu/boot.sh run $(FLASH_TEST)

# A real wamrc module (from the corpus) run at S-EL0 by TEST_RUN in the protocol case.
QEMU_TEST_AOT := $(BUILD)/corpus/aarch64-bc1/c-hello.aot

qemu-test: $(FLASH_TEST) $(FLASH) mmu-qemu-test corpus
	TZWASM_TEST_AOT=$(QEMU_TEST_AOT) \
	TZWASM_TEST_AOT_EXPECT="[module stdout] Hello from wasm32-wasi! argc=1" \
		qemu/system-test.sh $(FLASH_TEST) $(QEMU_OUT) $(FLASH)

# The mmu crate's own bare-metal smoke test (no TF-A): registers, faults, W^X on real tables.
mmu-qemu-test: | $(SETUP_STAMP)
	mmu/qemu-smoke/run.sh
