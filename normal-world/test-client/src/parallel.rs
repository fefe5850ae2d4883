//! Checks of parallel sessions (issue 11): sessions bounded by memory with quotas reserved at
//! SESSION_OPEN, a file larger than its quota refused (no wrap-around), N CPU-bound modules
//! seen running at the same time on N CPUs with outputs equal to a serial run, and a
//! multi-CPU stress of random calls on shared handles.
//!
//! Secondary CPUs are started with PSCI CPU_ON (context id = CPU index); [`run_job`] is what
//! `client::secondary_main` calls first: if a job is posted for that CPU it runs it, and the
//! CPU powers itself off again.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tzwasm_smc::args::{SessionCall, SessionHandle, ShmHandle};
use tzwasm_smc::call::ids;
use tzwasm_smc::ring::{self, Consumer, SharedRegion, Stream};
use tzwasm_smc::runner::{RunEnd, RunObserver, RunRequest, Session, SharedArea};
use tzwasm_smc::session::{RunBlock, GUARANTEED_SESSIONS, SESSION_MIN_QUOTA};
use tzwasm_smc::{Client, Conduit as _, Features, Status};

use crate::arch::{self, MAX_CPUS};
use crate::checks::{session_only, stats_regs, Smc};
use crate::report::Report;
use crate::{println, psci, timer};

fn open(quota: u64) -> [u64; 4] {
    Smc.invoke(ids::SESSION_OPEN, [quota, 0, 0, 0, 0, 0, 0])
}

fn close(h: u64) -> u64 {
    // Handles here may be forged (the stress test): SESSION_CLOSE decodes any.
    Smc.call(SessionCall::Close(SessionHandle::from_raw(h)).to_regs())[0]
}

const QUOTA_TOO_LARGE: u64 = Status::QuotaTooLarge.to_raw();

/// The bytes of the pool free for session quotas now (SESSION_OPEN's QUOTA_TOO_LARGE answer).
pub fn free_for_sessions() -> Option<u64> {
    let r = open(u64::MAX);
    (r[0] == QUOTA_TOO_LARGE).then_some(r[1])
}

/// Session handles of the capacity check (no allocator in this client).
static HANDLES: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

/// Quotas are reserved at OPEN from what the pool can give sessions: the refusal says how
/// much is free, the whole of it fits once, then nothing does; at least
/// [`GUARANTEED_SESSIONS`] small sessions are open at once, exactly as many as fit.
pub fn capacity_checks(report: &mut Report) {
    let pool = Smc.pool_info().map(|p| p.size).unwrap_or(0);
    let probe = open(u64::MAX);
    let free = probe[1];
    report.check(
        "sessions: a quota beyond the pool -> QUOTA_TOO_LARGE with the bytes free for sessions",
        probe[0] == QUOTA_TOO_LARGE && free > pool / 2 && free < pool,
        format_args!("x0 = {:#x}, x1 = {free}, pool {pool}", probe[0]),
    );
    let all = open(free);
    let more = open(SESSION_MIN_QUOTA);
    report.check(
        "sessions: quotas are reserved at OPEN (all of it taken, the smallest quota is refused)",
        all[0] == 0 && more[0] == QUOTA_TOO_LARGE && more[1] == 0,
        format_args!(
            "OPEN(free) x0 = {:#x}, then x0 = {:#x} x1 = {}",
            all[0], more[0], more[1]
        ),
    );
    let _ = close(all[1]);
    if more[0] == 0 {
        let _ = close(more[1]);
    }

    let mut n = 0;
    let mut refusal = [0; 4];
    while n < HANDLES.len() {
        let r = open(SESSION_MIN_QUOTA);
        if r[0] != 0 {
            refusal = r;
            break;
        }
        HANDLES[n].store(r[1], Ordering::Relaxed);
        n += 1;
    }
    report.check(
        "sessions: at least 64 open at once, as many as their quotas fit in the pool",
        n >= GUARANTEED_SESSIONS
            && n as u64 == free / SESSION_MIN_QUOTA
            && refusal[0] == QUOTA_TOO_LARGE
            && refusal[1] == free % SESSION_MIN_QUOTA,
        format_args!(
            "{n} opened of {} expected, then x0 = {:#x} x1 = {}",
            free / SESSION_MIN_QUOTA,
            refusal[0],
            refusal[1]
        ),
    );
    let distinct = (1..n).all(|i| {
        let h = HANDLES[i].load(Ordering::Relaxed);
        (0..i).all(|j| HANDLES[j].load(Ordering::Relaxed) != h)
    });
    report.check(
        "sessions: every handle distinct",
        distinct,
        format_args!("a handle repeats"),
    );
    let closed = (0..n).all(|i| close(HANDLES[i].load(Ordering::Relaxed)) == 0);
    report.check(
        "sessions: every session closes",
        closed,
        format_args!("a close failed"),
    );
    let x0 = close(HANDLES[0].load(Ordering::Relaxed));
    report.check(
        "sessions: closing twice -> NO_SUCH_HANDLE",
        x0 == Status::NoSuchHandle.to_raw(),
        format_args!("x0 = {x0:#x}"),
    );
    let again = open(u64::MAX);
    report.check(
        "sessions: every quota back after CLOSE",
        again[0] == QUOTA_TOO_LARGE && again[1] == free,
        format_args!("free {} before, {} after", free, again[1]),
    );
}

