//! The tzwasm protocol checks, built on the `tzwasm-smc` crate's ids, statuses and typed
//! wrappers: Trusted OS queries, GET_INFO, NULL/ECHO, bad inputs, FP/SIMD survival, the
//! timing of a null call against PSCI_VERSION, and the TEST_FAULT call of crash mode.

use tzwasm_smc::call::{
    echo_reply, ids, shm_test_hash, test_fp_reply, El0Program, FaultKind, ALL_EL0_PROGRAMS,
    SHM_MAX_REGISTRATIONS,
};
use tzwasm_smc::info::ALL_SELECTORS;
use tzwasm_smc::ring::{self, Consumer, SharedRegion, Stream};
use tzwasm_smc::runner::{
    Error as RunnerError, RunEnd, RunObserver, RunOutcome, RunRequest, Session, SharedArea,
};
use tzwasm_smc::session::{LoadReport, RunBlock, LOAD_REPORT_SIZE, SESSION_MIN_QUOTA};
use tzwasm_smc::{
    CallConv, CallType, Client, ClientError, Conduit, Features, FunctionId, InfoSelector, Status,
    PROTOCOL_VERSION, TZWASM_UID,
};

use crate::client::fp_probe;
use crate::report::Report;
use crate::{arch, println, psci, timer};

/// The `smc #0` conduit (SMCCC 1.1 from NS-EL1).
pub struct Smc;

impl Conduit for Smc {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        arch::smc(args)
    }
}

/// OEN 50, the tzwasm Trusted OS range.
const OEN_TZWASM: u8 = 50;
/// An unused fast function number in OEN 50 (not in the base, reserved or test ranges).
const UNKNOWN_FAST_NUMBER: u16 = 0x00ff;
/// An unused yielding function number in OEN 50.
const UNKNOWN_YIELDING_NUMBER: u16 = 0x00fe;

/// TEST_FP operands: 1.0 and 10.0. `a / b` = 0.1 rounds up in round-to-nearest-even
/// (0x3FB999999999999A) but not towards zero, so a secure world computing with the normal
/// world's FPCR (the probes set RMode = towards zero) gives a wrong quotient.
const FP_A: u64 = 0x3ff0_0000_0000_0000;
const FP_B: u64 = 0x4024_0000_0000_0000;

/// FPCR pattern of the primary: AHP | DN | FZ | RMode = towards zero.
const FPCR_PRIMARY: u64 = 0x07c0_0000;
/// FPSR pattern of the primary: QC and every cumulative exception flag.
const FPSR_PRIMARY: u64 = 0x0800_009f;
/// FPCR pattern of the secondary: DN | RMode = towards minus infinity.
const FPCR_SECONDARY: u64 = 0x0280_0000;
/// FPSR pattern of the secondary: IOC | IXC.
const FPSR_SECONDARY: u64 = 0x0000_0011;

/// Calls of each kind in the timing run.
const TIMING_CALLS: u64 = 10_000;
/// The timing run alternates this many batches of each kind.
const TIMING_BATCHES: u64 = 10;

/// `x0` of an SMC64 call as a status, for messages.
fn status_of(x0: u64) -> Result<Status, u64> {
    Status::from_raw(x0).ok_or(x0)
}

/// Checks that `x0` of a call is exactly `expected` (SMC64: all 64 bits).
fn expect_status(report: &mut Report, name: &str, x0: u64, expected: Status) {
    report.check(
        name,
        x0 == expected.to_raw(),
        format_args!(
            "expected {}, got {:?} (x0 = {x0:#x})",
            expected.name(),
            status_of(x0)
        ),
    );
}

/// Checks that a NULL call still works (after a bad input).
fn expect_alive(report: &mut Report, name: &str) {
    report.result(name, Smc.null_call());
}

/// What the primary learned from GET_INFO, used by later checks.
#[derive(Clone, Copy)]
struct Learned {
    test_calls: bool,
}

/// Every check the boot CPU runs.
pub fn run_primary(report: &mut Report) {
    let learned = info_checks(report);
    os_query_checks(report, learned);
    call_checks(report);
    bad_input_checks(report, learned);
    fp_checks(
        report,
        learned,
        0x0011_2233_4455_6677,
        FPCR_PRIMARY,
        FPSR_PRIMARY,
    );
    el0_checks(report, learned);
    // First, while no module code has run from the pool's pages: under QEMU TCG, writing to a
    // page that once held executed code takes the emulator's self-modifying-code slow path,
    // which multiplies copy and relocation times by up to 50 (docs/figures.md).
    figures(report);
    shm_checks(report, learned);
    aot_checks(report, learned);
    session_checks(report);
    run_checks(report);
    preempt_checks(report);
    crate::hostile::hostile_checks(report);
    crate::isolation::isolation_checks(report);
    corpus_checks(report);
}

fn micros(ticks: u64, freq: u64) -> u64 {
    ticks.saturating_mul(1_000_000) / freq.max(1)
}

/// Where QEMU preloads the ~1 MiB module of the load figure (qemu/guests/gen-big.py); its
/// length is preload word 10.
const BIG_AOT: u64 = 0x6800_0000;

/// Informational figures (never pass/fail criteria): LOAD's breakdown for the ~1 MiB module
/// (or, without it, the largest corpus module).
fn figures(report: &mut Report) {
    // SAFETY: normal-world RAM the harness writes before boot.
    let big_len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 10) as *const u64) };
    // SAFETY: as above.
    let bundle_len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 5) as *const u64) };
    let (base, reg_len, off, size) = if big_len > 64 {
        let reg = big_len.div_ceil(0x1000) * 0x1000 + 0x1000;
        (BIG_AOT, reg, 0, big_len)
    } else if bundle_len >= 8 && bundle_u64(0) as u32 == u32::from_le_bytes(*b"TZBN") {
        let (mut off, mut size) = (0, 0);
        for i in 0..bundle_u64(0) >> 32 {
            let e = 8 + 96 * i;
            let (o, n) = (bundle_u64(e + 8 + 16 * 2), bundle_u64(e + 16 + 16 * 2));
            if n > size {
                (off, size) = (o, n);
            }
        }
        (BUNDLE, bundle_len, off, size)
    } else {
        return;
    };
    let Ok(shm) = Smc.shm_register(base, reg_len) else {
        return;
    };
    let s = Smc.invoke(ids::SESSION_OPEN, [8 << 20, 0, 0, 0, 0, 0, 0]);
    // A first LOAD + UNLOAD warms the emulator (QEMU allocates host memory for guest RAM on
    // first touch); the second one is measured.
    let _ = Smc.invoke(ids::LOAD, [s[1], shm, off, size, reg_len - 0x1000, 0, 0]);
    let _ = Smc.invoke(ids::UNLOAD, [s[1], 0, 0, 0, 0, 0, 0]);
    let t0 = arch::counter();
    let r = Smc.invoke(ids::LOAD, [s[1], shm, off, size, reg_len - 0x1000, 0, 0]);
    let total = arch::counter() - t0;
    let p1 = Smc.invoke(ids::STATS, [s[1], 1, 0, 0, 0, 0, 0]);
    let p2 = Smc.invoke(ids::STATS, [s[1], 2, 0, 0, 0, 0, 0]);
    let p3 = Smc.invoke(ids::STATS, [s[1], 3, 0, 0, 0, 0, 0]);
    let _ = Smc.invoke(ids::SESSION_CLOSE, [s[1], 0, 0, 0, 0, 0, 0]);
    let _ = Smc.shm_unregister(shm);
    let f = p1[1];
    report.check(
        "figure: LOAD breakdown from STATS",
        r[0] == 0 && p1[0] == 0 && p2[0] == 0 && p3[0] == 0 && f > 0,
        format_args!(
            "LOAD x0 = {:#x}, STATS {:#x} {:#x} {:#x}",
            r[0], p1[0], p2[0], p3[0]
        ),
    );
    // Everything in secure-counter ticks: the client's interval converted to them.
    let total_ticks = total * f / arch::counter_frequency().max(1);
    let hash = p1[3].max(1);
    let inside = p1[2] + p1[3] + p2[1] + p2[2];
    println!(
        "figure: LOAD of a {} KiB module: {} us in all (client-timed), copy {} us, SHA-256 {} us, parse {} us, instantiate {} us (relocate {} us, allocate+zero+map+seal {} us, instance set-up {} us)",
        size / 1024,
        micros(total, arch::counter_frequency()),
        micros(p1[2], f),
        micros(p1[3], f),
        micros(p2[1], f),
        micros(p2[2], f),
        micros(p3[1], f),
        micros(p3[2], f),
        micros(p3[3], f),
    );
    println!(
        "figure: load/hash ratio {}.{:02} client-timed, {}.{:02} inside the payload (goal <= 1.5)",
        total_ticks / hash,
        total_ticks * 100 / hash % 100,
        inside / hash,
        inside * 100 / hash % 100
    );
}

/// The corpus bundle (qemu/make-bundle.py), preloaded at this address; its length is
/// preload word 5.
const BUNDLE: u64 = 0x5000_0000;

fn bundle_u64(off: u64) -> u64 {
    // SAFETY: inside the preloaded bundle in normal-world RAM (offsets checked by callers
    // against its length).
    unsafe { core::ptr::read_volatile((BUNDLE + off) as *const u64) }
}

