#!/usr/bin/env python3
"""The host side of `make bench` and `make bench-smoke` (owned by bench/).

Stages the bench cpio (bench/guest/bench.sh as /job/run.sh, tzbench, the static iwasm builds,
the native programs and the .aot files under /job/bench), boots the Linux image headless in
job mode with that cpio appended (qemu/linux/boot-linux.sh), then boots the bare-metal test
client on the release firmware (qemu/boot.sh) for the world-switch figure. It collects the
guest's "@B" lines, fails if any run failed, any configuration is missing or any checksum
disagrees, computes medians and ratios and writes the report (Markdown + JSON).

    bench/run-bench.py --mode full|smoke --reps N --bench-dir build/bench --flash-linux F
        --initramfs I --flash-baremetal F --bl32 B --bl32-elf E --bl32-no-attestation N \
        --write10mib W
        [--md docs/benchmarks.md --json docs/benchmarks.json]

Without --md/--json the report goes to BENCH_DIR/MODE/. Nothing is ever skipped silently.
"""
import argparse
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = ["intmix", "matmul", "sha256", "qsort", "nbody", "stream", "strfmt", "interp", "rsmix"]
# Work units per run (argv[1] of each workload): the same as each program's default, sized so
# that the native run takes about 1 s under QEMU (the wasm runs 1-10 s).
FULL_SIZES = dict(intmix=8000, matmul=28, sha256=64, qsort=300, nbody=720, stream=120, strfmt=96,
                  interp=5, rsmix=120)
SMOKE_SIZES = dict(intmix=20, matmul=1, sha256=1, qsort=8, nbody=2, stream=1, strfmt=1, interp=1,
                   rsmix=1)
DESCRIPTION = {
    "intmix": "CoreMark-like: linked list sort/find, int matrix, state machine, CRC-16 (C)",
    "matmul": "dense float32 matrix multiply 192x192 (C)",
    "sha256": "SHA-256 over 64 MiB generated in 64 KiB chunks (C)",
    "qsort": "libc qsort of 300 Ki 8-byte records, 3 rounds (C)",
    "nbody": "n-body, 5 bodies, 720k steps, doubles (C)",
    "stream": "STREAM copy/scale/add/triad over 3 x 2 MiB doubles (C)",
    "strfmt": "snprintf/sscanf/strtol/strtod through libc, 96k lines (C)",
    "interp": "bytecode interpreter, one indirect call per instruction (C)",
    "rsmix": "Rust: sort_unstable of 64 Ki u64, BTreeMap, String formatting and parsing",
}
CONFIGS = ["native", "tzwasm-hw", "tzwasm-sw", "iwasm-hw", "iwasm-sw"]
CONFIG_TEXT = {
    "native": "aarch64-linux-gnu-gcc -O2 -static (-ffp-contract=off); rustc for the Rust workload",
    "tzwasm-hw": "`tzwasm run`, .aot from wamrc --bounds-checks=0 (guard pages: hardware mode)",
    "tzwasm-sw": "`tzwasm run`, .aot from wamrc --bounds-checks=1 (software bounds checks)",
    "iwasm-hw": "WAMR 2.4.3 iwasm (static, hardware bounds checks) on the same bc0 .aot",
    "iwasm-sw": "WAMR 2.4.3 iwasm (static, WAMR_DISABLE_HW_BOUND_CHECK=1) on the same bc1 .aot",
}
HEAP = "12M"
# The scaling benchmark (a second Linux boot, -smp SCALE_SMP): SCALE_N runs of SCALE_WORKLOAD at
# once against one run, each `tzwasm run --heap SCALE_HEAP` (SCALE_N heaps must fit the pool
# together: nbody is charged about 1.3 MB). nbody: pure double-precision compute on 200 bytes
# of state, no output until its checksum line, so nothing but the CPUs is shared.
SCALE_WORKLOAD = "nbody"
SCALE_N = 4
SCALE_SMP = 4
SCALE_HEAP = "2M"
SCALE_CONFIGS = ["native", "tzwasm-hw", "iwasm-hw"]
SCALE_GOAL = 3.5


def secure_log_problem(log, what, problems):
    """Appends a problem if qemu/secure-log-check.sh finds a crash in the secure console log
    (the one check every QEMU suite shares; see the script for what counts)."""
    r = subprocess.run([os.path.join(TOP, "qemu", "secure-log-check.sh"), log],
                       capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"{what}: secure console: {r.stdout.strip() or r.stderr.strip()}")


