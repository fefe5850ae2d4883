# WAMR toolchain (test tools only, never part of the firmware): wamrc and iwasm built from the
# WAMR 2.4.3 sources vendored in the crates.io crate wamrx-sys 0.3.0, and the guest corpus.
# See docs/wamr-toolchain.md.
WAMR_SETUP_STAMP := $(CACHE)/setup-wamr.stamp
WAMR_TOOLS  := $(TOP)/tools/wamr
WAMR_BUILD  := $(BUILD)/wamr
WAMR_SRC_PATH := $(WAMR_BUILD)/wamr-src.path
LLVM19_DIR  := /usr/lib/llvm-19/lib/cmake/llvm
WAMRC       := $(WAMR_BUILD)/wamrc
NINJA_JOBS  ?= 2

.PHONY: setup-wamr wamrc iwasm corpus corpus-expected

setup-wamr: $(WAMR_SETUP_STAMP)
$(WAMR_SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh wamr
	@mkdir -p $(CACHE) && touch $@

# Where cargo put the WAMR sources (fetched on first use).
$(WAMR_SRC_PATH): $(WAMR_TOOLS)/src-fetch/Cargo.toml $(WAMR_TOOLS)/wamr-src.sh | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	CARGO=$(CARGO) $(WAMR_TOOLS)/wamr-src.sh > $@.tmp && mv $@.tmp $@

# ---- wamrc -------------------------------------------------------------------------------------
wamrc: $(WAMRC)
$(WAMRC): $(WAMR_TOOLS)/wamrc-driver/main.c $(WAMR_TOOLS)/wamrc-driver/CMakeLists.txt $(WAMR_SRC_PATH)
	cmake -S $(WAMR_TOOLS)/wamrc-driver -B $(WAMR_BUILD)/wamrc-build -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DWAMR_ROOT=$$(cat $(WAMR_SRC_PATH)) -DLLVM_DIR=$(LLVM19_DIR) \
		> $(WAMR_BUILD)/wamrc-cmake.log || { cat $(WAMR_BUILD)/wamrc-cmake.log; exit 1; }
	ninja -C $(WAMR_BUILD)/wamrc-build -j$(NINJA_JOBS) wamrc
	cp $(WAMR_BUILD)/wamrc-build/wamrc $@
