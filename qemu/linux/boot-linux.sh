#!/usr/bin/env bash
# Boots TF-A + tzwasm (BL32) + Debian's arm64 kernel (BL33, preloaded by QEMU) + an initramfs.
#
#   qemu/linux/boot-linux.sh run  FLASH INITRD               interactive shell on this terminal
#   qemu/linux/boot-linux.sh test FLASH INITRD OUTDIR [TIMEOUT] [MODE]
#        headless: console to OUTDIR/console.log, secure console to OUTDIR/secure.log, QEMU
#        killed after TIMEOUT seconds (default 300; exit 124); MODE is the guest's
#        tzwasm.mode (default test). INITRD may be several files (colon-separated), which are
#        concatenated: Linux unpacks every cpio archive in a row.
#
# Environment: TZWASM_SMP (CPUs, default 2), TZWASM_KERNEL (default: the Debian kernel unpacked
# by scripts/setup.sh linux), TZWASM_SECURE_LOG (run mode, default build/secure.log),
# TZWASM_CMDLINE (extra kernel arguments), TZWASM_QEMU_CONTROL (test mode: a directory; the
# console goes through DIR/console.sock, still logged to OUTDIR/console.log, QEMU waits for a
# client on it before it starts, the HMP monitor is DIR/monitor.sock, and the guest gets
# tzwasm.hostscan=1: qemu/linux/secret-scan.py control), TZWASM_QEMU_EXTRA (more QEMU
# arguments, split at spaces, e.g. "-icount shift=0" for make bench's counted boot). Addresses:
# LINUX_{DTB,INITRD,KERNEL}_ADDR as in mk/linux.mk (TF-A is built for the kernel and DTB
# addresses).
set -euo pipefail
mode=${1:?usage: boot-linux.sh run|test FLASH INITRD ...}
flash=${2:?flash image}
initrd_list=${3:?initramfs}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
QEMU=${QEMU:-qemu-system-aarch64}
SMP=${TZWASM_SMP:-2}
DTB_ADDR=${LINUX_DTB_ADDR:-0x44000000}
INITRD_ADDR=${LINUX_INITRD_ADDR:-0x48000000}
KERNEL_ADDR=${LINUX_KERNEL_ADDR:-0x60000000}
kernel=${TZWASM_KERNEL:-$(echo "$top"/.cache/linux/current/root/boot/vmlinuz-*)}
[ -f "$kernel" ] || { echo "boot-linux: no kernel ($kernel): run scripts/setup.sh linux" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tzwasm-boot.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One initrd image from the pieces, each padded to 4 bytes (the kernel looks for the next
# archive's header at a 4-byte boundary).
IFS=: read -r -a pieces <<<"$initrd_list"
: > "$work/initrd"
for p in "${pieces[@]}"; do
    cat "$p" >> "$work/initrd"
    truncate -s %4 "$work/initrd"
done
initrd_size=$(stat -c %s "$work/initrd")

case "$mode" in
run) guest_mode=shell ;;
test) guest_mode=${3:-test} ;;
*) echo "boot-linux: unknown mode $mode" >&2; exit 2 ;;
esac

machine=(-machine virt,secure=on -cpu cortex-a57 -smp "$SMP" -m 1024 -net none)
# QEMU's device tree for this machine, with the kernel command line and the initrd added.
"$QEMU" "${machine[@]}" -bios "$flash" -machine dumpdtb="$work/virt.dtb" -display none -monitor none -serial null -serial null >/dev/null 2>&1 || true
[ -s "$work/virt.dtb" ] || { echo "boot-linux: $QEMU could not dump its device tree" >&2; exit 1; }
cmdline="console=ttyAMA0 rdinit=/init nokaslr cryptomgr.notests tzwasm.mode=$guest_mode"
if [ "$guest_mode" = shell ]; then cmdline="$cmdline quiet"; else cmdline="$cmdline quiet loglevel=1"; fi
cmdline="$cmdline ${TZWASM_CMDLINE:-}"
ctl=${TZWASM_QEMU_CONTROL:-}
if [ "$mode" = test ] && [ -n "$ctl" ]; then cmdline="$cmdline tzwasm.hostscan=1"; fi
fdtput -p -t s "$work/virt.dtb" /chosen bootargs "$cmdline"
fdtput -t x "$work/virt.dtb" /chosen linux,initrd-start "$INITRD_ADDR"
fdtput -t x "$work/virt.dtb" /chosen linux,initrd-end "$(printf '%#x' $((INITRD_ADDR + initrd_size)))"

common=("${machine[@]}" -bios "$flash"
    -device loader,file="$kernel",addr="$KERNEL_ADDR",force-raw=on
    -device loader,file="$work/virt.dtb",addr="$DTB_ADDR",force-raw=on
    -device loader,file="$work/initrd",addr="$INITRD_ADDR",force-raw=on)
read -r -a extra <<<"${TZWASM_QEMU_EXTRA:-}"
common+=("${extra[@]}")

case "$mode" in
run)
    seclog=${TZWASM_SECURE_LOG:-$top/build/secure.log}
    echo "tzwasm: booting TF-A + tzwasm + Linux $(basename "$kernel" | sed 's/vmlinuz-//') (secure console -> $seclog; quit: Ctrl-A x)"
    "$QEMU" "${common[@]}" -nographic -serial mon:stdio -serial "file:$seclog"
    ;;
test)
    out=${1:?output dir}
    timeout_s=${2:-300}
    mkdir -p "$out"
    rm -f "$out/console.log" "$out/secure.log"
    io=(-monitor none -serial "file:$out/console.log")
    if [ -n "$ctl" ]; then
        io=(-monitor "unix:$ctl/monitor.sock,server=on,wait=off"
            -chardev "socket,id=nsconsole,path=$ctl/console.sock,server=on,wait=on,logfile=$out/console.log"
            -serial chardev:nsconsole)
    fi
    set +e
    timeout --foreground -k 5 "$timeout_s" "$QEMU" "${common[@]}" -display none "${io[@]}" \
        -serial "file:$out/secure.log" </dev/null
    rc=$?
    set -e
    exit $rc
    ;;
esac