def die(msg):
    print(f"run-bench: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def stage(args, work, part):
    """The bench cpio of one boot (PART main or scale): /job/run.sh and /job/bench/..."""
    stage_dir = os.path.join(work, f"stage-{part}")
    shutil.rmtree(stage_dir, ignore_errors=True)
    b = os.path.join(stage_dir, "job", "bench")
    for d in ("native", "hw", "sw"):
        os.makedirs(os.path.join(b, d))
    bd = args.bench_dir

    def put(src, dst, mode=0o644):
        if not os.path.isfile(src):
            die(f"missing input {src} (make bench-inputs builds it)")
        shutil.copyfile(src, dst)
        os.chmod(dst, mode)

    put(os.path.join(TOP, "bench", "guest", "bench.sh"), os.path.join(stage_dir, "job", "run.sh"), 0o755)
    put(os.path.join(bd, "cargo", "aarch64-unknown-linux-musl", "release", "tzbench"),
        os.path.join(b, "tzbench"), 0o755)
    for v in ("hw", "sw"):
        put(os.path.join(bd, f"iwasm-{v}"), os.path.join(b, f"iwasm-{v}"), 0o755)
    full = args.mode == "full"
    sizes = FULL_SIZES if full else SMOKE_SIZES
    names = {"main": WORKLOADS + ["hello"], "icount": WORKLOADS}.get(part, [SCALE_WORKLOAD])
    for w in names:
        put(os.path.join(bd, "native", w), os.path.join(b, "native", w), 0o755)
        for v in ("hw", "sw"):
            put(os.path.join(bd, v, f"{w}.aot"), os.path.join(b, v, f"{w}.aot"))
    if part == "main":
        for f in ("big1m.aot", "big4m.aot"):
            put(os.path.join(bd, f), os.path.join(b, f))
        put(args.write10mib, os.path.join(b, "write10mib.aot"))
    with open(os.path.join(b, "config"), "w") as f:
        f.write(f"PART={part}\nMODE={args.mode}\nREPS={args.reps}\nHEAP={HEAP}\n")
        f.write(f"WORKLOADS=\"{' '.join(WORKLOADS)}\"\n")
        for w in WORKLOADS:
            f.write(f"SIZE_{w}={sizes[w]}\n")
        f.write(f"LOAD_ROUNDS={3 if full else 1}\n")
        f.write(f"NULL_CALLS={10000 if full else 1000}\n")
        f.write(f"SCALE_WORKLOAD={SCALE_WORKLOAD}\nSCALE_SIZE={sizes[SCALE_WORKLOAD]}\n")
        f.write(f"SCALE_N={SCALE_N}\nSCALE_HEAP={SCALE_HEAP}\n")
    cpio = os.path.join(work, f"bench-{part}.cpio")
    files = subprocess.run(["find", "."], cwd=stage_dir, check=True, capture_output=True,
                           text=True).stdout
    with open(cpio, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--owner=0:0", "--quiet"], cwd=stage_dir,
                       input="\n".join(sorted(files.split())).encode() + b"\n", stdout=out,
                       check=True)
    return cpio, sizes


def parse_lines(path):
    """The guest's "@B key=value ..." lines and "@I" info lines from a console log."""
    recs, info = [], []
    with open(path, "rb") as f:
        for raw in f.read().decode("utf-8", "replace").split("\n"):
            line = raw.replace("\r", "")
            if "@B " in line:
                rec = {}
                for tok in line[line.index("@B ") + 3:].split():
                    k, _, v = tok.partition("=")
                    rec[k] = v
                recs.append(rec)
            elif "@I " in line:
                info.append(line[line.index("@I ") + 3:])
    return recs, info


def wasm_initial_memory(path):
    """Bytes of the initial linear memory a .wasm declares (memory section or import)."""
    data = open(path, "rb").read()

    def leb(pos):
        result = shift = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result, pos

    def name(pos):
        n, pos = leb(pos)
        return pos + n

    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, body = leb(pos + 1)
        if sid == 5:
            count, p = leb(body)
            if count:
                _flags, p = leb(p)
                pages, _ = leb(p)
                return pages * 65536
        elif sid == 2:
            count, p = leb(body)
            for _ in range(count):
                p = name(name(p))
                kind = data[p]
                p += 1
                if kind == 2:
                    _flags, p = leb(p)
                    pages, _ = leb(p)
                    return pages * 65536
                if kind == 0:
                    _, p = leb(p)
                elif kind == 1:
                    p += 1
                    flags, p = leb(p)
                    _, p = leb(p)
                    if flags & 1:
                        _, p = leb(p)
                elif kind == 3:
                    p += 2
        pos = body + size
    return 0


def median(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


# The counted boots: QEMU -icount shift=0 advances the guest's clock 1 ns per instruction (all
# CPUs, one at a time), so a guest-timed interval is the instructions executed meanwhile, and a
# counter tick (62.5 MHz) is 16 of them.
ICOUNT_ARGS = "-icount shift=0"
# The bare-metal client's mode word for a run of only its timing (test-client src/mode.rs).
TIMING_MAGIC = 0x7193_0C0D
INSNS_PER_TICK = 16
ICOUNT_CONFIGS = ["native", "tzwasm-hw", "iwasm-hw", "tzwasm-sw", "iwasm-sw"]


def baremetal_timing(flash, out_dir, extra, what, problems):
    """Boots the bare-metal client (qemu/boot.sh test, `extra` QEMU arguments) and returns the
    ns per call of its `timing:` line (NULL, PSCI_VERSION) and its [FAIL] lines."""
    rc = subprocess.run([os.path.join(TOP, "qemu", "boot.sh"), "test", flash, out_dir, "600"]
                        + extra).returncode
    log = open(os.path.join(out_dir, "normal.log"), "rb").read().decode("utf-8", "replace")
    m = re.search(r"timing: NULL fast call (\d+) ns/call, PSCI_VERSION (\d+) ns/call", log)
    if rc != 0:
        problems.append(f"{what}: QEMU exit status {rc}")
    secure_log_problem(os.path.join(out_dir, "secure.log"), what, problems)
    if not m:
        problems.append(f"{what}: the client printed no 'timing:' line")
        return None, None, []
    return int(m.group(1)), int(m.group(2)), [l.strip() for l in log.splitlines() if l.startswith("[FAIL]")]


def icount_figures(crecs, results, problems):
    """Instruction counts per workload and configuration from the -icount boot, with the
    secure world's split of tzwasm's runs (STATS page 6)."""
    out = {}
    times = [r for r in crecs if r.get("kind") == "time"]
    runs = {(r["file"].split("/")[-2], os.path.basename(r["file"]).removesuffix(".aot")): r
            for r in crecs if r.get("kind") == "run"}
    for w in WORKLOADS:
        fig = {}
        want = results.get(w, {}).get("checksum")
        for c in ICOUNT_CONFIGS:
            rr = [r for r in times if r["name"] == w and r["config"] == c]
            if len(rr) != 1:
                problems.append(f"icount {w} {c}: {len(rr)} runs, expected 1")
                continue
            r = rr[0]
            if r.get("exit") != "0":
                problems.append(f"icount {w} {c}: exit {r.get('exit')}")
            if want and r.get("out", "").replace("_", " ") != want:
                problems.append(f"icount {w} {c}: output {r.get('out')!r} differs from {want!r}")
            fig[c] = int(r["ns"])
        for v in ("hw", "sw"):
            r = runs.get((v, w))
            if not r:
                problems.append(f"icount {w}: no tzbench run of {v}/{w}.aot")
                continue
            if r["end"] != "Exited(0)":
                problems.append(f"icount {w} {v}: tzbench run ended {r['end']}")
            secure = int(r["secure_ticks"]) * INSNS_PER_TICK
            el0 = int(r["el0_ticks"]) * INSNS_PER_TICK
            fig[f"secure-{v}"] = {"total": int(r["ns"]), "load": int(r["load_ns"]),
                                  "secure": secure, "el0": el0, "el1": secure - el0,
                                  "svcs": int(r["svcs"]),
                                  "interrupted": int(r["interrupted_secure"])}
        for a, b in (("tzwasm-hw", "iwasm-hw"), ("tzwasm-sw", "iwasm-sw"), ("tzwasm-hw", "native")):
            if fig.get(a) and fig.get(b):
                fig[f"{a}/{b}"] = fig[a] / fig[b]
        out[w] = fig
    geo = {}
    for k in ("tzwasm-hw/iwasm-hw", "tzwasm-sw/iwasm-sw", "tzwasm-hw/native"):
        xs = [f[k] for f in out.values() if f.get(k)]
        geo[k] = geomean(xs) if len(xs) == len(WORKLOADS) else None
    return {"workloads": out, "geomean": geo}


def scaling(args, srecs, results, problems):
    """The scaling figures from the -smp 4 boot's "par" and "peak" lines: per configuration
    the median wall time of one run and of SCALE_N at once, and the throughput ratio
    SCALE_N * t1 / tN (runs completed per second with SCALE_N at once over with one)."""
    par = [r for r in srecs if r.get("kind") == "par"]
    want = results.get(SCALE_WORKLOAD, {})
    out = {"workload": SCALE_WORKLOAD, "size": None, "n": SCALE_N, "smp": SCALE_SMP,
           "heap": SCALE_HEAP, "goal": SCALE_GOAL, "configs": {}}
    hashes = set()
    for c in SCALE_CONFIGS:
        fig = {}
        for n in (1, SCALE_N):
            rr = [r for r in par if r["config"] == c and int(r["n"]) == n]
            if len(rr) != args.reps:
                problems.append(f"scaling {c} x{n}: {len(rr)} runs, expected {args.reps}")
            for r in rr:
                exits = r["exits"].split(",")
                if len(exits) != n or any(e != "0" for e in exits):
                    problems.append(f"scaling {c} x{n} rep {r['rep']}: exits {r['exits']}")
                hashes.update(r["hashes"].split(","))
                if not r["out"].startswith(f"checksum_{SCALE_WORKLOAD}_"):
                    problems.append(f"scaling {c} x{n} rep {r['rep']}: no checksum line ({r['out']!r})")
            fig[f"x{n}_runs_s"] = [int(r["ns"]) / 1e9 for r in rr]
            fig[f"x{n}_s"] = median(fig[f"x{n}_runs_s"])
        t1, tn = fig.get("x1_s"), fig.get(f"x{SCALE_N}_s")
        fig["throughput_ratio"] = SCALE_N * t1 / tn if t1 and tn else None
        out["configs"][c] = fig
    if len(hashes) != 1:
        problems.append(f"scaling: the {SCALE_WORKLOAD} outputs differ: {sorted(hashes)}")
    # The same work as the main boot's runs of the workload: the same stdout.
    main_out = want.get("checksum")
    first = next((r["out"] for r in par), None)
    if main_out and first and first.replace("_", " ") != main_out:
        problems.append(f"scaling: {first!r} differs from the main boot's {main_out!r}")
    out["checksum"] = first.replace("_", " ") if first else None
    out["size"] = want.get("size")
    peaks = {r["label"]: {"now": int(r["now"]), "peak": int(r["peak"])}
             for r in srecs if r.get("kind") == "peak"}
    for label in ("start", "serial", "parallel"):
        if label not in peaks:
            problems.append(f"scaling: no STATS page 4 reading '{label}'")
    out["stats_page4"] = peaks
    nat, tz = out["configs"].get("native", {}), out["configs"].get("tzwasm-hw", {})
    nr, tr = nat.get("throughput_ratio"), tz.get("throughput_ratio")
    out["tzwasm_over_native_ceiling"] = tr / nr if tr and nr else None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["full", "smoke"], required=True)
    ap.add_argument("--reps", type=int, default=5)
    for a in ("bench-dir", "flash-linux", "initramfs", "flash-baremetal", "bl32", "bl32-elf",
              "bl32-no-attestation", "write10mib"):
        ap.add_argument(f"--{a}", required=True)
    ap.add_argument("--md")
    ap.add_argument("--json")
    ap.add_argument("--render-only", metavar="JSON",
                    help="only write --md again from an earlier run's JSON (no boot)")
    if "--render-only" in sys.argv:
        ro = argparse.ArgumentParser()
        ro.add_argument("--render-only", required=True)
        ro.add_argument("--md", required=True)
        a = ro.parse_args()
        with open(a.render_only) as f:
            report = json.load(f)
        with open(a.md, "w") as f:
            f.write(render(report))
        return
    args = ap.parse_args()
    if args.mode == "full" and args.reps < 5:
        die("a full run needs at least 5 repetitions")
    work = os.path.join(args.bench_dir, args.mode)
    os.makedirs(work, exist_ok=True)
    md_path = args.md or os.path.join(work, "benchmarks.md")
    json_path = args.json or os.path.join(work, "benchmarks.json")
    started = datetime.datetime.now(datetime.timezone.utc)

    cpio, sizes = stage(args, work, "main")
    scale_cpio, _ = stage(args, work, "scale")
    icount_cpio, _ = stage(args, work, "icount")
    load_avg = {"start": os.getloadavg()}
    # 1. Linux: every workload, hello, streaming, LOAD, NULL.
    linux_dir = os.path.join(work, "linux")
    timeout = 5400 if args.mode == "full" else 900
    print(f"run-bench: {args.mode} run, {args.reps} repetition(s): booting Linux (logs in {linux_dir})",
          flush=True)
    t0 = time.time()
    rc = subprocess.run([os.path.join(TOP, "qemu", "linux", "boot-linux.sh"), "test",
                         args.flash_linux, f"{args.initramfs}:{cpio}", linux_dir, str(timeout),
                         "job"]).returncode
    linux_secs = time.time() - t0
    recs, info = parse_lines(os.path.join(linux_dir, "console.log"))
    problems = []
    if rc != 0:
        problems.append(f"Linux boot: QEMU exit status {rc}" + (" (timeout)" if rc == 124 else ""))
    done = [r for r in recs if r.get("kind") == "done"]
    if not done:
        problems.append("the guest never reported kind=done")
    elif done[-1].get("fail") != "0":
        problems.append("the guest reported failures")
    for r in recs:
        if r.get("kind") == "error":
            problems.append("guest error: " + " ".join(f"{k}={v}" for k, v in r.items()))
    secure_log_problem(os.path.join(linux_dir, "secure.log"), "Linux boot", problems)

    load_avg["after_linux"] = os.getloadavg()

    # 2. Linux again on -smp 4: the scaling benchmark (its own boot so that the figures above
    #    stay on the -smp 2 machine of the earlier reports).
    scale_dir = os.path.join(work, "linux-smp4")
    print(f"run-bench: Linux part took {linux_secs:.0f} s; booting Linux on -smp {SCALE_SMP} for "
          f"the scaling benchmark (logs in {scale_dir})", flush=True)
    t0 = time.time()
    rc = subprocess.run([os.path.join(TOP, "qemu", "linux", "boot-linux.sh"), "test",
                         args.flash_linux, f"{args.initramfs}:{scale_cpio}", scale_dir,
                         str(timeout), "job"],
                        env=dict(os.environ, TZWASM_SMP=str(SCALE_SMP))).returncode
    scale_secs = time.time() - t0
    load_avg["after_scale"] = os.getloadavg()
    srecs, sinfo = parse_lines(os.path.join(scale_dir, "console.log"))
    if rc != 0:
        problems.append(f"Linux -smp {SCALE_SMP} boot: QEMU exit status {rc}" + (" (timeout)" if rc == 124 else ""))
    sdone = [r for r in srecs if r.get("kind") == "done"]
    if not sdone:
        problems.append(f"the -smp {SCALE_SMP} guest never reported kind=done")
    elif sdone[-1].get("fail") != "0":
        problems.append(f"the -smp {SCALE_SMP} guest reported failures")
    for r in srecs:
        if r.get("kind") == "error":
            problems.append(f"-smp {SCALE_SMP} guest error: " + " ".join(f"{k}={v}" for k, v in r.items()))
    secure_log_problem(os.path.join(scale_dir, "secure.log"), f"Linux -smp {SCALE_SMP} boot", problems)

    # 3. Bare metal: the client's world-switch timing on the release firmware.
    bm_dir = os.path.join(work, "baremetal")
    print(f"run-bench: -smp {SCALE_SMP} part took {scale_secs:.0f} s; booting the bare-metal client "
          f"(logs in {bm_dir})", flush=True)
    null_ns, psci_ns, bm_failures = baremetal_timing(args.flash_baremetal, bm_dir, [], "bare-metal boot",
                                                     problems)
    problems.extend(f"bare-metal boot: {f}" for f in bm_failures)

    # 4. The same bare-metal client counted (-icount), in its timing-only mode
    #    (normal-world/test-client/src/mode.rs, TIMING_MAGIC; its checks ran in the boot above):
    #    its ns per call are instructions per call, the world switch's deterministic figure.
    bmc_dir = os.path.join(work, "baremetal-icount")
    print(f"run-bench: booting the bare-metal client under {ICOUNT_ARGS} (logs in {bmc_dir})",
          flush=True)
    null_insns, psci_insns, icount_client_failures = baremetal_timing(
        args.flash_baremetal, bmc_dir,
        ICOUNT_ARGS.split() + ["-device", f"loader,addr=0x5ffff000,data={TIMING_MAGIC:#x},data-len=8"],
        "bare-metal -icount boot", problems)

    # 5. Linux counted (-icount): every workload once per configuration; times are
    #    instructions.
    icount_dir = os.path.join(work, "linux-icount")
    print(f"run-bench: booting Linux under {ICOUNT_ARGS} for the counted figures (logs in {icount_dir})",
          flush=True)
    t0 = time.time()
    rc = subprocess.run([os.path.join(TOP, "qemu", "linux", "boot-linux.sh"), "test",
                         args.flash_linux, f"{args.initramfs}:{icount_cpio}", icount_dir,
                         str(timeout), "job"],
                        env=dict(os.environ, TZWASM_QEMU_EXTRA=ICOUNT_ARGS)).returncode
    icount_secs = time.time() - t0
    crecs, _ = parse_lines(os.path.join(icount_dir, "console.log"))
    if rc != 0:
        problems.append(f"Linux -icount boot: QEMU exit status {rc}" + (" (timeout)" if rc == 124 else ""))
    cdone = [r for r in crecs if r.get("kind") == "done"]
    if not cdone or cdone[-1].get("fail") != "0":
        problems.append("the -icount guest never finished or reported failures")
    for r in crecs:
        if r.get("kind") == "error":
            problems.append("-icount guest error: " + " ".join(f"{k}={v}" for k, v in r.items()))
    secure_log_problem(os.path.join(icount_dir, "secure.log"), "Linux -icount boot", problems)
    print(f"run-bench: -icount part took {icount_secs:.0f} s", flush=True)

    load_avg["end"] = os.getloadavg()

    # 6. Check and summarise.
    times = [r for r in recs if r.get("kind") == "time"]
    for r in times:
        if r.get("exit") != "0":
            problems.append(f"{r['section']} {r['name']} {r['config']} rep {r['rep']}: exit {r.get('exit')}")

    def runs(section, name, config):
        return [r for r in times if r["section"] == section and r["name"] == name and r["config"] == config]

    results = {}
    for w in WORKLOADS:
        res = {"size": sizes[w], "description": DESCRIPTION[w], "median_s": {}, "runs_s": {}}
        hashes = set()
        for c in CONFIGS:
            rr = runs("wl", w, c)
            if len(rr) != args.reps:
                problems.append(f"{w} {c}: {len(rr)} runs, expected {args.reps}")
            for r in rr:
                hashes.add((r["hash"], r["out"]))
                if not r["out"].startswith(f"checksum_{w}_"):
                    problems.append(f"{w} {c} rep {r['rep']}: no checksum line ({r['out']!r})")
            res["runs_s"][c] = [int(r["ns"]) / 1e9 for r in rr]
            res["median_s"][c] = median(res["runs_s"][c])
        if len(hashes) != 1:
            problems.append(f"{w}: checksums disagree: {sorted(hashes)}")
        res["checksum"] = sorted(hashes)[0][1].replace("_", " ") if hashes else None
        results[w] = res

    def ratio(w, a, b):
        ma, mb = results[w]["median_s"].get(a), results[w]["median_s"].get(b)
        return ma / mb if ma and mb else None

    pairs = [("tzwasm-hw", "native"), ("tzwasm-sw", "native"), ("tzwasm-hw", "iwasm-hw"),
             ("tzwasm-sw", "iwasm-sw"), ("iwasm-hw", "native"), ("iwasm-sw", "native")]
    ratios = {f"{a}/{b}": {w: ratio(w, a, b) for w in WORKLOADS} for a, b in pairs}
    geo = {k: geomean([x for x in v.values() if x]) for k, v in ratios.items()}

    hello = {}
    hhashes = set()
    for c in CONFIGS:
        rr = runs("hello", "hello", c)
        if len(rr) != args.reps:
            problems.append(f"hello {c}: {len(rr)} runs, expected {args.reps}")
        hhashes.update(r["hash"] for r in rr)
        hello[c] = {"ttfb_ms": median([int(r["ttfb_ns"]) / 1e6 for r in rr]),
                    "total_ms": median([int(r["ns"]) / 1e6 for r in rr])}
    if len(hhashes) > 1:
        problems.append("hello: outputs differ between configurations")

    stream = {}
    shashes = set()
    for c in ("tzwasm-hw", "iwasm-hw", "plain-copy", "copy-512"):
        rr = runs("stream", "write10mib", c)
        if len(rr) != args.reps:
            problems.append(f"stream {c}: {len(rr)} runs, expected {args.reps}")
        for r in rr:
            shashes.add(r["hash"])
            if int(r["bytes"]) != 10 << 20:
                problems.append(f"stream {c}: {r['bytes']} bytes, expected {10 << 20}")
        s = median([int(r["ns"]) / 1e9 for r in rr])
        stream[c] = {"median_s": s, "mib_per_s": (10 / s) if s else None}
    if len(shashes) > 1:
        problems.append("stream: the 10 MiB outputs differ")

    loads = {}
    for r in recs:
        if r.get("kind") != "load":
            continue
        name = os.path.basename(r["file"]).removesuffix(".aot")
        loads.setdefault(name, []).append(r)
    load_fig = {}
    for name in ("big1m", "big4m"):
        rr = loads.get(name, [])
        if not rr:
            problems.append(f"no LOAD figure for {name}")
            continue
        freq = int(rr[0]["freq"])

        def us(field):
            return median([int(r[field]) * 1e6 / freq for r in rr])

        fig = {k: us(k) for k in ("copy", "sha", "parse", "inst", "reloc", "mem", "setup")}
        fig["client_us"] = median([int(r["client_ns"]) / 1e3 for r in rr])
        fig["bytes"] = int(rr[0]["bytes"])
        fig["rounds"] = len(rr)
        fig["total_us"] = fig["copy"] + fig["sha"] + fig["parse"] + fig["inst"]
        fig["ratio_inside"] = fig["total_us"] / fig["sha"]
        fig["ratio_client"] = fig["client_us"] / fig["sha"]
        load_fig[name] = fig

    pool = {}
    for w in WORKLOADS + ["hello"]:
        rr = loads.get(w)
        if not rr:
            problems.append(f"no LOAD charge for {w}")
            continue
        lin = wasm_initial_memory(os.path.join(args.bench_dir, "wasm", f"{w}.wasm"))
        charged = int(rr[0]["charged"])
        pool[w] = {"charged": charged, "used_stats": int(rr[0]["used"]), "linear": lin,
                   "file": os.path.getsize(os.path.join(args.bench_dir, "hw", f"{w}.aot")),
                   "beyond_linear": charged - lin}

    starts = [r for r in recs if r.get("kind") == "startup"]
    startup = None
    if len(starts) != args.reps:
        problems.append(f"startup: {len(starts)} records, expected {args.reps}")
    if starts:
        sfreq = int(starts[0]["freq"])

        def sms(field):
            return median([int(r[field]) / 1e6 for r in starts])

        def tms(field):
            return median([int(r[field]) * 1e3 / sfreq for r in starts])
        startup = {"read_ms": sms("read_ns"), "open_ms": sms("open_ns"), "load_ms": sms("load_ns"),
                   "first_ms": sms("first_ns"), "end_ms": sms("end_ns"),
                   "copy_ms": tms("copy"), "sha_ms": tms("sha"), "parse_ms": tms("parse"),
                   "inst_ms": tms("inst"), "reloc_ms": tms("reloc"), "mem_ms": tms("mem"),
                   "setup_ms": tms("setup")}
        if all("run_ticks" in r for r in starts):
            startup.update({"run_secure_ms": tms("run_ticks"), "run_el0_ms": tms("run_el0_ticks"),
                            "run_svcs": median([int(r["run_svcs"]) for r in starts])})
        for r in starts:
            if r["end"] != "Exited(0)" or int(r["first_ns"]) < 0:
                problems.append(f"startup rep {r['rep']}: {r['end']}, first byte {r['first_ns']}")

    fits = [r for r in recs if r.get("kind") == "fit"]
    fit = None
    if fits:
        f = fits[-1]
        fit = {k: int(f[k]) for k in ("bytes", "min_quota", "sessions", "ran", "free")}
        if fit["ran"] != fit["sessions"]:
            problems.append(f"fit: {fit['ran']} of {fit['sessions']} loaded hello sessions ran")
    else:
        problems.append("no fit figure for hello")

    diag = {}
    for r in recs:
        if r.get("kind") != "run":
            continue
        name = os.path.basename(r["file"]).removesuffix(".aot")
        secs = int(r["ns"]) / 1e9
        diag[name] = {"s": secs, "load_s": int(r["load_ns"]) / 1e9, "pauses": int(r["pauses"]),
                      "interrupted_seen": int(r["interrupted_seen"]),
                      "interrupted_secure": int(r["interrupted_secure"]),
                      "interrupts_per_s": int(r["interrupted_secure"]) / secs if secs else None,
                      "end": r["end"]}
        if r["end"] != "Exited(0)":
            problems.append(f"diagnostic run of {name}: {r['end']}")
    for w in WORKLOADS + ["write10mib"]:
        if w not in diag:
            problems.append(f"no diagnostic run of {w}")
    null_linux = [r for r in recs if r.get("kind") == "null"]
    scale = scaling(args, srecs, results, problems)
    counted = icount_figures(crecs, results, problems)
    sections = {}
    out = subprocess.run([os.environ.get("CROSS_COMPILE", "aarch64-linux-gnu-") + "size", "-A",
                          args.bl32_elf], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        p = line.split()
        if len(p) >= 2 and p[0].startswith(".") and p[1].isdigit():
            sections[p[0]] = int(p[1])
    image = {"bl32_bin_bytes": os.path.getsize(args.bl32), "sections": sections,
             "bl32_no_attestation_bytes": os.path.getsize(args.bl32_no_attestation)}

    qemu_version = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True,
                                  text=True).stdout.splitlines()[0]
    host_cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "unknown")
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": args.mode, "reps": args.reps,
        "command": "make bench" if args.mode == "full" else "make bench-smoke",
        "qemu": qemu_version,
        "machine": "qemu-system-aarch64 -machine virt,secure=on -cpu cortex-a57 -smp 2 -m 1024 (TCG)",
        "host": f"{host_cpu}, {os.cpu_count()} CPUs (shared)",
        "guest": next((r for r in recs if r.get("kind") == "info"), {}),
        "linux_boot_s": round(linux_secs, 1),
        "heap": HEAP,
        "scale_boot_s": round(scale_secs, 1),
        "icount_boot_s": round(icount_secs, 1),
        "icount_args": ICOUNT_ARGS,
        "scale_guest": next((r for r in srecs if r.get("kind") == "info"), {}),
        "host_cores": os.cpu_count(),
        "host_load_avg": {k: [round(x, 2) for x in v] for k, v in load_avg.items()},
    }
    report = {
        "meta": meta, "configs": CONFIG_TEXT, "workloads": results, "ratios": ratios,
        "geomean": geo, "hello": hello, "stream": stream, "load": load_fig, "pool": pool,
        "fit": fit, "startup": startup, "diagnostics": diag,
        "world_switch": {"null_ns": null_ns, "psci_version_ns": psci_ns,
                         "ratio": null_ns / psci_ns if null_ns and psci_ns else None,
                         "linux_null_ioctl_ns": int(null_linux[-1]["ns_per_call"]) if null_linux else None,
                         "null_insns": null_insns, "psci_version_insns": psci_insns,
                         "icount_client_failures": icount_client_failures,
                         "insn_ratio": null_insns / psci_insns if null_insns and psci_insns else None},
        "icount": counted,
        "image": image, "scaling": scale, "secure_info": info, "scale_secure_info": sinfo,
        "problems": problems,
    }
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(md_path, "w") as f:
        f.write(render(report))
    if problems:
        for p in problems:
            print(f"run-bench: FAILED: {p}", file=sys.stderr)
        print(f"run-bench: report (with the failures) in {md_path}", file=sys.stderr)
        sys.exit(1)
    print(f"run-bench: {args.mode}: all checksums agree; report in {md_path} and {json_path}")
    print(summary_lines(report))
    sc = report["scaling"]
    print(f"  STATS page 4, most CPUs running modules at once: "
          f"{sc['stats_page4'].get('serial', {}).get('peak')} before, "
          f"{sc['stats_page4'].get('parallel', {}).get('peak')} after the concurrent runs; "
          f"host load {report['meta']['host_load_avg']}")