/// Every WASI-command test of the aarch64 corpus (both bounds-check modes) through SESSION_OPEN,
/// LOAD, RUN/RESUME with a 4 KiB ring: stdout, stderr, exit code and trap kind must equal what
/// WAMR's iwasm printed for the same file.
fn corpus_checks(report: &mut Report) {
    // SAFETY: normal-world RAM the harness writes before boot.
    let len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 5) as *const u64) };
    if len < 8 || bundle_u64(0) as u32 != u32::from_le_bytes(*b"TZBN") {
        report.skip("corpus: protocol runs", "no bundle preloaded");
        return;
    }
    let count = bundle_u64(0) >> 32;
    let Ok(pool) = Smc.pool_info() else {
        report.fail("corpus: pool info", format_args!("no answer"));
        return;
    };
    let bundle_shm = match Smc.shm_register(BUNDLE, len) {
        Ok(h) => h,
        Err(e) => {
            report.fail("corpus: register the bundle", format_args!("{e}"));
            return;
        }
    };
    let Ok(work_shm) = Smc.shm_register(WORK, WORK_SIZE) else {
        report.fail("corpus: register the work area", format_args!("failed"));
        return;
    };
    let baseline = Smc.pool_info().map(|p| p.used);
    let env = CorpusEnv {
        bundle_shm,
        bundle_len: len,
        work_shm,
        report_off: len - 0x1000,
        // All the pool gives sessions (quotas are reserved at OPEN).
        quota: crate::parallel::free_for_sessions().unwrap_or(pool.size),
    };
    let (mut passed, mut failed, mut fp_lost) = (0u32, 0u32, 0u32);
    for i in 0..count {
        let e = 8 + 96 * i;
        let field = |k: u64| (bundle_u64(e + 8 + 16 * k), bundle_u64(e + 16 + 16 * k));
        let (name, run, aot, out, err) = (field(0), field(1), field(2), field(3), field(4));
        let tail = bundle_u64(e + 88);
        let (exit_code, trap_id) = (tail as u32, (tail >> 32) as i32);
        let mut name_buf = [0u8; 64];
        for (k, b) in name_buf
            .iter_mut()
            .enumerate()
            .take(name.1.min(64) as usize)
        {
            // SAFETY: inside the bundle.
            *b = unsafe { core::ptr::read_volatile((BUNDLE + name.0 + k as u64) as *const u8) };
        }
        let name = core::str::from_utf8(&name_buf[..name.1.min(64) as usize]).unwrap_or("?");
        let mut cmp = Compare {
            expected: [(BUNDLE + out.0, out.1), (BUNDLE + err.0, err.1)],
            seen: [0; 2],
            mismatches: 0,
            first: None,
        };
        let outcome = corpus_run(&env, run, aot, &mut cmp, &mut fp_lost);
        let ok_status = match &outcome {
            Ok(r) if trap_id == -1 => r.end == RunEnd::Exited(exit_code),
            Ok(r) if trap_id == -2 => matches!(r.end, RunEnd::Trapped(_)),
            Ok(r) => r.end == RunEnd::Trapped(Some(trap_id as u32)),
            Err(_) => false,
        };
        if ok_status && cmp.exact() {
            passed += 1;
            println!("[PASS] corpus: {name}");
        } else {
            failed += 1;
            println!(
                "[FAIL] corpus: {name}: {:?}, expected exit {exit_code} trap {trap_id}; output seen {:?} of {:?}, {} mismatches, first {:?}",
                outcome.as_ref().map(|o| o.end),
                cmp.seen,
                [out.1, err.1],
                cmp.mismatches,
                cmp.first
            );
        }
    }
    let after = Smc.pool_info().map(|p| p.used);
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(bundle_shm);
    report.check(
        name_buf(format_args!(
            "corpus: {count} protocol runs equal iwasm's ({passed} passed)"
        ))
        .as_str(),
        failed == 0 && passed as u64 == count,
        format_args!("{failed} failed"),
    );
    report.check(
        "corpus: the normal world's V0-V31/FPCR/FPSR survive every RUN and RESUME",
        fp_lost == 0,
        format_args!("lost in {fp_lost} calls"),
    );
    report.check(
        "corpus: pool back to baseline after every run",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// One corpus run: open, LOAD from the bundle, RUN with its run block through a 4 KiB ring.
/// The registrations and limits every corpus run shares.
#[derive(Clone, Copy)]
struct CorpusEnv {
    bundle_shm: u64,
    bundle_len: u64,
    work_shm: u64,
    report_off: u64,
    quota: u64,
}

fn corpus_run(
    env: &CorpusEnv,
    run: (u64, u64),
    aot: (u64, u64),
    cmp: &mut Compare,
    fp_lost: &mut u32,
) -> Result<RunOutcome, RunnerError> {
    let CorpusEnv {
        bundle_shm,
        bundle_len,
        work_shm,
        report_off,
        quota,
    } = *env;
    // The bundle holds each test's run block ready made; the runner encodes its own from the
    // block's strings.
    let mut raw = [0u8; 2048];
    let blk_len = (run.1 as usize).min(raw.len());
    for (k, b) in raw[..blk_len].iter_mut().enumerate() {
        // SAFETY: inside the preloaded bundle in normal-world RAM.
        *b = unsafe { core::ptr::read_volatile((BUNDLE + run.0 + k as u64) as *const u8) };
    }
    let block = RunBlock::parse(&raw[..blk_len]).map_err(|_| RunnerError::BadRequest)?;
    let mut args: [&[u8]; 32] = [&[]; 32];
    let mut env_strs: [&[u8]; 32] = [&[]; 32];
    let (mut argc, mut envc) = (0, 0);
    for a in block.args().take(32) {
        args[argc] = a;
        argc += 1;
    }
    for e in block.env().take(32) {
        env_strs[envc] = e;
        envc += 1;
    }
    let req = RunRequest {
        entry: block.entry().unwrap_or("").as_bytes(),
        args: &args[..argc],
        env: &env_strs[..envc],
        ring_capacity: 4096,
    };
    // RUN and RESUME go through the FP/SIMD probe: module code uses FP/SIMD at S-EL0, and the
    // normal world's V0-V31, FPCR and FPSR must come back intact every time.
    let mut conduit = FpProbed { lost: 0 };
    let outcome = {
        let mut session = Session::open(&mut conduit, quota)?;
        session.load_at(
            &area(bundle_shm, BUNDLE, bundle_len),
            aot.0 as usize,
            aot.1 as usize,
            report_off as usize,
        )?;
        session.run(&area(work_shm, WORK, WORK_SIZE), 0, &req, cmp)
    };
    *fp_lost += conduit.lost;
    outcome
}

/// A conduit that issues RUN and RESUME through the FP/SIMD survival probe and counts the
/// calls after which the normal world's FP/SIMD state had changed.
struct FpProbed {
    lost: u32,
}

impl Conduit for FpProbed {
    fn call(&mut self, args: [u64; 8]) -> [u64; 4] {
        if args[0] != ids::RUN.to_x0() && args[0] != ids::RESUME.to_x0() {
            return Smc.call(args);
        }
        let (survived, out) = fp_probe(args, args[1] ^ 0x5eed_f00d, FPCR_PRIMARY, FPSR_PRIMARY);
        if survived.is_err() {
            self.lost += 1;
        }
        out
    }
}

/// The runner's view of `len` bytes of this client's RAM at `base`, registered as `handle`.
fn area(handle: u64, base: u64, len: u64) -> SharedArea<'static> {
    // SAFETY: [base, base + len) is normal-world RAM this client owns (the preload and work
    // areas, 64-aligned), accessed only through SharedRegions while a run uses it and by the
    // secure world through its own mapping.
    let mem = unsafe { SharedRegion::new(base as *mut u8, len as usize) };
    SharedArea {
        handle,
        // The bases are page-aligned constants, so this never fails; an empty region
        // makes every later access fail cleanly if it did.
        mem: mem.unwrap_or_else(|_| {
            // SAFETY: a zero-length region at an aligned address is never accessed.
            unsafe { SharedRegion::new(ring::ALIGN as *mut u8, 0) }.expect("aligned")
        }),
    }
}

/// Preloaded files (QEMU `-device loader`): their lengths are u64 words at AOT_LEN_WORD + 8*i.
const PRELOAD: [u64; 8] = [
    AOT_FILE,    // 0: hello .aot
    0x7400_0000, // 1: large-output .aot
    0x7600_0000, // 2: large-output expected stdout
    0x7700_0000, // 3: large-output expected stderr
    0x7780_0000, // 4: hello expected stdout
    BUNDLE,      // 5: the corpus bundle
    0x7c00_0000, // 6: the 10 MiB writer .aot
    0x7d00_0000, // 7: the module that spins forever .aot
];
/// Work area for run blocks and rings.
const WORK: u64 = 0x7800_0000;
const WORK_SIZE: u64 = 0x10000;
const RING_OFF: u64 = 0x1000;

fn preload(i: usize) -> (u64, u64) {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * i as u64) as *const u64) };
    (PRELOAD[i], len)
}

/// Output of one run, compared on the fly with expected bytes in normal-world RAM.
struct Compare {
    expected: [(u64, u64); 2],
    seen: [u64; 2],
    mismatches: u64,
    /// First mismatch: (stream, offset, expected byte, got byte).
    first: Option<(usize, u64, Option<u8>, u8)>,
}

