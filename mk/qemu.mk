# Booting the stack on QEMU: interactive (qemu-run) and headless system tests (qemu-test).
QEMU_OUT := $(BUILD)/qemu-test

.PHONY: qemu-run qemu-test mmu-qemu-test
qemu-run: $(FLASH_TEST)
	qemu/boot.sh run $(FLASH_TEST)

qemu-test: $(FLASH_TEST) $(FLASH) mmu-qemu-test
	qemu/system-test.sh $(FLASH_TEST) $(QEMU_OUT) $(FLASH)

# The mmu crate's own bare-metal smoke test (no TF-A): registers, faults, W^X on real tables.
mmu-qemu-test: | $(SETUP_STAMP)
	mmu/qemu-smoke/run.sh