/// The parallel mode's checks (a `-smp 4` boot): the capacity checks, N modules on N CPUs,
/// then the multi-CPU stress.
pub fn run_parallel_mode(report: &mut Report) {
    capacity_checks(report);
    parallel_checks(report);
    stress_checks(report);
}

/// Where QEMU preloads the ~1 MiB module; its length is preload word 10.
const BIG_AOT: u64 = 0x6800_0000;
/// Lengths of the preloaded files (QEMU `-device loader`), one u64 word each.
const LEN_WORDS: u64 = 0x71ff_f000;

fn preload_len(word: u64) -> u64 {
    // SAFETY: normal-world RAM the harness writes before boot; nothing else uses it.
    unsafe { core::ptr::read_volatile((LEN_WORDS + 8 * word) as *const u64) }
}

/// A module file larger than the session's quota: QUOTA_TOO_SMALL with the module's real
/// minimum (the quota minus the copy's cost used to wrap around to an enormous instance
/// quota).
pub fn quota_underflow_check(report: &mut Report) {
    let len = preload_len(10);
    if len <= SESSION_MIN_QUOTA {
        report.skip(
            "session: a file larger than the quota",
            "no big module preloaded",
        );
        return;
    }
    let pages = len.div_ceil(0x1000) * 0x1000;
    let Ok(shm) = Smc.shm_register(BIG_AOT, pages + 0x1000) else {
        report.fail(
            "session: a file larger than the quota",
            format_args!("register"),
        );
        return;
    };
    let s = open(SESSION_MIN_QUOTA);
    let r = Smc.invoke(ids::LOAD, [s[1], shm.raw(), 0, len, pages, 0, 0]);
    let _ = close(s[1]);
    let _ = Smc.shm_unregister(shm);
    report.check(
        "session: a file larger than the quota -> QUOTA_TOO_SMALL with its minimum",
        s[0] == 0 && r[0] == Status::QuotaTooSmall.to_raw() && r[1] > len,
        format_args!("x0 = {:#x}, x1 = {} for a {len}-byte file", r[0], r[1]),
    );
}

/// Jobs a secondary CPU can be started for.
const JOB_NONE: u32 = 0;
const JOB_PARALLEL: u32 = 1;
const JOB_STRESS: u32 = 2;

