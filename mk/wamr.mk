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

# A private copy of the tree: WAMR's cmake scripts write into it (core/version.h), and the
# cargo registry must stay pristine. Configure steps take a lock so parallel builds cannot race.
WAMR_ROOT := $(WAMR_BUILD)/wamr-2.4.3
WAMR_ROOT_STAMP := $(WAMR_ROOT)/.tzwasm-copied
CMAKE_LOCKED := flock $(WAMR_BUILD)/.cmake.lock cmake
$(WAMR_ROOT_STAMP): $(WAMR_SRC_PATH)
	rm -rf $(WAMR_ROOT) && cp -a $$(cat $<) $(WAMR_ROOT) && touch $@

# ---- wamrc -------------------------------------------------------------------------------------
wamrc: $(WAMRC)
$(WAMRC): $(WAMR_TOOLS)/wamrc-driver/main.c $(WAMR_TOOLS)/wamrc-driver/CMakeLists.txt $(WAMR_ROOT_STAMP)
	$(CMAKE_LOCKED) -S $(WAMR_TOOLS)/wamrc-driver -B $(WAMR_BUILD)/wamrc-build -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DWAMR_ROOT=$(WAMR_ROOT) -DLLVM_DIR=$(LLVM19_DIR) \
		> $(WAMR_BUILD)/wamrc-cmake.log || { cat $(WAMR_BUILD)/wamrc-cmake.log; exit 1; }
	ninja -C $(WAMR_BUILD)/wamrc-build -j$(NINJA_JOBS) wamrc
	cp $(WAMR_BUILD)/wamrc-build/wamrc $@

# ---- iwasm: x86_64 / aarch64, hardware bounds checks / software only ----------------------------
# build/wamr/iwasm-<variant> is the x86_64 binary itself, or for aarch64 a wrapper script that
# runs the cross-built binary under qemu-aarch64.
IWASM_SRCS := $(WAMR_TOOLS)/iwasm-driver/main.c $(WAMR_TOOLS)/iwasm-driver/CMakeLists.txt \
              $(WAMR_TOOLS)/iwasm-driver/aarch64-toolchain.cmake
IWASM_VARIANTS := x86_64 x86_64-swbc aarch64 aarch64-swbc
IWASM_BINS := $(addprefix $(WAMR_BUILD)/iwasm-,$(IWASM_VARIANTS))
iwasm_cmake_x86_64       :=
iwasm_cmake_x86_64-swbc  := -DWAMR_DISABLE_HW_BOUND_CHECK=1
iwasm_cmake_aarch64      := -DWAMR_BUILD_TARGET=AARCH64 \
                            -DCMAKE_TOOLCHAIN_FILE=$(WAMR_TOOLS)/iwasm-driver/aarch64-toolchain.cmake
iwasm_cmake_aarch64-swbc := $(iwasm_cmake_aarch64) -DWAMR_DISABLE_HW_BOUND_CHECK=1

iwasm: $(IWASM_BINS)
$(WAMR_BUILD)/iwasm-%: $(IWASM_SRCS) $(WAMR_ROOT_STAMP)
	$(CMAKE_LOCKED) -S $(WAMR_TOOLS)/iwasm-driver -B $(WAMR_BUILD)/iwasm-$*-build -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DWAMR_ROOT=$(WAMR_ROOT) $(iwasm_cmake_$*) \
		> $(WAMR_BUILD)/iwasm-$*-cmake.log || { cat $(WAMR_BUILD)/iwasm-$*-cmake.log; exit 1; }
	ninja -C $(WAMR_BUILD)/iwasm-$*-build -j$(NINJA_JOBS) iwasm
	@case $* in \
	  aarch64*) printf '#!/bin/sh\n# aarch64 iwasm ($*) under qemu-user\nexec %s %s "$$@"\n' \
	              $(WAMR_TOOLS)/qemu-aarch64-run.sh $(WAMR_BUILD)/iwasm-$*-build/iwasm > $@.tmp; \
	            chmod +x $@.tmp; mv $@.tmp $@ ;; \
	  *) cp $(WAMR_BUILD)/iwasm-$*-build/iwasm $@ ;; \
	esac

