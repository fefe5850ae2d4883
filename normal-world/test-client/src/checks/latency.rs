//! Bounded latency (docs/protocol.md, "Bounded latency"): a long helper call of a running
//! module (WASI `random_get` over 11 MiB: the most the 14.4 MiB pool holds next to the
//! module's 1 MiB stack and the payload's reserve) and a LOAD of a ~4 MiB module each answer
//! INTERRUPTED when a normal-world timer fires a few milliseconds after the call, and finish
//! correctly after RESUME (every random byte written; the module loaded with the right
//! SHA-256, and it runs). An interrupted LOAD is also abandoned by CANCEL. The latency, from
//! the moment the timer fires to the INTERRUPTED answer, is printed as a figure and never
//! asserted.

use super::*;

/// Where QEMU preloads the ~4 MiB module (qemu/guests/gen-big.py 4400 50); length: word 14.
const BIG4_AOT: u64 = 0x6400_0000;
/// Where QEMU preloads qemu/guests/random12.wat's module; length: word 15.
const RANDOM_AOT: u64 = 0x6600_0000;
/// The run's report, block and ring.
const LAT_WORK: u64 = 0x6680_0000;
const LAT_WORK_SIZE: u64 = 0x1_0000;
/// The timer fires this long after the call: well inside the work (random_get of 11 MiB
/// and hashing 4 MiB take hundreds of milliseconds under QEMU TCG).
const FIRE_MS: u64 = 5;

fn preload_word(i: u64) -> u64 {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * i) as *const u64) }
}

/// Microseconds from the timer's deadline to `at` (0 if `at` is not after it).
fn since_fire(at: u64, deadline: u64) -> u64 {
    micros(at.saturating_sub(deadline), arch::counter_frequency())
}

/// Notes when the first INTERRUPTED answer arrived, and stops the timer then.
struct FirstInterrupt {
    at: u64,
}

impl RunObserver for FirstInterrupt {
    fn output(&mut self, _stream: Stream, _bytes: &[u8]) {}

    fn interrupted(&mut self, n: u32) {
        if n == 1 {
            self.at = arch::counter();
        }
        crate::irq::disarm();
    }
}

/// Registers `[base, base + len)`: the handle, or `None` (a failed check is reported).
fn register(report: &mut Report, name: &str, base: u64, len: u64) -> Option<ShmHandle> {
    match Smc.shm_register(base, len) {
        Ok(h) => Some(h),
        Err(e) => {
            report.fail(name, format_args!("SHM_REGISTER {base:#x}+{len:#x}: {e:?}"));
            None
        }
    }
}

/// Every check of this family.
pub(super) fn latency_checks(report: &mut Report) {
    baseline_figure();
    random_get_check(report);
    load_check(report);
}

/// The emulator's own part of the latency: the same timer preempting module code that spins
/// (INTERRUPTED straight from the IRQ vector), then CANCEL. A figure only.
fn baseline_figure() {
    let spin = preload(7);
    if spin.1 < 64 {
        return;
    }
    let file_area = spin.1.div_ceil(0x1000) * 0x1000 + 0x1000;
    let (Ok(file_shm), Ok(work_shm)) = (
        Smc.shm_register(spin.0, file_area),
        Smc.shm_register(LAT_WORK, LAT_WORK_SIZE),
    ) else {
        return;
    };
    struct CancelFirst {
        at: u64,
    }
    impl RunObserver for CancelFirst {
        fn output(&mut self, _stream: Stream, _bytes: &[u8]) {}
        fn interrupted(&mut self, _n: u32) {
            if self.at == 0 {
                self.at = arch::counter();
            }
            crate::irq::disarm();
        }
        fn cancel_requested(&mut self) -> bool {
            self.at != 0
        }
    }
    let mut observer = CancelFirst { at: 0 };
    let mut deadline = 0;
    let req = RunRequest {
        entry: b"",
        args: &[b"spin"],
        env: &[],
        ring_capacity: 4096,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    };
    let ran = (|| {
        let mut smc = Smc;
        let mut session = Session::open(&mut smc, 8 << 20)?;
        session.load_at(
            &area(file_shm, spin.0, file_area),
            0,
            spin.1 as usize,
            (file_area - 0x1000) as usize,
        )?;
        crate::irq::arm(FIRE_MS);
        deadline = crate::irq::deadline();
        let r = session.run(
            &area(work_shm, LAT_WORK, LAT_WORK_SIZE),
            0,
            &req,
            &mut observer,
        );
        crate::irq::disarm();
        r
    })();
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(file_shm);
    if ran.is_ok() && observer.at != 0 {
        println!(
            "figure: latency baseline, module code spinning at S-EL0: timer fire -> INTERRUPTED answer {} us",
            since_fire(observer.at, deadline)
        );
    }
}