def f2(x):
    return "n/a" if x is None else f"{x:.2f}"


def f3(x):
    return "n/a" if x is None else f"{x:.3f}"


def goal_rows(r):
    ws = r["world_switch"]
    g = r["geomean"]
    worst = max((v for v in r["ratios"]["tzwasm-hw/native"].values() if v), default=None)
    worst_i = max((v for v in r["ratios"]["tzwasm-hw/iwasm-hw"].values() if v), default=None)
    rows = [
        ("tzwasm/native, hardware mode (geomean; worst workload)", "<= 1.10",
         f"{f2(g['tzwasm-hw/native'])}; {f2(worst)}", g["tzwasm-hw/native"] is not None and worst is not None and worst <= 1.10),
        ("tzwasm/iwasm on the same file, hardware mode (geomean; worst)", "<= 1.00",
         f"{f2(g['tzwasm-hw/iwasm-hw'])}; {f2(worst_i)}", worst_i is not None and worst_i <= 1.00),
        ("tzwasm/iwasm on the same file, software bounds checks (geomean)", "<= 1.00",
         f2(g["tzwasm-sw/iwasm-sw"]), g["tzwasm-sw/iwasm-sw"] is not None and g["tzwasm-sw/iwasm-sw"] <= 1.00),
    ]
    for name in ("big1m", "big4m"):
        lf = r["load"].get(name)
        if lf:
            rows.append((f"LOAD / SHA-256 of the same bytes, {lf['bytes'] / 1048576:.2f} MiB (inside the secure world; client-timed)",
                         "<= 1.5", f"{f2(lf['ratio_inside'])}; {f2(lf['ratio_client'])}", lf["ratio_inside"] <= 1.5))
    rows.append(("world switch: NULL fast call / PSCI_VERSION (bare-metal client)", "<= 1.5",
                 f2(ws["ratio"]), ws["ratio"] is not None and ws["ratio"] <= 1.5))
    if "insn_ratio" in ws:
        rows.append(("world switch counted (-icount): NULL round-trip instructions / PSCI_VERSION's", "<= 1.5",
                     f"{f2(ws['insn_ratio'])} ({ws['null_insns']} / {ws['psci_version_insns']})",
                     ws["insn_ratio"] is not None and ws["insn_ratio"] <= 1.5))
    ic = (r.get("icount") or {}).get("geomean", {})
    if ic:
        rows.append(("tzwasm/iwasm counted (-icount) instructions, hardware; software bounds (geomean)", "<= 1.00",
                     f"{f3(ic.get('tzwasm-hw/iwasm-hw'))}; {f3(ic.get('tzwasm-sw/iwasm-sw'))}",
                     all(ic.get(k) is not None and ic[k] <= 1.0 for k in ("tzwasm-hw/iwasm-hw", "tzwasm-sw/iwasm-sw"))))
    h = headline(r)
    rows.append(("hello world, first byte: tzwasm / native", "<= 2.00", f2(h["ttfb_ratio"]),
                 h["ttfb_ratio"] is not None and h["ttfb_ratio"] <= 2.0))
    rows.append(("pool bytes per module beyond its linear memory (median over the modules)",
                 "<= 262144", f"{h['pool_beyond']:,}" if h["pool_beyond"] else "n/a",
                 h["pool_beyond"] is not None and h["pool_beyond"] <= 262144))
    fit = r.get("fit")
    rows.append(("hello-world sessions loaded at once in the pool (each with its minimum quota; all then run)",
                 "reported", f"{fit['sessions']} (minimum quota {fit['min_quota']:,})" if fit else "n/a",
                 bool(fit) and fit["ran"] == fit["sessions"]))
    na = h.get("bl32_no_attestation")
    rows.append(("BL32 image bytes without the attestation crypto (`tzwasm-firmware --no-default-features`)",
                 "<= 262144", f"{na:,}" if na else "n/a", na is not None and na <= 262144))
    rows.append(("BL32 image bytes with it (the default image)", "reported", f"{h['bl32']:,}", True))
    sc = r.get("scaling")
    if not sc:
        return rows
    cf = sc.get("configs", {})
    tr = cf.get("tzwasm-hw", {}).get("throughput_ratio")
    rows.append((f"scaling: throughput of {sc.get('n')} `tzwasm run` at once / 1 run, -smp {sc.get('smp')} "
                 f"(native; iwasm on the same guest; the host has {r['meta'].get('host_cores')} cores)",
                 f">= {sc.get('goal')}",
                 f"{f2(tr)} (native {f2(cf.get('native', {}).get('throughput_ratio'))}; "
                 f"iwasm {f2(cf.get('iwasm-hw', {}).get('throughput_ratio'))})",
                 tr is not None and tr >= sc.get("goal", SCALE_GOAL)))
    return rows


