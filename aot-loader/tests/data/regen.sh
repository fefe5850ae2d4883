#!/bin/sh
# Regenerates the fixture .aot files from the .wat sources with the project's wamrc
# (`make wamrc`, WAMR 2.4.3) and wabt's wat2wasm. The .aot files are committed so the
# parser's real-file tests run without the corpus.
set -eu
cd "$(dirname "$0")"
W=${WAMRC:-../../../build/wamr/wamrc}
tmp=$(mktemp -d)
wat2wasm features.wat -o "$tmp/features.wasm"
wat2wasm --enable-extended-const ext.wat -o "$tmp/ext.wasm"
wat2wasm exec.wat -o "$tmp/exec.wasm"
$W --target=aarch64 -o features.aarch64.aot "$tmp/features.wasm"
$W --target=aarch64 --bounds-checks=1 -o features.aarch64.bc1.aot "$tmp/features.wasm"
$W --target=aarch64 --size-level=0 -o features.aarch64.s0.aot "$tmp/features.wasm"
$W --target=aarch64 --xip -o features.aarch64.xip.aot "$tmp/features.wasm"
# x86-64-generic lacks the SIMD wamrc wants for v128 code
$W --target=x86_64 --cpu=skylake -o features.x86_64.aot "$tmp/features.wasm"
$W --target=x86_64 --cpu=skylake --bounds-checks=1 -o features.x86_64.bc1.aot "$tmp/features.wasm"
$W --target=x86_64 --cpu=skylake --size-level=0 -o features.x86_64.s0.aot "$tmp/features.wasm"
$W --target=aarch64 --enable-extended-const -o ext.aarch64.aot "$tmp/ext.wasm"
$W --target=x86_64 -o exec.x86_64.aot "$tmp/exec.wasm"
$W --target=x86_64 --bounds-checks=1 -o exec.x86_64.bc1.aot "$tmp/exec.wasm"
$W --target=x86_64 --size-level=0 -o exec.x86_64.s0.aot "$tmp/exec.wasm"
$W --target=aarch64 -o exec.aarch64.aot "$tmp/exec.wasm"
$W --target=aarch64 --bounds-checks=1 -o exec.aarch64.bc1.aot "$tmp/exec.wasm"
$W --target=aarch64 --size-level=0 -o exec.aarch64.s0.aot "$tmp/exec.wasm"
rm -rf "$tmp"
