//! The corpus bundle: every corpus module loaded and run, outputs compared with iwasm.

use super::*;
use tzwasm_smc::args::ShmHandle;

/// The corpus bundle (qemu/make-bundle.py), preloaded at this address; its length is
/// preload word 5.
pub(super) const BUNDLE: u64 = 0x5000_0000;

pub(super) fn bundle_u64(off: u64) -> u64 {
    // SAFETY: inside the preloaded bundle in normal-world RAM (offsets checked by callers
    // against its length).
    unsafe { core::ptr::read_volatile((BUNDLE + off) as *const u64) }
}

/// Every WASI-command test of the aarch64 corpus (both bounds-check modes) through SESSION_OPEN,
/// LOAD, RUN/RESUME with a 4 KiB ring: stdout, stderr, exit code and trap kind must equal what
/// WAMR's iwasm printed for the same file.
pub(super) fn corpus_checks(report: &mut Report) {
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
pub(super) struct CorpusEnv {
    bundle_shm: ShmHandle,
    bundle_len: u64,
    work_shm: ShmHandle,
    report_off: u64,
    quota: u64,
}

pub(super) fn corpus_run(
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
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
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
pub(super) struct FpProbed {
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
pub(super) fn area(handle: ShmHandle, base: u64, len: u64) -> SharedArea<'static> {
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