/// Per CPU: the posted job, and its state (0 idle, 1 started, 2 done).
static JOB: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(JOB_NONE) }; MAX_CPUS];
static STATE: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Per CPU: the job's result (parallel: hash of the module's stdout; stress: failures).
static RESULT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Per CPU: the job's second result (parallel: the run's end as 0 ok / else; stress: calls).
static RESULT2: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The parallel job's argument: how many CPUs must be seen running at once.
static WANT: AtomicU64 = AtomicU64::new(0);

/// Called first by every secondary CPU: runs a posted job; true if there was one (the caller
/// then powers the CPU off).
pub fn run_job(cpu: u64) -> bool {
    let Some(i) = usize::try_from(cpu).ok().filter(|&i| i < MAX_CPUS) else {
        return false;
    };
    let job = JOB[i].swap(JOB_NONE, Ordering::AcqRel);
    if job == JOB_NONE {
        return false;
    }
    STATE[i].store(1, Ordering::Release);
    match job {
        JOB_PARALLEL => {
            let (hash, end) = parallel_run(i, WANT.load(Ordering::Acquire));
            RESULT[i].store(hash, Ordering::Relaxed);
            RESULT2[i].store(end, Ordering::Relaxed);
        }
        _ => {
            let (failures, calls) = stress(i);
            RESULT[i].store(failures, Ordering::Relaxed);
            RESULT2[i].store(calls, Ordering::Relaxed);
        }
    }
    STATE[i].store(2, Ordering::Release);
    true
}

/// CPUs this machine has (1 + the consecutive secondaries that are powered off now).
fn available_cpus() -> usize {
    1 + (1..MAX_CPUS)
        .take_while(|&cpu| psci::affinity_info(cpu as u64) == psci::AFFINITY_OFF)
        .count()
}

/// Starts CPUs 1.. with `job`; the number of CPUs taking part (this one included).
fn start_cpus(job: u32) -> usize {
    let mut n = 1;
    for cpu in 1..MAX_CPUS {
        if psci::affinity_info(cpu as u64) != psci::AFFINITY_OFF {
            break;
        }
        STATE[cpu].store(0, Ordering::Release);
        JOB[cpu].store(job, Ordering::Release);
        let entry = arch::secondary_entry as *const () as u64;
        if psci::cpu_on(cpu as u64, entry, cpu as u64) != psci::SUCCESS {
            JOB[cpu].store(JOB_NONE, Ordering::Release);
            break;
        }
        n += 1;
    }
    n
}

/// Waits for CPUs 1..n to finish their jobs and power off; false on timeout.
fn wait_cpus(n: usize, timeout_ms: u64) -> bool {
    let deadline = timer::Deadline::after_ms(timeout_ms);
    for (cpu, state) in STATE.iter().enumerate().take(n).skip(1) {
        while state.load(Ordering::Acquire) != 2 {
            if deadline.expired() {
                return false;
            }
            core::hint::spin_loop();
        }
        while psci::affinity_info(cpu as u64) != psci::AFFINITY_OFF {
            if deadline.expired() {
                return false;
            }
            core::hint::spin_loop();
        }
    }
    true
}

/// Where QEMU preloads the parallel-run module (qemu/guests/parallel.wat); length word 12.
const PAR_AOT: u64 = 0x6c00_0000;
/// Each CPU's run area (run block, ring, report): 1 MiB apart.
const PAR_AREA: u64 = 0x6d00_0000;
const PAR_AREA_SIZE: u64 = 0x1_0000;

fn region(base: u64, len: u64) -> Option<SharedRegion<'static>> {
    // SAFETY: [base, base + len) is normal-world RAM this client owns for these checks (the
    // preload and work areas above), 64-aligned; it is accessed only through SharedRegions
    // and by the secure world through its own mapping.
    unsafe { SharedRegion::new(base as *mut u8, len as usize) }.ok()
}

/// FNV-1a of a run's stdout, and its length.
struct Hasher {
    hash: u64,
    len: u64,
}

