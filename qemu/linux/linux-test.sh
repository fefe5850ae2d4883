#!/bin/sh
# End-to-end tests of the Linux normal world, run inside the guest (busybox sh) by `make
# linux-test`: tzwasm.ko + the tzwasm tool + the secure world, with the example modules and
# WAMR iwasm's recorded results in the initramfs. Prints "[PASS] name" or "[FAIL] name: why"
# per case and ends with "N passed, M failed". Usage: linux-test [CASE...] (default: all).
#
# Cases (and verify_rfc: tzwasm-verify on RFC 9783's example token and a corrupted copy):
# hello, args, exit-codes, trap, stack (the native stack and --stack), large-output, stream-10mib, measure, heap-too-small,
# signals, driver, cancel-loop (preemption: an endless module on one CPU, another process keeps running, a
# signal stops the module), two-at-once, unload-reload, fair-use (per-uid limits and the
# node's mode, as module parameters), isolation (an attacker in session 2 at every window
# address of a victim paused mid-run in session 1), externref_arg and table_copy (issue 11's
# two reproduced cases), many_symbols (parser memory, quota smaller than the file), quota_sum
# (live quotas never add up to more than the pool), corpus (every manifest test against
# iwasm's results), tee_imports (issue 12: the tzwasm imports with hostile arguments), seal_runs (sealed
# data across runs and modules), attest, receipt (signed run receipts), provision (issue 12's
# remote provisioning: a secret encrypted to a module's attested key, sealed, shown again),
# stdin (issue 13's streamed stdin), files (issue 13's file corpus against iwasm),
# sealed_dir (issue 13's sealed directory), clean
# (the secure pool is back to its baseline).
ex=/usr/share/tzwasm/examples
expected=/usr/share/tzwasm/expected
manifest=/usr/share/tzwasm/manifest.txt
skips=/usr/share/tzwasm/skip.txt
tmp=/tmp/linux-test
mkdir -p $tmp
cd $ex || exit 1
passed=0
failed=0

pass() { echo "[PASS] $1"; passed=$((passed + 1)); }
fail() { echo "[FAIL] $1: $2"; failed=$((failed + 1)); }

# run NAME ARGS...: runs tzwasm ARGS with stdout/stderr/exit status in $tmp/NAME.{out,err,rc}.
run() {
    n=$1; shift
    tzwasm "$@" >$tmp/$n.out 2>$tmp/$n.err
    echo $? >$tmp/$n.rc
}
rc() { cat $tmp/$1.rc; }

pool_used() { tzwasm info 2>/dev/null | sed -n 's/^pool: [0-9]* bytes ([^)]*), \([0-9]*\) in use.*/\1/p'; }
# What `tzwasm info` sees with nothing else open: its own session's and registration's records
# in the secure world's handle tables (which grow from the pool). Every "pool clean" check
# compares with this.
pool_base=$(pool_used)

case_hello() {
    run hello run c-hello.aot
    if [ "$(rc hello)" = 0 ] && cmp -s $tmp/hello.out $expected/c-hello/stdout; then
        pass "hello: $(cat $tmp/hello.out)"
    else
        fail hello "exit $(rc hello), stdout '$(cat $tmp/hello.out)', stderr '$(cat $tmp/hello.err)'"
    fi
}

case_args() {
    run args run c-args.aot -- a bb "ccc dd" ünïcødé %percent
    if [ "$(rc args)" = "$(cat $expected/c-args/exit)" ] && cmp -s $tmp/args.out $expected/c-args/stdout; then
        pass "args: 5 arguments (a space, UTF-8, %) reach the module's argv (exit = argc = $(rc args))"
    else
        fail args "exit $(rc args); stdout differs from iwasm's: $(head -c 300 $tmp/args.out)"
    fi
}

case_exit_codes() {
    bad=""
    for spec in "0 return 0" "3 return 3" "42 exit 42" "255 _Exit 255" "256 exit 0"; do
        set -- $spec
        run exit run c-exit_code.aot -- $1 $2
        [ "$(rc exit)" = "$3" ] || bad="$bad [$1 $2: got $(rc exit), want $3: $(cat $tmp/exit.err)]"
    done
    if [ -z "$bad" ]; then pass "exit codes: 0, 3, 42, 255, 256 (= 0) as the module returned/exited"
    else fail "exit codes" "$bad"; fi
}

case_trap() {
    run trap run c-recursion.aot -- 100000000
    want="tzwasm: trap: $(cat $expected/c-recursion-shadow-stack-overflow/trap)"
    if [ "$(rc trap)" = 1 ] && grep -qxF "$want" $tmp/trap.err; then
        pass "trap: exit 1, \"$want\""
    else
        fail trap "exit $(rc trap), stderr '$(cat $tmp/trap.err)', want '$want'"
    fi
}

# The native stack (issue 14): LOAD gives a module 64 KiB unless `--stack` asks for more. A
# recursion 50000 calls deep (deep.wat: one frame per call) traps "native stack overflow" with
# the default, in both bounds-check modes (the guard below the stack; the file's own stack
# check), and the tool says how to give more; with --stack 4M it returns the right sum; 1000
# deep fits the default; a --stack outside 16K..8M is a usage error; the pool is clean after.
case_stack() {
    bad=""
    for f in deep.aot deep-bc1.aot; do
        run deep run --function rec $f 50000
        if [ "$(rc deep)" != 1 ] || ! grep -qx "tzwasm: trap: native stack overflow" $tmp/deep.err ||
            ! grep -q "native stack of 64 KiB; give it more with --stack (e.g. --stack 256K)" $tmp/deep.err ||
            [ -s $tmp/deep.out ]; then
            bad="$bad [$f default: exit $(rc deep), $(cat $tmp/deep.err)]"
        fi
        run deep run --stack 4M --function rec $f 50000
        [ "$(rc deep)" = 0 ] && [ "$(cat $tmp/deep.out)" = "0xee31ee0e93b1becf:i64" ] ||
            bad="$bad [$f --stack 4M: exit $(rc deep), '$(cat $tmp/deep.out)' $(cat $tmp/deep.err)]"
        run deep run --function rec $f 1000
        [ "$(rc deep)" = 0 ] && [ "$(cat $tmp/deep.out)" = "0xe134e0000000158:i64" ] ||
            bad="$bad [$f 1000: exit $(rc deep), '$(cat $tmp/deep.out)' $(cat $tmp/deep.err)]"
    done
    for s in 8K 9M; do
        run deep run --stack $s --function rec deep.aot 1
        [ "$(rc deep)" = 2 ] && grep -q "^tzwasm: --stack $s: the secure world takes 16 KiB to 8 MiB" $tmp/deep.err ||
            bad="$bad [--stack $s: exit $(rc deep), $(cat $tmp/deep.err)]"
    done
    [ "$(pool_used)" = "$pool_base" ] || bad="$bad [pool $(pool_used) in use, baseline $pool_base]"
    if [ -z "$bad" ]; then
        pass "stack: 50000 calls deep trap \"native stack overflow\" in 64 KiB with the --stack hint (bc0 guard, bc1 check), run with --stack 4M; 1000 fit; 8K/9M refused"
    else
        fail stack "$bad"
    fi
}

case_large_output() {
    run large run c-large_output.aot
    if [ "$(rc large)" = "$(cat $expected/c-large-output/exit)" ] &&
        cmp -s $tmp/large.out $expected/c-large-output/stdout &&
        cmp -s $tmp/large.err $expected/c-large-output/stderr; then
        pass "large output: stdout $(wc -c <$tmp/large.out) bytes and stderr $(wc -c <$tmp/large.err) bytes equal iwasm's, byte for byte"
    else
        fail "large output" "exit $(rc large); stdout $(wc -c <$tmp/large.out) bytes, stderr $(wc -c <$tmp/large.err) bytes differ from iwasm's"
    fi
}

case_stream_10mib() {
    t0=$(date +%s)
    sum=$(tzwasm run write10mib.aot 2>$tmp/w10.err | sha256sum | cut -d' ' -f1)
    t1=$(date +%s)
    want=$(cat /usr/share/tzwasm/write10mib.sha256)
    if [ "$sum" = "$want" ]; then
        pass "streamed output: 10 MiB through the ring, SHA-256 equal ($((t1 - t0)) s)"
    else
        fail "streamed output" "sha256 $sum, want $want; stderr $(cat $tmp/w10.err)"
    fi
}

case_measure() {
    bad=""
    n=0
    for f in *.aot; do
        a=$(tzwasm measure "$f" 2>$tmp/measure.err)
        b=$(sha256sum "$f")
        [ "$a" = "$b" ] || bad="$bad [$f: tzwasm '$a' sha256sum '$b' $(cat $tmp/measure.err)]"
        n=$((n + 1))
    done
    if [ -z "$bad" ]; then pass "measure: $n modules, the secure world's SHA-256 equals sha256sum"
    else fail measure "$bad"; fi
}

case_heap_too_small() {
    run small run --heap 64K c-hello.aot
    msg=$(cat $tmp/small.err)
    case "$msg" in
    "tzwasm: heap too small: this module needs at least "*" bytes; run it with --heap "*)
        if [ "$(rc small)" = 125 ] && [ ! -s $tmp/small.out ]; then
            need=$(echo "$msg" | sed 's/.*--heap //')
            run small2 run --heap "$need" c-hello.aot
            if [ "$(rc small2)" = 0 ] && cmp -s $tmp/small2.out $expected/c-hello/stdout; then
                pass "heap too small: \"$msg\" (exit 125), and --heap $need runs it"
            else
                fail "heap too small" "the suggested --heap $need does not run it: $(cat $tmp/small2.err)"
            fi
            return
        fi ;;
    esac
    fail "heap too small" "exit $(rc small), stderr '$msg'"
}

