# The device secret of this QEMU "device": 32 random bytes made once per build tree, kept in
# build/ (gitignored) and never printed. The flash images carry it in a 4 KiB device page at
# DEVICE_PAGE_OFFSET, inside the BL1 area of secure-only flash bank 0 (docs/architecture.md,
# "Device secret"). The secret is never regenerated while build/device/secret.bin exists: a
# rebuild or a reboot of the same images is the same device.
DEVICE_DIR         := $(BUILD)/device
DEVICE_SECRET      := $(DEVICE_DIR)/secret.bin
DEVICE_PAGE        := $(DEVICE_DIR)/page.bin
DEVICE_PUB         := $(BUILD)/device-attestation.pub
# 0x3F000: the last 4 KiB of the 0x40000 BL1 area (the FIP starts at 0x40000).
DEVICE_PAGE_OFFSET := 0x3F000
DEVICE_PAGE_BLOCK  := 63

# Order-only on the directory, no other prerequisite: make never remakes an existing secret.
$(DEVICE_SECRET):
	@mkdir -p $(DEVICE_DIR) && chmod 700 $(DEVICE_DIR)
	@umask 077 && head -c 32 /dev/urandom >$@.tmp && mv $@.tmp $@
	@echo "device secret created in $@ (not shown)"

# magic "TZWDEVS1", u32 LE version 1, u32 LE length 32, the secret, zeros to 4 KiB.
$(DEVICE_PAGE): $(DEVICE_SECRET) mk/device.mk
	@umask 077 && { printf 'TZWDEVS1\001\000\000\000\040\000\000\000'; cat $(DEVICE_SECRET); } >$@.tmp \
		&& truncate -s 4096 $@.tmp && mv $@.tmp $@

# The endorsement: the attestation public key (PEM SubjectPublicKeyInfo) for a verifier.
$(DEVICE_PUB): $(DEVICE_SECRET) $(wildcard tools/provision/src/*.rs attest/src/*.rs) | $(SETUP_STAMP)
	$(CARGO) run -q --release -p tzwasm-provision -- export $(DEVICE_SECRET) $@

.PHONY: device-page
device-page: $(DEVICE_PAGE) $(DEVICE_PUB)

# $(1): flash image, $(2): the bl1.bin it starts with. Fails if BL1 would overlap the page.
define put_device_page
	@size=$$(stat -c %s $(2)); if [ $$size -ge $$(( $(DEVICE_PAGE_OFFSET) )) ]; then \
		echo "error: $(2) is $$size bytes, it overlaps the device page at $(DEVICE_PAGE_OFFSET)" >&2; \
		rm -f $(1); exit 1; fi
	dd if=$(DEVICE_PAGE) of=$(1) bs=4096 seek=$(DEVICE_PAGE_BLOCK) conv=notrunc status=none
endef
