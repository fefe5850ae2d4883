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
# Code and read-only data by crate: each symbol of .text/.rodata counted under the first path
# segment of its demangled name (generic code instantiated for a crate counts where it is
# defined, e.g. `<p256::...>` under p256). Inlined code counts in its caller, so the crypto
# crates' share is a lower bound. Symbols without a crate path (the `extern "C"` entry points
# such as primary_main and smc_handler, assembly) are "other (unmangled)".
nm=${NM:-aarch64-linux-gnu-nm}
echo
printf '%-24s %10s %8s\n' crate bytes KiB
$nm --print-size --size-sort -C "$elf" | python3 -c '
import re, sys
sizes = {}
for line in sys.stdin:
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) < 4 or parts[2] not in "tTrR":
        continue
    n = int(parts[1], 16)
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", parts[3])
    crate = m.group(1) if m else "other (unmangled)"
    if crate in ("core", "alloc", "compiler_builtins"):
        crate = crate + " (std)"
    sizes[crate] = sizes.get(crate, 0) + n
total = sum(sizes.values())
for crate, n in sorted(sizes.items(), key=lambda kv: -kv[1])[:25]:
    print("%-24s %10d %8d" % (crate, n, (n + 1023) // 1024))
print("%-24s %10d %8d" % ("(all symbols)", total, (total + 1023) // 1024))
# The attestation crypto (ECDSA P-256, HKDF/HMAC, XChaCha20-Poly1305, CBOR/DER encoding) and
# tzwasm-attest itself: what an image without attestation would drop, at least (SHA-256
# stays: it is the measurement).
crypto = ("tzwasm_attest", "p256", "primeorder", "ecdsa", "elliptic_curve", "crypto_bigint", "ff",
          "group", "hmac", "hkdf", "chacha20poly1305", "chacha20", "poly1305", "cipher", "aead",
          "universal_hash", "minicbor", "der", "const_oid", "sec1", "subtle", "rfc6979", "signature",
          "zeroize", "base16ct")
c = sum(n for k, n in sizes.items() if k in crypto)
print("%-24s %10d %8d   (%s)" % ("attestation crypto", c, (c + 1023) // 1024,
      "symbols of those crates; their inlined code counts in callers, so a lower bound"))
'
