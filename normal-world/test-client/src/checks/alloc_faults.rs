//! Allocation fault injection (TEST_ALLOC_FAIL, test builds) over OPEN/LOAD/RUN/CLOSE of real
//! modules, and the 1,000,000-slot funcref table under a 13 MiB quota (issue 11's reproduced
//! pool exhaustion).
//!
//! For every N from 1 on, the N-th secure-pool allocation from the OPEN on fails; the whole
//! sequence must then answer a defined error (OUT_OF_MEMORY from OPEN, LOAD or RUN, or a trap
//! whose message says the allocation failed), or succeed with the right output when the
//! failure did not matter, never FAILED or anything undefined; the next unarmed run must
//! succeed with exactly the expected output, and the pool must be back at its baseline. N
//! grows until the armed failure is no longer reached (the sequence makes fewer than N
//! allocations). One check line per family, not one per N.

use super::*;

/// TEST_ALLOC_FAIL: arm the N-th allocation from now (0 disarms); `x1` = what the previous
/// arming still had to go.
fn alloc_fail(n: u64) -> [u64; 4] {
    Smc.invoke(ids::TEST_ALLOC_FAIL, [n, 0, 0, 0, 0, 0, 0])
}

/// The quota of the fault-injection sessions (ample for every subject).
const FAULT_QUOTA: u64 = 8 << 20;
/// Most N tried per module: a module whose sequence makes more allocations fails the check.
const MAX_N: u64 = 3000;

/// One module to sweep: where its file is, how to run it, what it must print and end with.
struct Subject<'a> {
    name: &'a str,
    file: SharedArea<'static>,
    aot: (usize, usize),
    report_off: usize,
    req: RunRequest<'a>,
    expected: [(u64, u64); 2],
    /// (exit code, trap id) as the corpus bundle gives them: trap -1 none, -2 no id.
    end: (u32, i32),
}

impl Subject<'_> {
    fn ended_right(&self, end: RunEnd) -> bool {
        let (exit_code, trap_id) = self.end;
        match trap_id {
            -1 => end == RunEnd::Exited(exit_code),
            -2 => matches!(end, RunEnd::Trapped(_)),
            id => end == RunEnd::Trapped(Some(id as u32)),
        }
    }

    fn compare(&self) -> Compare {
        Compare {
            expected: self.expected,
            seen: [0; 2],
            mismatches: 0,
            first: None,
        }
    }
}

/// OPEN, LOAD, RUN (draining and RESUMing to the end), CLOSE.
fn attempt(
    s: &Subject<'_>,
    work: &SharedArea<'_>,
    quota: u64,
    cmp: &mut Compare,
) -> Result<RunOutcome, RunnerError> {
    let mut smc = Smc;
    let mut session = Session::open(&mut smc, quota)?;
    session.load_at(&s.file, s.aot.0, s.aot.1, s.report_off)?;
    let ran = session.run(work, 0, &s.req, cmp);
    let closed = session.close();
    let ran = ran?;
    closed?;
    Ok(ran)
}

/// True for the errors an allocation failure may cause.
fn defined_failure(r: &Result<RunOutcome, RunnerError>) -> bool {
    match r {
        Err(RunnerError::Refused {
            status: Status::OutOfMemory,
            ..
        })
        | Err(RunnerError::Load {
            status: Status::OutOfMemory,
            ..
        }) => true,
        Ok(o) => {
            let m = o.trap_message();
            matches!(o.end, RunEnd::Trapped(_))
                && (m.contains("allocate memory failed")
                    || m.contains("out of memory")
                    || m.contains("no memory")
                    || m.contains("exhausted"))
        }
        _ => false,
    }
}

/// What one sweep saw.
#[derive(Default)]
struct Sweep {
    /// Armed sequences run (N = 1..=tried).
    tried: u64,
    /// The armed failure was no longer reached at N = tried (the sweep is complete).
    complete: bool,
    /// Armed sequences that answered something undefined.
    undefined: u64,
    /// Unarmed runs after an armed one that did not succeed exactly.
    bad_next: u64,
    /// Times the pool was not at its baseline after the unarmed run.
    pool_off: u64,
    /// The secure world answered FAILED: the sweep stopped.
    failed: bool,
}

/// Adds a sweep to the totals; true if it was complete.
fn add(total: &mut Sweep, w: Sweep) -> bool {
    total.tried += w.tried;
    total.undefined += w.undefined;
    total.bad_next += w.bad_next;
    total.pool_off += w.pool_off;
    total.failed |= w.failed;
    w.complete
}