# A module that never ends must not freeze Linux: with one CPU (CPU 0) for a shell counter
# and the module, the counter keeps counting while the module runs, and a signal stops the
# module. First a finite probe (busy.aot, about 8 s alone): if the counter stands still while
# it runs, the secure world does not preempt module code, and the endless module is not
# started (it would hold CPU 0 for good). The script itself samples from CPU 1.
count() { # the counter's last value (it rewrites the file, so an empty read is retried)
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        v=$(cat $tmp/count 2>/dev/null)
        [ -n "$v" ] && { echo $v; return; }
        sleep 0.01
    done
    echo 0
}
stop_within() { # PID SECONDS: waits for PID to end; 1 if it is still running
    i=0
    while kill -0 $1 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    ! kill -0 $1 2>/dev/null
}
case_cancel_loop() {
    taskset -p 2 $$ >/dev/null
    rm -f $tmp/count
    taskset 1 sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/linux-test/count; done' &
    counter=$!
    sleep 0.5
    taskset 1 tzwasm run busy.aot >$tmp/busy.out 2>$tmp/busy.err &
    probe=$!
    sleep 1
    p1=$(count)
    sleep 1.5
    p2=$(count)
    running=no; kill -0 $probe 2>/dev/null && running=yes
    kill -INT $probe 2>/dev/null
    stop_within $probe 30
    wait $probe
    if [ $running = no ] || [ "$p2" -le "$p1" ]; then
        kill $counter; wait $counter 2>/dev/null
        taskset -p 3 $$ >/dev/null
        if [ $running = no ]; then
            fail "cancel loop" "inconclusive: the finite probe ended within 2.5 s"
        else
            fail "cancel loop" "pending: the secure world does not preempt module code yet (a process on the same CPU stood still, count $p1 -> $p2, while a module ran); the endless module was not started"
        fi
        return
    fi
    taskset 1 tzwasm run spin.aot >$tmp/spin.out 2>$tmp/spin.err &
    spin=$!
    # Its first line comes out while it runs (the driver hands the run back every 100 ms).
    i=0
    while ! grep -q spinning $tmp/spin.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    streamed=no
    grep -q spinning $tmp/spin.out && kill -0 $spin 2>/dev/null && streamed=yes
    c1=$(count)
    sleep 2
    c2=$(count)
    kill -INT $spin
    if ! stop_within $spin 5; then
        kill -9 $spin $counter
        taskset -p 3 $$ >/dev/null
        fail "cancel loop" "the module did not stop within 5 s of SIGINT"
        return
    fi
    wait $spin
    st=$?
    kill $counter; wait $counter 2>/dev/null
    taskset -p 3 $$ >/dev/null
    if [ "$c2" -gt "$c1" ] && [ $st = 130 ] && [ $streamed = yes ] &&
        grep -q "cancelled" $tmp/spin.err; then
        pass "cancel loop: on one CPU a shell counter went on ($c1 -> $c2) while the endless module ran, its first line already out; SIGINT stopped it (exit 130, \"$(cat $tmp/spin.err)\")"
    else
        fail "cancel loop" "counter $c1 -> $c2, exit $st, output streamed while running: $streamed, stdout '$(cat $tmp/spin.out)', stderr '$(cat $tmp/spin.err)'"
    fi
}