# The figures of the 2026-11-23 report (issue 11: today's must be no worse than 1.33 / 1.09).
BASELINE = {"date": "2026-11-23", "tzwasm-hw/iwasm-hw": 1.33, "tzwasm-sw/iwasm-sw": 1.09,
            "tzwasm-hw/native": 1.99, "world_switch": 5.68, "ttfb_ms": 12.4, "ttfb_native_ms": 3.7,
            "bl32": 316944, "pool_beyond": 1150000}


def best_geomeans(r):
    """Geomeans of the ratios of the fastest run of each configuration (best of the
    repetitions): load from other jobs on the host only ever adds time to a run, so under a
    busy host these are the steadier companion of the medians."""
    out = {}
    for k in r["ratios"]:
        a, b = k.split("/")
        xs = []
        for w in WORKLOADS:
            ra, rb = r["workloads"][w]["runs_s"].get(a), r["workloads"][w]["runs_s"].get(b)
            if ra and rb:
                xs.append(min(ra) / min(rb))
        out[k] = geomean(xs)
    return out


def headline(r):
    """The figures issues 11 and 14 quote, from one report."""
    pool = [p["beyond_linear"] for p in r["pool"].values()]
    tz, nat = r["hello"].get("tzwasm-hw", {}), r["hello"].get("native", {})
    ttfb, ttfb_n = tz.get("ttfb_ms"), nat.get("ttfb_ms")
    sc = (r.get("scaling") or {}).get("configs", {})
    return {
        "tzwasm-hw/iwasm-hw": r["geomean"]["tzwasm-hw/iwasm-hw"],
        "tzwasm-sw/iwasm-sw": r["geomean"]["tzwasm-sw/iwasm-sw"],
        "tzwasm-hw/native": r["geomean"]["tzwasm-hw/native"],
        "world_switch": r["world_switch"]["ratio"],
        "ttfb_ms": ttfb, "ttfb_native_ms": ttfb_n,
        "ttfb_ratio": ttfb / ttfb_n if ttfb and ttfb_n else None,
        "bl32": r["image"]["bl32_bin_bytes"],
        "bl32_no_attestation": r["image"].get("bl32_no_attestation_bytes"),
        "pool_beyond": int(statistics.median(pool)) if pool else None,
        "scaling": {c: v.get("throughput_ratio") for c, v in sc.items()},
    }