impl RunObserver for Hasher {
    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        if stream == Stream::Stdout {
            for &b in bytes {
                self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            self.len += bytes.len() as u64;
        }
    }
}

/// Decimal text of `v` in `buf`.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Registration of the parallel module and its LOAD reports (one page per CPU after it).
static PAR_FILE_SHM: AtomicU64 = AtomicU64::new(0);

/// CPU `cpu` LOADs the parallel module and calls `work WANT SEED` (SEED = cpu + 1): the
/// FNV hash of its stdout, and 0 if it exited 0 (1 if it trapped or failed).
fn parallel_run(cpu: usize, want: u64) -> (u64, u64) {
    let len = preload_len(12);
    let pages = len.div_ceil(0x1000) * 0x1000;
    let file_shm = ShmHandle::from_raw(PAR_FILE_SHM.load(Ordering::Acquire));
    let base = PAR_AREA + cpu as u64 * 0x10_0000;
    let (Some(file_mem), Some(work_mem)) = (
        region(PAR_AOT, pages + MAX_CPUS as u64 * 0x1000),
        region(base, PAR_AREA_SIZE),
    ) else {
        return (0, 2);
    };
    let Ok(work_shm) = Smc.shm_register(base, PAR_AREA_SIZE) else {
        return (0, 3);
    };
    let file = SharedArea {
        handle: file_shm,
        mem: file_mem,
    };
    let work = SharedArea {
        handle: work_shm,
        mem: work_mem,
    };
    let (mut w, mut s) = ([0u8; 20], [0u8; 20]);
    let args: [&[u8]; 3] = [
        b"work",
        decimal(want, &mut w),
        decimal(cpu as u64 + 1, &mut s),
    ];
    let req = RunRequest {
        entry: b"work",
        args: &args,
        env: &[],
        ring_capacity: 4096,
        receipt_nonce: None,
        stdin_capacity: None,
        files: None,
    };
    let mut out = Hasher {
        hash: 0xcbf2_9ce4_8422_2325,
        len: 0,
    };
    let mut smc = Smc;
    let end = (|| {
        let mut session = Session::open(&mut smc, 2 << 20).map_err(|_| 4u64)?;
        session
            .load_at(
                &file,
                0,
                len as usize,
                (pages + cpu as u64 * 0x1000) as usize,
            )
            .map_err(|_| 5u64)?;
        let ran = session.run(&work, 0, &req, &mut out).map_err(|_| 6u64)?;
        session.close().map_err(|_| 7u64)?;
        Ok::<u64, u64>(if ran.end == RunEnd::Exited(0) { 0 } else { 1 })
    })()
    .unwrap_or_else(|e| e);
    let _ = Smc.shm_unregister(work_shm);
    (out.hash ^ out.len, end)
}

/// The secure world's count of CPUs seen running module code at once (STATS page 4).
fn peak_runs() -> Option<u64> {
    let s = open(SESSION_MIN_QUOTA);
    if s[0] != 0 {
        return None;
    }
    let r = stats_regs(s[1], 4);
    let _ = close(s[1]);
    (r[0] == 0).then_some(r[2])
}

