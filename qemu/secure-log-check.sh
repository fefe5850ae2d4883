#!/usr/bin/env bash
# Decides whether a secure console log (QEMU's second serial port: tzwasm and TF-A's runtime
# console) shows a crash. Every QEMU suite uses this one check, so they all give the same
# verdict for the same log.
#
#   qemu/secure-log-check.sh LOG
#
# Exit 0: no crash. Exit 1: a crash; the reason and the offending line go to stdout. Exit 2:
# no such log.
#
# What counts:
#   - tzwasm's own crash, panic and fail-stop reports ("*** tzwasm CRASH on CPU n",
#     "*** tzwasm PANIC on CPU n", "CPU n parked", "tzwasm FAILED"), anywhere in the log;
#   - any other line (TF-A's, not a "[tzwasm cpuN]" log line) that looks like a crash
#     (case-insensitive panic, crash, parked, exception, or a TF-A "ERROR:" line) before the
#     secure world's "system off" line, or anywhere if the log has no such line.
# What does not count, and why: TF-A's qemu platform powers off through the GPIO controller
# (plat/qemu/common/qemu_pm.c, qemu_system_off) and then calls panic() in case the machine is
# still running. QEMU usually stops first, but not always, so "PANIC at PC" after a clean
# SYSTEM_OFF is a race between QEMU and BL31, not a fault. The "system off" line is logged at
# info level when opteed hands SYSTEM_OFF to the payload, which happens before BL31 asks for
# power-off, so everything after it is the power-off path.
set -uo pipefail
log=${1:?usage: secure-log-check.sh LOG}
[ -r "$log" ] || { echo "secure-log-check: cannot read $log"; exit 2; }

clean=$(tr -d '\r' <"$log")
own=$(grep -anE 'tzwasm (CRASH|PANIC|FAILED)|CPU [0-9]+ parked' <<<"$clean" | head -1)
if [ -n "$own" ]; then
    echo "secure world crash report at line ${own%%:*}: ${own#*:}"
    exit 1
fi
off=$(grep -anE '^\[tzwasm cpu[0-9]+\] INFO +system off$' <<<"$clean" | head -1 | cut -d: -f1)
if [ -n "$off" ]; then
    before=$(head -n "$((off - 1))" <<<"$clean")
else
    before=$clean
fi
# tzwasm's own log lines ("[tzwasm cpuN] LEVEL ...") may name exceptions a module took ("module
# trapped: exception set by module code"); only the markers above count for them.
early=$(grep -anvE '^\[tzwasm cpu[0-9]+\] ' <<<"$before" | grep -aE -i ':.*(panic|crash|parked|exception)|^[0-9]+:ERROR:' | head -1)
if [ -n "$early" ]; then
    echo "crash $([ -n "$off" ] && echo "before system off" || echo "(the log has no system off line)") at line ${early%%:*}: ${early#*:}"
    exit 1
fi
exit 0