fn sweep(s: &Subject<'_>, work: &SharedArea<'_>, baseline: u64) -> Sweep {
    let mut w = Sweep::default();
    let good = |r: &Result<RunOutcome, RunnerError>, cmp: &Compare| {
        r.as_ref()
            .is_ok_and(|o| s.ended_right(o.end) && cmp.exact())
    };
    for n in 1..=MAX_N {
        w.tried = n;
        let _ = alloc_fail(n);
        let mut cmp = s.compare();
        let r = attempt(s, work, FAULT_QUOTA, &mut cmp);
        let left = alloc_fail(0)[1];
        if matches!(r, Err(RunnerError::Failed(_))) {
            println!("alloc faults: {}: N = {n}: the secure world FAILED", s.name);
            w.failed = true;
            return w;
        }
        let ok = good(&r, &cmp) || (left == 0 && defined_failure(&r));
        if !ok {
            w.undefined += 1;
            if w.undefined <= 3 {
                let load = match &r {
                    Err(RunnerError::Load { status, report, .. }) => Some((
                        *status,
                        report.as_ref().map(|rep| {
                            let mut m = [0u8; 64];
                            let t = rep.message().as_bytes();
                            let k = t.len().min(m.len());
                            m[..k].copy_from_slice(&t[..k]);
                            (m, k)
                        }),
                    )),
                    _ => None,
                };
                let load_msg = load
                    .as_ref()
                    .and_then(|(_, m)| m.as_ref())
                    .map(|(m, k)| core::str::from_utf8(&m[..*k]).unwrap_or("?"));
                println!(
                    "alloc faults: {}: N = {n} (reached: {}): {:?} {:?}, output {:?} mismatches {}",
                    s.name,
                    left == 0,
                    r.as_ref()
                        .map(|o| (o.end, o.trap_message()))
                        .map_err(|e| match e {
                            RunnerError::Load { status, .. } => Some(*status),
                            _ => None,
                        }),
                    load_msg,
                    cmp.seen,
                    cmp.mismatches
                );
            }
        }
        let mut cmp = s.compare();
        let next = attempt(s, work, FAULT_QUOTA, &mut cmp);
        if !good(&next, &cmp) {
            w.bad_next += 1;
            if w.bad_next <= 3 {
                println!(
                    "alloc faults: {}: the run after N = {n} failed: {:?}",
                    s.name,
                    next.as_ref().map(|o| o.end)
                );
            }
        }
        let used = Smc.pool_info().map(|p| p.used).unwrap_or(u64::MAX);
        if used != baseline {
            w.pool_off += 1;
            if w.pool_off <= 3 {
                println!(
                    "alloc faults: {}: pool at {used} after N = {n}, baseline {baseline}",
                    s.name
                );
            }
        }
        if left != 0 {
            w.complete = true;
            return w;
        }
    }
    w
}

/// The bundle entry named `name` (`<variant>/<test>`), if present.
fn bundle_entry(bundle_len: u64, name: &str) -> Option<u64> {
    if bundle_len < 8 || bundle_u64(0) as u32 != u32::from_le_bytes(*b"TZBN") {
        return None;
    }
    let count = bundle_u64(0) >> 32;
    (0..count).map(|i| 8 + 96 * i).find(|&e| {
        let (off, len) = (bundle_u64(e + 8), bundle_u64(e + 16));
        len == name.len() as u64
            && name.bytes().enumerate().all(|(k, b)| {
                // SAFETY: inside the preloaded bundle in normal-world RAM.
                unsafe { core::ptr::read_volatile((BUNDLE + off + k as u64) as *const u8) == b }
            })
    })
}