impl Compare {
    fn take(&mut self, stream: usize, bytes: &[u8]) {
        let (base, len) = self.expected[stream];
        for &b in bytes {
            let at = self.seen[stream];
            let want = if base == 0 {
                // Base 0: the 10 MiB writer's pattern instead of preloaded bytes.
                (at < len).then_some(((at % 65536) % 251) as u8)
            } else {
                // SAFETY: normal-world RAM holding the preloaded expected output.
                (at < len).then(|| unsafe { core::ptr::read_volatile((base + at) as *const u8) })
            };
            if want != Some(b) {
                self.mismatches += 1;
                self.first.get_or_insert((stream, at, want, b));
            }
            self.seen[stream] += 1;
        }
    }

    fn exact(&self) -> bool {
        self.mismatches == 0
            && self.seen[0] == self.expected[0].1
            && self.seen[1] == self.expected[1].1
    }
}

/// Runs the preloaded hello module (`hello` = its address and length): true if it exits 0,
/// uninterrupted, with exactly iwasm's stdout. The "secure world still serves" check after
/// every hostile case.
pub fn good_run_ok(hello: (u64, u64)) -> bool {
    let mut cmp = Compare {
        expected: [preload(4), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    run_module(hello, &[b"hello"], 4096, &mut cmp, |_, _| false)
        .is_ok_and(|r| r.end == RunEnd::Exited(0) && r.interruptions == 0 && cmp.exact())
}

impl RunObserver for Compare {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.take(stream.index(), bytes);
    }
}

/// A [`Compare`] that may corrupt the ring at the first pause (`mess` gets the ring block and
/// the work registration's handle; `true` means it messed, and that drain is skipped).
struct Messing<'c, F> {
    cmp: &'c mut Compare,
    mess: F,
    shm: u64,
}

impl<F: FnMut(SharedRegion<'_>, u64) -> bool> RunObserver for Messing<'_, F> {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        self.cmp.take(stream.index(), bytes);
    }

    fn paused(&mut self, pause: u32, ring: SharedRegion<'_>) -> bool {
        !(pause == 1 && (self.mess)(ring, self.shm))
    }
}

/// LOADs the module, RUNs it with `args` through a ring of `cap` bytes per stream with the
/// shared runner (draining and RESUMing until it ends); `mess` may corrupt the ring during
/// the first pause. Checks afterwards that a second RUN is refused and everything closes.
fn run_module(
    (aot, len): (u64, u64),
    args: &[&[u8]],
    cap: u32,
    cmp: &mut Compare,
    mess: impl FnMut(SharedRegion<'_>, u64) -> bool,
) -> Result<RunOutcome, RunnerError> {
    let report_off = len.div_ceil(0x1000) * 0x1000;
    let file_shm = Smc
        .shm_register(aot, report_off + 0x1000)
        .map_err(RunnerError::Client)?;
    let work_shm = Smc
        .shm_register(WORK, WORK_SIZE)
        .map_err(RunnerError::Client)?;
    let work = area(work_shm, WORK, WORK_SIZE);
    let req = RunRequest {
        entry: b"",
        args,
        env: &[b"TZWASM=1"],
        ring_capacity: cap,
    };
    let result = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        session.load_at(
            &area(file_shm, aot, report_off + 0x1000),
            0,
            len as usize,
            report_off as usize,
        )?;
        let mut observer = Messing {
            cmp,
            mess,
            shm: work_shm,
        };
        let outcome = session.run(&work, 0, &req, &mut observer)?;
        match session.run(&work, 0, &req, &mut observer) {
            Err(RunnerError::Refused {
                status: Status::BadState,
                ..
            }) => {}
            _ => return Err(RunnerError::BadRequest),
        }
        session.close()?;
        Ok(outcome)
    })();
    let unreg = Smc
        .shm_unregister(work_shm)
        .and(Smc.shm_unregister(file_shm));
    let outcome = result?;
    unreg.map_err(RunnerError::Client)?;
    Ok(outcome)
}

