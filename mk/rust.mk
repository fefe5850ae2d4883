# Rust builds: host crates, the BL32 firmware and the BL33 test client.
FW_ELF      := $(TOP)/target/$(AARCH64_NONE)/firmware/tzwasm-firmware
FW_TEST_ELF := $(TOP)/target/test-hooks/$(AARCH64_NONE)/firmware/tzwasm-firmware
FW_NOATT_ELF := $(TOP)/target/no-attestation/$(AARCH64_NONE)/firmware/tzwasm-firmware
TC_ELF      := $(TOP)/target/$(AARCH64_NONE)/release/tzwasm-test-client
BL32_BIN      := $(BUILD)/bl32.bin
BL32_TEST_BIN := $(BUILD)/bl32-test.bin
BL32_NOATT_BIN := $(BUILD)/bl32-no-attestation.bin
BL33_BIN      := $(BUILD)/bl33-test-client.bin
OBJCOPY := $(CROSS_COMPILE)objcopy

.PHONY: firmware test-client lint fmt-check clippy unit-test size FORCE
FORCE:

firmware: $(BL32_BIN) $(BL32_TEST_BIN) $(BL32_NOATT_BIN)
test-client: $(BL33_BIN)

$(BL32_BIN): FORCE | $(SETUP_STAMP)
	$(CARGO) build --profile firmware --target $(AARCH64_NONE) -p tzwasm-firmware
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary $(FW_ELF) $@

# The test image adds test-only SMCs (fault injection); separate target dir so both stay cached.
$(BL32_TEST_BIN): FORCE | $(SETUP_STAMP)
	$(CARGO) build --profile firmware --target $(AARCH64_NONE) -p tzwasm-firmware --features test-hooks \
		--target-dir $(TOP)/target/test-hooks
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary $(FW_TEST_ELF) $@

# The image without attestation (no device identity, no crypto beyond SHA-256): the size
# figure's second line and one protocol boot (qemu/system-test.sh protocol-no-attestation).
$(BL32_NOATT_BIN): FORCE | $(SETUP_STAMP)
	$(CARGO) build --profile firmware --target $(AARCH64_NONE) -p tzwasm-firmware --no-default-features \
		--target-dir $(TOP)/target/no-attestation
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary $(FW_NOATT_ELF) $@

$(BL33_BIN): FORCE | $(SETUP_STAMP)
	$(CARGO) build --release --target $(AARCH64_NONE) -p tzwasm-test-client
	@mkdir -p $(BUILD)
	$(OBJCOPY) -O binary $(TC_ELF) $@

lint: fmt-check clippy
# The guests' own workspaces (built for wasm32-wasip1) are formatted like the rest; the tee
# guests (which the Linux tests run) are also linted for their target.
GUEST_WORKSPACES := guests/rust guests/files/rust guests/tee bench/rust
fmt-check: | $(SETUP_STAMP)
	$(CARGO) fmt --all -- --check
	for w in $(GUEST_WORKSPACES); do $(CARGO) fmt --all --manifest-path $$w/Cargo.toml -- --check || exit 1; done
# The tee guests' lint needs the wasm32-wasip1 target, which the WAMR set-up installs.
clippy: | $(SETUP_STAMP) $(CACHE)/setup-wamr.stamp
	$(CARGO) clippy --workspace --exclude tzwasm-firmware --exclude tzwasm-test-client --all-targets -- -D warnings
	$(CARGO) clippy -p tzwasm-firmware --lib --tests -- -D warnings
	$(CARGO) clippy --target $(AARCH64_NONE) -p tzwasm-firmware -p tzwasm-test-client -p tzwasm-smc -p tzwasm-mmu -p tzwasm-attest -- -D warnings
	$(CARGO) clippy --target $(AARCH64_NONE) -p tzwasm-firmware --features test-hooks \
		--target-dir $(TOP)/target/test-hooks -- -D warnings
	$(CARGO) clippy --target $(AARCH64_NONE) -p tzwasm-firmware --no-default-features \
		--target-dir $(TOP)/target/no-attestation -- -D warnings
	$(CARGO) clippy --manifest-path guests/tee/Cargo.toml --target wasm32-wasip1 \
		--target-dir $(BUILD)/tee-target -- -D warnings

unit-test: | $(SETUP_STAMP)
	$(CARGO) test --workspace --exclude tzwasm-firmware --exclude tzwasm-test-client
	$(CARGO) test -p tzwasm-firmware --lib
	# The remote-provisioning module's envelope code, on the host, against the shared vector.
	$(CARGO) test --manifest-path $(GUESTS)/tee/Cargo.toml -p tee-provision \
		--target-dir $(TOP)/target/tee-host

size: $(BL32_BIN) $(BL32_NOATT_BIN)
	@scripts/size.sh $(FW_ELF) $(BL32_BIN)
	@echo
	@echo "The image without attestation (tzwasm-firmware --no-default-features, $(BL32_NOATT_BIN)):"
	@scripts/size.sh $(FW_NOATT_ELF) $(BL32_NOATT_BIN)
