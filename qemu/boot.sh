#!/usr/bin/env bash
# Boots a tzwasm flash image on QEMU's virt machine (TF-A + tzwasm BL32 + a BL33).
#
#   qemu/boot.sh run  FLASH            interactive: normal-world console on this terminal,
#                                      secure console in $TZWASM_SECURE_LOG (default build/secure.log)
#   qemu/boot.sh test FLASH OUTDIR [TIMEOUT] [EXTRA QEMU ARGS...]
#                                      headless: consoles to OUTDIR/{normal,secure}.log, QEMU
#                                      killed after TIMEOUT seconds (default 60); exit status 124
#                                      on timeout, else QEMU's.
set -euo pipefail
mode=${1:?usage: boot.sh run|test FLASH ...}
flash=${2:?flash image}
shift 2
QEMU=${QEMU:-qemu-system-aarch64}
SMP=${TZWASM_SMP:-2}
common=(-machine virt,secure=on -cpu cortex-a57 -smp "$SMP" -m 1024 -bios "$flash" -net none)

case "$mode" in
run)
    seclog=${TZWASM_SECURE_LOG:-build/secure.log}
    echo "tzwasm: booting $flash (normal-world console below; secure console -> $seclog; quit: Ctrl-A x)"
    exec "$QEMU" "${common[@]}" -nographic -serial mon:stdio -serial "file:$seclog" "$@"
    ;;
test)
    out=${1:?output dir}
    timeout_s=${2:-60}
    shift 2 || shift $#
    mkdir -p "$out"
    rm -f "$out/normal.log" "$out/secure.log"
    set +e
    timeout --foreground -k 5 "$timeout_s" "$QEMU" "${common[@]}" -display none -monitor none \
        -serial "file:$out/normal.log" -serial "file:$out/secure.log" "$@" </dev/null
    rc=$?
    set -e
    exit $rc
    ;;
*)
    echo "boot.sh: unknown mode $mode" >&2; exit 2 ;;
esac