/// N CPU-bound modules on N CPUs (all this machine has, up to 4): each waits until the secure
/// world has seen N CPUs running module code at the same moment, then computes; their
/// outputs must equal those of the same calls run one after another.
pub fn parallel_checks(report: &mut Report) {
    let len = preload_len(12);
    let test_calls = Smc
        .features()
        .is_ok_and(|f| f.features.contains(Features::TEST_CALLS));
    if len < 64 || !test_calls {
        report.skip(
            "parallel: modules running at once on every CPU",
            "no parallel module preloaded, or a release build (no run-count clock)",
        );
        return;
    }
    let pages = len.div_ceil(0x1000) * 0x1000;
    let baseline = Smc.pool_info().map(|p| p.used);
    let Ok(file_shm) = Smc.shm_register(PAR_AOT, pages + MAX_CPUS as u64 * 0x1000) else {
        report.fail("parallel: register the module", format_args!("failed"));
        return;
    };
    PAR_FILE_SHM.store(file_shm.raw(), Ordering::Release);

    // The serial reference: the same calls, one after another, on this CPU.
    let mut serial = [(0u64, 0u64); MAX_CPUS];
    for (cpu, r) in serial.iter_mut().enumerate() {
        *r = parallel_run(cpu, 1);
    }
    let serial_ok = serial.iter().all(|&(h, end)| end == 0 && h != 0);
    report.check(
        "parallel: the module runs alone (serial reference)",
        serial_ok,
        format_args!("{serial:x?}"),
    );
    let before = peak_runs();

    WANT.store(available_cpus() as u64, Ordering::Release);
    let n = start_cpus(JOB_PARALLEL);
    let mine = parallel_run(0, n as u64);
    let finished = wait_cpus(n, 240_000);
    let after = peak_runs();
    let mut same = mine == serial[0];
    for cpu in 1..n {
        let got = (
            RESULT[cpu].load(Ordering::Relaxed),
            RESULT2[cpu].load(Ordering::Relaxed),
        );
        same &= got == serial[cpu];
    }
    println!("parallel: {n} CPUs; peak of CPUs running modules at once {before:?} before, {after:?} after");
    report.check(
        "parallel: one module per CPU, all seen running at the same time (STATS page 4)",
        finished && n >= 2 && before.is_some_and(|b| b < n as u64) && after == Some(n as u64),
        format_args!("{n} CPUs, finished {finished}, peak {before:?} -> {after:?}"),
    );
    report.check(
        "parallel: outputs equal to the serial run",
        finished && same,
        format_args!("CPU 0 {mine:x?} vs {:x?}", serial[0]),
    );
    if n < 4 {
        println!("parallel: only {n} CPUs (QEMU -smp {n}); the issue's check wants 4");
    }
    let _ = Smc.shm_unregister(file_shm);
    let now = Smc.pool_info().map(|p| p.used);
    report.check(
        "parallel: pool back to its baseline",
        baseline.is_ok() && now == baseline,
        format_args!("{baseline:?} -> {now:?}"),
    );
}

/// The stress areas: one 256 KiB registration each, with the hello module at 0, a run block,
/// a ring and the reports at the end.
const STRESS_BASE: u64 = 0x6a00_0000;
const STRESS_AREA: u64 = 0x4_0000;
const STRESS_AREAS: usize = 4;
const RB_OFF: u64 = 0x3_c000;
const RING_OFF: u64 = 0x3_d000;
const RUN_REPORT_OFF: u64 = 0x3_f000;
const LOAD_REPORT_OFF: u64 = 0x3_f800;
/// Calls each CPU issues.
const STRESS_CALLS: u64 = 10_000;
/// Shared handle slots: every CPU acts on every slot.
static SESSIONS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static SHMS: [AtomicU64; STRESS_AREAS] = [const { AtomicU64::new(0) }; STRESS_AREAS];
static STRESS_SETUP: AtomicU64 = AtomicU64::new(0);
/// LOADs that succeeded and RUN/RESUMEs that ran module code (ended or paused), all CPUs.
static STRESS_LOADS: AtomicU64 = AtomicU64::new(0);
static STRESS_RUNS: AtomicU64 = AtomicU64::new(0);
/// BUSY answers (true contention on a shared handle), all CPUs.
static STRESS_BUSY: AtomicU64 = AtomicU64::new(0);