def headline_rows(r):
    """(figure, today, 2026-11-23, how to reproduce) for the Markdown summary."""
    h = headline(r)
    best = best_geomeans(r)
    sc = r.get("scaling") or {}
    pk = sc.get("stats_page4", {})
    n, smp = sc.get("n"), sc.get("smp")

    def hb(k):
        return f"{f2(h[k])} (best-of-run {f2(best[k])})"

    rows = [
        ("tzwasm/iwasm, hardware bounds (geomean over the workloads)", hb("tzwasm-hw/iwasm-hw"),
         f2(BASELINE["tzwasm-hw/iwasm-hw"]), "`make bench`: `tzwasm run --heap 12M hw/W.aot -- SIZE` vs `iwasm-hw hw/W.aot SIZE`"),
        ("tzwasm/iwasm, software bounds (geomean)", hb("tzwasm-sw/iwasm-sw"),
         f2(BASELINE["tzwasm-sw/iwasm-sw"]), "`make bench`: the same with `sw/W.aot` and `iwasm-sw`"),
        ("tzwasm/native, hardware bounds (geomean)", hb("tzwasm-hw/native"),
         f2(BASELINE["tzwasm-hw/native"]), "`make bench`: `tzwasm run ... hw/W.aot` vs `native/W SIZE`"),
        ("world switch: NULL fast call / PSCI_VERSION", f2(h["world_switch"]), f2(BASELINE["world_switch"]),
         "`make bench` (its bare-metal boot: `qemu/boot.sh test build/flash.bin DIR`, the client's `timing:` line)"),
        ("hello world, first byte (ms): tzwasm; native", f"{f2(h['ttfb_ms'])}; {f2(h['ttfb_native_ms'])}",
         f"{BASELINE['ttfb_ms']}; {BASELINE['ttfb_native_ms']}", "`make bench`: `tzbench time ... -- tzwasm run --heap 12M hw/hello.aot`"),
        ("BL32 image (bytes)", f"{h['bl32']:,}", f"{BASELINE['bl32']:,}", "`make bench` or `make size` (`build/bl32.bin`)"),
        ("BL32 image without attestation (bytes)",
         f"{h['bl32_no_attestation']:,}" if h.get("bl32_no_attestation") else "n/a", "n/a",
         "`make bench` or `make size` (`build/bl32-no-attestation.bin`)"),
        ("pool per module beyond its linear memory (bytes, median)",
         f"{h['pool_beyond']:,}" if h["pool_beyond"] else "n/a", f"about {BASELINE['pool_beyond']:,}",
         "`make bench`: `tzbench load hw/W.aot 1` (LOAD's charge)"),
    ]
    if not sc:
        return rows
    return rows + [
        (f"scaling: {n} `tzwasm run` at once / 1, throughput (-smp {smp})",
         f"{f2(h['scaling'].get('tzwasm-hw'))} (native {f2(h['scaling'].get('native'))}, iwasm {f2(h['scaling'].get('iwasm-hw'))})",
         "n/a (new)", f"`make bench` (its -smp {smp} boot): `tzbench par scale {sc.get('workload')} tzwasm-hw REP {n} -- "
         f"tzwasm run --heap {sc.get('heap')} hw/{sc.get('workload')}.aot -- {sc.get('size')}` vs `... 1 -- ...`"),
        ("most CPUs seen executing module code at once (STATS page 4): before; after the concurrent runs",
         f"{pk.get('serial', {}).get('peak', 'n/a')}; {pk.get('parallel', {}).get('peak', 'n/a')}", "n/a (new)",
         "`make bench`: `tzbench peak LABEL` in the -smp 4 boot"),
    ]


