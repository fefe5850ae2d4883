#!/usr/bin/env bash
# Prints the BL32 image size by section: what TF-A loads (the raw binary: text, rodata, data)
# and what the payload reserves at run time (bss, stacks, translation tables, pool).
set -euo pipefail
elf=${1:?BL32 ELF}
bin=${2:?BL32 raw binary}
objdump=${OBJDUMP:-aarch64-linux-gnu-objdump}
printf '%-10s %10s %10s\n' section bytes KiB
$objdump -h "$elf" | while read -r _ name size _; do
    case "$name" in
    .text|.rodata|.data|.bss|.stacks|.xlat|.pool)
        n=$((16#$size))
        printf '%-10s %10d %10d\n' "$name" "$n" $(((n + 1023) / 1024)) ;;
    esac
done
loaded=$(stat -c %s "$bin")
printf '%-10s %10d %10d   (raw image TF-A loads: text + rodata + data)\n' bl32.bin "$loaded" $(((loaded + 1023) / 1024))