# ---- guest corpus -------------------------------------------------------------------------------
# guests/c/<x>.c -> c-<x>, guests/wat/<x>.wat -> wat-<x>, guests/rust/<x>/ -> rust-<x>:
#   build/corpus/wasm/<name>.wasm, build/corpus/<arch>-bc<N>/<name>.aot
CORPUS      := $(BUILD)/corpus
GUESTS      := $(TOP)/guests
WASI_CC     := clang --target=wasm32-wasi --sysroot=/usr
WASI_CFLAGS := -O2 -Wall -Wextra -Wno-unused-parameter
CFLAGS_c-simd := -msimd128
C_GUESTS    := $(patsubst $(GUESTS)/c/%.c,c-%,$(wildcard $(GUESTS)/c/*.c))
WAT_GUESTS  := $(patsubst $(GUESTS)/wat/%.wat,wat-%,$(wildcard $(GUESTS)/wat/*.wat))
RUST_GUESTS := $(patsubst $(GUESTS)/rust/%/Cargo.toml,rust-%,$(wildcard $(GUESTS)/rust/*/Cargo.toml))
ALL_GUESTS  := $(C_GUESTS) $(WAT_GUESTS) $(RUST_GUESTS)
CORPUS_WASM := $(addprefix $(CORPUS)/wasm/,$(addsuffix .wasm,$(ALL_GUESTS)))
# x86-64-v2 (SSE4.2): wamrc refuses SIMD modules for plain x86-64, which lacks SSE4.1.
WAMRC_FLAGS_x86_64  := --target=x86_64 --cpu=x86-64-v2
WAMRC_FLAGS_aarch64 := --target=aarch64 --cpu=cortex-a57
# aarch64-large: the large code model (--size-level=0: MOVZ/MOVK absolute addresses instead of
# ADRP/ADD), hardware bounds checks; exercises the loader's other aarch64 relocation types.
CORPUS_VARIANTS := x86_64-bc0 x86_64-bc1 aarch64-bc0 aarch64-bc1 aarch64-large
CORPUS_AOT  := $(foreach v,$(CORPUS_VARIANTS),$(addprefix $(CORPUS)/$(v)/,$(addsuffix .aot,$(ALL_GUESTS))))
CORPUS_JOBS ?= 2

corpus: $(WAMRC) | $(WAMR_SETUP_STAMP)
	$(MAKE) --no-print-directory -j$(CORPUS_JOBS) corpus-files

.PHONY: corpus-files
corpus-files: $(CORPUS_AOT)

$(CORPUS)/wasm/c-%.wasm: $(GUESTS)/c/%.c | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	$(WASI_CC) $(WASI_CFLAGS) $(CFLAGS_c-$*) -o $@ $<

$(CORPUS)/wasm/wat-%.wasm: $(GUESTS)/wat/%.wat | $(WAMR_SETUP_STAMP)
	@mkdir -p $(@D)
	wat2wasm $< -o $@

# All Rust guests are members of one small workspace (guests/rust/Cargo.toml), built at once.
RUST_GUEST_SRCS := $(GUESTS)/rust/Cargo.toml $(wildcard $(GUESTS)/rust/Cargo.lock) \
                   $(wildcard $(GUESTS)/rust/*/Cargo.toml $(GUESTS)/rust/*/src/*.rs)
$(CORPUS)/rust.stamp: $(RUST_GUEST_SRCS) | $(WAMR_SETUP_STAMP)
	@mkdir -p $(CORPUS)/wasm
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path $(GUESTS)/rust/Cargo.toml \
		--target-dir $(CORPUS)/rust-target
	touch $@
$(CORPUS)/wasm/rust-%.wasm: $(CORPUS)/rust.stamp
	cp $(CORPUS)/rust-target/wasm32-wasip1/release/rust-$*.wasm $@

define corpus_variant
$(CORPUS)/$(1)-bc$(2)/%.aot: $(CORPUS)/wasm/%.wasm $(WAMRC)
	@mkdir -p $$(@D)
	@echo "wamrc $(1) bc$(2) $$*"
	@$(WAMRC) $(WAMRC_FLAGS_$(1)) --bounds-checks=$(2) -o $$@ $$< > /dev/null
endef
$(foreach a,x86_64 aarch64,$(foreach b,0 1,$(eval $(call corpus_variant,$(a),$(b)))))
$(CORPUS)/aarch64-large/%.aot: $(CORPUS)/wasm/%.wasm $(WAMRC)
	@mkdir -p $(@D)
	@echo "wamrc aarch64 large $*"
	@$(WAMRC) $(WAMRC_FLAGS_aarch64) --bounds-checks=0 --size-level=0 -o $@ $< > /dev/null
.SECONDARY: $(CORPUS_WASM)

# ---- expected outputs: iwasm's results for every test in guests/manifest.txt --------------------
# build/corpus/expected/<arch>-bc<N>[-swbc]/<test>/{stdout,stderr,exit[,trap]}, plus
# DISAGREEMENTS.txt (HW vs software-only runtime, x86_64 vs aarch64, bc0 vs bc1).
CORPUS_EXPECTED_STAMP := $(CORPUS)/expected/.recorded
corpus-expected: corpus iwasm
	$(MAKE) --no-print-directory $(CORPUS_EXPECTED_STAMP)
$(CORPUS_EXPECTED_STAMP): $(GUESTS)/manifest.txt $(WAMR_TOOLS)/corpus-expected.sh $(IWASM_BINS) $(CORPUS_AOT)
	$(WAMR_TOOLS)/corpus-expected.sh $(CORPUS_JOBS)
	touch $@