/// `random_get` of 11 MiB, interrupted by the timer inside the call, then RESUMEd.
fn random_get_check(report: &mut Report) {
    let name =
        "latency: random_get over 11 MiB returns INTERRUPTED when a normal-world timer fires";
    let len = preload_word(15);
    if len < 64 {
        report.skip(name, "no module preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    let file_area = len.div_ceil(0x1000) * 0x1000 + 0x1000;
    let (Some(file_shm), Some(work_shm)) = (
        register(report, name, RANDOM_AOT, file_area),
        register(report, name, LAT_WORK, LAT_WORK_SIZE),
    ) else {
        return;
    };
    let req = RunRequest {
        entry: b"",
        args: &[b"random12"],
        env: &[],
        ring_capacity: 4096,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    };
    let files = area(file_shm, RANDOM_AOT, file_area);
    let report_off = (file_area - 0x1000) as usize;
    let mut observer = FirstInterrupt { at: 0 };
    let mut deadline = 0;
    let result = (|| {
        let mut smc = Smc;
        // 11 MiB of linear memory and a 1 MiB stack nearly fill the pool: the session gets
        // exactly the module's minimum quota, which the smallest session learns.
        let min = {
            let mut probe = Session::open(&mut smc, SESSION_MIN_QUOTA)?;
            match probe.load_at(&files, 0, len as usize, report_off) {
                Err(RunnerError::Load {
                    status: Status::QuotaTooSmall,
                    value,
                    ..
                }) => value,
                Ok(_) => SESSION_MIN_QUOTA,
                Err(e) => return Err(e),
            }
        };
        let mut session = Session::open(&mut smc, min)?;
        session.load_at(&files, 0, len as usize, report_off)?;
        crate::irq::arm(FIRE_MS);
        deadline = crate::irq::deadline();
        let outcome = session.run(
            &area(work_shm, LAT_WORK, LAT_WORK_SIZE),
            0,
            &req,
            &mut observer,
        );
        crate::irq::disarm();
        Ok::<_, RunnerError>((outcome?, min))
    })();
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(file_shm);
    match result {
        Ok((outcome, min)) => {
            report.check(
                name,
                outcome.interruptions >= 1 && observer.at > deadline,
                format_args!("{} INTERRUPTED answers", outcome.interruptions),
            );
            report.check(
                "latency: the interrupted random_get finishes after RESUME with every byte written",
                outcome.end == RunEnd::Exited(0),
                format_args!(
                    "{:?} (exit 1: random_get failed, 2: a word stayed zero)",
                    outcome.end
                ),
            );
            println!(
                "figure: latency of random_get over 11 MiB (quota {} KiB): timer fire -> INTERRUPTED answer {} us, {} INTERRUPTED answers in all",
                min / 1024,
                since_fire(observer.at, deadline),
                outcome.interruptions
            );
        }
        Err(e) => report.fail(name, format_args!("{e}")),
    }
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "latency: pool back to baseline after the random_get run",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// LOAD of the ~4 MiB module, interrupted by the timer, RESUMEd to the end, measured and run;
/// then one more interrupted LOAD abandoned by CANCEL.
fn load_check(report: &mut Report) {
    let name =
        "latency: LOAD of a 4 MiB module returns INTERRUPTED when a normal-world timer fires";
    let len = preload_word(14);
    if len < 64 {
        report.skip(name, "no module preloaded");
        return;
    }
    let expected = sha256_of(BIG4_AOT, len);
    let baseline = Smc.pool_info().map(|p| p.used);
    let file_area = len.div_ceil(0x1000) * 0x1000 + 0x1000;
    let report_off = file_area - 0x1000;
    let (Some(file_shm), Some(work_shm)) = (
        register(report, name, BIG4_AOT, file_area),
        register(report, name, LAT_WORK, LAT_WORK_SIZE),
    ) else {
        return;
    };
    let files = area(file_shm, BIG4_AOT, file_area);
    let interrupted = Status::Interrupted.to_raw();
    let mut smc = Smc;
    match Session::open(&mut smc, 12 << 20) {
        Ok(mut session) => {
            let s = session.handle().raw();
            let _ = files
                .mem
                .write_bytes(report_off as usize, &[0; LOAD_REPORT_SIZE]);
            let TimedLoad {
                first,
                last: r,
                answered,
                deadline,
                resumes,
            } = timed_load(s, file_shm, len, report_off);
            // What the interrupted LOAD charged and measured (x1, x2).
            let stepped = [r[1], r[2]];
            report.check(
                name,
                first == interrupted && answered > deadline,
                format_args!("first answer x0 = {first:#x}"),
            );
            let mut bytes = [0u8; LOAD_REPORT_SIZE];
            let load_report = files
                .mem
                .read_bytes(report_off as usize, &mut bytes)
                .then(|| LoadReport::from_bytes(&bytes))
                .flatten();
            report.check(
                "latency: the interrupted LOAD finishes after RESUME with the file's SHA-256",
                r[0] == Status::Success.to_raw()
                    && load_report.is_some_and(|l| l.status == 0 && l.sha256 == expected),
                format_args!(
                    "final x0 = {:#x} after {resumes} RESUMEs, report {:?}",
                    r[0],
                    load_report.map(|l| (l.status, l.sha256 == expected))
                ),
            );
            let p1 = session.stats(1);
            let p2 = session.stats(2);
            let p3 = session.stats(3);
            let p5 = session.stats(5);
            let req = RunRequest {
                entry: b"",
                args: &[b"big4"],
                env: &[],
                ring_capacity: 4096,
                receipt_nonce: None,
                stdin_capacity: None,
                files: None,
            };
            let mut observer = FirstInterrupt { at: 0 };
            let outcome = session.run(
                &area(work_shm, LAT_WORK, LAT_WORK_SIZE),
                0,
                &req,
                &mut observer,
            );
            report.check(
                "latency: the module of the interrupted LOAD runs",
                outcome.as_ref().is_ok_and(|o| o.end == RunEnd::Exited(0)),
                format_args!("{:?}", outcome.map(|o| o.end)),
            );
            if let (Ok([freq, copy, hash]), Ok([parse, inst, _]), Ok([reloc, mem, _])) =
                (p1, p2, p3)
            {
                let [n, longest, _] = p5.unwrap_or_default();
                println!(
                    "figure: latency of LOAD of a {} KiB module: timer fire -> INTERRUPTED answer {} us; {} INTERRUPTED answers; longest piece between two interrupt checks {} us (secure counter); copy {} us, SHA-256 {} us (both in pieces), parse {} us, instantiate {} us (relocate {} us, allocate+map+seal {} us)",
                    len / 1024,
                    since_fire(answered, deadline),
                    n,
                    micros(longest, freq),
                    micros(copy, freq),
                    micros(hash, freq),
                    micros(parse, freq),
                    micros(inst, freq),
                    micros(reloc, freq),
                    micros(mem, freq)
                );
            }
            // An interrupted LOAD that the client abandons with CANCEL.
            let _ = session.unload();
            crate::irq::arm(FIRE_MS);
            let r = load_regs(s, file_shm, 0, len, report_off);
            crate::irq::disarm();
            let cancel = session_only(SessionCall::Cancel, s);
            let stats = session.stats(0);
            let again = session_only(SessionCall::Resume, s);
            report.check(
                "latency: CANCEL abandons an interrupted LOAD (the session is empty again)",
                r[0] == interrupted
                    && cancel[0] == Status::Success.to_raw()
                    && stats.is_ok_and(|p| p[1] == 0 && p[2] == 0)
                    && again[0] == Status::BadState.to_raw(),
                format_args!(
                    "LOAD {:#x}, CANCEL {:#x}, STATS {stats:?}, RESUME {:#x}",
                    r[0], cancel[0], again[0]
                ),
            );
            // The same file loaded without the timer: charged and measured the same (the
            // peak is over all the steps, which allocate the same whatever interrupts them).
            let mut plain = load_regs(s, file_shm, 0, len, report_off);
            while plain[0] == interrupted {
                plain = session_only(SessionCall::Resume, s);
            }
            let _ = session.unload();
            // An interrupt pending all along (the timer already expired): every call does one
            // piece of the LOAD, so each later piece (copy, hash, parse, zeroing, each piece of
            // the instantiation) runs in a call of its own, with the payload's root installed
            // in between, and the module still loads, is charged the same, and runs.
            crate::irq::arm(0);
            let mut each = load_regs(s, file_shm, 0, len, report_off);
            let mut pieces = 1u32;
            while each[0] == interrupted && pieces < 1_000_000 {
                each = session_only(SessionCall::Resume, s);
                pieces += 1;
            }
            crate::irq::disarm();
            let req = RunRequest {
                entry: b"",
                args: &[b"big4"],
                env: &[],
                ring_capacity: 4096,
                receipt_nonce: None,
                stdin_capacity: None,
                files: None,
            };
            let mut observer = FirstInterrupt { at: 0 };
            let ran = (each[0] == Status::Success.to_raw()).then(|| {
                session.run(
                    &area(work_shm, LAT_WORK, LAT_WORK_SIZE),
                    0,
                    &req,
                    &mut observer,
                )
            });
            let ran_ok = ran
                .as_ref()
                .is_some_and(|o| o.as_ref().is_ok_and(|o| o.end == RunEnd::Exited(0)));
            report.check(
                "latency: a LOAD with an interrupt pending all along goes one piece per call, loads the same and runs",
                each[0] == Status::Success.to_raw() && [each[1], each[2]] == stepped && u64::from(pieces) > len.div_ceil(16 << 10) + len.div_ceil(256 << 10) && ran_ok,
                format_args!(
                    "x0 {:#x} after {pieces} calls, charged {} minimum {} (interrupted once: {} {}), run {:?}",
                    each[0], each[1], each[2], stepped[0], stepped[1],
                    ran.map(|o| o.map(|o| o.end))
                ),
            );
            let _ = session.unload();
            let _ = session.close();
            report.check(
                "latency: an interrupted LOAD is charged and measured like one without the timer",
                plain[0] == Status::Success.to_raw() && [plain[1], plain[2]] == stepped,
                format_args!(
                    "interrupted: charged {}, minimum {}; without the timer: x0 {:#x}, charged {}, minimum {}",
                    stepped[0], stepped[1], plain[0], plain[1], plain[2]
                ),
            );
            exact_minimum_check(report, stepped, (file_shm, len, report_off));
            measuring_check(report, stepped[1], (file_shm, len, report_off));
        }
        Err(e) => report.fail(name, format_args!("{e}")),
    }
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(file_shm);
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "latency: pool back to baseline after the interrupted LOADs",
        baseline.is_ok() && after == baseline,
        format_args!("before {baseline:?}, after {after:?}"),
    );
}

/// A LOAD of session `s` with the timer armed to fire `FIRE_MS` into it, then RESUMEd while
/// it answers INTERRUPTED (at most a million times).
struct TimedLoad {
    /// The first answer's x0.
    first: u64,
    /// The final answer.
    last: [u64; 4],
    /// Counter when the first answer arrived, and the timer's compare value.
    answered: u64,
    deadline: u64,
    resumes: u32,
}

fn timed_load(s: u64, file_shm: ShmHandle, len: u64, report_off: u64) -> TimedLoad {
    let interrupted = Status::Interrupted.to_raw();
    crate::irq::arm(FIRE_MS);
    let deadline = crate::irq::deadline();
    let mut r = load_regs(s, file_shm, 0, len, report_off);
    let answered = arch::counter();
    crate::irq::disarm();
    let first = r[0];
    let mut resumes = 0u32;
    while r[0] == interrupted && resumes < 1_000_000 {
        r = session_only(SessionCall::Resume, s);
        resumes += 1;
    }
    TimedLoad {
        first,
        last: r,
        answered,
        deadline,
        resumes,
    }
}

/// A session with exactly the measured minimum quota `[charged, minimum]` loads the file
/// (registration, length, report offset) through INTERRUPTED answers, charged the same.
fn exact_minimum_check(
    report: &mut Report,
    [charged, minimum]: [u64; 2],
    file: (ShmHandle, u64, u64),
) {
    let name = "latency: a session with exactly the measured minimum loads the module through INTERRUPTED answers";
    let (file_shm, len, report_off) = file;
    let interrupted = Status::Interrupted.to_raw();
    let mut smc = Smc;
    let mut session = match Session::open(&mut smc, minimum) {
        Ok(s) => s,
        Err(e) => return report.fail(name, format_args!("SESSION_OPEN {minimum}: {e}")),
    };
    let s = session.handle().raw();
    let TimedLoad { first, last: r, .. } = timed_load(s, file_shm, len, report_off);
    report.check(
        name,
        first == interrupted && r[0] == Status::Success.to_raw() && r[1] == charged,
        format_args!(
            "quota {minimum}: first x0 {first:#x}, final x0 {:#x}, charged {} (before {charged})",
            r[0], r[1]
        ),
    );
    let _ = session.unload();
    let _ = session.close();
}

/// A LOAD refused for want of quota measures the module's minimum with loads of its own; they
/// run in the same bounded pieces as any LOAD. With the smallest quota nothing of the real
/// LOAD fits, so every INTERRUPTED answer comes from the measurement: it must answer
/// INTERRUPTED when the timer fires, then QUOTA_TOO_SMALL with the minimum a normal LOAD
/// measured; and a measurement abandoned by CANCEL gives its loan back (a session of the
/// whole free pool opens afterwards).
fn measuring_check(report: &mut Report, minimum: u64, file: (ShmHandle, u64, u64)) {
    let name = "latency: the minimum-quota measurement of a refused 4 MiB LOAD returns INTERRUPTED when a normal-world timer fires";
    let (file_shm, len, report_off) = file;
    let interrupted = Status::Interrupted.to_raw();
    let mut smc = Smc;
    let session = match Session::open(&mut smc, SESSION_MIN_QUOTA) {
        Ok(s) => s,
        Err(e) => return report.fail(name, format_args!("SESSION_OPEN: {e}")),
    };
    let s = session.handle().raw();
    let TimedLoad {
        first,
        last: r,
        answered,
        deadline,
        resumes,
    } = timed_load(s, file_shm, len, report_off);
    report.check(
        name,
        first == interrupted
            && answered > deadline
            && r[0] == Status::QuotaTooSmall.to_raw()
            && r[1] == minimum,
        format_args!(
            "first x0 {first:#x}, final x0 {:#x} x1 {} after {resumes} RESUMEs (minimum measured by a LOAD: {minimum})",
            r[0], r[1]
        ),
    );
    crate::irq::arm(FIRE_MS);
    let r = load_regs(s, file_shm, 0, len, report_off);
    crate::irq::disarm();
    let cancel = session_only(SessionCall::Cancel, s);
    let _ = session.close();
    // QUOTA_TOO_LARGE says how much is free for sessions; a session of all of it opens.
    let big = Smc.invoke(ids::SESSION_OPEN, [u64::MAX / 2, 0, 0, 0, 0, 0, 0]);
    let free = (big[0] == Status::QuotaTooLarge.to_raw()).then_some(big[1]);
    let whole = free.map(|f| Smc.invoke(ids::SESSION_OPEN, [f, 0, 0, 0, 0, 0, 0]));
    if let Some(w) = whole.filter(|w| w[0] == Status::Success.to_raw()) {
        let _ = Smc.invoke(ids::SESSION_CLOSE, [w[1], 0, 0, 0, 0, 0, 0]);
    }
    let opened = whole.is_some_and(|w| w[0] == Status::Success.to_raw());
    report.check(
        "latency: CANCEL of an interrupted minimum-quota measurement gives its loan back",
        r[0] == interrupted && cancel[0] == Status::Success.to_raw() && opened,
        format_args!(
            "LOAD {:#x}, CANCEL {:#x}, free for sessions {free:?}, open of all of it: {opened}",
            r[0], cancel[0]
        ),
    );
}