/// Runs `f` with the subject made from bundle entry `e` (its run block parsed into a request).
fn with_bundle_subject<R>(
    name: &str,
    e: u64,
    bundle: &SharedArea<'static>,
    bundle_len: u64,
    f: impl FnOnce(&Subject<'_>) -> R,
) -> Option<R> {
    let field = |k: u64| (bundle_u64(e + 8 + 16 * k), bundle_u64(e + 16 + 16 * k));
    let (run, aot, out, err) = (field(1), field(2), field(3), field(4));
    let tail = bundle_u64(e + 88);
    let mut raw = [0u8; 2048];
    let blk_len = (run.1 as usize).min(raw.len());
    for (k, b) in raw[..blk_len].iter_mut().enumerate() {
        // SAFETY: inside the preloaded bundle in normal-world RAM.
        *b = unsafe { core::ptr::read_volatile((BUNDLE + run.0 + k as u64) as *const u8) };
    }
    let block = RunBlock::parse(&raw[..blk_len]).ok()?;
    let mut args: [&[u8]; 32] = [&[]; 32];
    let mut env: [&[u8]; 32] = [&[]; 32];
    let (mut argc, mut envc) = (0, 0);
    for a in block.args().take(32) {
        args[argc] = a;
        argc += 1;
    }
    for v in block.env().take(32) {
        env[envc] = v;
        envc += 1;
    }
    let subject = Subject {
        name,
        file: area(bundle.handle, BUNDLE, bundle_len),
        aot: (aot.0 as usize, aot.1 as usize),
        report_off: (bundle_len - 0x1000) as usize,
        req: RunRequest {
            entry: block.entry().unwrap_or("").as_bytes(),
            args: &args[..argc],
            env: &env[..envc],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        },
        expected: [(BUNDLE + out.0, out.1), (BUNDLE + err.0, err.1)],
        end: (tail as u32, (tail >> 32) as i32),
    };
    Some(f(&subject))
}

/// Corpus tests swept besides the preloaded hello module: a C command (wasi-libc start-up,
/// stdio) and export calls through tables and bulk memory.
const SWEPT: [&str; 2] = ["aarch64-bc1/c-args", "aarch64-bc1/tables-init-copy"];

/// The fault-injection sweep over hello and [`SWEPT`], then the big-table case.
pub(super) fn alloc_fault_checks(report: &mut Report, learned: Learned) {
    const NAME: &str = "alloc faults: failing every N-th pool allocation";
    if !learned.test_calls {
        report.skip(NAME, "TEST_ALLOC_FAIL needs a test build");
        return;
    }
    let hello = preload(0);
    // SAFETY: normal-world RAM the harness writes before boot.
    let bundle_len = unsafe { core::ptr::read_volatile((AOT_LEN_WORD + 8 * 5) as *const u64) };
    if hello.1 < 64 {
        report.skip(NAME, "no hello module preloaded");
        return;
    }
    let hello_size = hello.1.div_ceil(0x1000) * 0x1000 + 0x1000;
    let (Ok(hello_shm), Ok(work_shm)) = (
        Smc.shm_register(hello.0, hello_size),
        Smc.shm_register(WORK, WORK_SIZE),
    ) else {
        report.fail(NAME, format_args!("cannot register the areas"));
        return;
    };
    let bundle_shm = if bundle_len >= 8 {
        Smc.shm_register(BUNDLE, bundle_len).ok()
    } else {
        None
    };
    let work = area(work_shm, WORK, WORK_SIZE);
    let hello_subject = Subject {
        name: "hello",
        file: area(hello_shm, hello.0, hello_size),
        aot: (0, hello.1 as usize),
        report_off: (hello_size - 0x1000) as usize,
        req: RunRequest {
            entry: b"",
            args: &[b"hello".as_slice()],
            env: &[b"TZWASM=1".as_slice()],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        },
        expected: [preload(4), (0, 0)],
        end: (0, -1),
    };
    // One good run first, so whatever the first run of a kind sets up is in the baseline.
    let mut cmp = hello_subject.compare();
    let warm = attempt(&hello_subject, &work, FAULT_QUOTA, &mut cmp);
    if !warm.as_ref().is_ok_and(|o| o.end == RunEnd::Exited(0)) || !cmp.exact() {
        println!(
            "alloc faults: hello unarmed: {:?}",
            warm.as_ref().map(|o| o.end)
        );
    }
    let baseline = Smc.pool_info().map(|p| p.used).unwrap_or(u64::MAX);
    let mut total = Sweep::default();
    let mut swept = 0u32;
    let mut incomplete = 0u32;
    if warm.is_ok_and(|o| o.end == RunEnd::Exited(0)) && cmp.exact() {
        let w = sweep(&hello_subject, &work, baseline);
        swept += 1;
        incomplete += u32::from(!add(&mut total, w));
    } else {
        println!("alloc faults: hello does not run unarmed");
        incomplete += 1;
    }
    let bundle = bundle_shm.map(|h| area(h, BUNDLE, bundle_len));
    for name in SWEPT {
        if total.failed {
            break;
        }
        let found = bundle.as_ref().and_then(|b| {
            let e = bundle_entry(bundle_len, name)?;
            with_bundle_subject(name, e, b, bundle_len, |s| sweep(s, &work, baseline))
        });
        match found {
            Some(w) => {
                swept += 1;
                incomplete += u32::from(!add(&mut total, w));
            }
            None => {
                println!("alloc faults: corpus test {name} not in the bundle");
                incomplete += 1;
            }
        }
    }
    report.check(
        name_buf(format_args!(
            "alloc faults: {} N over {swept} modules, all answers defined",
            total.tried
        ))
        .as_str(),
        swept == 1 + SWEPT.len() as u32
            && incomplete == 0
            && !total.failed
            && total.undefined == 0
            && total.bad_next == 0
            && total.pool_off == 0,
        format_args!(
            "{swept} swept, {incomplete} incomplete, failed {}, {} undefined answers, {} bad next runs, pool off {} times",
            total.failed, total.undefined, total.bad_next, total.pool_off
        ),
    );
    if let Some(h) = bundle_shm {
        let _ = Smc.shm_unregister(h);
    }
    big_table_check(report, &hello_subject, &work);
    let _ = Smc.shm_unregister(work_shm);
    let _ = Smc.shm_unregister(hello_shm);
}

/// The quota of issue 11's reproduced case (or all the pool gives sessions, if less: the
/// QEMU test build's pool is 14 MiB, so nearly all of it; any allocation not charged to the
/// session would then exhaust the pool).
const BIG_TABLE_QUOTA: u64 = 13 << 20;
/// Where QEMU preloads qemu/guests/big-table.wat's module, and its length word (13).
const BIG_TABLE_AOT: u64 = 0x6e00_0000;
const BIG_TABLE_LEN_WORD: u64 = AOT_LEN_WORD + 8 * 13;
/// What iwasm prints for its `copy_all` export.
static BIG_TABLE_STDOUT: [u8; 8] = *b"0x7:i32\n";

/// A wamrc module with a 1,000,000-slot funcref table running `table.copy` over all of it
/// under a 13 MiB quota (it used to exhaust the pool and panic the secure world): the run
/// ends cleanly (iwasm's result, or a refusal or trap counted against the session), the
/// secure world keeps serving, the pool is back at its baseline.
fn big_table_check(report: &mut Report, hello: &Subject<'_>, work: &SharedArea<'_>) {
    const NAME: &str = "alloc faults: 1M-slot table.copy, 13 MiB quota: clean end";
    // SAFETY: normal-world RAM the harness writes before boot.
    let len = unsafe { core::ptr::read_volatile(BIG_TABLE_LEN_WORD as *const u64) };
    if len < 64 {
        report.skip(NAME, "qemu/guests/big-table.wat not preloaded");
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used).unwrap_or(u64::MAX);
    let size = len.div_ceil(0x1000) * 0x1000 + 0x1000;
    let Ok(shm) = Smc.shm_register(BIG_TABLE_AOT, size) else {
        report.fail(NAME, format_args!("cannot register the module"));
        return;
    };
    let quota = crate::parallel::free_for_sessions()
        .unwrap_or(0)
        .min(BIG_TABLE_QUOTA);
    let s = Subject {
        name: "big-table",
        file: area(shm, BIG_TABLE_AOT, size),
        aot: (0, len as usize),
        report_off: (size - 0x1000) as usize,
        req: RunRequest {
            entry: b"copy_all",
            args: &[b"big-table.aot".as_slice()],
            env: &[],
            ring_capacity: 4096,
            receipt_nonce: None,
            stdin_capacity: None,
            files: None,
        },
        expected: [(BIG_TABLE_STDOUT.as_ptr() as u64, 8), (0, 0)],
        end: (0, -1),
    };
    let mut cmp = s.compare();
    let r = attempt(&s, work, quota, &mut cmp);
    let exact = r.as_ref().is_ok_and(|o| s.ended_right(o.end)) && cmp.exact();
    let clean = exact
        || matches!(
            r,
            Err(RunnerError::Load {
                status: Status::QuotaTooSmall | Status::OutOfMemory,
                ..
            }) | Err(RunnerError::Refused {
                status: Status::OutOfMemory,
                ..
            })
        )
        || r.as_ref()
            .is_ok_and(|o| matches!(o.end, RunEnd::Trapped(_)));
    let end = r.map(|o| o.end);
    let _ = Smc.shm_unregister(shm);
    let mut cmp = hello.compare();
    let next = attempt(hello, work, FAULT_QUOTA, &mut cmp);
    let served = next.is_ok_and(|o| o.end == RunEnd::Exited(0)) && cmp.exact();
    let used = Smc.pool_info().map(|p| p.used).unwrap_or(u64::MAX);
    println!(
        "alloc faults: big-table with a {quota}-byte quota: {end:?} (iwasm's result: {exact})"
    );
    report.check(
        NAME,
        clean && served && used == baseline,
        format_args!(
            "quota {quota}: end {end:?} (iwasm's result: {exact}), hello after it {served}, pool {used} (baseline {baseline})"
        ),
    );
}