fn ring_len() -> u64 {
    ring::block_size(1024, 1024).unwrap_or(0) as u64
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One CPU's share of the stress: random calls on the shared slots; (calls whose answer was
/// not a defined status or was INTERNAL, calls made).
fn stress(cpu: usize) -> (u64, u64) {
    let (block_len, hello_len) = (STRESS_SETUP.load(Ordering::Acquire), preload_len(0));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((cpu as u64 + 1) << 32));
    let mut bad = 0;
    for _ in 0..STRESS_CALLS {
        let r = rng.next();
        let k = (r >> 8) as usize % STRESS_AREAS;
        let j = (r >> 16) as usize % SESSIONS.len();
        // Now and then a stale or forged handle.
        let forged = (r >> 24).is_multiple_of(16);
        let s = if forged {
            rng.next()
        } else {
            SESSIONS[j].load(Ordering::Acquire)
        };
        let m = if forged {
            rng.next()
        } else {
            SHMS[k].load(Ordering::Acquire)
        };
        let x0 = match r % 11 {
            0 => match Smc.shm_register(STRESS_BASE + k as u64 * STRESS_AREA, STRESS_AREA) {
                Ok(h) => {
                    if SHMS[k]
                        .compare_exchange(0, h.raw(), Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                    {
                        let _ = Smc.shm_unregister(h);
                    }
                    0
                }
                Err(tzwasm_smc::ClientError::Status(st)) => st.to_raw(),
                Err(_) => u64::MAX,
            },
            1 => {
                let x0 = Smc.invoke(ids::SHM_UNREGISTER, [m, 0, 0, 0, 0, 0, 0])[0];
                if x0 == 0 {
                    let _ = SHMS[k].compare_exchange(m, 0, Ordering::AcqRel, Ordering::Acquire);
                }
                x0
            }
            2 => {
                let quota = if r & (1 << 40) != 0 {
                    3 << 20
                } else {
                    SESSION_MIN_QUOTA
                };
                let o = open(quota);
                if o[0] == 0
                    && SESSIONS[j]
                        .compare_exchange(0, o[1], Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                {
                    let _ = close(o[1]);
                }
                o[0]
            }
            3 => {
                let x0 = close(s);
                if x0 == 0 {
                    let _ = SESSIONS[j].compare_exchange(s, 0, Ordering::AcqRel, Ordering::Acquire);
                }
                x0
            }
            4 => Smc.invoke(ids::LOAD, [s, m, 0, hello_len, LOAD_REPORT_OFF, 0, 0])[0],
            5 => Smc.invoke(
                ids::RUN,
                [
                    s,
                    m,
                    RB_OFF,
                    block_len,
                    RING_OFF,
                    ring_len(),
                    RUN_REPORT_OFF,
                ],
            )[0],
            6 | 7 => session_only(SessionCall::Resume, s)[0],
            8 => session_only(SessionCall::Cancel, s)[0],
            9 => session_only(SessionCall::Unload, s)[0],
            _ => {
                // Drain (re-format) area k's ring under whatever run writes to it.
                let base = STRESS_BASE + k as u64 * STRESS_AREA + RING_OFF;
                if let Some(ring) = region(base, ring_len()) {
                    let _ = Consumer::format(ring, 1024, 1024);
                }
                0
            }
        };
        let op = r % 11;
        match Status::from_raw(x0) {
            Some(Status::Success) if op == 4 => {
                STRESS_LOADS.fetch_add(1, Ordering::Relaxed);
            }
            Some(
                Status::Success | Status::OutputPending | Status::Interrupted | Status::Trapped,
            ) if (5..=7).contains(&op) => {
                STRESS_RUNS.fetch_add(1, Ordering::Relaxed);
            }
            Some(Status::Busy) => {
                STRESS_BUSY.fetch_add(1, Ordering::Relaxed);
            }
            Some(Status::Internal) | None => {
                if bad == 0 {
                    println!("stress: cpu{cpu}: call {} answered {x0:#x}", r % 11);
                }
                bad += 1;
            }
            Some(_) => {}
        }
    }
    (bad, STRESS_CALLS)
}

/// Every CPU (at least two) issues [`STRESS_CALLS`] random OPEN, LOAD, RUN, RESUME, CANCEL,
/// UNLOAD, CLOSE, SHM_REGISTER and SHM_UNREGISTER calls, on each other's handles too: every
/// answer is a defined status (never INTERNAL), the secure world keeps serving, and once
/// everything is closed the pool is back at its baseline.
pub fn stress_checks(report: &mut Report) {
    let hello_len = preload_len(0);
    if !(64..=RB_OFF).contains(&hello_len) {
        report.skip(
            "stress: random calls from every CPU",
            "no hello module preloaded",
        );
        return;
    }
    let baseline = Smc.pool_info().map(|p| p.used);
    // Each area: the hello module, a run block, a formatted ring.
    let mut blk = [0u8; 64];
    let n = RunBlock::encode(b"", &[b"hello"], &[], &mut blk).unwrap_or(0);
    for a in 0..STRESS_AREAS as u64 {
        let base = STRESS_BASE + a * STRESS_AREA;
        for off in (0..hello_len).step_by(8) {
            // SAFETY: the preloaded hello module and the stress areas are normal-world RAM
            // this client owns; the areas are not registered yet.
            unsafe {
                let w = core::ptr::read_volatile((0x7200_0000 + off) as *const u64);
                core::ptr::write_volatile((base + off) as *mut u64, w);
            }
        }
        if let Some(r) = region(base + RB_OFF, 64) {
            let _ = r.write_bytes(0, &blk[..n]);
        }
        if let Some(ring) = region(base + RING_OFF, ring_len()) {
            let _ = Consumer::format(ring, 1024, 1024);
        }
    }
    STRESS_SETUP.store(n as u64, Ordering::Release);
    let cpus = start_cpus(JOB_STRESS);
    let (mine, calls) = stress(0);
    let finished = wait_cpus(cpus, 600_000);
    let mut bad = mine;
    let mut total = calls;
    for cpu in 1..cpus {
        bad += RESULT[cpu].load(Ordering::Relaxed);
        total += RESULT2[cpu].load(Ordering::Relaxed);
    }
    let (loads, runs, busy) = (
        STRESS_LOADS.load(Ordering::Relaxed),
        STRESS_RUNS.load(Ordering::Relaxed),
        STRESS_BUSY.load(Ordering::Relaxed),
    );
    println!(
        "stress: {total} calls from {cpus} CPUs, {bad} bad answers; {loads} LOADs and {runs} RUN/RESUMEs went through, {busy} BUSY"
    );
    report.check(
        "stress: random calls from every CPU on shared handles: every answer a defined status",
        finished && cpus >= 2 && bad == 0 && total >= STRESS_CALLS * 2,
        format_args!("{cpus} CPUs, finished {finished}, {bad} bad of {total}"),
    );
    report.check(
        "stress: modules were loaded and run during it",
        loads > 0 && runs > 0,
        format_args!("{loads} LOADs, {runs} runs"),
    );
    // Clean up: cancel paused runs and close sessions, then unregister.
    let mut clean = true;
    for slot in &SESSIONS {
        let h = slot.swap(0, Ordering::AcqRel);
        if h != 0 {
            clean &= close(h) == 0;
        }
    }
    for slot in &SHMS {
        let h = slot.swap(0, Ordering::AcqRel);
        if h != 0 {
            clean &= Smc.shm_unregister(ShmHandle::from_raw(h)).is_ok();
        }
    }
    let after = Smc.pool_info().map(|p| p.used);
    report.check(
        "stress: everything closes and the pool is back at its baseline",
        clean && baseline.is_ok() && after == baseline,
        format_args!("clean {clean}, pool {baseline:?} -> {after:?}"),
    );
    report.check(
        "stress: a good run afterwards",
        crate::checks::good_run_ok((0x7200_0000, hello_len)),
        format_args!("it failed"),
    );
}
