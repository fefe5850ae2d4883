#!/bin/sh
# bench.sh: the in-guest driver of `make bench` / `make bench-smoke` (owned by bench/). Runs as
# /job/run.sh of the Linux image's job mode (qemu/linux/init) from the bench cpio that
# bench/run-bench.py appends; everything it needs is under /job/bench, with the settings in
# /job/bench/config (PART, MODE, REPS, HEAP, WORKLOADS, SIZE_<name>, LOAD_ROUNDS, NULL_CALLS;
# for PART=scale: SCALE_WORKLOAD, SCALE_SIZE, SCALE_N, SCALE_HEAP). PART=icount (a boot under
# QEMU -icount): each workload once per configuration, times being instruction counts.
# PART=main (the -smp 2 boot): every workload in five configurations, hello, streaming, LOAD,
# NULL. PART=scale (the -smp 4 boot): SCALE_N runs of one CPU-bound workload at once against
# one run, natively, through `tzwasm run` and through iwasm, with STATS page 4 (the most CPUs
# seen executing module code at once) read before and after the first concurrent tzwasm runs.
# Every measurement is one "@B ..." line from bench/helper (tzbench) on the console; the host
# script checks and summarises them. Configurations are interleaved: each repetition runs
# every workload in every configuration, the configuration order rotated per repetition.
# Any missing piece or failing run is an "@B kind=error" line and a non-zero exit.
exec >/dev/console 2>&1
B=/job/bench
. $B/config
T=$B/tzbench
fail=0
err() { echo "@B kind=error $*"; fail=1; }

for f in $T $B/iwasm-hw $B/iwasm-sw /usr/bin/tzwasm; do
    [ -x "$f" ] || { err what=missing file=$f; echo "@B kind=done fail=1"; exit 1; }
done
case $PART in scale) CHECK="$SCALE_WORKLOAD" ;; icount) CHECK="$WORKLOADS" ;; *) CHECK="$WORKLOADS hello" ;; esac
for w in $CHECK; do
    for f in $B/native/$w $B/hw/$w.aot $B/sw/$w.aot; do
        [ -f "$f" ] || { err what=missing file=$f; echo "@B kind=done fail=1"; exit 1; }
    done
done

echo "@B kind=info part=$PART mode=$MODE reps=$REPS kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) heap=$HEAP"
tzwasm info | sed 's/^/@I /'
# Pool use as `tzwasm info` sees it with nothing else open: its own session's and
# registration's records in the secure world's handle tables (which grow from the pool).
pool_used() { tzwasm info | sed -n 's/^pool: .*, \([0-9]*\) in use.*/\1/p'; }
pool_base=$(pool_used)

timed() { # SECTION NAME CONFIG REP COMMAND...
    $T time "$@" || err what=time args="$(echo "$*" | tr ' ' ,)"
}

# run_config SECTION NAME CONFIG REP [ARGS...]: one run of a module or program.
run_config() {
    s=$1 n=$2 c=$3 r=$4
    shift 4
    case $c in
    native) timed "$s" "$n" "$c" "$r" -- $B/native/$n "$@" ;;
    tzwasm-hw) timed "$s" "$n" "$c" "$r" -- tzwasm run --heap "$HEAP" $B/hw/$n.aot -- "$@" ;;
    tzwasm-sw) timed "$s" "$n" "$c" "$r" -- tzwasm run --heap "$HEAP" $B/sw/$n.aot -- "$@" ;;
    iwasm-hw) timed "$s" "$n" "$c" "$r" -- $B/iwasm-hw $B/hw/$n.aot "$@" ;;
    iwasm-sw) timed "$s" "$n" "$c" "$r" -- $B/iwasm-sw $B/sw/$n.aot "$@" ;;
    *) err what=config config=$c ;;
    esac
}

