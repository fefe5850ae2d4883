#!/usr/bin/env bash
# Runs an aarch64 Linux binary (dynamically linked against Debian's arm64 cross glibc) under
# qemu-user. Usage: tools/wamr/qemu-aarch64-run.sh <binary> [args...]
set -euo pipefail
export QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
exec qemu-aarch64 "$@"
