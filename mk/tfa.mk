# TF-A 2.8 (Debian source package, unpacked by scripts/setup.sh into .cache/tf-a), built once:
# BL1, BL2, BL31 with SPD=opteed and BL32 in secure DRAM, plus fiptool. The FIP and the flash
# image are assembled here per BL32/BL33 pair, so a firmware change never rebuilds TF-A.
TFA_SRC   := $(CACHE)/tf-a
TFA_BUILD := $(CACHE)/tf-a-build
TFA_OUT   := $(TFA_BUILD)/qemu/release
# NS_TIMER_SWITCH=0: opteed.mk turns it on, which makes EL3 save and zero the normal world's
# CNTP/CNTV timers on every entry to the secure world. tzwasm never uses those timers, and with
# them stopped Linux's tick could never preempt a module (see docs/architecture.md).
TFA_FLAGS := PLAT=qemu SPD=opteed BL32_RAM_LOCATION=tdram DEBUG=0 LOG_LEVEL=20 BUILD_STRING=debian-2.8.0 \
	NS_TIMER_SWITCH=0 \
	CROSS_COMPILE=$(CROSS_COMPILE) BUILD_BASE=$(TFA_BUILD)
FIPTOOL   := $(TFA_SRC)/tools/fiptool/fiptool
TFA_STAMP := $(TFA_BUILD)/tfa.stamp

FLASH      := $(BUILD)/flash.bin
FLASH_TEST := $(BUILD)/flash-test.bin
FLASH_NOATT := $(BUILD)/flash-no-attestation.bin

.PHONY: tfa flash
tfa: $(TFA_STAMP)
$(TFA_STAMP): mk/tfa.mk | $(SETUP_STAMP)
	rm -rf $(TFA_BUILD) && mkdir -p $(TFA_BUILD)
	cd $(TFA_SRC) && TF_LDFLAGS=--no-warn-rwx-segments CFLAGS=--param=min-pagesize=0 \
		$(MAKE) $(TFA_FLAGS) bl1 bl2 bl31 >$(TFA_BUILD)/build.log 2>&1 \
		|| { tail -30 $(TFA_BUILD)/build.log; exit 1; }
	cd $(TFA_SRC) && $(MAKE) -C tools/fiptool >>$(TFA_BUILD)/build.log 2>&1 \
		|| { tail -30 $(TFA_BUILD)/build.log; exit 1; }
	touch $@

# flash image = bl1.bin, padded to 0x40000, followed by the FIP (TF-A qemu's flash layout);
# the device page (mk/device.mk) in the last 4 KiB of the BL1 area.
# $(1): output, $(2): BL32 binary, $(3): BL33 binary
define make_flash
	@mkdir -p $(dir $(1))
	rm -f $(1).fip
	$(FIPTOOL) create --tb-fw $(TFA_OUT)/bl2.bin --soc-fw $(TFA_OUT)/bl31.bin \
		--tos-fw $(2) --nt-fw $(3) $(1).fip >/dev/null
	dd if=$(TFA_OUT)/bl1.bin of=$(1) bs=4096 conv=notrunc status=none
	dd if=$(1).fip of=$(1) bs=4096 seek=64 conv=notrunc status=none
	rm -f $(1).fip
	$(call put_device_page,$(1),$(TFA_OUT)/bl1.bin)
endef

flash: $(FLASH) $(FLASH_TEST)
$(FLASH): $(TFA_STAMP) $(BL32_BIN) $(BL33_BIN) $(DEVICE_PAGE) $(DEVICE_PUB)
	rm -f $@
	$(call make_flash,$@,$(BL32_BIN),$(BL33_BIN))
$(FLASH_TEST): $(TFA_STAMP) $(BL32_TEST_BIN) $(BL33_BIN) $(DEVICE_PAGE) $(DEVICE_PUB)
	rm -f $@
	$(call make_flash,$@,$(BL32_TEST_BIN),$(BL33_BIN))
# The same device page: the image without attestation must leave it unread.
$(FLASH_NOATT): $(TFA_STAMP) $(BL32_NOATT_BIN) $(BL33_BIN) $(DEVICE_PAGE) $(DEVICE_PUB)
	rm -f $@
	$(call make_flash,$@,$(BL32_NOATT_BIN),$(BL33_BIN))