/// RUN / RESUME / CANCEL with the output ring: real modules' stdout and stderr arrive byte for
/// byte through small rings, pausing the run whenever the ring is full.
fn run_checks(report: &mut Report) {
    let (hello, large) = (preload(0), preload(1));
    if hello.1 < 64 || large.1 < 64 {
        report.skip("run: RUN checks", "no modules preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let mut cmp = Compare {
        expected: [preload(4), (0, 0)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    match run_module(hello, &[b"hello"], 4096, &mut cmp, |_, _| false) {
        Ok(ran) => report.check(
            "run: hello's stdout arrives through the ring, exit 0",
            ran.end == RunEnd::Exited(0) && cmp.exact(),
            format_args!(
                "{:?}, seen {:?}, mismatches {}",
                ran.end, cmp.seen, cmp.mismatches
            ),
        ),
        Err(e) => report.fail("run: hello through the ring", format_args!("{e}")),
    }
    let mut cmp = Compare {
        expected: [preload(2), preload(3)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    let t0 = arch::counter();
    let large_run = run_module(large, &[b"large"], 4096, &mut cmp, |_, _| false);
    let run_ticks = arch::counter() - t0;
    // The same bytes copied once inside the normal world, for scale.
    let bytes = cmp.seen[0] + cmp.seen[1];
    let t0 = arch::counter();
    for k in (0..bytes).step_by(8) {
        // SAFETY: the preloaded expected output and the area above the work area are
        // normal-world RAM this client owns.
        unsafe {
            let v =
                core::ptr::read_volatile((preload(2).0 + (k % preload(2).1.max(8))) as *const u64);
            core::ptr::write_volatile((0x7a00_0000 + k) as *mut u64, v);
        }
    }
    let copy_ticks = (arch::counter() - t0).max(1);
    let freq = arch::counter_frequency();
    println!(
        "figure: streamed {} bytes through 4 KiB rings in {} us (load + run + drain), plain copy {} us: ratio {}",
        bytes,
        micros(run_ticks, freq),
        micros(copy_ticks, freq),
        run_ticks / copy_ticks
    );
    match large_run {
        Ok(ran) => {
            report.check(
                "run: 1.5 MiB stdout + 68 KiB stderr through 4 KiB rings, byte for byte",
                ran.end == RunEnd::Exited(0) && cmp.exact(),
                format_args!(
                    "{:?}, seen {:?} of {:?}, mismatches {}",
                    ran.end, cmp.seen, cmp.expected, cmp.mismatches
                ),
            );
            report.check(
                "run: the run paused (OUTPUT_PENDING) and resumed many times",
                ran.pauses > 300,
                format_args!("{} pauses", ran.pauses),
            );
        }
        Err(e) => report.fail("run: large output through the ring", format_args!("{e}")),
    }
    // Hostile: a garbage consumer index during a pause, and unregistering the ring's memory.
    let mut cmp = Compare {
        expected: [preload(2), preload(3)],
        seen: [0; 2],
        mismatches: 0,
        first: None,
    };
    let mut busy = false;
    let r = run_module(large, &[b"large"], 4096, &mut cmp, |ring, shm| {
        busy = Smc.shm_unregister(shm) == Err(ClientError::Status(Status::Busy));
        ring.write_u32(ring::OFF_CONSUMED, 0xdead_beef)
    });
    report.check(
        "run: unregistering a paused run's ring memory -> BUSY",
        busy,
        format_args!("SHM_UNREGISTER was not refused"),
    );
    match r {
        Ok(ran) => report.check(
            "run: a garbage consumer index ends in a clean result (secure world unharmed)",
            matches!(ran.end, RunEnd::Exited(_) | RunEnd::Trapped(_)),
            format_args!("{:?}", ran.end),
        ),
        Err(e) => report.fail("run: garbage consumer index", format_args!("{e}")),
    }
    // 10 MiB through a 4 KiB ring: byte k is (k mod 65536) mod 251, checked as it arrives.
    let w10 = preload(6);
    if w10.1 > 64 {
        let mut cmp = Compare {
            expected: [(0, 10 << 20), (0, 0)],
            seen: [0; 2],
            mismatches: 0,
            first: None,
        };
        match run_module(w10, &[b"w10"], 2048, &mut cmp, |_, _| false) {
            Ok(ran) => report.check(
                "run: a module writing 10 MiB through 2 KiB rings: every byte, in order",
                ran.end == RunEnd::Exited(0) && cmp.exact() && ran.pauses > 4000,
                format_args!(
                    "{:?}, seen {:?}, mismatches {}, first {:?}, {} pauses",
                    ran.end, cmp.seen, cmp.mismatches, cmp.first, ran.pauses
                ),
            ),
            Err(e) => report.fail("run: 10 MiB writer", format_args!("{e}")),
        }
    }
    let ok = good_run_ok(hello);
    report.check(
        "run: the next good run succeeds",
        ok,
        format_args!("it did not"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "run: pool back to baseline after the runs",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// Counts a spinning module's output (none) and interruptions; re-arms the timer after each
/// interruption and asks to cancel after `cancel_after`.
struct Preempted {
    interruptions: u32,
    cancel_after: u32,
    bytes: u64,
}

impl RunObserver for Preempted {
    fn output(&mut self, _stream: Stream, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
    }

    fn interrupted(&mut self, n: u32) {
        crate::irq::disarm();
        self.interruptions = n;
        if n < self.cancel_after {
            crate::irq::arm(PREEMPT_MS);
        }
    }

    fn cancel_requested(&mut self) -> bool {
        self.interruptions >= self.cancel_after
    }
}

/// Milliseconds between the timer interrupts that preempt the spinning module.
const PREEMPT_MS: u64 = 20;

/// A module that never ends must not hold the CPU: a normal-world interrupt (the EL1 physical
/// timer, routed as a non-secure IRQ) makes RUN/RESUME return INTERRUPTED with the module's
/// context saved, RESUME continues it, CANCEL ends it, and the secure world serves the next run.
fn preempt_checks(report: &mut Report) {
    let (spin, hello) = (preload(7), preload(0));
    if spin.1 < 64 || hello.1 < 64 {
        report.skip("preempt: a spinning module", "no module preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let mut observer = Preempted {
        interruptions: 0,
        cancel_after: 3,
        bytes: 0,
    };
    let req = RunRequest {
        entry: b"",
        args: &[b"spin"],
        env: &[],
        ring_capacity: 4096,
    };
    let (Ok(file_shm), Ok(work_shm)) = (
        Smc.shm_register(spin.0, spin.1.div_ceil(0x1000) * 0x1000 + 0x1000),
        Smc.shm_register(WORK, WORK_SIZE),
    ) else {
        report.fail("preempt: register memory", format_args!("refused"));
        return;
    };
    let t0 = arch::counter();
    let result = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        let report_off = spin.1.div_ceil(0x1000) * 0x1000;
        session.load_at(
            &area(file_shm, spin.0, report_off + 0x1000),
            0,
            spin.1 as usize,
            report_off as usize,
        )?;
        crate::irq::arm(PREEMPT_MS);
        let outcome = session.run(&area(work_shm, WORK, WORK_SIZE), 0, &req, &mut observer);
        crate::irq::disarm();
        let counted = session.stats(2).map(|s| s[2]);
        Ok::<_, RunnerError>((outcome?, counted?))
    })();
    let ms = micros(arch::counter() - t0, arch::counter_frequency()) / 1000;
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(file_shm);
    match result {
        Ok((outcome, counted)) => {
            report.check(
                "preempt: a module spinning forever returns INTERRUPTED at each normal-world interrupt",
                outcome.interruptions == 3 && counted == 3,
                format_args!(
                    "{} INTERRUPTED answers, STATS counted {counted}",
                    outcome.interruptions
                ),
            );
            report.check(
                "preempt: CANCEL ends the interrupted run (report: cancelled)",
                outcome.end == RunEnd::Cancelled
                    && outcome.report.is_some_and(|r| r.message() == "cancelled")
                    && observer.bytes == 0,
                format_args!("{:?}, {:?}", outcome.end, outcome.report.map(|r| r.status)),
            );
            println!("preempt: 3 interruptions {PREEMPT_MS} ms apart, then cancelled, in {ms} ms");
        }
        Err(e) => report.fail("preempt: the spinning module", format_args!("{e}")),
    }
    let ok = good_run_ok(hello);
    report.check(
        "preempt: the next good run succeeds, uninterrupted",
        ok,
        format_args!("it did not"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "preempt: pool back to baseline",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

fn name_buf(args: core::fmt::Arguments<'_>) -> heapless_name::Name {
    let mut n = heapless_name::Name::new();
    let _ = core::fmt::Write::write_fmt(&mut n, args);
    n
}

/// Reads the LOAD report the secure world wrote at `at`.
fn read_report(at: u64) -> Option<LoadReport> {
    let mut b = [0u8; LOAD_REPORT_SIZE];
    for (k, v) in b.iter_mut().enumerate() {
        // SAFETY: normal-world RAM this client registered and owns.
        *v = unsafe { core::ptr::read_volatile((at + k as u64) as *const u8) };
    }
    LoadReport::from_bytes(&b)
}

fn sha256_of(at: u64, len: u64) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for k in 0..len {
        // SAFETY: normal-world RAM this client owns (the preloaded module).
        h.update([unsafe { core::ptr::read_volatile((at + k) as *const u8) }]);
    }
    h.finalize().into()
}

/// Sessions, LOAD with its measurement and quota rules, UNLOAD, STATS, and hostile inputs,
/// with the preloaded module (see [`aot_checks`]).
fn session_checks(report: &mut Report) {
    let pool = match Smc.pool_info() {
        Ok(p) => p,
        Err(e) => {
            report.fail("session: pool info", format_args!("{e}"));
            return;
        }
    };
    let r = Smc.invoke(ids::SESSION_OPEN, [0, 0, 0, 0, 0, 0, 0]);
    report.check(
        "session: zero quota -> QUOTA_TOO_SMALL with the minimum",
        r[0] == Status::QuotaTooSmall.to_raw() && r[1] == SESSION_MIN_QUOTA,
        format_args!("x0 = {:?}, x1 = {}", status_of(r[0]), r[1]),
    );
    let r = Smc.invoke(ids::SESSION_OPEN, [pool.size + 1, 0, 0, 0, 0, 0, 0]);
    report.check(
        "session: quota above the pool -> QUOTA_TOO_LARGE with the bytes free for sessions",
        r[0] == Status::QuotaTooLarge.to_raw() && r[1] < pool.size,
        format_args!(
            "x0 = {:?}, x1 = {} (pool {})",
            status_of(r[0]),
            r[1],
            pool.size
        ),
    );
    let x0 = Smc.invoke(ids::LOAD, [0x1234, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: LOAD on a bogus session -> NO_SUCH_HANDLE",
        x0,
        Status::NoSuchHandle,
    );
    let x0 = Smc.invoke(ids::UNLOAD, [0, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: UNLOAD on a bogus session -> NO_SUCH_HANDLE",
        x0,
        Status::NoSuchHandle,
    );

    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile(AOT_LEN_WORD as *const u64) };
    if len < 64 {
        report.skip("session: LOAD checks", "no module preloaded");
        return;
    }
    let file_pages = len.div_ceil(0x1000) * 0x1000;
    let report_off = file_pages;
    let shm = match Smc.shm_register(AOT_FILE, file_pages + 0x1000) {
        Ok(h) => h,
        Err(e) => {
            report.fail(
                "session: register the module and report pages",
                format_args!("{e}"),
            );
            return;
        }
    };
    let open = |quota: u64| Smc.invoke(ids::SESSION_OPEN, [quota, 0, 0, 0, 0, 0, 0]);
    let load = |s: u64, off: u64, n: u64| Smc.invoke(ids::LOAD, [s, shm, off, n, report_off, 0, 0]);
    let close = |s: u64| Smc.invoke(ids::SESSION_CLOSE, [s, 0, 0, 0, 0, 0, 0])[0];
    let baseline = Smc.pool_info().map(|p| p.used);
    let expected_sha = sha256_of(AOT_FILE, len);

    let s = open(4 << 20);
    report.check(
        "session: open with a 4 MiB quota",
        s[0] == 0,
        format_args!("x0 = {:?}", status_of(s[0])),
    );
    let s = s[1];
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    report.check(
        "session: LOAD succeeds",
        r[0] == 0 && r[1] > len,
        format_args!(
            "x0 = {:?}, x1 = {}, message {:?}",
            status_of(r[0]),
            r[1],
            rep.map(|r| r.message)
        ),
    );
    report.check(
        "session: LOAD measures the module (SHA-256 = the client's sha256 of the file)",
        rep.is_some_and(|rp| rp.sha256 == expected_sha && rp.status == 0 && rp.charged == r[1]),
        format_args!("report {:?}", rep.map(|rp| rp.sha256)),
    );
    let st = Smc.invoke(ids::STATS, [s, 0, 0, 0, 0, 0, 0]);
    report.check(
        "session: STATS shows quota, bytes charged and a loaded module",
        st[0] == 0 && st[1] == 4 << 20 && st[2] == r[1] && st[3] == 1,
        format_args!("{st:#x?}"),
    );
    let x0 = load(s, 0, len)[0];
    expect_status(
        report,
        "session: second LOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = Smc.invoke(ids::UNLOAD, [s, 0, 0, 0, 0, 0, 0])[0];
    expect_status(report, "session: UNLOAD", x0, Status::Success);
    let x0 = Smc.invoke(ids::UNLOAD, [s, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: double UNLOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );

    // Hostile LOAD arguments, each followed by proof the session still works.
    let hostile: [(&str, [u64; 7], Status); 6] = [
        (
            "file past the registration",
            [s, shm, file_pages, len, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "zero length",
            [s, shm, 0, 0, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "wrapping offset",
            [s, shm, u64::MAX - 4, 16, report_off, 0, 0],
            Status::BadAddress,
        ),
        (
            "unaligned report",
            [s, shm, 0, len, report_off + 4, 0, 0],
            Status::BadAddress,
        ),
        (
            "report past the end",
            [s, shm, 0, len, report_off + 0xf80, 0, 0],
            Status::BadAddress,
        ),
        (
            "dead shared-memory handle",
            [s, shm ^ 0x100, 0, len, report_off, 0, 0],
            Status::NoSuchHandle,
        ),
    ];
    for (what, args, expected) in hostile {
        let x0 = Smc.invoke(ids::LOAD, args)[0];
        expect_status(
            report,
            name_buf(format_args!("session: LOAD {what} refused")).as_str(),
            x0,
            expected,
        );
    }
    let r = load(s, 8, len - 8);
    let rep = read_report(AOT_FILE + report_off);
    report.check(
        "session: truncated file -> BAD_MODULE with a readable message",
        r[0] == Status::BadModule.to_raw() && rep.is_some_and(|r| r.message().contains("AOT")),
        format_args!(
            "x0 = {:?}, message {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    // Flip a byte of the version field, load, restore.
    let at = (AOT_FILE + 4) as *mut u8;
    // SAFETY: the preloaded module in normal-world RAM this client owns.
    let orig = unsafe { core::ptr::read_volatile(at) };
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(at, orig ^ 0x04) };
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(at, orig) };
    report.check(
        "session: bit-flipped version -> BAD_MODULE naming the version",
        r[0] == Status::BadModule.to_raw() && rep.is_some_and(|r| r.message().contains("version")),
        format_args!(
            "x0 = {:?}, message {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    let _ = close(s);

    // Quota: too small names the minimum, and the minimum is enough.
    let s = open(SESSION_MIN_QUOTA)[1];
    let r = load(s, 0, len);
    let rep = read_report(AOT_FILE + report_off);
    let min = r[1];
    report.check(
        "session: small quota -> QUOTA_TOO_SMALL stating the module's minimum",
        r[0] == Status::QuotaTooSmall.to_raw()
            && min > SESSION_MIN_QUOTA
            && rep.is_some_and(|r| r.min_quota == min && r.message().contains("needs at least")),
        format_args!(
            "x0 = {:?}, x1 = {min}, {:?}",
            status_of(r[0]),
            rep.as_ref().map(|r| r.message())
        ),
    );
    let _ = close(s);
    let s = open(min)[1];
    let r = load(s, 0, len);
    report.check(
        "session: a quota of exactly that minimum loads",
        r[0] == 0 && r[1] <= min,
        format_args!("x0 = {:?}, charged {}", status_of(r[0]), r[1]),
    );
    let _ = close(s);

    // Capacity (bounded by memory), quotas reserved at OPEN, then everything back.
    crate::parallel::capacity_checks(report);
    crate::parallel::quota_underflow_check(report);

    // Calls out of order, then load/run/unload cycles that leave the pool where it was.
    let Ok(work_shm) = Smc.shm_register(WORK, WORK_SIZE) else {
        report.fail("session: register the work area", format_args!("failed"));
        return;
    };
    let mut blk = [0u8; 64];
    let n = RunBlock::encode(b"", &[b"hello"], &[], &mut blk).unwrap_or(0) as u64;
    for (k, b) in blk[..n as usize].iter().enumerate() {
        // SAFETY: the work area is normal-world RAM this client owns.
        unsafe { core::ptr::write_volatile((WORK + k as u64) as *mut u8, *b) };
    }
    let ring_len = ring::block_size(4096, 4096).unwrap_or(0) as u64;
    let run = |s: u64| -> u64 {
        // SAFETY: the work area is normal-world RAM this client owns, 64-aligned.
        let region = unsafe { SharedRegion::new((WORK + RING_OFF) as *mut u8, ring_len as usize) };
        if region
            .and_then(|r| Consumer::format(r, 4096, 4096))
            .is_err()
        {
            return u64::MAX;
        }
        // The run report goes after the run block.
        Smc.invoke(ids::RUN, [s, work_shm, 0, n, RING_OFF, ring_len, 0x200])[0]
    };
    let s = open(4 << 20)[1];
    let x0 = run(s);
    expect_status(
        report,
        "session: RUN before LOAD -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = Smc.invoke(ids::RESUME, [s, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: RESUME with nothing paused -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let x0 = Smc.invoke(ids::CANCEL, [s, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "session: CANCEL with nothing paused -> BAD_STATE",
        x0,
        Status::BadState,
    );
    let mut first_failure = None;
    for i in 0..LOAD_CYCLES {
        let got = [
            load(s, 0, len)[0],
            run(s),
            Smc.invoke(ids::UNLOAD, [s, 0, 0, 0, 0, 0, 0])[0],
        ];
        if got != [0; 3] && first_failure.is_none() {
            first_failure = Some((i, got.map(status_of)));
        }
    }
    let ok = first_failure.is_none();
    let _ = close(s);
    let _ = Smc.shm_unregister(work_shm);
    report.check(
        name_buf(format_args!(
            "session: {LOAD_CYCLES} load/run/unload cycles succeed"
        ))
        .as_str(),
        ok,
        format_args!("cycle, LOAD/RUN/UNLOAD statuses: {first_failure:?}"),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "session: pool back to baseline after all sessions",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    report.result(
        "session: unregister the module pages",
        Smc.shm_unregister(shm),
    );
}

/// Load/unload cycles in the session checks.
const LOAD_CYCLES: u32 = 1000;

/// Where the harness preloads an AOT file (QEMU `-device loader`), and the word holding its
/// length (0: no file, the check is skipped).
const AOT_FILE: u64 = 0x7200_0000;
const AOT_LEN_WORD: u64 = 0x71ff_f000;

/// TEST_RUN: a real wamrc-compiled module, preloaded by the harness, runs at S-EL0 in the
/// secure world and exits 0 having written to stdout; the pool returns to its baseline.
fn aot_checks(report: &mut Report, learned: Learned) {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    let len = unsafe { core::ptr::read_volatile(AOT_LEN_WORD as *const u64) };
    if len == 0 || !learned.test_calls {
        report.skip("aot: TEST_RUN of a preloaded module", "no module preloaded");
        return;
    }
    let size = len.div_ceil(0x1000) * 0x1000;
    let handle = match Smc.shm_register(AOT_FILE, size) {
        Ok(h) => h,
        Err(e) => {
            report.fail("aot: register the module's pages", format_args!("{e}"));
            return;
        }
    };
    let baseline = Smc.pool_info().map(|p| p.used);
    let r = Smc.invoke(ids::TEST_RUN, [handle, 0, len, 0, 0, 0, 0]);
    report.check(
        "aot: module runs at S-EL0 and exits 0",
        r[0] == 0 && r[1] == 0,
        format_args!("x0 = {:?}, x1 = {:#x}", status_of(r[0]), r[1]),
    );
    report.check(
        "aot: module wrote to stdout",
        r[0] == 0 && r[2] > 0,
        format_args!("stdout bytes {}", r[2]),
    );
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "aot: pool back to baseline after the run",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    let x0 = Smc.invoke(ids::TEST_RUN, [handle, 8, len - 8, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "aot: a truncated file is BAD_MODULE",
        x0,
        Status::BadModule,
    );
    expect_alive(report, "aot: NULL works after the module runs");
    report.result(
        "aot: unregister the module's pages",
        Smc.shm_unregister(handle),
    );
}

/// Normal-world memory the client shares in its checks: above its own image (0x60000000),
/// inside the 1 GiB of DRAM QEMU gives the normal world.
const SHM_BASE: u64 = 0x7000_0000;

/// SHM_REGISTER / SHM_UNREGISTER: hostile ranges are refused with the right status and the
/// secure world keeps serving; a good range is shared both ways (TEST_SHM); handles die with
/// their registration; the table has a fixed capacity.
fn shm_checks(report: &mut Report, learned: Learned) {
    let hostile: [(&str, u64, u64, Status); 10] = [
        ("secure memory", 0x0e10_0000, 0x1000, Status::BadAddress),
        ("MMIO (UART0)", 0x0900_0000, 0x1000, Status::BadAddress),
        ("unaligned base", SHM_BASE + 1, 0x1000, Status::BadAddress),
        ("unaligned size", SHM_BASE, 0x800, Status::BadAddress),
        ("zero length", SHM_BASE, 0, Status::BadAddress),
        ("huge", SHM_BASE, 1 << 40, Status::BadAddress),
        (
            "wrapping",
            0xffff_ffff_ffff_f000,
            0x2000,
            Status::BadAddress,
        ),
        (
            "past the end of DRAM",
            0x7fff_f000,
            0x2000,
            Status::BadAddress,
        ),
        ("beyond DRAM", 0x1_0000_0000, 0x1000, Status::BadAddress),
        (
            "secure DRAM end straddle",
            0x0eff_f000,
            0x2000,
            Status::BadAddress,
        ),
    ];
    for (what, base, size, expected) in hostile {
        let x0 = Smc.invoke(ids::SHM_REGISTER, [base, size, 0, 0, 0, 0, 0])[0];
        let mut name = heapless_name::Name::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("shm: {what} refused"));
        expect_status(report, name.as_str(), x0, expected);
    }
    expect_alive(report, "shm: NULL works after hostile registrations");

    let handle = match Smc.shm_register(SHM_BASE, 0x4000) {
        Ok(h) => {
            report.pass("shm: register 16 KiB of normal-world DRAM");
            h
        }
        Err(e) => {
            report.fail(
                "shm: register 16 KiB of normal-world DRAM",
                format_args!("{e}"),
            );
            return;
        }
    };
    let overlap = Smc.invoke(
        ids::SHM_REGISTER,
        [SHM_BASE + 0x3000, 0x2000, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "shm: overlapping range refused",
        overlap,
        Status::Overlap,
    );

    if learned.test_calls {
        let len = 256usize;
        let area = (SHM_BASE + 0x1000) as *mut u8;
        let mut pattern = [0u8; 256];
        for (i, b) in pattern.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0x5c;
            // SAFETY: SHM_BASE.. is normal-world DRAM this client owns and nothing else uses.
            unsafe { core::ptr::write_volatile(area.add(i), *b) };
        }
        let r = Smc.invoke(ids::TEST_SHM, [handle, 0x1000, len as u64, 0, 0, 0, 0]);
        report.check(
            "shm: secure world reads the shared bytes (TEST_SHM hash)",
            r[0] == 0 && r[1] == shm_test_hash(&pattern),
            format_args!("x0 = {:#x}, x1 = {:#x}", r[0], r[1]),
        );
        // SAFETY: as above.
        let inverted =
            (0..len).all(|i| unsafe { core::ptr::read_volatile(area.add(i)) } == !pattern[i]);
        report.check(
            "shm: normal world sees the secure world's writes",
            inverted,
            format_args!("bytes not inverted"),
        );
        let x0 = Smc.invoke(ids::TEST_SHM, [handle, 0x3f00, 0x200, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: TEST_SHM past the registration refused",
            x0,
            Status::BadAddress,
        );
        let x0 = Smc.invoke(ids::TEST_SHM, [handle, u64::MAX, 2, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: TEST_SHM wrapping offset refused",
            x0,
            Status::BadAddress,
        );
    } else {
        let x0 = Smc.invoke(ids::TEST_SHM, [handle, 0, 1, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "release: TEST_SHM -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
    }

    report.result("shm: unregister", Smc.shm_unregister(handle));
    let again = Smc.shm_unregister(handle);
    report.check(
        "shm: double unregister -> NO_SUCH_HANDLE",
        again == Err(ClientError::Status(Status::NoSuchHandle)),
        format_args!("got {again:?}"),
    );
    if learned.test_calls {
        let x0 = Smc.invoke(ids::TEST_SHM, [handle, 0, 1, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "shm: dead handle refused by TEST_SHM",
            x0,
            Status::NoSuchHandle,
        );
    }

    // Capacity: SHM_MAX_REGISTRATIONS live at once, then NO_RESOURCES; all come back.
    let mut handles = [0u64; SHM_MAX_REGISTRATIONS];
    let mut ok = true;
    for (i, h) in handles.iter_mut().enumerate() {
        match Smc.shm_register(SHM_BASE + i as u64 * 0x1000, 0x1000) {
            Ok(v) => *h = v,
            Err(_) => ok = false,
        }
    }
    report.check(
        "shm: SHM_MAX_REGISTRATIONS at once",
        ok,
        format_args!("a registration below the limit failed"),
    );
    let full = Smc.invoke(
        ids::SHM_REGISTER,
        [SHM_BASE + 0x10_0000, 0x1000, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "shm: one more registration -> NO_RESOURCES",
        full,
        Status::NoResources,
    );
    let all_gone = handles
        .iter()
        .all(|&h| h != 0 && Smc.shm_unregister(h).is_ok());
    report.check(
        "shm: every registration unregistered",
        all_gone,
        format_args!("failed"),
    );
    let again = Smc
        .shm_register(SHM_BASE, 0x4000)
        .and_then(|h| Smc.shm_unregister(h));
    report.result("shm: the range can be registered again", again);
}

/// TEST_EL0: each hand-written S-EL0 program either computes its result and returns through
/// SVC or traps with the expected exception class; the payload survives every one, the pool
/// returns to its baseline, and the normal world's FP/SIMD registers survive EL0 FP use.
fn el0_checks(report: &mut Report, learned: Learned) {
    if !learned.test_calls {
        let x0 = Smc.test_el0(El0Program::Add, 1, 2)[0];
        expect_status(
            report,
            "release: TEST_EL0 -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let (a, b) = (0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);
    let (fa, fb) = (2.5f64.to_bits(), (-4.0f64).to_bits());
    for program in ALL_EL0_PROGRAMS {
        let (x, y) = if program == El0Program::FpMulAdd {
            (fa, fb)
        } else {
            (a, b)
        };
        let r = Smc.test_el0(program, x, y);
        let got = match status_of(r[0]) {
            Ok(Status::Success) => Ok(r[1]),
            Ok(Status::Trapped) => Err(r[1] as u8),
            _ => {
                report.fail(
                    "el0: program",
                    format_args!(
                        "{}: x0 = {:#x} ({:?})",
                        program.name(),
                        r[0],
                        status_of(r[0])
                    ),
                );
                continue;
            }
        };
        let expected = program.expected(x, y);
        let mut name: heapless_name::Name = heapless_name::Name::new();
        let _ = core::fmt::Write::write_fmt(&mut name, format_args!("el0: {}", program.name()));
        report.check(
            name.as_str(),
            got == expected,
            format_args!("got {got:#x?}, expected {expected:#x?} (FAR {:#x})", r[2]),
        );
    }
    let bad = Smc.invoke(
        ids::TEST_EL0,
        [ALL_EL0_PROGRAMS.len() as u64, 0, 0, 0, 0, 0, 0],
    )[0];
    expect_status(
        report,
        "el0: unknown program -> INVALID_PARAMETER",
        bad,
        Status::InvalidParameter,
    );
    expect_alive(report, "el0: NULL works after every EL0 program");
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "el0: pool usage back to baseline",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
    let (survived, out) = fp_probe(
        [
            ids::TEST_EL0.to_x0(),
            El0Program::FpMulAdd.to_raw(),
            fa,
            fb,
            0,
            0,
            0,
            0,
        ],
        0x0bad_cafe_f00d_0001,
        FPCR_PRIMARY,
        FPSR_PRIMARY,
    );
    report.result("el0: V0-V31/FPCR/FPSR survive FP use at S-EL0", survived);
    report.check(
        "el0: FP program result inside the probe",
        out[0] == 0 && Ok(out[1]) == El0Program::FpMulAdd.expected(fa, fb),
        format_args!("x0..x1 = {:#x?}", &out[..2]),
    );
}

/// A fixed-size name buffer for check names built at run time (no allocator here).
mod heapless_name {
    /// Up to 64 bytes of UTF-8.
    pub struct Name {
        buf: [u8; 64],
        len: usize,
    }

    impl Name {
        pub fn new() -> Self {
            Self {
                buf: [0; 64],
                len: 0,
            }
        }

        pub fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("el0: ?")
        }
    }

    impl core::fmt::Write for Name {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
}

/// GET_INFO: every selector, then the sanity of each page.
fn info_checks(report: &mut Report) -> Learned {
    let versions = Smc.versions();
    let selector_count = match versions {
        Ok(v) => {
            println!(
                "info: protocol {}, firmware {}, {} GET_INFO selectors",
                v.protocol, v.firmware, v.selector_count
            );
            report.check(
                "get-info VERSIONS: protocol version",
                v.protocol == PROTOCOL_VERSION,
                format_args!(
                    "firmware speaks {}, client {}",
                    v.protocol, PROTOCOL_VERSION
                ),
            );
            report.check(
                "get-info VERSIONS: selector count",
                v.selector_count >= InfoSelector::COUNT,
                format_args!(
                    "{} selectors, client knows {}",
                    v.selector_count,
                    InfoSelector::COUNT
                ),
            );
            v.selector_count
        }
        Err(e) => {
            report.fail("get-info VERSIONS", format_args!("{e}"));
            InfoSelector::COUNT
        }
    };

    // Every selector the firmware announces answers SUCCESS (capped: the value is untrusted).
    let mut all_ok = true;
    for selector in 0..selector_count.min(64) {
        if let Err(e) = Smc.get_info_raw(selector) {
            report.fail(
                "get-info: every selector",
                format_args!("selector {selector}: {e}"),
            );
            all_ok = false;
        }
    }
    if all_ok {
        report.pass("get-info: every selector answers");
    }
    for selector in ALL_SELECTORS {
        if selector.to_raw() >= selector_count {
            report.fail(
                "get-info: known selector served",
                format_args!("{} is beyond the firmware's count", selector.name()),
            );
        }
    }

    match Smc.pool_info() {
        Ok(p) => {
            println!(
                "info: pool {} bytes, {} used, high-water {}",
                p.size, p.used, p.high_water
            );
            report.check(
                "get-info POOL: size > 0, used <= high-water <= size",
                p.size > 0,
                format_args!("pool size is 0"),
            );
        }
        Err(e) => report.fail(
            "get-info POOL: size > 0, used <= high-water <= size",
            format_args!("{e}"),
        ),
    }

    match Smc.cpu_info() {
        Ok(c) => {
            println!(
                "info: CPUs seen {} (mask {:#x}), max {}",
                c.seen_count, c.seen_mask, c.max_cpus
            );
            report.check(
                "get-info CPUS: boot CPU seen",
                c.seen_count >= 1 && c.seen_mask & 1 != 0 && c.max_cpus >= 2,
                format_args!(
                    "count {}, mask {:#x}, max {}",
                    c.seen_count, c.seen_mask, c.max_cpus
                ),
            );
        }
        Err(e) => report.fail("get-info CPUS: boot CPU seen", format_args!("{e}")),
    }

    let test_calls = match Smc.features() {
        Ok(f) => {
            println!("info: features {:?}", f.features);
            report.check(
                "get-info FEATURES: FP_SIMD",
                f.features.contains(Features::FP_SIMD),
                format_args!("{:?}", f.features),
            );
            f.features.contains(Features::TEST_CALLS)
        }
        Err(e) => {
            report.fail("get-info FEATURES: FP_SIMD", format_args!("{e}"));
            false
        }
    };
    Learned { test_calls }
}

/// The standard Trusted OS queries (OEN 63).
fn os_query_checks(report: &mut Report, learned: Learned) {
    let expected = tzwasm_smc::Call::served_count(learned.test_calls);
    match Smc.call_count() {
        Ok(n) => report.check(
            "os: Call Count",
            n == expected,
            format_args!("{n} calls, expected {expected}"),
        ),
        Err(e) => report.fail("os: Call Count", format_args!("{e}")),
    }
    match Smc.call_uid() {
        Ok(uid) => report.check(
            "os: Call UID is the tzwasm UUID",
            uid == TZWASM_UID,
            format_args!("got {uid}, expected {TZWASM_UID}"),
        ),
        Err(e) => report.fail("os: Call UID is the tzwasm UUID", format_args!("{e}")),
    }
    match Smc.revision() {
        Ok(rev) => report.check(
            "os: Revision",
            rev == PROTOCOL_VERSION,
            format_args!("got {rev}, expected {PROTOCOL_VERSION}"),
        ),
        Err(e) => report.fail("os: Revision", format_args!("{e}")),
    }
}

/// NULL (fast) and ECHO (yielding).
fn call_checks(report: &mut Report) {
    let regs = Smc.invoke(ids::NULL, [0x1111, 0x2222, 0x3333, 0, 0, 0, 0]);
    report.check(
        "NULL fast call: SUCCESS, x1..x3 zero",
        regs == [0, 0, 0, 0],
        format_args!("x0..x3 = {regs:#x?}"),
    );
    echo_check(report, 0x0102_0304_0506_0708);
}

/// One ECHO call whose arguments are derived from `seed`.
fn echo_check(report: &mut Report, seed: u64) {
    let mut args = [0u64; 7];
    for (i, a) in args.iter_mut().enumerate() {
        *a = seed.rotate_left(8 * i as u32) ^ (i as u64);
    }
    match Smc.echo(args) {
        Ok(reply) => {
            let expected = echo_reply(args);
            report.check(
                "ECHO yielding call",
                reply == expected,
                format_args!("x1..x3 = {reply:#x?}, expected {expected:#x?}"),
            );
        }
        Err(e) => report.fail("ECHO yielding call", format_args!("{e}")),
    }
}

/// Unknown and malformed function ids, out-of-range arguments; the next call must still work.
fn bad_input_checks(report: &mut Report, learned: Learned) {
    let unknown_fast = FunctionId::new(
        CallType::Fast,
        CallConv::Smc64,
        OEN_TZWASM,
        UNKNOWN_FAST_NUMBER,
    );
    let x0 = Smc.invoke(unknown_fast, [0; 7])[0];
    expect_status(
        report,
        "bad id: unknown fast id -> NOT_SUPPORTED",
        x0,
        Status::NotSupported,
    );
    expect_alive(report, "bad id: NULL works after unknown fast id");

    let unknown_yielding = FunctionId::new(
        CallType::Yielding,
        CallConv::Smc64,
        OEN_TZWASM,
        UNKNOWN_YIELDING_NUMBER,
    );
    let x0 = Smc.invoke(unknown_yielding, [0; 7])[0];
    expect_status(
        report,
        "bad id: unknown yielding id -> NOT_SUPPORTED",
        x0,
        Status::NotSupported,
    );
    expect_alive(report, "bad id: NULL works after unknown yielding id");

    // A known number with the wrong call type or convention, a reserved (not yet served)
    // call, and another Trusted OS OEN: all NOT_SUPPORTED.
    let variants: [(&str, FunctionId); 4] = [
        (
            "bad id: NULL as a yielding call -> NOT_SUPPORTED",
            FunctionId::new(
                CallType::Yielding,
                CallConv::Smc64,
                OEN_TZWASM,
                ids::NULL.number(),
            ),
        ),
        (
            "bad id: unassigned module-range number 0x1ff -> NOT_SUPPORTED",
            FunctionId::new(CallType::Yielding, CallConv::Smc64, OEN_TZWASM, 0x01ff),
        ),
        (
            "bad id: unused Trusted OS OEN 51 -> NOT_SUPPORTED",
            FunctionId::new(CallType::Fast, CallConv::Smc64, OEN_TZWASM + 1, 0),
        ),
        (
            "bad id: reserved bits 23:17 set -> NOT_SUPPORTED",
            FunctionId(ids::NULL.raw() | 0x0002_0000),
        ),
    ];
    for (name, id) in variants {
        let x0 = Smc.invoke(id, [0; 7])[0];
        expect_status(report, name, x0, Status::NotSupported);
    }
    // SMC32 variant of GET_INFO: only w0 is defined for SMC32 results.
    let smc32 = FunctionId(ids::GET_INFO.raw() & !tzwasm_smc::function_id::SMC64_BIT);
    let w0 = Smc.invoke(smc32, [0; 7])[0] as u32;
    report.check(
        "bad id: GET_INFO as SMC32 -> NOT_SUPPORTED",
        Status::from_w0(w0) == Some(Status::NotSupported),
        format_args!("w0 = {w0:#x}"),
    );
    // Unknown standard Trusted OS query (0xBF00FF02 is not defined by SMCCC).
    let unknown_query = FunctionId::new(CallType::Fast, CallConv::Smc32, 63, 0xff02);
    let w0 = Smc.invoke(unknown_query, [0; 7])[0] as u32;
    report.check(
        "bad id: unknown Trusted OS query -> NOT_SUPPORTED",
        w0 == u32::MAX,
        format_args!("w0 = {w0:#x}"),
    );
    expect_alive(report, "bad id: NULL works after malformed ids");

    let bad_selectors = [
        (
            "bad arg: GET_INFO selector count+100 -> INVALID_PARAMETER",
            InfoSelector::COUNT + 100,
        ),
        (
            "bad arg: GET_INFO selector u64::MAX -> INVALID_PARAMETER",
            u64::MAX,
        ),
    ];
    for (name, selector) in bad_selectors {
        let x0 = Smc.invoke(ids::GET_INFO, [selector, 0, 0, 0, 0, 0, 0])[0];
        expect_status(report, name, x0, Status::InvalidParameter);
    }
    expect_alive(report, "bad arg: NULL works after bad selectors");

    if learned.test_calls {
        let err = Smc.test_fault_raw(0xdead);
        report.check(
            "bad arg: TEST_FAULT unknown kind -> INVALID_PARAMETER",
            err == ClientError::Status(Status::InvalidParameter),
            format_args!("got {err}"),
        );
        expect_alive(report, "bad arg: NULL works after bad TEST_FAULT kind");
    } else {
        // A release firmware must refuse the test-only calls.
        let err = Smc.test_fault_raw(0);
        report.check(
            "release: TEST_FAULT -> NOT_SUPPORTED",
            err == ClientError::Status(Status::NotSupported),
            format_args!("got {err}"),
        );
        let x0 = Smc.invoke(ids::TEST_FP, [FP_A, FP_B, 0, 0, 0, 0, 0])[0];
        expect_status(
            report,
            "release: TEST_FP -> NOT_SUPPORTED",
            x0,
            Status::NotSupported,
        );
    }
}

/// FP/SIMD survival: around NULL and ECHO (secure world without FP, fast and yielding entry)
/// and TEST_FP (secure world uses FP and clobbers its own V registers, FPCR and FPSR), and
/// TEST_FP's result.
fn fp_checks(report: &mut Report, learned: Learned, seed: u64, fpcr: u64, fpsr: u64) {
    let (survived, out) = fp_probe([ids::NULL.to_x0(), 0, 0, 0, 0, 0, 0, 0], seed, fpcr, fpsr);
    report.result("fp: V0-V31/FPCR/FPSR survive NULL", survived);
    report.check(
        "fp: NULL inside the probe succeeds",
        out[0] == 0,
        format_args!("x0 = {:#x}", out[0]),
    );
    let echo_args = [seed, !seed, seed ^ 0x5a5a, 4, 5, 6, 7];
    let [a1, a2, a3, a4, a5, a6, a7] = echo_args;
    let (survived, out) = fp_probe(
        [ids::ECHO.to_x0(), a1, a2, a3, a4, a5, a6, a7],
        seed.rotate_left(17),
        fpcr,
        fpsr,
    );
    report.result("fp: V0-V31/FPCR/FPSR survive ECHO (yielding)", survived);
    let expected = echo_reply(echo_args);
    report.check(
        "fp: ECHO inside the probe succeeds",
        out[0] == 0 && out[1..] == expected,
        format_args!("x0..x3 = {out:#x?}, expected x1..x3 = {expected:#x?}"),
    );
    if !learned.test_calls {
        report.skip(
            "fp: V0-V31/FPCR/FPSR survive TEST_FP",
            "firmware built without TEST_CALLS",
        );
        return;
    }
    let expected = test_fp_reply(FP_A, FP_B);
    // Twice: the first call takes the secure world's lazy FP trap, the second must too
    // (the secure world disables FP again before it returns).
    let rounds = [
        (
            "fp: V0-V31/FPCR/FPSR survive TEST_FP (1st call)",
            "fp: TEST_FP result, a*b a+b a/b round-to-nearest (1st call)",
        ),
        (
            "fp: V0-V31/FPCR/FPSR survive TEST_FP (2nd call)",
            "fp: TEST_FP result, a*b a+b a/b round-to-nearest (2nd call)",
        ),
    ];
    for (round, (survive_name, result_name)) in (1u64..).zip(rounds) {
        let (survived, out) = fp_probe(
            [ids::TEST_FP.to_x0(), FP_A, FP_B, 0, 0, 0, 0, 0],
            seed.wrapping_add(round.wrapping_mul(0x1357_9bdf_0246_8ace)),
            fpcr,
            fpsr,
        );
        report.result(survive_name, survived);
        report.check(
            result_name,
            out[0] == 0 && out[1..] == expected,
            format_args!(
                "x0 = {:?}, x1..x3 = {:#x?}, expected {expected:#x?}",
                status_of(out[0]),
                &out[1..]
            ),
        );
    }
}

/// The subset the secondary CPU runs: GET_INFO CPUS, NULL, ECHO, FP survival.
pub fn run_secondary(report: &mut Report) {
    match Smc.cpu_info() {
        Ok(c) => report.check(
            "get-info CPUS: both CPUs seen",
            c.seen_count >= 2 && c.seen_mask & 0b11 == 0b11,
            format_args!("count {}, mask {:#x}", c.seen_count, c.seen_mask),
        ),
        Err(e) => report.fail("get-info CPUS: both CPUs seen", format_args!("{e}")),
    }
    match Smc.call_uid() {
        Ok(uid) => report.check(
            "os: Call UID is the tzwasm UUID",
            uid == TZWASM_UID,
            format_args!("got {uid}"),
        ),
        Err(e) => report.fail("os: Call UID is the tzwasm UUID", format_args!("{e}")),
    }
    report.check(
        "os: Call Count answers",
        Smc.call_count().is_ok(),
        format_args!("no answer"),
    );
    report.check(
        "os: Revision is the protocol version",
        Smc.revision() == Ok(PROTOCOL_VERSION),
        format_args!("got {:?}", Smc.revision()),
    );
    report.check(
        "get-info VERSIONS and POOL answer",
        Smc.versions().is_ok() && Smc.pool_info().is_ok(),
        format_args!("an info page failed"),
    );
    report.result("NULL fast call", Smc.null_call());
    echo_check(report, 0x8877_6655_4433_2211);
    let test_calls = Smc
        .features()
        .map(|f| f.features.contains(Features::TEST_CALLS))
        .unwrap_or(false);
    fp_checks(
        report,
        Learned { test_calls },
        0x7766_5544_3322_1100,
        FPCR_SECONDARY,
        FPSR_SECONDARY,
    );
    // Shared memory and S-EL0 from this CPU too (its own range: the primary's are gone).
    let base = SHM_BASE + 0x100_0000;
    match Smc.shm_register(base, 0x1000) {
        Ok(h) => {
            if test_calls {
                // SAFETY: normal-world DRAM this client owns; nothing else uses it.
                unsafe { core::ptr::write_volatile(base as *mut u8, 0x42) };
                let r = Smc.invoke(ids::TEST_SHM, [h, 0, 1, 0, 0, 0, 0]);
                report.check(
                    "shm: TEST_SHM from this CPU",
                    r[0] == 0 && r[1] == shm_test_hash(&[0x42]),
                    format_args!("x0 = {:#x}", r[0]),
                );
            }
            report.result(
                "shm: register/unregister from this CPU",
                Smc.shm_unregister(h),
            );
        }
        Err(e) => report.fail(
            "shm: register/unregister from this CPU",
            format_args!("{e}"),
        ),
    }
    if test_calls {
        for (program, a, b) in [(El0Program::Add, 40, 2), (El0Program::ReadPayload, 0, 0)] {
            let r = Smc.test_el0(program, a, b);
            let got = match status_of(r[0]) {
                Ok(Status::Success) => Ok(r[1]),
                Ok(Status::Trapped) => Err(r[1] as u8),
                _ => Err(0xff),
            };
            report.check(
                "el0: program from this CPU",
                got == program.expected(a, b),
                format_args!("{}: got {got:#x?}", program.name()),
            );
        }
    }
}

/// Times [`TIMING_CALLS`] NULL calls and as many PSCI_VERSION calls; informational only.
pub fn timing() {
    let freq = arch::counter_frequency();
    // Warm up both paths (first-touch effects in QEMU's translation cache).
    for _ in 0..100 {
        let _ = Smc.null_call();
        psci::version();
    }
    // Alternating batches, so a slow phase of the (shared, emulating) host hits both sides.
    let mut null_errors = 0u64;
    let (mut null_ticks, mut psci_ticks) = (0u64, 0u64);
    for _ in 0..TIMING_BATCHES {
        let start = arch::counter();
        for _ in 0..TIMING_CALLS / TIMING_BATCHES {
            if Smc.call([ids::NULL.to_x0(), 0, 0, 0, 0, 0, 0, 0])[0] != 0 {
                null_errors += 1;
            }
        }
        null_ticks = null_ticks.saturating_add(arch::counter().wrapping_sub(start));
        let start = arch::counter();
        for _ in 0..TIMING_CALLS / TIMING_BATCHES {
            psci::version();
        }
        psci_ticks = psci_ticks.saturating_add(arch::counter().wrapping_sub(start));
    }

    let show = |v: Option<u64>| v.unwrap_or(u64::MAX);
    println!(
        "timing: NULL fast call {} ns/call, PSCI_VERSION {} ns/call ({TIMING_CALLS} calls each, CNTFRQ {freq} Hz)",
        show(timer::ns_per_call(null_ticks, TIMING_CALLS, freq)),
        show(timer::ns_per_call(psci_ticks, TIMING_CALLS, freq)),
    );
    if null_errors != 0 {
        println!("timing: {null_errors} NULL calls did not return SUCCESS");
    }
    match timer::ratio_hundredths(null_ticks, psci_ticks) {
        Some(r) => println!(
            "world-switch ratio: {}.{:02} (goal <= 1.5)",
            r / 100,
            r % 100
        ),
        None => println!("world-switch ratio: n/a (PSCI_VERSION took no time)"),
    }
}

/// Crash mode, on the secondary CPU: TEST_FAULT with `kind`; `x0` of the answer (FAILED: the
/// secure world failed stop).
pub fn call_test_fault(kind: u64) -> u64 {
    Smc.invoke(ids::TEST_FAULT, [kind, 0, 0, 0, 0, 0, 0])[0]
}

/// Text the fail-stop message must contain for each TEST_FAULT kind (the secure world's
/// summary of the exception, or the panic message).
fn expected_failure_text(kind: u64) -> &'static str {
    match FaultKind::from_raw(kind) {
        Some(FaultKind::DataAbortUnmapped) => {
            "CPU 1: synchronous exception in S-EL1: EC 0x25 (data abort from same EL), \
             translation fault"
        }
        Some(FaultKind::UndefinedInstruction) => {
            "CPU 1: synchronous exception in S-EL1: EC 0x00 (unknown reason / undefined \
             instruction)"
        }
        Some(FaultKind::StackGuardOverflow) => "(guard page below a main stack)",
        Some(FaultKind::WriteToReadOnly) => "permission fault, level 3 (write)",
        Some(FaultKind::ExecuteNonExecutable) => "EC 0x21 (instruction abort from same EL)",
        Some(FaultKind::Panic) => "TEST_FAULT: deliberate panic",
        None => "(no such kind)",
    }
}

/// Crash mode, on the primary after the secondary's TEST_FAULT: the secure world has failed
/// stop. Ordinary calls answer FAILED at once on this CPU too; the standard queries and
/// GET_INFO VERSIONS still identify it; GET_INFO FAILURE gives the message.
pub fn failed_world_checks(report: &mut Report, kind: u64) {
    let failed = Status::Failed;
    let x0 = Smc.invoke(ids::NULL, [0; 7])[0];
    expect_status(report, "fail-stop: NULL on cpu0 answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::SESSION_OPEN, [8 << 20, 0, 0, 0, 0, 0, 0])[0];
    expect_status(report, "fail-stop: SESSION_OPEN answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::SHM_REGISTER, [SHM_BASE, 0x1000, 0, 0, 0, 0, 0])[0];
    expect_status(report, "fail-stop: SHM_REGISTER answers FAILED", x0, failed);
    let x0 = Smc.invoke(ids::TEST_FAULT, [kind, 0, 0, 0, 0, 0, 0])[0];
    expect_status(
        report,
        "fail-stop: a second TEST_FAULT answers FAILED",
        x0,
        failed,
    );
    report.check(
        "fail-stop: GET_INFO POOL answers FAILED",
        Smc.pool_info() == Err(ClientError::Status(failed)),
        format_args!("got {:?}", Smc.pool_info()),
    );
    report.check(
        "fail-stop: Call UID still identifies tzwasm",
        Smc.call_uid() == Ok(TZWASM_UID),
        format_args!("got {:?}", Smc.call_uid()),
    );
    report.check(
        "fail-stop: GET_INFO VERSIONS still answers",
        Smc.versions().is_ok_and(|v| v.protocol == PROTOCOL_VERSION),
        format_args!("got {:?}", Smc.versions()),
    );
    match Smc.failure_message() {
        Ok(message) => {
            println!("crash-test: failure message: {message}");
            let text = message.as_bytes();
            let want = expected_failure_text(kind).as_bytes();
            report.check(
                "fail-stop: GET_INFO FAILURE gives the message",
                text.windows(want.len()).any(|w| w == want),
                format_args!(
                    "message \"{message}\" lacks \"{}\"",
                    expected_failure_text(kind)
                ),
            );
        }
        Err(e) => report.fail(
            "fail-stop: GET_INFO FAILURE gives the message",
            format_args!("{e}"),
        ),
    }
    let r = Smc.invoke(
        ids::GET_INFO,
        [InfoSelector::Failure.to_raw(), 192, 0, 0, 0, 0, 0],
    );
    expect_status(
        report,
        "fail-stop: GET_INFO FAILURE beyond the message is INVALID_PARAMETER",
        r[0],
        Status::InvalidParameter,
    );
}
