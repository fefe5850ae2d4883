# File corpus of issue 13 (WASI files under `--dir`/`--map-dir`), iwasm side. Test tools only.
#   guests/files/c/<x>.c     -> files-c-<x>
#   guests/files/rust/<x>/   -> files-rust-<x> (own workspace guests/files/rust/Cargo.toml)
# compiled to build/files/wasm/<name>.wasm and build/files/aarch64-bc{0,1}/<name>.aot, then run
# under the aarch64 iwasm by `make files-expected` (tools/wamr/files-expected.sh) following
# guests/files/manifest.txt. See docs/wamr-toolchain.md ("File corpus").
FILES_DIR    := $(BUILD)/files
FILES_GUESTS := $(GUESTS)/files
FILES_C      := $(patsubst $(FILES_GUESTS)/c/%.c,files-c-%,$(wildcard $(FILES_GUESTS)/c/*.c))
FILES_RUST   := $(patsubst $(FILES_GUESTS)/rust/%/Cargo.toml,files-rust-%,$(wildcard $(FILES_GUESTS)/rust/*/Cargo.toml))
FILES_ALL    := $(FILES_C) $(FILES_RUST)
FILES_WASM   := $(addprefix $(FILES_DIR)/wasm/,$(addsuffix .wasm,$(FILES_ALL)))
FILES_AOT    := $(foreach b,0 1,$(addprefix $(FILES_DIR)/aarch64-bc$(b)/,$(addsuffix .aot,$(FILES_ALL))))

.PHONY: files-corpus files-corpus-files files-expected
files-corpus: $(WAMRC) | $(WAMR_SETUP_STAMP)
	$(MAKE) --no-print-directory -j$(CORPUS_JOBS) files-corpus-files
files-corpus-files: $(FILES_AOT)

$(FILES_DIR)/wasm/files-c-%.wasm: $(FILES_GUESTS)/c/%.c $(FILES_GUESTS)/c/ft.h | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	$(WASI_CC) $(WASI_CFLAGS) -o $@ $<

FILES_RUST_SRCS := $(FILES_GUESTS)/rust/Cargo.toml $(wildcard $(FILES_GUESTS)/rust/Cargo.lock) \
                   $(FILES_GUESTS)/rust/common.rs \
                   $(wildcard $(FILES_GUESTS)/rust/*/Cargo.toml $(FILES_GUESTS)/rust/*/src/*.rs)
$(FILES_DIR)/rust.stamp: $(FILES_RUST_SRCS) | $(WAMR_SETUP_STAMP)
	@mkdir -p $(FILES_DIR)/wasm
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path $(FILES_GUESTS)/rust/Cargo.toml \
		--target-dir $(FILES_DIR)/rust-target
	touch $@
$(FILES_DIR)/wasm/files-rust-%.wasm: $(FILES_DIR)/rust.stamp
	cp $(FILES_DIR)/rust-target/wasm32-wasip1/release/files-rust-$*.wasm $@

define files_variant
$(FILES_DIR)/aarch64-bc$(1)/%.aot: $(FILES_DIR)/wasm/%.wasm $(WAMRC)
	@mkdir -p $$(@D)
	@echo "wamrc aarch64 bc$(1) $$*"
	@$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=$(1) --opt-level=0 -o $$@ $$< > /dev/null
endef
$(foreach b,0 1,$(eval $(call files_variant,$(b))))
.SECONDARY: $(FILES_WASM)

# iwasm's results: build/files/expected/aarch64-bc{0,1}[-swbc]/<test>/{stdout,stderr,exit,tree,cmd}
# and DISAGREEMENTS.txt (the script fails if bc0, bc1 and the software-only runtime disagree).
FILES_EXPECTED_STAMP := $(FILES_DIR)/expected/.recorded
files-expected: files-corpus iwasm
	$(MAKE) --no-print-directory $(FILES_EXPECTED_STAMP)
$(FILES_EXPECTED_STAMP): $(FILES_GUESTS)/manifest.txt $(WAMR_TOOLS)/files-expected.sh \
                         $(WAMR_TOOLS)/files-lib.sh $(IWASM_BINS) $(FILES_AOT) \
                         $(shell find $(FILES_GUESTS)/seed -type f 2>/dev/null)
	$(WAMR_TOOLS)/files-expected.sh $(CORPUS_JOBS)
	touch $@
