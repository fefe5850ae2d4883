#!/usr/bin/env bash
# bench/perf-qemu.sh: profiles QEMU itself (host `perf`) while the Linux guest runs one bench
# workload 4 times through `tzwasm run`, then 4 times through the static iwasm-hw, each in its
# own boot, and prints the top host symbols of both. This is how docs/benchmarks-analysis.md
# found where TCG spends the extra time of tzwasm-hw against iwasm-hw on the same .aot file.
#
#   bench/perf-qemu.sh [WORKLOAD [SIZE]]      (default: nbody 450; needs make bench-inputs
#                                              and make linux-image first)
#   bench/perf-qemu.sh hello                  start-up instead: `tzwasm run hello.aot` against
#                                              the native hello, 1500 runs per boot, then the
#                                              host symbols whose time grows with the runs
set -euo pipefail
w=${1:-nbody}
size=${2:-450}
[ "$w" = hello ] && size=""

top=$(cd "$(dirname "$0")/.." && pwd)
b=$top/build/bench
out=$b/perf-$w
rm -rf "$out" && mkdir -p "$out"
if [ "$w" = hello ]; then configs="tzwasm native"; else configs="tzwasm iwasm"; fi
for v in $configs; do
    st=$out/stage-$v
    mkdir -p "$st/job/bench/hw"
    cp "$b/cargo/aarch64-unknown-linux-musl/release/tzbench" "$b/iwasm-hw" "$b/native/hello" "$st/job/bench/"
    cp "$b/hw/$w.aot" "$st/job/bench/hw/"
    case $v in
    tzwasm) cmd="tzwasm run --heap 12M /job/bench/hw/$w.aot${size:+ -- $size}" ;;
    native) cmd=/job/bench/hello ;;
    *) cmd="/job/bench/iwasm-hw /job/bench/hw/$w.aot $size" ;;
    esac
    if [ "$w" = hello ]; then
        # Timed once before and once after the loop; the profile is mostly the loop.
        printf '#!/bin/sh\nexec >/dev/console 2>&1\n/job/bench/tzbench time perf %s %s 0 -- %s\ni=0\nwhile [ $i -lt 1500 ]; do %s >/dev/null; i=$((i + 1)); done\n/job/bench/tzbench time perf %s %s 1 -- %s\n' \
            "$w" "$v" "$cmd" "$cmd" "$w" "$v" "$cmd" >"$st/job/run.sh"
    else
        printf '#!/bin/sh\nexec >/dev/console 2>&1\nfor i in 1 2 3 4; do /job/bench/tzbench time perf %s %s $i -- %s; done\n' \
            "$w" "$v" "$cmd" >"$st/job/run.sh"
    fi
    chmod +x "$st/job/run.sh"
    (cd "$st" && find . | sort | cpio -o -H newc --owner=0:0 --quiet) >"$out/$v.cpio"
    perf record -q -o "$out/$v.perf" -- "$top/qemu/linux/boot-linux.sh" test \
        "$top/build/flash-linux.bin" "$top/build/linux/initramfs.cpio.gz:$out/$v.cpio" \
        "$out/boot-$v" 300 job >/dev/null 2>&1
    echo "== $v: $w $size, wall seconds per run:" \
        "$(grep -ao ' ns=[0-9]*' "$out/boot-$v/console.log" | sed 's/ ns=//' |
            awk '{printf "%.2f ", $1 / 1e9}')"
    perf report -i "$out/$v.perf" --sort dso,sym --no-children -q >"$out/$v.report" 2>/dev/null
    head -8 "$out/$v.report"
done
echo "(in QEMU 7.2's qemu-system-aarch64, the unnamed hot spot after plugin_gen_tb_end is"
echo " cputlb.c's victim_tlb_hit; helper_le_ldq_mmu is the softmmu slow path of 64-bit loads)"
