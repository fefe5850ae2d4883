#!/usr/bin/env bash
# Builds the tzwasm-mmu QEMU smoke test and runs it headless; fails unless it ends with
# "N passed, 0 failed". Needs qemu-system-aarch64 and the aarch64-unknown-none-softfloat target.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$top/target/mmu-qemu-smoke}
cd "$here"
CARGO_TARGET_DIR=$target_dir cargo build --release --target aarch64-unknown-none-softfloat
elf=$target_dir/aarch64-unknown-none-softfloat/release/tzwasm-mmu-qemu-smoke
log=$target_dir/smoke.log
set +e
timeout --foreground -k 5 30 qemu-system-aarch64 -machine virt -cpu cortex-a57 -m 256 \
    -display none -monitor none -serial "file:$log" -net none -kernel "$elf" </dev/null
rc=$?
set -e
cat "$log"
last=$(tail -n 1 "$log")
if [[ $rc -ne 0 || ! $last =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
    echo "mmu qemu smoke test FAILED (qemu exit $rc)" >&2
    exit 1
fi