# Signals during a run that keeps pausing for output (the reader is slow): SIGINT and SIGTERM
# cancel it (exit 128+N, a message), SIGKILL ends the process and the driver cleans up; a
# reader that goes away (head) stops it too. The pool is back at 0 after each.
case_signals() {
    rm -f $tmp/fifo; mkfifo $tmp/fifo
    bad=""; got=""
    for spec in "INT 130" "TERM 143" "KILL 137"; do
        set -- $spec
        # The reader takes 64 KiB (so the run is under way), then stops reading for 2 s: the
        # tool is held in a write and the run paused on a full ring when the signal comes.
        rm -f $tmp/sig.started
        (head -c 65536 >/dev/null; touch $tmp/sig.started; sleep 2; cat >$tmp/sig.out) <$tmp/fifo &
        r=$!
        tzwasm run write10mib.aot >$tmp/fifo 2>$tmp/sig.err &
        p=$!
        i=0
        while [ ! -e $tmp/sig.started ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
        sleep 0.5
        kill -$1 $p
        wait $p 2>/dev/null
        st=$?
        wait $r
        n=$(wc -c <$tmp/sig.out)
        used=$(pool_used)
        if [ $st != $2 ] || [ "$n" -ge 10485760 ] || [ "$used" != "$pool_base" ] ||
            { [ $1 != KILL ] && ! grep -q "cancelled by signal" $tmp/sig.err; }; then
            bad="$bad [SIG$1: exit $st after $n bytes, pool $used in use (baseline $pool_base), $(cat $tmp/sig.err)]"
        fi
        got="${got:+$got, }SIG$1->$st"
    done
    tzwasm run write10mib.aot | head -c 1000 >/dev/null
    used=$(pool_used)
    [ "$used" = "$pool_base" ] || bad="$bad [after | head: pool $used in use, baseline $pool_base]"
    if [ -z "$bad" ]; then pass "signals: a run paused for output is cancelled ($got), | head stops it, pool clean each time"
    else fail signals "$bad"; fi
}

# The driver's own checks (tzwasm-driver-test): what it refuses (calls before SETUP, bad
# sizes, a second SETUP, foreign function ids, private/executable/oversized mappings), what it
# substitutes (this file's session and shm handles), sessions kept apart, a full session
# table, and a clean pool after every file is closed.
case_driver() {
    tzwasm-driver-test c-hello.aot >$tmp/driver.out 2>&1
    st=$?
    line=$(tail -1 $tmp/driver.out)
    if [ $st = 0 ] && echo "$line" | grep -q "^[0-9]* passed, 0 failed"; then
        pass "driver: tzwasm-driver-test: $line"
    else
        fail driver "exit $st: $(grep -v '^\[PASS\]' $tmp/driver.out | tr '\n' ' ')"
    fi
}

case_two_at_once() {
    want=$(cat /usr/share/tzwasm/write10mib.sha256)
    (tzwasm run write10mib.aot 2>$tmp/two1.err | sha256sum | cut -d' ' -f1 >$tmp/two1.sum) &
    p1=$!
    (tzwasm run write10mib.aot 2>$tmp/two2.err | sha256sum | cut -d' ' -f1 >$tmp/two2.sum) &
    p2=$!
    wait $p1
    wait $p2
    # Sessions run in parallel (one per CPU, each with its own lock): both runs must be
    # correct, and neither may have waited or been told busy.
    ok=0
    for k in 1 2; do
        if [ "$(cat $tmp/two$k.sum)" = "$want" ] && ! grep -qE "waiting:|busy" $tmp/two$k.err; then
            ok=$((ok + 1))
        fi
    done
    if [ $ok = 2 ]; then
        pass "two at once: both 10 MiB runs correct, neither waited ($(cat $tmp/two1.sum | cut -c1-12)..., $(cat $tmp/two2.sum | cut -c1-12)...)"
    else
        fail "two at once" "run 1: $(cat $tmp/two1.sum) $(cat $tmp/two1.err); run 2: $(cat $tmp/two2.sum) $(cat $tmp/two2.err)"
    fi
}

case_unload_reload() {
    if ! rmmod tzwasm; then fail "unload/reload" "rmmod tzwasm failed"; return; fi
    run gone info
    if [ -e /dev/tzwasm ] || [ "$(rc gone)" = 0 ] || ! grep -q "insmod" $tmp/gone.err; then
        fail "unload/reload" "after rmmod: /dev/tzwasm $(ls /dev/tzwasm 2>&1), info exit $(rc gone): $(cat $tmp/gone.err)"
        insmod /lib/modules/tzwasm.ko
        return
    fi
    if ! insmod /lib/modules/tzwasm.ko; then fail "unload/reload" "insmod failed"; return; fi
    run again run c-hello.aot
    if [ "$(rc again)" = 0 ] && cmp -s $tmp/again.out $expected/c-hello/stdout; then
        pass "unload/reload: without the driver \"$(head -1 $tmp/gone.err)\"; reloaded, hello runs"
    else
        fail "unload/reload" "after insmod: exit $(rc again), $(cat $tmp/again.err)"
    fi
}

# Fair use by local users (docs/driver.md, "Fair use"): the driver's per-uid limits and the
# node's mode, as module parameters. uids 1000 and 1001 are plain users (tzwasm-driver-test as
# UID runs a command without root's groups and capabilities); root is exempt. The module is
# reloaded with small limits, with mode=0600, and finally with its defaults again.
as_user() { uid=$1; shift; tzwasm-driver-test as $uid "$@"; }
# fair_reload PARAMS...: rmmod + insmod with PARAMS; 1 (and a FAIL) if either fails.
fair_reload() {
    if ! rmmod tzwasm 2>$tmp/fair.rmmod; then fail "fair use" "rmmod: $(cat $tmp/fair.rmmod)"; return 1; fi
    if ! insmod /lib/modules/tzwasm.ko "$@" 2>$tmp/fair.insmod; then
        fail "fair use" "insmod $*: $(cat $tmp/fair.insmod)"
        insmod /lib/modules/tzwasm.ko
        return 1
    fi
}
param() { cat /sys/module/tzwasm/parameters/$1; }
# fair_hold NAME UID COUNT QUOTA: a background holder of COUNT sessions; its pid in $holder.
fair_hold() {
    # Not through as_user: $! must be the holder itself (as UID execs), not a subshell.
    tzwasm-driver-test as $2 tzwasm-driver-test hold $3 $4 >$tmp/$1.out 2>&1 &
    holder=$!
    i=0
    while ! grep -q "^holding" $tmp/$1.out 2>/dev/null && kill -0 $holder 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done
    grep -q "^holding $3 sessions" $tmp/$1.out
}
fair_unhold() { kill -9 $holder 2>/dev/null; wait $holder 2>/dev/null; }
# fair_refused NAME PARAMETER: run NAME exited 125 naming the module parameter.
fair_refused() {
    [ "$(rc $1)" = 125 ] && grep -q "^tzwasm: per-user limit: .*module parameter $2" $tmp/$1.err
}
fair_ran() { [ "$(rc $1)" = 0 ] && cmp -s $tmp/$1.out $expected/c-hello/stdout; }
fair_run() { n=$1; uid=$2; shift 2; as_user $uid tzwasm "$@" >$tmp/$n.out 2>$tmp/$n.err; echo $? >$tmp/$n.rc; }
fair_why() { echo "[$1: exit $(rc $1), $(cat $tmp/$1.err)]"; }

# The limits: 2 sessions and 6 MiB of heap quota per uid.
fair_limits() {
    fair_reload max_sessions_per_uid=2 max_quota_per_uid=6M || return
    if [ "$(param max_sessions_per_uid)" != 2 ] || [ "$(param max_quota_per_uid)" != 6291456 ]; then
        fail "fair use: limits" "parameters read back as $(param max_sessions_per_uid), $(param max_quota_per_uid)"
        return
    fi
    # The errnos, from tzwasm-driver-test as uid 1000.
    as_user 1000 tzwasm-driver-test limits 2 6291456 >$tmp/fair-errno.out 2>&1
    st=$?
    line=$(tail -1 $tmp/fair-errno.out)
    if [ $st = 0 ] && echo "$line" | grep -q "^[0-9]* passed, 0 failed"; then
        pass "fair use: errnos as uid 1000 (EMFILE at 2 sessions, EDQUOT past 6 MiB, refusals charge nothing): $line"
    else
        fail "fair use: errnos" "exit $st: $(grep -v '^\[PASS\]' $tmp/fair-errno.out | tr '\n' ' ')"
    fi
    # Sessions: uid 1000 holds 2; its third is refused by the tool with the parameter's name; uid
    # 1001 and root are unaffected; killing the holder gives the count back.
    bad=""
    fair_hold fair-h1 1000 2 1M || bad="$bad [holder: $(cat $tmp/fair-h1.out)]"
    fair_run fair-s3 1000 run --heap 2M c-hello.aot
    fair_refused fair-s3 max_sessions_per_uid || bad="$bad $(fair_why fair-s3)"
    fair_run fair-other 1001 run --heap 2M c-hello.aot
    fair_ran fair-other || bad="$bad $(fair_why fair-other)"
    run fair-root run c-hello.aot
    fair_ran fair-root || bad="$bad $(fair_why fair-root)"
    fair_unhold
    fair_run fair-after 1000 run --heap 2M c-hello.aot
    fair_ran fair-after || bad="$bad $(fair_why fair-after)"
    if [ -z "$bad" ]; then
        pass "fair use: sessions: uid 1000 holding 2 is refused a third (exit 125, \"$(cat $tmp/fair-s3.err)\"); uid 1001 and root run hello meanwhile; once the holder is killed uid 1000 runs it"
    else
        fail "fair use: sessions" "$bad"
    fi
    # Quota: 8 MiB (the tool's default heap) alone is over the cap; 5 MiB held + 2 MiB too; uid
    # 1001 is unaffected.
    bad=""
    fair_run fair-q8 1000 run c-hello.aot
    fair_refused fair-q8 max_quota_per_uid || bad="$bad $(fair_why fair-q8)"
    fair_hold fair-h2 1000 1 5M || bad="$bad [holder: $(cat $tmp/fair-h2.out)]"
    fair_run fair-q2 1000 run --heap 2M c-hello.aot
    fair_refused fair-q2 max_quota_per_uid || bad="$bad $(fair_why fair-q2)"
    fair_run fair-q1001 1001 run --heap 2M c-hello.aot
    fair_ran fair-q1001 || bad="$bad $(fair_why fair-q1001)"
    fair_unhold
    if [ -z "$bad" ]; then
        pass "fair use: heap quota: uid 1000 with 5 MiB held is refused 2 MiB more (exit 125, \"$(cat $tmp/fair-q2.err)\"); uid 1001 runs meanwhile"
    else
        fail "fair use: heap quota" "$bad"
    fi
    # Killed mid-run: uid 1000 holds 1 session and runs the endless module in the other; SIGKILL
    # to that run gives its session back.
    bad=""
    fair_hold fair-h3 1000 1 1M || bad="$bad [holder: $(cat $tmp/fair-h3.out)]"
    tzwasm-driver-test as 1000 tzwasm run --heap 2M spin.aot >$tmp/fair-spin.out 2>$tmp/fair-spin.err &
    spin=$!
    i=0
    while ! grep -q spinning $tmp/fair-spin.out 2>/dev/null && kill -0 $spin 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done
    grep -q spinning $tmp/fair-spin.out 2>/dev/null || bad="$bad [spin did not start: $(cat $tmp/fair-spin.err)]"
    fair_run fair-k1 1000 run --heap 2M c-hello.aot
    fair_refused fair-k1 max_sessions_per_uid || bad="$bad $(fair_why fair-k1)"
    kill -9 $spin 2>/dev/null
    wait $spin 2>/dev/null
    st=$?
    fair_run fair-k2 1000 run --heap 2M c-hello.aot
    fair_ran fair-k2 || bad="$bad $(fair_why fair-k2)"
    fair_unhold
    used=$(pool_used)
    [ "$used" = "$pool_base" ] || bad="$bad [pool $used in use after the holders, baseline $pool_base]"
    if [ -z "$bad" ] && [ $st = 137 ]; then
        pass "fair use: killed mid-run: uid 1000's running module and holder fill its 2 sessions; SIGKILL to the run (exit $st) frees its session, the next run succeeds; pool back at its baseline"
    else
        fail "fair use: killed mid-run" "spin exit $st $bad"
    fi
    # A lower limit set at runtime applies to new sessions.
    echo 0 >/sys/module/tzwasm/parameters/max_sessions_per_uid
    fair_run fair-zero 1000 run --heap 2M c-hello.aot
    echo 2 >/sys/module/tzwasm/parameters/max_sessions_per_uid
    if fair_refused fair-zero max_sessions_per_uid && grep -q "holds 0 tzwasm sessions" $tmp/fair-zero.err; then
        pass "fair use: max_sessions_per_uid changed at runtime (0) refuses the next session"
    else
        fail "fair use: runtime parameter" "$(fair_why fair-zero)"
    fi
}

# The node's mode: mode=0600 lets only root in (EACCES for uid 1000, the tool names the
# parameter); bad values are refused at insmod; the defaults come back.
fair_mode() {
    fair_reload mode=0600 || return
    m=$(stat -c %a /dev/tzwasm)
    fair_run fair-mode 1000 info
    run fair-mode-root info
    if [ "$m" = 600 ] && [ "$(param mode)" = 0600 ] && [ "$(rc fair-mode)" = 125 ] &&
        grep -q "Permission denied" $tmp/fair-mode.err && grep -q "module parameter .mode." $tmp/fair-mode.err &&
        [ "$(rc fair-mode-root)" = 0 ]; then
        pass "fair use: mode=0600: /dev/tzwasm is $m; uid 1000 gets \"$(cat $tmp/fair-mode.err)\" (exit 125); root's info works"
    else
        fail "fair use: mode" "node $m, parameter $(param mode), uid 1000 $(fair_why fair-mode), root exit $(rc fair-mode-root)"
    fi
    rmmod tzwasm
    bad=""
    for p in mode=0999 mode=01666 max_quota_per_uid=0 max_quota_per_uid=150% max_quota_per_uid=6X; do
        if insmod /lib/modules/tzwasm.ko $p 2>/dev/null; then bad="$bad $p"; rmmod tzwasm; fi
    done
    insmod /lib/modules/tzwasm.ko
    m=$(stat -c %a /dev/tzwasm)
    line=$(dmesg | sed -n 's/^\[[ 0-9.]*\] \(tzwasm: \/dev\/tzwasm mode .*\)/\1/p' | tail -1)
    if [ -z "$bad" ] && [ "$m" = 666 ] && [ "$(param mode)" = 0666 ] &&
        [ "$(param max_sessions_per_uid)" = 8 ] && [ "$(param max_quota_per_uid)" = 75% ] &&
        echo "$line" | grep -q "mode 0666; per uid at most 8 sessions and [0-9]* bytes"; then
        pass "fair use: bad parameters refused at insmod; defaults back: mode 0666, 8 sessions, 75% of the pool per uid (\"$line\")"
    else
        fail "fair use: defaults" "accepted:${bad:- none}; node $m, parameters $(param mode) $(param max_sessions_per_uid) $(param max_quota_per_uid); dmesg '$line'"
    fi
}

case_fair_use() {
    fair_limits
    fair_mode
}

# %20 is a space and %25 a %, as in guests/manifest.txt.
decode() { printf '%s' "$1" | sed 's/%20/ /g; s/%25/%/g'; }

case_corpus() {
    total=0; bad=0; skipped=0; list=""
    while IFS='|' read -r test module entry args env; do
        case "$test" in ''|'#'*) continue ;; esac
        if grep -q "^$test " $skips 2>/dev/null; then skipped=$((skipped + 1)); continue; fi
        [ -d $expected/$test ] || { skipped=$((skipped + 1)); continue; }
        set -- run
        for e in $env; do set -- "$@" --env "$(decode "$e")"; done
        case "$entry" in func:*) set -- "$@" --function "${entry#func:}" ;; esac
        set -- "$@" $module.aot --
        for a in $args; do set -- "$@" "$(decode "$a")"; done
        tzwasm "$@" >$tmp/c.out 2>$tmp/c.err </dev/null
        got=$?
        want=$(($(cat $expected/$test/exit) % 256))
        cp $expected/$test/stderr $tmp/c.wanterr
        [ -f $expected/$test/trap ] && echo "tzwasm: trap: $(cat $expected/$test/trap)" >>$tmp/c.wanterr
        # After "native stack overflow" the tool says how to give the module more stack.
        [ "$(cat $expected/$test/trap 2>/dev/null)" = "native stack overflow" ] &&
            echo "tzwasm: the module used up its native stack of 64 KiB; give it more with --stack (e.g. --stack 256K), up to 8 MiB" >>$tmp/c.wanterr
        total=$((total + 1))
        if [ $got != $want ] || ! cmp -s $tmp/c.out $expected/$test/stdout || ! cmp -s $tmp/c.err $tmp/c.wanterr; then
            bad=$((bad + 1))
            list="$list [$test: exit $got want $want; $(head -c 200 $tmp/c.err | tr '\n' ' ')]"
        fi
    done <$manifest
    if [ $bad = 0 ] && [ $total -gt 0 ]; then
        pass "corpus: $total tests of guests/manifest.txt equal WAMR iwasm (stdout, stderr, exit, trap); $skipped skipped (qemu/bundle-skip.txt)"
    else
        fail corpus "$bad of $total differ:$list"
    fi
}