# rotate K WORD...: the words, starting at the K-th (mod count).
rotate() {
    k=$1
    shift
    k=$((k % $#))
    i=0 head="" tail=""
    for x in "$@"; do
        if [ $i -lt $k ]; then tail="$tail $x"; else head="$head $x"; fi
        i=$((i + 1))
    done
    echo $head $tail
}

CONFIGS="native tzwasm-hw tzwasm-sw iwasm-hw iwasm-sw"

# pool_check: the pool must be back at its baseline; then the final line.
pool_check() {
    used=$(pool_used)
    echo "@B kind=pool in_use=${used:-unknown} baseline=${pool_base:-unknown}"
    [ -n "$used" ] && [ "$used" = "$pool_base" ] || err what=pool in_use=${used:-unknown} baseline=${pool_base:-unknown}
    echo "@B kind=done fail=$fail"
    exit $fail
}

# The scaling part: per repetition, one run of the workload in each configuration, then
# SCALE_N at once in each (tzbench par), the configuration order rotated per repetition.
if [ "$PART" = scale ]; then
    w=$SCALE_WORKLOAD
    scale_run() { # CONFIG REP N
        case $1 in
        native) $T par scale "$w" "$1" "$2" "$3" -- $B/native/$w "$SCALE_SIZE" ;;
        tzwasm-hw) $T par scale "$w" "$1" "$2" "$3" -- tzwasm run --heap "$SCALE_HEAP" $B/hw/$w.aot -- "$SCALE_SIZE" ;;
        iwasm-hw) $T par scale "$w" "$1" "$2" "$3" -- $B/iwasm-hw $B/hw/$w.aot "$SCALE_SIZE" ;;
        esac || err what=par config=$1 rep=$2 n=$3
    }
    $T peak start || err what=peak
    rep=1
    while [ $rep -le "$REPS" ]; do
        for c in $(rotate $rep native tzwasm-hw iwasm-hw); do
            scale_run "$c" "$rep" 1
        done
        [ $rep -eq 1 ] && { $T peak serial || err what=peak; }
        for c in $(rotate $rep native tzwasm-hw iwasm-hw); do
            scale_run "$c" "$rep" "$SCALE_N"
        done
        [ $rep -eq 1 ] && { $T peak parallel || err what=peak; }
        rep=$((rep + 1))
    done
    pool_check
fi

# The counted part (QEMU -icount shift=0: the guest's clock advances 1 ns per instruction, so
# every time below is an instruction count): each workload once in the four runtime
# configurations, then once through tzbench's runner for the secure world's own split (STATS
# page 6: ticks in the runner and at S-EL0, SVCs; 16 instructions per tick).
if [ "$PART" = icount ]; then
    for w in $WORKLOADS; do
        eval size=\$SIZE_$w
        for c in native tzwasm-hw iwasm-hw tzwasm-sw iwasm-sw; do
            run_config icount "$w" "$c" 1 "$size"
        done
        $T run $B/hw/$w.aot "$size" || err what=run file=$w
        $T run $B/sw/$w.aot "$size" || err what=run file=sw/$w
    done
    pool_check
fi

# Workloads and hello world (time to the first byte), interleaved.
rep=1
while [ $rep -le "$REPS" ]; do
    for w in $WORKLOADS; do
        eval size=\$SIZE_$w
        for c in $(rotate $rep $CONFIGS); do
            run_config wl "$w" "$c" "$rep" "$size"
        done
    done
    for c in $(rotate $rep $CONFIGS); do
        run_config hello hello "$c" "$rep"
    done
    # The same start-up step by step inside one process (where tzwasm's first byte goes).
    $T startup $B/hw/hello.aot "$rep" || err what=startup rep=$rep
    rep=$((rep + 1))
done

# Streaming: 10 MiB of module stdout through the rings vs a plain copy of the same bytes.
W10=$B/write10mib.aot
tzwasm run "$W10" >/tmp/w10.bin || err what=write10mib
rep=1
while [ $rep -le "$REPS" ]; do
    for c in $(rotate $rep tzwasm iwasm cat dd512); do
        case $c in
        tzwasm) timed stream write10mib tzwasm-hw $rep -- tzwasm run "$W10" ;;
        iwasm) timed stream write10mib iwasm-hw $rep -- $B/iwasm-hw "$W10" ;;
        cat) timed stream write10mib plain-copy $rep -- cat /tmp/w10.bin ;;
        # The same copy in 512-byte writes: the size of the tool's writes (one per drained
        # chunk of the ring, smc/src/ring.rs DRAIN_CHUNK).
        dd512) timed stream write10mib copy-512 $rep -- sh -c "dd if=/tmp/w10.bin bs=512 2>/dev/null" ;;
        esac
    done
    rep=$((rep + 1))
done
rm -f /tmp/w10.bin

# Diagnostics: one run each through tzbench's own runner, with the OUTPUT_PENDING pauses and
# the secure world's count of INTERRUPTED returns (normal-world interrupts during the run).
for w in $WORKLOADS; do
    eval size=\$SIZE_$w
    $T run $B/hw/$w.aot "$size" || err what=run file=$w
done
$T run "$W10" || err what=run file=write10mib

# LOAD of ~1 MiB and ~4 MiB modules vs the SHA-256 inside it; then each workload's charge.
for f in big1m big4m; do
    $T load $B/$f.aot "$LOAD_ROUNDS" || err what=load file=$f
done
for w in $WORKLOADS hello; do
    $T load $B/hw/$w.aot 1 || err what=load file=$w
done

# How many hello-world sessions, each with the module's minimum quota, the pool holds at once
# (and that every one of them then runs).
$T fit $B/hw/hello.aot || err what=fit file=hello

# NULL fast calls from userspace (ioctl + world switch), for reference.
$T null "$NULL_CALLS" || err what=null

pool_check