def summary_lines(r):
    return "\n".join(f"  {name}: {val} (goal {goal}) {'met' if ok else 'MISSED'}"
                     for name, goal, val, ok in goal_rows(r))


def render(r):
    m = r["meta"]
    L = []
    L.append("# Benchmarks: tzwasm vs native code and WAMR's iwasm")
    L.append("")
    L.append(f"Generated by `{m['command']}` (bench/run-bench.py) on {m['date']}; do not edit by hand. "
             "Machine-readable: [benchmarks.json](benchmarks.json). How it works: [bench/README.md](../bench/README.md). "
             "Why goals are missed and what would close them: [benchmarks-analysis.md](benchmarks-analysis.md).")
    L.append("")
    L.append("**Absolute times below are QEMU TCG emulation on a shared host, not silicon; only the "
             "ratios, measured in the same boot with the configurations interleaved, are the result.** "
             "Even ratios describe TCG's costs (e.g. TLB flushes), which differ from a real Cortex-A57's.")
    L.append("")
    L.append(f"- Command: `{m['command']}` ({m['reps']} repetitions, medians)")
    L.append(f"- Emulator: {m['qemu']}; {m['machine']}")
    L.append(f"- Guest: Linux {m['guest'].get('kernel', '?')}, {m['guest'].get('cpus', '?')} CPUs; tzwasm runs with `--heap {m['heap']}`")
    L.append(f"- Host: {m['host']}; load average (1, 5, 15 min) at the start {m.get('host_load_avg', {}).get('start')}, "
             f"at the end {m.get('host_load_avg', {}).get('end')} (other jobs share the host)")
    if m.get("scale_guest"):
        L.append(f"- Scaling: a second Linux boot, {m['scale_guest'].get('cpus', '?')} CPUs (see the scaling section)")
    L.append("- World switch: a second, bare-metal boot in the same `make bench` (the bare-metal test "
             "client on the release firmware; Linux userspace cannot issue PSCI_VERSION).")
    L.append("")
    L.append("## Goals")
    L.append("")
    L.append("| goal | target | measured | |")
    L.append("|---|---:|---:|---|")
    for name, goal, val, ok in goal_rows(r):
        L.append(f"| {name} | {goal} | {val} | {'met' if ok else '**missed**'} |")
    L.append("")
    L.append(f"## Headline figures against the {BASELINE['date']} report")
    L.append("")
    L.append("| figure | today | " + BASELINE["date"] + " | reproduce |")
    L.append("|---|---:|---:|---|")
    for name, today, before, how in headline_rows(r):
        L.append(f"| {name} | {today} | {before} | {how} |")
    L.append("")
    L.append("## Ratios per workload (median time / median time)")
    L.append("")
    keys = list(r["ratios"])
    L.append("| workload | " + " | ".join(keys) + " |")
    L.append("|---|" + "---:|" * len(keys))
    for w in WORKLOADS:
        L.append(f"| {w} | " + " | ".join(f2(r["ratios"][k][w]) for k in keys) + " |")
    L.append("| **geomean** | " + " | ".join(f"**{f2(r['geomean'][k])}**" for k in keys) + " |")
    best = best_geomeans(r)
    L.append("| geomean of best-of-run ratios | " + " | ".join(f2(best[k]) for k in keys) + " |")
    L.append("")
    L.append("The last row divides the fastest run of each configuration instead of the medians "
             "(other jobs on the host only ever add time); when the two rows disagree, host load "
             "moved the medians.")
    L.append("")
    L.append("## Absolute medians (seconds, QEMU TCG)")
    L.append("")
    L.append("| workload | what | size arg | " + " | ".join(CONFIGS) + " | checksum |")
    L.append("|---|---|---:|" + "---:|" * len(CONFIGS) + "---|")
    for w in WORKLOADS:
        res = r["workloads"][w]
        L.append(f"| {w} | {res['description']} | {res['size']} | "
                 + " | ".join(f"{res['median_s'][c]:.3f}" if res['median_s'][c] else "n/a" for c in CONFIGS)
                 + f" | `{res['checksum']}` |")
    L.append("")
    L.append("Configurations:")
    L.append("")
    for c in CONFIGS:
        L.append(f"- `{c}`: {r['configs'][c]}")
    L.append("")
    L.append("Checksums: every run of a workload, in every configuration, printed the same line "
             "(compared as a hash of the whole stdout); otherwise the run fails.")
    L.append("")
    L.append("## Hello world: time to the first output byte")
    L.append("")
    L.append("From starting the command to the first byte on its stdout pipe (tzbench), and to its exit.")
    L.append("")
    L.append("| configuration | first byte (ms) | whole run (ms) |")
    L.append("|---|---:|---:|")
    for c, v in r["hello"].items():
        L.append(f"| {c} | {f2(v['ttfb_ms'])} | {f2(v['total_ms'])} |")
    L.append("")
    st = r.get("startup")
    tz = r["hello"].get("tzwasm-hw", {}).get("ttfb_ms")
    if st and tz:
        L.append("Where tzwasm-hw's first byte goes: the same steps inside one process (`tzbench startup "
                 "hw/hello.aot`, medians; the LOAD split is the secure world's own, STATS pages 1-3). "
                 "The rest of `tzwasm run`'s first byte is starting the tool's process (fork, exec, the "
                 "static binary's page faults), which the native hello pays too.")
        L.append("")
        L.append("| step | ms (cumulative) | ms (this step) |")
        L.append("|---|---:|---:|")
        prev = 0.0
        for key, what in (("read_ms", "read the .aot file"),
                          ("open_ms", "open /dev/tzwasm: shared pages, SHM_REGISTER, SESSION_OPEN"),
                          ("load_ms", "LOAD (client-timed)"),
                          ("first_ms", "RUN until the first stdout byte is here"),
                          ("end_ms", "the rest of the run")):
            L.append(f"| {what} | {f2(st[key])} | {f2(st[key] - prev)} |")
            prev = st[key]
        L.append(f"| inside LOAD: copy; SHA-256; parse; instantiate (relocate, memory, set-up) | | "
                 f"{f2(st['copy_ms'])}; {f2(st['sha_ms'])}; {f2(st['parse_ms'])}; {f2(st['inst_ms'])} "
                 f"({f2(st['reloc_ms'])}, {f2(st['mem_ms'])}, {f2(st['setup_ms'])}) |")
        if "run_secure_ms" in st:
            L.append(f"| inside RUN: the secure world's runner; of it module code at S-EL0; SVCs (STATS page 6) | | "
                     f"{f2(st['run_secure_ms'])}; {f2(st['run_el0_ms'])}; {st['run_svcs']:.0f} |")
        L.append(f"| process start-up and the tool's own work (tzwasm-hw's first byte minus the in-process first byte) | "
                 f"{f2(tz)} | {f2(tz - st['first_ms'])} |")
        L.append("")
    L.append("## Output streaming: 10 MiB of stdout")
    L.append("")
    L.append("`write10mib.aot` (qemu/guests/write10mib.wat) writing 10 MiB to stdout into a pipe, "
             "against `cat` of the same 10 MiB from tmpfs into the same kind of pipe.")
    L.append("")
    L.append("| configuration | median (s) | MiB/s | vs plain copy |")
    L.append("|---|---:|---:|---:|")
    plain = r["stream"]["plain-copy"]["median_s"]
    for c, v in r["stream"].items():
        L.append(f"| {c} | {v['median_s']:.3f} | {v['mib_per_s']:.1f} | {v['median_s'] / plain:.2f} |")
    L.append("")
    L.append("`copy-512` is `dd bs=512` of the same file, for scale: 512 bytes is the chunk the "
             "ring's consumer hands over; the `tzwasm` tool collects one drain's chunks and writes "
             "them with one `write` per stream.")
    L.append("")
    L.append("## Interruptions and pauses (diagnostics)")
    L.append("")
    L.append("One run of each hardware-mode module through `tzbench run` (the tool's runner): OUTPUT_PENDING "
             "pauses, and the INTERRUPTED returns the secure world counted (STATS page 2; each one is a "
             "world switch out and back for a normal-world interrupt, mostly Linux's timer tick).")
    L.append("")
    L.append("| module | run (s) | pauses | INTERRUPTED (secure count) | per second | seen by the caller |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for name, d in r.get("diagnostics", {}).items():
        L.append(f"| {name} | {d['s']:.3f} | {d['pauses']} | {d['interrupted_secure']} | "
                 f"{f2(d['interrupts_per_s'])} | {d['interrupted_seen']} |")
    L.append("")
    L.append("## LOAD vs SHA-256 of the same bytes")
    L.append("")
    L.append("`tzbench load`: a module of gen-big.py functions, LOADed through `/dev/tzwasm` after an "
             "untimed warm-up LOAD in the same session; the breakdown is the secure world's own "
             "(STATS pages 1-3, counter ticks), medians over the rounds. The ~4 MiB module is the "
             "largest that fits the driver's 4 MiB of shared memory with its LOAD report.")
    L.append("")
    L.append("| module | bytes | client-timed (us) | copy | SHA-256 | parse | relocate | map (alloc+zero+map+seal) | instance set-up | LOAD/SHA inside | client/SHA |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, lf in r["load"].items():
        L.append(f"| {name} | {lf['bytes']} | {lf['client_us']:.0f} | {lf['copy']:.0f} | {lf['sha']:.0f} | "
                 f"{lf['parse']:.0f} | {lf['reloc']:.0f} | {lf['mem']:.0f} | {lf['setup']:.0f} | "
                 f"{f2(lf['ratio_inside'])} | {f2(lf['ratio_client'])} |")
    L.append("")
    sc = r.get("scaling")
    if sc:
        L.append(f"## Scaling: {sc['n']} runs at once against 1 (-smp {sc['smp']})")
        L.append("")
        L.append(f"A second Linux boot on `-smp {sc['smp']}` (the same images): per repetition, one run of "
                 f"`{sc['workload']} {sc['size']}` in each configuration, then {sc['n']} at once (`tzbench par`, "
                 f"each copy its own process, as {sc['n']} users would start them), configurations "
                 f"interleaved. tzwasm: {sc['n']} `tzwasm run --heap {sc['heap']}` processes, so {sc['n']} "
                 f"sessions. Throughput ratio = {sc['n']} x (median time of one run) / (median time of "
                 f"{sc['n']} at once), i.e. runs completed per second; {sc['n']}.00 is perfect scaling. "
                 f"Goal for tzwasm: >= {sc['goal']}.")
        L.append("")
        L.append(f"| configuration | 1 run (s) | {sc['n']} at once (s) | throughput ratio | from the fastest runs |")
        L.append("|---|---:|---:|---:|---:|")
        for c, v in sc["configs"].items():
            x1, xn = v.get("x1_s"), v.get(f"x{sc['n']}_s")
            r1, rn = v.get("x1_runs_s"), v.get(f"x{sc['n']}_runs_s")
            best = sc["n"] * min(r1) / min(rn) if r1 and rn else None
            L.append(f"| {c} | {f2(x1)} | {f2(xn)} | **{f2(v.get('throughput_ratio'))}** | {f2(best)} |")
        L.append("")
        pk = sc.get("stats_page4", {})

        def p(label):
            return pk.get(label, {}).get("peak", "n/a")

        L.append(f"- STATS page 4, the most CPUs seen executing module code at the same moment since boot: "
                 f"{p('start')} at the start, {p('serial')} after the first repetition's single runs, "
                 f"**{p('parallel')}** after its concurrent runs.")
        L.append(f"- tzwasm's ratio over native's on the same guest (the share of what the host allowed): "
                 f"{f2(sc.get('tzwasm_over_native_ceiling'))}.")
        L.append(f"- Host: {m.get('host_cores')} cores, shared; load average (1, 5, 15 min) at the start "
                 f"{m.get('host_load_avg', {}).get('start')}, after the -smp {sc['smp']} boot "
                 f"{m.get('host_load_avg', {}).get('after_scale')}. QEMU TCG runs each vCPU on its own host "
                 f"thread, so {sc['n']} busy vCPUs get at most {m.get('host_cores')} cores between them: native "
                 f"code bounds what any runtime can show here (see docs/benchmarks-analysis.md).")
        L.append("")
    L.append("## World switch")
    L.append("")
    ws = r["world_switch"]
    L.append(f"- Bare-metal client (10,000 calls each, alternating batches): NULL fast call to tzwasm "
             f"{ws['null_ns']} ns, PSCI_VERSION (EL3 only) {ws['psci_version_ns']} ns: ratio **{f2(ws['ratio'])}**.")
    L.append(f"- From Linux userspace through the driver (ioctl + SMC, for reference): "
             f"{ws['linux_null_ioctl_ns']} ns per NULL call.")
    if ws.get("null_insns"):
        L.append(f"- Counted (the same client under `{m.get('icount_args')}`, where its ns are instructions): "
                 f"NULL fast call **{ws['null_insns']}** instructions per round trip (EL3 + S-EL1 + the "
                 f"client's loop), PSCI_VERSION **{ws['psci_version_insns']}** (EL3 + the loop): ratio "
                 f"**{f2(ws['insn_ratio'])}**. Time ratio over instruction ratio: "
                 f"{f2(ws['ratio'] / ws['insn_ratio']) if ws.get('ratio') and ws.get('insn_ratio') else 'n/a'} "
                 f"(what TCG adds per instruction of a world switch: see docs/benchmarks-analysis.md).")
        fails = ws.get("icount_client_failures") or []
        if fails:
            L.append(f"- The counted boot is used only for that line; its other checks that failed under "
                     f"-icount: " + "; ".join(f"`{f}`" for f in fails) + ".")
    L.append("")
    ic = r.get("icount")
    if ic:
        L.append(f"## Instruction counts (-icount)")
        L.append("")
        L.append(f"A third Linux boot under `{m.get('icount_args')}` ({m.get('icount_boot_s')} s): the guest clock "
                 f"advances 1 ns per instruction executed, so each run's guest-timed length is the instructions "
                 f"all CPUs executed meanwhile (Linux, the runtime, the secure world, the module), independent "
                 f"of the host's load. One run per configuration. The secure world's split comes from STATS page 6 "
                 f"of a `tzbench run` of the same file (counter ticks x {INSNS_PER_TICK}): everything the runner "
                 f"did for the run in the secure world, of it module code at S-EL0; the rest (S-EL1) is the "
                 f"secure kernel: SVCs, interrupts, WASI.")
        L.append("")
        L.append("| workload | native (M insns) | tzwasm-hw | iwasm-hw | tzwasm-hw/iwasm-hw | tzwasm-sw | iwasm-sw | tzwasm-sw/iwasm-sw | secure world, hw (M) | of it S-EL1 | SVCs | INTERRUPTED |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

        def mi(x):
            return f"{x / 1e6:,.1f}" if x else "n/a"
        for w, f in ic["workloads"].items():
            sec = f.get("secure-hw", {})
            L.append(f"| {w} | {mi(f.get('native'))} | {mi(f.get('tzwasm-hw'))} | {mi(f.get('iwasm-hw'))} | "
                     f"{f3(f.get('tzwasm-hw/iwasm-hw'))} | {mi(f.get('tzwasm-sw'))} | {mi(f.get('iwasm-sw'))} | "
                     f"{f3(f.get('tzwasm-sw/iwasm-sw'))} | {mi(sec.get('secure'))} | "
                     f"{sec.get('el1', 0) / 1e3:,.0f} k | {sec.get('svcs', 'n/a')} | {sec.get('interrupted', 'n/a')} |")
        g = ic["geomean"]
        L.append(f"| **geomean** | | | | **{f3(g.get('tzwasm-hw/iwasm-hw'))}** | | | **{f3(g.get('tzwasm-sw/iwasm-sw'))}** | | | | |")
        L.append("")
    L.append("## Size")
    L.append("")
    img = r["image"]
    L.append(f"BL32 image (`bl32.bin`, what TF-A loads): **{img['bl32_bin_bytes']} bytes**. ELF sections: "
             + ", ".join(f"`{k}` {v}" for k, v in img["sections"].items() if k in
                         (".text", ".rodata", ".data", ".bss", ".stacks", ".xlat", ".pool")) + ".")
    if img.get("bl32_no_attestation_bytes"):
        L.append("")
        L.append(f"The image built without attestation (`build/bl32-no-attestation.bin`: no device "
                 f"identity, so no ATTEST, receipts, seal imports or sealed files; SHA-256 stays, it is "
                 f"the measurement): **{img['bl32_no_attestation_bytes']} bytes**. `make size` breaks "
                 f"both down by section and crate.")
    L.append("")
    L.append("Secure pool bytes per module at LOAD (the quota charge from LOAD's report) beyond the "
             "module's initial linear memory; the rest is the copy of the file, code, instance data "
             "and the native stack (64 KiB by default, `tzwasm run --stack`).")
    L.append("")
    L.append("| module | .aot bytes | charged | initial linear memory | beyond linear memory |")
    L.append("|---|---:|---:|---:|---:|")
    for w, p in r["pool"].items():
        L.append(f"| {w} | {p['file']} | {p['charged']} | {p['linear']} | {p['beyond_linear']} |")
    L.append("")
    fit = r.get("fit")
    if fit:
        L.append(f"Hello-world sessions the pool holds at once (`tzbench fit hw/hello.aot`): sessions of "
                 f"the module's minimum quota ({fit['min_quota']:,} bytes: the LOAD's peak, or what "
                 f"the loaded module holds plus RUN's 256 KiB allowance) each LOAD hello until the next "
                 f"SESSION_OPEN is refused: **{fit['sessions']}** loaded at once "
                 f"({fit['free']:,} bytes left free for sessions), and {fit['ran']} of them then ran "
                 f"to exit 0 with the same output.")
        L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