# ---- Issue 11: isolation, the two reproduced cases, and the suspected ones ------------------

# le64 FILE OFFSET VALUE: VALUE as 8 little-endian bytes at OFFSET of FILE.
le64() {
    v=$3; s=""
    for _ in 1 2 3 4 5 6 7 8; do
        s="$s\\$(printf '%03o' $((v & 255)))"
        v=$((v >> 8))
    done
    printf "$s" | dd of=$1 bs=1 seek=$2 conv=notrunc 2>/dev/null
}
# hex_ok TEXT ADDRESS...: TEXT names no secure address: no hexadecimal number over 32 bits
# (module windows are at 512 GiB and up), none in secure DRAM (0x0e000000..0x0f000000), and
# none of the given addresses.
hex_ok() {
    hex_text=$1; shift
    for h in $(echo "$hex_text" | grep -oiE '0x[0-9a-f]+'); do
        [ ${#h} -gt 10 ] && return 1
        [ $((h)) -ge $((0x0e000000)) ] && [ $((h)) -lt $((0x0f000000)) ] && return 1
        for a in "$@"; do [ $((h)) = $((a)) ] && return 1; done
    done
    return 0
}
# Address-space isolation (issue 11 / docs/threat-model.md): a victim in session 1, mid-run with
# markers in both pages of its linear memory and on its stack (it writes its address record,
# then 1 MiB nobody reads: it cannot end, its run waits on a full ring), and for each of its
# window addresses (code, instance data, stack, linear memory, its second memory page, entry
# stubs) an attacker in session 2 patched with that address: it loads from it (reading the
# marker would be a leak, brk #1), stores to it, then does the same at the victim's second
# page, which its own one-page memory lacks. Every attacker must trap, not at the leak brk,
# with a report naming a window and offset of its own, or WAMR's "out of bounds memory access"
# or "native stack overflow" (no secure address); the victim, resumed,
# must find every marker unchanged and say so; the pool is back at its baseline.
case_isolation() {
    rm -f $tmp/iso.fifo $tmp/iso.rec $tmp/iso.go $tmp/iso.got; mkfifo $tmp/iso.fifo
    (head -c 40 >$tmp/iso.rec; touch $tmp/iso.got; while [ ! -e $tmp/iso.go ]; do sleep 0.1; done
        cat >/dev/null) <$tmp/iso.fifo &
    reader=$!
    tzwasm run isolation-victim.aot >$tmp/iso.fifo 2>$tmp/iso-victim.err &
    victim=$!
    i=0
    while [ ! -e $tmp/iso.got ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    if [ "$(wc -c <$tmp/iso.rec 2>/dev/null)" != 40 ]; then
        touch $tmp/iso.go; kill $victim 2>/dev/null; wait $victim; wait $reader
        fail isolation "no address record from the victim: $(cat $tmp/iso-victim.err)"
        return
    fi
    set -- $(od -An -v -tu1 $tmp/iso.rec)
    words=""
    for k in 0 1 2 3 4; do
        w=0
        for j in 0 1 2 3 4 5 6 7; do
            eval "b=\${$((8 * k + j + 1))}"
            w=$((w | (b << (8 * j))))
        done
        words="$words $w"
        eval "rec$k=$w"
    done
    bad=""; where=""
    for t in code data stack memory page2 stubs; do
        cp isolation-attack-$t.aot $tmp/attack.aot
        while read -r off word add; do
            eval "base=\$rec$word"
            le64 $tmp/attack.aot $off $((base + add))
        done <isolation-attack-$t.patch
        run attack run $tmp/attack.aot
        msg=$(sed -n 's/^tzwasm: trap: //p' $tmp/attack.err)
        if [ "$(rc attack)" != 1 ] || [ -z "$msg" ] || [ -s $tmp/attack.out ] ||
            echo "$msg" | grep -q "EC 0x3c" || ! hex_ok "$msg" $words ||
            ! echo "$msg" | grep -qE " at (code|instance data|stack|linear memory|entry stubs) [-+]0x|^out of bounds memory access$|^native stack overflow$"; then
            bad="$bad [$t: exit $(rc attack), stdout $(wc -c <$tmp/attack.out) bytes, $(cat $tmp/attack.err)]"
        fi
        where="$where; $t: $(echo "$msg" | sed 's/^module fault: ESR [^;]*; //')"
        kill -0 $victim 2>/dev/null || bad="$bad [the victim ended during the $t attack]"
    done
    touch $tmp/iso.go
    if ! stop_within $victim 60; then kill -9 $victim; bad="$bad [the victim did not end once read]"; fi
    wait $victim
    vst=$?
    wait $reader
    used=$(pool_used)
    if [ -z "$bad" ] && [ $vst = 0 ] && [ "$(cat $tmp/iso-victim.err)" = "isolation victim: markers unchanged" ] &&
        [ "$used" = "$pool_base" ]; then
        pass "isolation: 6 attackers in session 2 at the address of each victim window trapped (${where#; }); the victim, resumed, said \"$(cat $tmp/iso-victim.err)\"; pool at its baseline"
    else
        fail isolation "victim exit $vst, stderr '$(cat $tmp/iso-victim.err)', pool $used (baseline $pool_base)$bad; traps$where"
    fi
}

# hello_after NAME: the secure world still serves: hello runs and equals iwasm.
hello_after() {
    run $1-next run c-hello.aot
    [ "$(rc $1-next)" = 0 ] && cmp -s $tmp/$1-next.out $expected/c-hello/stdout
}

# Issue 11, reproduced case 1: an export taking an externref, given "abcé" (the old code
# sliced the text inside the "é" and the secure world parked with its locks held). Wanted:
# iwasm's answer, "invalid input argument 0: abcé", as a trap (exit 1); the next run works.
case_externref_arg() {
    run xref run --function f externref-arg.aot -- abcé 1 2
    if [ "$(rc xref)" = 1 ] && grep -qxF "tzwasm: trap: invalid input argument 0: abcé" $tmp/xref.err &&
        hello_after xref; then
        pass "externref argument: --function f -- abcé 1 2 -> \"$(cat $tmp/xref.err)\" (exit 1); the next run works"
    else
        fail "externref argument" "exit $(rc xref), stdout '$(cat $tmp/xref.out)', stderr '$(cat $tmp/xref.err)'; next run exit $(rc xref-next) $(cat $tmp/xref-next.err)"
    fi
}

# Issue 11, reproduced case 2: table.copy over a 1,000,000-slot funcref table under --heap 13M
# (the helper's working buffer once exhausted the pool and the failed allocation panicked).
# The module checks the copied slots itself (exit 0, or a trap at `unreachable`). With quotas
# reserved at OPEN, 13M may be more than the pool has free for sessions: then the refusal must
# say how much is free, and the module must run in that much.
case_table_copy() {
    run tcopy run --heap 13M table-copy-1m.aot
    heap=13M
    if [ "$(rc tcopy)" = 125 ] && grep -q "free for sessions" $tmp/tcopy.err; then
        heap=$(sed -n 's/.*pool has \([0-9]*\) bytes (.*/\1/p' $tmp/tcopy.err)
        first="--heap 13M: \"$(cat $tmp/tcopy.err)\"; "
        run tcopy run --heap "$heap" table-copy-1m.aot
    else
        first=""
    fi
    if [ "$(rc tcopy)" = 0 ] && [ ! -s $tmp/tcopy.out ] && [ ! -s $tmp/tcopy.err ] && hello_after tcopy &&
        [ "$(pool_used)" = "$pool_base" ]; then
        pass "table.copy over 1,000,000 slots: ${first}--heap $heap runs it (exit 0, slots checked by the module); the next run works, pool at its baseline"
    else
        fail "table.copy over 1,000,000 slots" "${first}--heap $heap: exit $(rc tcopy), stderr '$(cat $tmp/tcopy.err)'; next run exit $(rc tcopy-next) $(cat $tmp/tcopy-next.err)"
    fi
}

# Issue 11, suspected: "parser allocations are counted" and "quota - copy_cost underflows". A
# 3.4 MB module with 90,000 distinct relocation symbols (parsing it takes more memory than the
# file): under a quota smaller than the file, QUOTA_TOO_SMALL with a minimum above the file's
# size (the subtraction once wrapped); under a quota just above the file, an error (never a
# hang or a park, bounded here at 300 s); each time the pool is back at its baseline and the
# next run works.
case_many_symbols() {
    size=$(wc -c <many-symbols.aot)
    bad=""
    timeout 300 tzwasm run --heap 1M many-symbols.aot >$tmp/msym1.out 2>$tmp/msym1.err
    st1=$?
    # The parse is charged to the session, and LOAD measures the minimum by loading with a
    # loan, so the answer is either the minimum or why the module cannot load at all (this
    # one's symbols are not runtime functions): a refusal either way, never the pool running
    # out.
    need=$(sed -n 's/^tzwasm: heap too small: this module needs at least \([0-9]*\) bytes.*/\1/p' $tmp/msym1.err)
    if [ $st1 != 125 ] || [ -s $tmp/msym1.out ] ||
        { [ -z "$need" ] && ! grep -q '^tzwasm: the module did not load: ' $tmp/msym1.err; } ||
        { [ -n "$need" ] && [ "$need" -le "$size" ]; }; then
        bad="$bad [--heap 1M: exit $st1, $(cat $tmp/msym1.err)]"
    fi
    # A file larger than its quota (the suspected `quota - copy_cost` underflow): the minimum,
    # above the file's size.
    big=$(wc -c <rust-compute.aot)
    timeout 300 tzwasm run --heap 128K rust-compute.aot >$tmp/msym0.out 2>$tmp/msym0.err
    st0=$?
    need0=$(sed -n 's/^tzwasm: heap too small: this module needs at least \([0-9]*\) bytes.*/\1/p' $tmp/msym0.err)
    if [ $st0 != 125 ] || [ -z "$need0" ] || [ "$need0" -le "$big" ]; then
        bad="$bad [rust-compute.aot ($big bytes) --heap 128K: exit $st0, $(cat $tmp/msym0.err)]"
    fi
    hello_after msym1 || bad="$bad [after --heap 1M: hello exit $(rc msym1-next)]"
    [ "$(pool_used)" = "$pool_base" ] || bad="$bad [after --heap 1M: pool $(pool_used), baseline $pool_base]"
    timeout 300 tzwasm run --heap 4M many-symbols.aot >$tmp/msym2.out 2>$tmp/msym2.err
    st2=$?
    if [ $st2 != 125 ] || ! grep -q "^tzwasm: " $tmp/msym2.err || [ -s $tmp/msym2.out ]; then
        bad="$bad [--heap 4M: exit $st2, $(cat $tmp/msym2.err)]"
    fi
    hello_after msym2 || bad="$bad [after --heap 4M: hello exit $(rc msym2-next)]"
    [ "$(pool_used)" = "$pool_base" ] || bad="$bad [after --heap 4M: pool $(pool_used), baseline $pool_base]"
    if [ -z "$bad" ]; then
        pass "many relocation symbols ($size bytes): --heap 1M -> \"$(cat $tmp/msym1.err)\"; a $big-byte file under --heap 128K needs $need0; --heap 4M -> \"$(cat $tmp/msym2.err)\"; pool at its baseline and the next run works after each"
    else
        fail "many relocation symbols" "$bad"
    fi
}

# tzwasm-verify on RFC 9783's example token (data no one here wrote): it verifies with the RFC's
# key and nonce; a copy with one signature byte zeroed is rejected with exit 1 and the reason.
case_verify_rfc() {
    v=/usr/share/tzwasm/rfc9783
    tzwasm-verify token $v/psa-sign1.cbor --key $v/tfm-es-iak.pem \
        --nonce 0101010101010101010101010101010101010101010101010101010101010101 \
        >$tmp/vr.out 2>$tmp/vr.err
    good=$?
    cp $v/psa-sign1.cbor $tmp/vr-bad.cbor
    printf '\000' | dd of=$tmp/vr-bad.cbor bs=1 seek=300 conv=notrunc 2>/dev/null
    tzwasm-verify token $tmp/vr-bad.cbor --key $v/tfm-es-iak.pem >$tmp/vr-bad.out 2>$tmp/vr-bad.err
    bad=$?
    if [ $good = 0 ] && grep -qx "verified: signature (ES256), nonce" $tmp/vr.out \
        && [ $bad = 1 ] && grep -qx "tzwasm-verify: signature does not verify" $tmp/vr-bad.err; then
        pass "verify rfc: RFC 9783's example token verifies in the guest; one byte changed: \"$(cat $tmp/vr-bad.err)\""
    else
        fail "verify rfc" "good: exit $good, $(tail -1 $tmp/vr.out) $(cat $tmp/vr.err); corrupted: exit $bad, $(cat $tmp/vr-bad.err)"
    fi
}

# Issue 11, suspected: "the sum of live quotas can exceed the pool". Quotas are reserved while
# a program's session is open: with one session holding half of what is free, a --heap of the
# rest plus a page is refused with the bytes now free (what was free minus the held quota),
# exactly that much runs, and the holder's end gives its quota back.
case_quota_sum() {
    run qs0 run --heap 1G c-hello.aot
    free=$(sed -n 's/.*pool has \([0-9]*\) bytes (.*free for sessions.*/\1/p' $tmp/qs0.err)
    if [ "$(rc qs0)" != 125 ] || [ -z "$free" ]; then
        fail "quota sum" "--heap 1G: exit $(rc qs0), '$(cat $tmp/qs0.err)'"
        return
    fi
    held=$(((free / 2) & ~4095))
    bad=""
    tzwasm-driver-test hold 1 $held >$tmp/qs-hold.out 2>&1 &
    holder=$!
    i=0
    while ! grep -q "^holding" $tmp/qs-hold.out 2>/dev/null && kill -0 $holder 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1; i=$((i + 1))
    done
    grep -q "^holding 1 sessions" $tmp/qs-hold.out || bad="$bad [holder: $(cat $tmp/qs-hold.out)]"
    run qs1 run --heap $((free - held + 4096)) c-hello.aot
    left=$(sed -n 's/.*pool has \([0-9]*\) bytes (.*free for sessions.*/\1/p' $tmp/qs1.err)
    if [ "$(rc qs1)" != 125 ] || [ -z "$left" ] || [ "$left" -gt $((free - held)) ]; then
        bad="$bad [--heap free-held+4K: exit $(rc qs1), $(cat $tmp/qs1.err)]"
        left=$((free - held))
    fi
    run qs2 run --heap $left c-hello.aot
    { [ "$(rc qs2)" = 0 ] && cmp -s $tmp/qs2.out $expected/c-hello/stdout; } || bad="$bad [--heap $left: exit $(rc qs2), $(cat $tmp/qs2.err)]"
    kill -9 $holder 2>/dev/null; wait $holder 2>/dev/null
    run qs3 run --heap $free c-hello.aot
    { [ "$(rc qs3)" = 0 ] && cmp -s $tmp/qs3.out $expected/c-hello/stdout; } || bad="$bad [after the holder, --heap $free: exit $(rc qs3), $(cat $tmp/qs3.err)]"
    if [ -z "$bad" ]; then
        pass "quota sum: $free bytes free; one session holding $held, --heap $((free - held + 4096)) is refused (\"$(cat $tmp/qs1.err)\"), --heap $left runs; after the holder, --heap $free runs"
    else
        fail "quota sum" "$bad"
    fi
}

# Issue 12: the tzwasm imports (attest, seal, unseal) from a module in the secure world, with
# good and hostile arguments (wild, wrapping and overlapping pointers, short buffers, changed
# blobs); the module checks each errno itself and prints a summary. The next run works.
case_tee_imports() {
    run tee run tee-selftest.aot
    sum=$(grep '^tee-selftest: ' $tmp/tee.out)
    if [ "$(rc tee)" = 0 ] && echo "$sum" | grep -q ' 0 failed$' && ! grep -q '^FAIL' $tmp/tee.out &&
        hello_after tee; then
        pass "tzwasm imports from a module: $sum (hostile pointers get errnos, a changed blob EBADMSG); the next run works"
    else
        fail "tzwasm imports" "exit $(rc tee), $(grep -v '^ok' $tmp/tee.out | tr '\n' ';') stderr '$(cat $tmp/tee.err)'"
    fi
}

# Issue 12: data sealed in one run opens in the next (the secure world keeps no state: the
# blob is the normal world's); the same program compiled otherwise (another measurement)
# cannot open it, nor can anyone open a blob with one byte changed.
case_seal_runs() {
    run seal1 run tee-demo.aot seal "counter=41"
    blob=$(cat $tmp/seal1.out)
    run seal2 run tee-demo.aot unseal "$blob"
    run seal3 run tee-demo-bc1.aot unseal "$blob"
    first=$(printf '%s' "$blob" | cut -c1-60)
    flip=$(printf '%s' "$blob" | cut -c61-62)
    rest=$(printf '%s' "$blob" | cut -c63-)
    [ "$flip" = 00 ] && nf=01 || nf=00
    run seal4 run tee-demo.aot unseal "$first$nf$rest"
    why="sealed blob is corrupt or belongs to another module or device"
    if [ "$(rc seal1)" = 0 ] && [ ${#blob} = $(((10 + 44) * 2)) ] &&
        [ "$(rc seal2)" = 0 ] && [ "$(cat $tmp/seal2.out)" = "counter=41" ] &&
        [ "$(rc seal3)" = 1 ] && grep -qF "$why" $tmp/seal3.err &&
        [ "$(rc seal4)" = 1 ] && grep -qF "$why" $tmp/seal4.err && [ ! -s $tmp/seal4.out ]; then
        pass "sealing across runs: sealed in one run, opened in the next; another module's file and a changed byte get \"$(cat $tmp/seal3.err)\""
    else
        fail "sealing across runs" "seal: exit $(rc seal1) '$blob' $(cat $tmp/seal1.err); unseal: exit $(rc seal2) '$(cat $tmp/seal2.out)' $(cat $tmp/seal2.err); other module: exit $(rc seal3) $(cat $tmp/seal3.err); changed: exit $(rc seal4) '$(cat $tmp/seal4.out)' $(cat $tmp/seal4.err)"
    fi
}

# Issue 12: attest -> verify from the normal world. The token verifies against the device's
# endorsed key (/usr/share/tzwasm/device-attestation.pub), the nonce, the firmware
# measurement `tzwasm info` reports and the module file; one flipped bit, another module's
# file and another nonce each fail with their reason.
case_attest() {
    key=/usr/share/tzwasm/device-attestation.pub
    nonce=$(printf '%s' "tzwasm-linux-test-nonce" | sha256sum | cut -c1-64)
    other=$(printf '%s' "another nonce" | sha256sum | cut -c1-64)
    fw=$(tzwasm info 2>/dev/null | sed -n 's/^firmware measurement: \([0-9a-f]\{64\}\)$/\1/p')
    tzwasm attest --nonce $nonce c-hello.aot >$tmp/tok.cbor 2>$tmp/tok.err
    st=$?
    bad=""
    [ $st = 0 ] && [ -s $tmp/tok.cbor ] || bad="$bad [attest: exit $st, $(cat $tmp/tok.err)]"
    [ -n "$fw" ] || bad="$bad [no firmware measurement in tzwasm info]"
    v() { n=$1; shift; tzwasm-verify token "$@" >$tmp/$n.out 2>$tmp/$n.err; echo $? >$tmp/$n.rc; }
    v vok $tmp/tok.cbor --key $key --nonce $nonce --firmware "$fw" --module c-hello.aot
    [ "$(rc vok)" = 0 ] && grep -q '^verified: ' $tmp/vok.out || bad="$bad [verify: exit $(rc vok), $(cat $tmp/vok.err)]"
    # One bit flipped in the middle of the token.
    size=$(wc -c <$tmp/tok.cbor)
    at=$((size / 2))
    byte=$(dd if=$tmp/tok.cbor bs=1 skip=$at count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
    { dd if=$tmp/tok.cbor bs=1 count=$at 2>/dev/null
      printf "\\$(printf '%03o' $((byte ^ 1)))"
      dd if=$tmp/tok.cbor bs=1 skip=$((at + 1)) 2>/dev/null; } >$tmp/tok-bit.cbor
    v vbit $tmp/tok-bit.cbor --key $key --nonce $nonce --firmware "$fw" --module c-hello.aot
    [ "$(rc vbit)" = 1 ] || bad="$bad [flipped bit: exit $(rc vbit), $(cat $tmp/vbit.err)]"
    v vmod $tmp/tok.cbor --key $key --nonce $nonce --firmware "$fw" --module c-args.aot
    { [ "$(rc vmod)" = 1 ] && grep -q 'module hash mismatch' $tmp/vmod.err; } || bad="$bad [other module: exit $(rc vmod), $(cat $tmp/vmod.err)]"
    v vnon $tmp/tok.cbor --key $key --nonce $other --firmware "$fw" --module c-hello.aot
    { [ "$(rc vnon)" = 1 ] && grep -q 'nonce mismatch' $tmp/vnon.err; } || bad="$bad [other nonce: exit $(rc vnon), $(cat $tmp/vnon.err)]"
    if [ -z "$bad" ]; then
        pass "attest -> verify: a $size-byte token verifies; a flipped bit: \"$(cat $tmp/vbit.err)\"; another module: \"$(cat $tmp/vmod.err)\"; another nonce: \"$(cat $tmp/vnon.err)\""
    else
        fail "attest -> verify" "$bad"
    fi
}

# Issue 12: signed run receipts. A receipt over a 10 MiB stdout verifies against the bytes
# the tool printed; one changed byte, a dropped 64 KiB chunk, or stdout and stderr swapped
# (on a run that writes both) each fail; so do another argv, another nonce, and a receipt
# asked of a run that did not ask for one.
case_receipt() {
    key=/usr/share/tzwasm/device-attestation.pub
    nonce=$(printf '%s' "tzwasm-linux-test-receipt" | sha256sum | cut -c1-64)
    other=$(printf '%s' "another receipt nonce" | sha256sum | cut -c1-64)
    bad=""
    tzwasm run --receipt $tmp/r10.cbor --nonce $nonce write10mib.aot >$tmp/r10.out 2>$tmp/r10.err
    st=$?
    [ $st = 0 ] && [ -s $tmp/r10.cbor ] || bad="$bad [run: exit $st, $(cat $tmp/r10.err)]"
    [ "$(wc -c <$tmp/r10.out)" = 10485760 ] || bad="$bad [stdout $(wc -c <$tmp/r10.out) bytes]"
    v() { n=$1; shift; tzwasm-verify receipt "$@" >$tmp/$n.out 2>$tmp/$n.err; echo $? >$tmp/$n.rc; }
    common="--key $key --module write10mib.aot --arg write10mib.aot"
    v rok $tmp/r10.cbor $common --nonce $nonce --stdout $tmp/r10.out --stderr $tmp/r10.err --exit 0
    { [ "$(rc rok)" = 0 ] && grep -q '^verified: .*stdout.*stderr.*args.*exit' $tmp/rok.out &&
        grep -q '^receipt exit code: 0$' $tmp/rok.out; } ||
        bad="$bad [verify: exit $(rc rok), $(cat $tmp/rok.err) $(grep verified $tmp/rok.out)]"
    # One byte changed at 5 MiB + 3.
    at=$((5 * 1048576 + 3))
    byte=$(dd if=$tmp/r10.out bs=1 skip=$at count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
    { head -c $at $tmp/r10.out
      printf "\\$(printf '%03o' $(((byte + 1) % 256)))"
      tail -c +$((at + 2)) $tmp/r10.out; } >$tmp/r10-byte.out
    v rbyte $tmp/r10.cbor $common --nonce $nonce --stdout $tmp/r10-byte.out
    { [ "$(rc rbyte)" = 1 ] && grep -q 'stdout' $tmp/rbyte.err; } ||
        bad="$bad [changed byte: exit $(rc rbyte), $(cat $tmp/rbyte.err)]"
    # The 64 KiB chunk at 1 MiB dropped.
    { head -c 1048576 $tmp/r10.out; tail -c +$((1048576 + 65536 + 1)) $tmp/r10.out; } >$tmp/r10-drop.out
    v rdrop $tmp/r10.cbor $common --nonce $nonce --stdout $tmp/r10-drop.out
    { [ "$(rc rdrop)" = 1 ] && grep -q 'stdout' $tmp/rdrop.err; } ||
        bad="$bad [dropped chunk: exit $(rc rdrop), $(cat $tmp/rdrop.err)]"
    v rnon $tmp/r10.cbor $common --nonce $other --stdout $tmp/r10.out
    { [ "$(rc rnon)" = 1 ] && grep -q 'nonce mismatch' $tmp/rnon.err; } ||
        bad="$bad [other nonce: exit $(rc rnon), $(cat $tmp/rnon.err)]"
    v rarg $tmp/r10.cbor --key $key --nonce $nonce --arg write10mib.aot --arg extra
    [ "$(rc rarg)" = 1 ] || bad="$bad [other argv: exit $(rc rarg), $(cat $tmp/rarg.err)]"
    # Both streams: stdout and stderr swapped must fail, in order they verify.
    tzwasm run --receipt $tmp/rl.cbor --nonce $nonce --env K=V c-large_output.aot x >$tmp/rl.out 2>$tmp/rl.err
    st=$?
    [ $st = 0 ] || bad="$bad [large_output: exit $st, $(tail -1 $tmp/rl.err)]"
    lcommon="--key $key --nonce $nonce --module c-large_output.aot --arg c-large_output.aot --arg x --env K=V"
    v rlok $tmp/rl.cbor $lcommon --stdout $tmp/rl.out --stderr $tmp/rl.err
    [ "$(rc rlok)" = 0 ] || bad="$bad [large_output verify: exit $(rc rlok), $(cat $tmp/rlok.err)]"
    v rlswap $tmp/rl.cbor $lcommon --stdout $tmp/rl.err --stderr $tmp/rl.out
    { [ "$(rc rlswap)" = 1 ] && grep -q 'stdout' $tmp/rlswap.err; } ||
        bad="$bad [swapped streams: exit $(rc rlswap), $(cat $tmp/rlswap.err)]"
    v rlenv $tmp/rl.cbor --key $key --nonce $nonce --arg c-large_output.aot --arg x
    [ "$(rc rlenv)" = 1 ] || bad="$bad [without the env: exit $(rc rlenv)]"
    # A trap is in the receipt too.
    tzwasm run --receipt $tmp/rt.cbor --nonce $nonce c-recursion.aot 100000000 >$tmp/rt.out 2>$tmp/rt.err
    st=$?
    v rtrap $tmp/rt.cbor --key $key --nonce $nonce --module c-recursion.aot --stdout $tmp/rt.out
    v rtrapx $tmp/rt.cbor --key $key --nonce $nonce --exit 0
    { [ $st = 1 ] && [ "$(rc rtrap)" = 0 ] && grep -q '^receipt outcome: trapped$' $tmp/rtrap.out &&
        [ "$(rc rtrapx)" = 1 ] && grep -q 'exit mismatch' $tmp/rtrapx.err; } ||
        bad="$bad [trap: exit $st, verify $(rc rtrap) $(cat $tmp/rtrap.err) $(grep outcome $tmp/rtrap.out)]"
    # What the module read from stdin is in the receipt too.
    printf 'input the receipt covers\n' >$tmp/rs.in
    tzwasm run --receipt $tmp/rs.cbor --nonce $nonce stdin-cat.aot <$tmp/rs.in >$tmp/rs.out 2>$tmp/rs.err
    v rsok $tmp/rs.cbor --key $key --nonce $nonce --module stdin-cat.aot --stdin $tmp/rs.in --stdout $tmp/rs.out --stderr $tmp/rs.err
    printf 'other input\n' >$tmp/rs.other
    v rsbad $tmp/rs.cbor --key $key --nonce $nonce --stdin $tmp/rs.other
    { [ "$(rc rsok)" = 0 ] && grep -q '^receipt stdin length: 25$' $tmp/rsok.out &&
        [ "$(rc rsbad)" = 1 ] && grep -q 'stdin hash mismatch' $tmp/rsbad.err; } ||
        bad="$bad [stdin: verify $(rc rsok) $(cat $tmp/rsok.err), other input $(rc rsbad) $(cat $tmp/rsbad.err)]"
    run rbad run --receipt $tmp/rbad.cbor --nonce abcd c-hello.aot
    [ "$(rc rbad)" = 2 ] || bad="$bad [short nonce: exit $(rc rbad)]"
    if [ -z "$bad" ]; then
        pass "receipts: a $(wc -c <$tmp/r10.cbor)-byte receipt over 10 MiB of stdout verifies; a changed byte: \"$(cat $tmp/rbyte.err)\"; a dropped chunk: \"$(cat $tmp/rdrop.err)\"; stdout and stderr swapped: \"$(cat $tmp/rlswap.err)\"; another nonce, argv or environment fail; a trap is recorded; what the module read from stdin is bound too (other input: \"$(cat $tmp/rsbad.err)\")"
    else
        fail "receipts" "$bad"
    fi
}

# Issue 12, remote provisioning (guests/tee/tee-provision, docs/attestation.md): the module
# makes a P-256 key pair inside the secure world, seals the private key and attests with the
# public key as user data; the verifier checks the token (device key, nonce, firmware, module)
# and encrypts a secret to that key (tzwasm-verify encrypt); the module opens it and seals it;
# a second run shows its SHA-256 again. The same program compiled otherwise (another
# measurement) and another program cannot open the sealed key or secret, and a changed byte of
# the envelope is refused. Prints "@PROVISION SEALED_SECRET DIGEST" for the host, which boots
# the same image again and runs `show` (qemu/linux/run-linux-test.sh).
pv_unhex() { printf '%s' "$1" | xxd -r -p >"$2"; } # HEX FILE: the bytes of HEX into FILE
pv_line() { sed -n "s/^$2: \([0-9a-f]*\)$/\1/p" $tmp/$1.out; } # NAME FIELD: a field of a run
case_provision() {
    key=/usr/share/tzwasm/device-attestation.pub
    fw=$(tzwasm info 2>/dev/null | sed -n 's/^firmware measurement: \([0-9a-f]\{64\}\)$/\1/p')
    nonce=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
    echo "linux-test provisioned secret $(head -c 16 /dev/urandom | sha256sum | cut -c1-32)" >$tmp/pv-secret
    want=$(sha256sum $tmp/pv-secret | cut -c1-64)
    why="sealed blob is corrupt or belongs to another module or device"
    bad=""
    run pv-keygen run tee-provision.aot keygen $nonce
    pub=$(pv_line pv-keygen public-key)
    sealed_key=$(pv_line pv-keygen sealed-key)
    pv_unhex "$(pv_line pv-keygen token)" $tmp/pv-token.cbor
    { [ "$(rc pv-keygen)" = 0 ] && [ ${#pub} = 130 ] && [ ${#sealed_key} = $(((4 + 32 + 44) * 2)) ] &&
        [ -s $tmp/pv-token.cbor ]; } || bad="$bad [keygen: exit $(rc pv-keygen), $(cat $tmp/pv-keygen.err)]"
    # The verifier: the token must be the module's, fresh, on this firmware; then encrypt.
    tzwasm-verify encrypt $tmp/pv-token.cbor --key $key --nonce $nonce --firmware "$fw" \
        --module tee-provision.aot --secret $tmp/pv-secret --out $tmp/pv-secret.tzp \
        >$tmp/pv-enc.out 2>$tmp/pv-enc.err
    st=$?
    { [ $st = 0 ] && grep -qx "user data: $pub" $tmp/pv-enc.out &&
        grep -qx 'verified: signature (ES256), nonce, firmware, module, recipient key (P-256)' $tmp/pv-enc.out &&
        grep -q '^encrypted: ' $tmp/pv-enc.out; } || bad="$bad [encrypt: exit $st, $(tail -2 $tmp/pv-enc.out) $(cat $tmp/pv-enc.err)]"
    # The same token for another module's file: refused, nothing encrypted.
    tzwasm-verify encrypt $tmp/pv-token.cbor --key $key --nonce $nonce --firmware "$fw" \
        --module tee-demo.aot --secret $tmp/pv-secret --out $tmp/pv-other.tzp >$tmp/pv-enc2.out 2>$tmp/pv-enc2.err
    st=$?
    { [ $st = 1 ] && grep -q '^tzwasm-verify: module hash mismatch' $tmp/pv-enc2.err && [ ! -e $tmp/pv-other.tzp ]; } ||
        bad="$bad [encrypt for another module: exit $st, $(cat $tmp/pv-enc2.err)]"
    envelope=$(od -An -v -tx1 $tmp/pv-secret.tzp | tr -d ' \n')
    run pv-prov run tee-provision.aot provision "$sealed_key" "$envelope"
    sealed=$(pv_line pv-prov sealed-secret)
    got=$(pv_line pv-prov secret-sha256)
    { [ "$(rc pv-prov)" = 0 ] && [ -n "$sealed" ] && [ "$got" = "$want" ]; } ||
        bad="$bad [provision: exit $(rc pv-prov), digest '$got' want $want, $(cat $tmp/pv-prov.err)]"
    run pv-show run tee-provision.aot show "$sealed"
    { [ "$(rc pv-show)" = 0 ] && [ "$(cat $tmp/pv-show.out)" = "secret-sha256: $want" ]; } ||
        bad="$bad [show: exit $(rc pv-show), '$(cat $tmp/pv-show.out)' $(cat $tmp/pv-show.err)]"
    # Another measurement of the same program, and another program (which would print it).
    run pv-bc1 run tee-provision-bc1.aot show "$sealed"
    { [ "$(rc pv-bc1)" = 1 ] && grep -qxF "tee-provision: show: cannot unseal the secret: $why" $tmp/pv-bc1.err &&
        [ ! -s $tmp/pv-bc1.out ]; } || bad="$bad [bc1 show: exit $(rc pv-bc1), $(cat $tmp/pv-bc1.err)]"
    run pv-bc1k run tee-provision-bc1.aot provision "$sealed_key" "$envelope"
    { [ "$(rc pv-bc1k)" = 1 ] && grep -qxF "tee-provision: provision: cannot unseal the key: $why" $tmp/pv-bc1k.err; } ||
        bad="$bad [bc1 provision: exit $(rc pv-bc1k), $(cat $tmp/pv-bc1k.err)]"
    run pv-demo run tee-demo.aot unseal "$sealed"
    { [ "$(rc pv-demo)" = 1 ] && grep -qF "$why" $tmp/pv-demo.err && [ ! -s $tmp/pv-demo.out ]; } ||
        bad="$bad [tee-demo unseal: exit $(rc pv-demo), '$(cat $tmp/pv-demo.out)' $(cat $tmp/pv-demo.err)]"
    # One flipped byte of the ciphertext (byte 69, just after the header).
    b=$(printf '%s' "$envelope" | cut -c139-140)
    [ "$b" = 00 ] && nb=01 || nb=00
    flipped="$(printf '%s' "$envelope" | cut -c1-138)$nb$(printf '%s' "$envelope" | cut -c141-)"
    run pv-flip run tee-provision.aot provision "$sealed_key" "$flipped"
    { [ "$(rc pv-flip)" = 1 ] && [ ! -s $tmp/pv-flip.out ] &&
        grep -qxF "tee-provision: provision: cannot decrypt the envelope: authentication failed (changed, or not for this key)" $tmp/pv-flip.err; } ||
        bad="$bad [flipped envelope byte: exit $(rc pv-flip), '$(cat $tmp/pv-flip.out)' $(cat $tmp/pv-flip.err)]"
    if [ -z "$bad" ]; then
        pass "remote provisioning: the module's token verifies and a $(wc -c <$tmp/pv-secret)-byte secret is encrypted to its key ($(wc -c <$tmp/pv-secret.tzp)-byte envelope); the module opens and seals it, SHA-256 $want, and shows it again in the next run; another measurement: \"$(cat $tmp/pv-bc1.err)\"; a flipped envelope byte: \"$(cat $tmp/pv-flip.err)\""
        echo "@PROVISION $sealed $want"
    else
        fail "remote provisioning" "$bad"
    fi
}

# Issue 13: stdin streamed into the secure world. 10 MiB of random bytes through a cat
# module, from a file and through a pipe, come out equal (sha256); a REPL answers each line
# before the next one is written (through fifos, so input cannot be buffered to end of
# file first); a module that stops reading early exits cleanly while the writer goes on;
# poll_oneoff on stdin says ready (with the byte count), hangup at end of file, and lets its
# clock fire while nothing comes.
case_stdin() {
    bad=""
    head -c 10485760 /dev/urandom >$tmp/in.bin
    want=$(sha256sum <$tmp/in.bin | cut -d' ' -f1)
    got=$(tzwasm run stdin-cat.aot <$tmp/in.bin 2>$tmp/cat1.err | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] && grep -q '^cat: 10485760 bytes$' $tmp/cat1.err ||
        bad="$bad [file: sha256 $got, $(cat $tmp/cat1.err)]"
    got=$(cat $tmp/in.bin | tzwasm run stdin-cat.aot 2>$tmp/cat2.err | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || bad="$bad [pipe: sha256 $got, $(cat $tmp/cat2.err)]"
    got=$(tzwasm run stdin-cat.aot </dev/null 2>$tmp/cat3.err | wc -c)
    [ "$got" = 0 ] && grep -q '^cat: 0 bytes$' $tmp/cat3.err || bad="$bad [empty: $got bytes]"
    # The REPL, one line at a time.
    rm -f $tmp/rin $tmp/rout && mkfifo $tmp/rin $tmp/rout
    tzwasm run stdin-repl.aot <$tmp/rin >$tmp/rout 2>$tmp/repl.err &
    pid=$!
    exec 3>$tmp/rin 4<$tmp/rout
    i=1
    while [ $i -le 5 ]; do
        echo "line $i" >&3
        if ! read -t 30 -r ans <&4 || [ "$ans" != "$i: line $i" ]; then
            bad="$bad [repl: line $i answered '$ans']"
            break
        fi
        i=$((i + 1))
    done
    echo quit >&3
    read -t 30 -r bye <&4
    exec 3>&- 4<&-
    wait $pid
    st=$?
    [ $st = 0 ] && [ "$bye" = "bye after 5 lines" ] || bad="$bad [repl: exit $st, '$bye', $(cat $tmp/repl.err)]"
    # Stops reading after one line while `yes` writes forever.
    out=$(yes | timeout 60 tzwasm run stdin-head1.aot 2>$tmp/head.err)
    st=$?
    [ $st = 7 ] && [ "$out" = y ] || bad="$bad [stops early: exit $st, '$out', $(cat $tmp/head.err)]"
    # poll_oneoff: input there, end of file, nothing yet (the writer keeps the fifo open).
    # From a file, so the input is there before the module polls (from a pipe it would
    # depend on when the writer runs).
    printf abc >$tmp/abc
    out=$(tzwasm run stdin-pollin.aot 1 <$tmp/abc 2>&1 | tr '\n' ' ')
    [ "$out" = "ready 3 read 3 " ] || bad="$bad [poll, input: '$out']"
    out=$(tzwasm run stdin-pollin.aot 1 </dev/null 2>&1)
    [ "$out" = hangup ] || bad="$bad [poll, end of file: '$out']"
    # A writer that holds the fifo open and writes nothing until it is killed after the run.
    rm -f $tmp/pin && mkfifo $tmp/pin
    sleep 600 >$tmp/pin &
    wpid=$!
    out=$(tzwasm run stdin-pollin.aot 2 <$tmp/pin 2>&1 | tr '\n' ' ')
    kill $wpid 2>/dev/null
    wait $wpid 2>/dev/null
    [ "$out" = "timeout timeout " ] || bad="$bad [poll, nothing yet: '$out']"
    if [ -z "$bad" ]; then
        pass "stdin: 10 MiB of random bytes through a cat module from a file and a pipe, sha256 equal; a REPL answered 5 lines one at a time through fifos; a module that stops reading exits 7 cleanly while yes keeps writing; poll_oneoff on stdin: ready 3, hangup, timeout"
    else
        fail "stdin" "$bad"
    fi
    rm -f $tmp/in.bin
}

# Issue 13: the file corpus (guests/files/manifest.txt) under tzwasm --dir/--map-dir, against
# WAMR iwasm's results recorded by `make files-expected`, with the AOT files of both
# bounds-check modes (bc0: hardware bounds, bc1: software bounds checks). Each run gets a fresh
# run directory (tools/wamr/files-lib.sh, as for iwasm) and must give iwasm's stdout, stderr,
# exit code and the same directory contents afterwards.
fdir=/usr/share/tzwasm/files
case_files() {
    if [ ! -f $fdir/manifest.txt ]; then fail files "no file corpus in the image"; return; fi
    files_seed=$fdir/seed
    . $fdir/files-lib.sh
    total=0; bad=0; list=""
    r=$tmp/files-run
    while IFS='|' read -r test module args dirs want; do
        case "$test" in ''|'#'*) continue ;; esac
        for v in aarch64-bc0 aarch64-bc1; do
            e=$fdir/expected/$v/$test
            total=$((total + 1))
            if ! flags=$(files_setup $r $fdir/$v/$module.aot "$dirs"); then
                bad=$((bad + 1)); list="$list [$v/$test: setup failed]"; continue
            fi
            set -- run
            for f in $flags; do set -- "$@" "$f"; done
            set -- "$@" $module.aot --
            for a in $args; do set -- "$@" "$(decode "$a")"; done
            (cd $r && exec tzwasm "$@" >$tmp/f.out 2>$tmp/f.err </dev/null)
            got=$?
            files_tree $r $module.aot >$tmp/f.tree
            want=$(($(cat $e/exit) % 256))
            why=""
            [ $got = $want ] || why="$why exit $got want $want;"
            cmp -s $tmp/f.out $e/stdout || why="$why stdout differs;"
            cmp -s $tmp/f.err $e/stderr || why="$why stderr differs ($(head -c 120 $tmp/f.err | tr '\n' ' '));"
            cmp -s $tmp/f.tree $e/tree || why="$why tree differs ($(diff $e/tree $tmp/f.tree | grep '^[-+][^-+]' | head -3 | tr '\n' ' '));"
            if [ -n "$why" ]; then
                bad=$((bad + 1)); list="$list [$v/$test:$why]"
                if [ -n "${FILES_KEEP:-}" ]; then
                    mkdir -p $tmp/files-fail/$v/$test
                    cp $tmp/f.out $tmp/f.err $tmp/f.tree $tmp/files-fail/$v/$test/
                fi
            fi
        done
    done <$fdir/manifest.txt
    rm -rf $r
    if [ $bad = 0 ] && [ $total -gt 0 ]; then
        pass "files: $total runs of guests/files/manifest.txt (bc0 and bc1) equal WAMR iwasm --dir/--map-dir (stdout, stderr, exit, directory contents)"
    else
        fail files "$bad of $total differ:$list"
    fi
}

# Issue 13: the sealed directory (tzwasm run --sealed-dir). A counter kept across three runs;
# the host directory holds only ciphertext under a hex name; another module (the same program
# built with software bounds checks: another measurement) sees nothing of it; a flipped byte
# and two swapped files read as EIO, the restored file reads again. Last it prints
# "@SEALED NAME HEX VALUE" for the host's check after a reboot (run-linux-test.sh).
case_sealed_dir() {
    d=$tmp/sealed
    rm -rf $d && mkdir -p $d
    sc() { tzwasm run --sealed-dir $d "$@" 2>>$tmp/sd.err; }
    : >$tmp/sd.err
    o=$(sc sealed-counter.aot)/$(sc sealed-counter.aot)/$(sc sealed-counter.aot)
    fa=$(ls $d)
    why=""
    [ "$o" = "counter.txt 1/counter.txt 2/counter.txt 3" ] || why="$why three runs gave '$o';"
    [ "$(ls $d | wc -l)" = 1 ] || why="$why $(ls $d | wc -l) files in the host directory;"
    case "$fa" in *counter*|'') why="$why host name '$fa' shows the name;" ;; esac
    grep -q 3 $d/$fa 2>/dev/null && [ "$(wc -c <$d/$fa)" -lt 40 ] && why="$why the host file looks like plaintext;"
    [ "$(wc -c <$d/$fa)" = 46 ] || why="$why host file of $(wc -c <$d/$fa) bytes (2 + 44 expected);"
    [ "$(sc sealed-counter.aot list)" = counter.txt ] || why="$why list gave '$(sc sealed-counter.aot list)';"
    # Another module: its own counter, and none of the first one's files.
    ob=$(sc sealed-counter-bc1.aot)
    [ "$ob" = "counter.txt 1" ] || why="$why the other module gave '$ob';"
    [ "$(ls $d | wc -l)" = 2 ] || why="$why $(ls $d | wc -l) files after the other module;"
    [ "$(sc sealed-counter-bc1.aot list)" = counter.txt ] || why="$why the other module lists '$(sc sealed-counter-bc1.aot list)';"
    o=$(sc sealed-counter.aot)
    [ "$o" = "counter.txt 4" ] || why="$why the first module after the other gave '$o';"
    # A flipped byte: EIO (exit 5), never a wrong number; restored: reads again.
    cp $d/$fa $tmp/sd.save
    b=$(od -An -tu1 -j30 -N1 $d/$fa | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of=$d/$fa bs=1 seek=30 conv=notrunc 2>/dev/null
    o=$(sc sealed-counter.aot); rc=$?
    [ "$rc:$o" = "5:counter.txt: I/O error" ] || why="$why a flipped byte gave exit $rc '$o';"
    cmp -s $d/$fa $tmp/sd.save && why="$why the byte was not flipped;"
    cp $tmp/sd.save $d/$fa
    o=$(sc sealed-counter.aot)
    [ "$o" = "counter.txt 5" ] || why="$why the restored file gave '$o';"
    # Two files swapped on the host: both EIO.
    before=$(ls $d)
    sc sealed-counter.aot a.txt >/dev/null
    fx=$(ls $d | grep -vxF "$before")
    before=$(ls $d)
    sc sealed-counter.aot b.txt >/dev/null
    fy=$(ls $d | grep -vxF "$before")
    if [ -n "$fx" ] && [ -n "$fy" ]; then
        mv $d/$fx $tmp/sd.x && mv $d/$fy $d/$fx && mv $tmp/sd.x $d/$fy
        oa=$(sc sealed-counter.aot a.txt); ra=$?
        ob=$(sc sealed-counter.aot b.txt); rb=$?
        [ "$ra:$oa|$rb:$ob" = "5:a.txt: I/O error|5:b.txt: I/O error" ] || why="$why swapped files gave '$ra:$oa|$rb:$ob';"
    else
        why="$why a.txt/b.txt made no new host files ('$fx' '$fy');"
    fi
    [ -s $tmp/sd.err ] && why="$why stderr: $(head -c 200 $tmp/sd.err | tr '\n' ' ');"
    if [ -z "$why" ]; then
        pass "sealed_dir: a counter over 3 runs (1, 2, 3) kept as one 46-byte file under a hex name; another module sees only its own; a flipped byte and two swapped files read as EIO, the restored file reads again"
        echo "@SEALED $fa $(od -An -tx1 -v $d/$fa | tr -d ' \n') 5"
    else
        fail sealed_dir "$why"
    fi
    rm -rf $d
}

case_clean() {
    used=$(pool_used)
    if [ -n "$used" ] && [ "$used" = "$pool_base" ]; then pass "clean: the secure pool is back at its baseline ($pool_base bytes: the info call's own session) after every case"
    else fail clean "pool in use: '${used}' bytes ($(tzwasm info 2>&1 | grep pool))"; fi
}

cases=${*:-hello args exit_codes trap stack large_output stream_10mib measure heap_too_small signals cancel_loop driver two_at_once unload_reload fair_use isolation externref_arg table_copy many_symbols quota_sum tee_imports seal_runs verify_rfc attest receipt provision stdin files sealed_dir corpus clean}
echo "linux-test: $(uname -r), $(nproc) CPUs; $(tzwasm info 2>&1 | grep -E '^secure world')"
tzwasm info 2>&1 | grep '^firmware measurement: ' | sed 's/^/linux-test: /' # the host recomputes it
for c in $cases; do
    case_$c
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
