//! Sessions: a heap quota, and at most one loaded module, per session.
//!
//! LOAD never parses shared memory in place: the bytes are copied into secure memory first
//! (so the normal world cannot change them between check and use), measured with SHA-256,
//! parsed and instantiated with the secure [`SecurePlatform`]. Everything the module costs
//! (the copy, code, instance data, stack, linear memory) counts against the session's quota;
//! a quota that is too small is refused with the exact minimum, computed before anything is
//! allocated for the module. Unloading unmaps, zeroes and frees all of it.

use crate::boot::POOL;
use crate::runner::SecurePlatform;
use crate::runner::{resume as resume_run, start, Cursor, Step};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use sha2::{Digest, Sha256};
use spin::Mutex;
use tzwasm_aot_loader::module::AotModule;
use tzwasm_aot_loader::runtime::Stop;
use tzwasm_aot_loader::runtime::{footprint_total, Instance, InstanceConfig, InstantiateError};
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_smc::ring::Producer;
use tzwasm_smc::session::{LoadReport, MAX_MODULE_SIZE, MAX_SESSIONS, SESSION_MIN_QUOTA};
use tzwasm_smc::session::{RunBlock, RunReport};
use tzwasm_smc::{Regs4, Status};

/// The stack every module gets (part of its footprint).
const MODULE_STACK: usize = 1 << 20;

/// A module loaded in a session. Field order matters for Drop: the instance (which borrows
/// the module and the file) goes first.
struct Loaded {
    instance: ManuallyDrop<Box<Instance<'static, SecurePlatform>>>,
    run: RunState,
    module: *mut AotModule,
    file: *mut [u64],
    charged: u64,
    /// Counter ticks LOAD spent: copy, SHA-256, parse, instantiate; then, inside
    /// instantiate, relocation and memory work (allocate, zero, map, seal).
    load_ticks: [u64; 6],
    /// Times the run returned INTERRUPTED.
    interruptions: u64,
}

// SAFETY: a Loaded is only ever touched under the SESSIONS lock, by one CPU at a time; the
// raw pointers are owned allocations of the payload's pool, not shared with anything.
unsafe impl Send for Loaded {}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, before what it borrows; the platform's Drop unmaps,
        // zeroes and frees every page the instance used.
        unsafe { ManuallyDrop::drop(&mut self.instance) };
        // SAFETY: `module` and `file` came from Box::into_raw in load() and nothing borrows
        // them any more (the instance is gone).
        unsafe {
            drop(Box::from_raw(self.module));
            let mut file = Box::from_raw(self.file);
            file.fill(0);
        }
    }
}

/// Where a loaded module's one run stands.
enum RunState {
    NotStarted,
    /// Waiting for the normal world to drain the ring: the module's registers, and the
    /// registration the ring lives in (which cannot be unregistered meanwhile).
    Paused {
        cur: Box<Cursor>,
        place: RunPlace,
    },
    /// The module finished; output the payload adds (an export's results) is still
    /// waiting for room in the ring, and then the run reports `result`.
    Flushing {
        result: Regs4,
        place: RunPlace,
        report: Box<RunReport>,
    },
    /// Finished, trapped or cancelled: RUN again needs UNLOAD + LOAD.
    Done,
}

struct Session {
    generation: u32,
    quota: u64,
    loaded: Option<Loaded>,
}

struct Table {
    slots: [Option<Session>; MAX_SESSIONS],
    generations: [u32; MAX_SESSIONS],
}

static SESSIONS: Mutex<Table> = Mutex::new(Table {
    slots: [const { None }; MAX_SESSIONS],
    generations: [0; MAX_SESSIONS],
});

fn st(s: Status) -> Regs4 {
    [s.to_raw(), 0, 0, 0]
}

fn slot_of(t: &Table, handle: u64) -> Option<usize> {
    let i = (handle & 0xff).checked_sub(1)? as usize;
    let s = t.slots.get(i)?.as_ref()?;
    (handle >> 8 == u64::from(s.generation)).then_some(i)
}

/// The loaded module of session `handle`: NO_SUCH_HANDLE for a dead session, BAD_STATE when
/// nothing is loaded.
fn loaded_in(t: &mut Table, handle: u64) -> Result<&mut Loaded, Regs4> {
    let i = slot_of(t, handle).ok_or(st(Status::NoSuchHandle))?;
    t.slots[i]
        .as_mut()
        .and_then(|s| s.loaded.as_mut())
        .ok_or(st(Status::BadState))
}

/// SESSION_OPEN.
pub fn open(quota: u64) -> Regs4 {
    let pool = POOL.stats().size as u64;
    if quota < SESSION_MIN_QUOTA {
        return [Status::QuotaTooSmall.to_raw(), SESSION_MIN_QUOTA, 0, 0];
    }
    if quota > pool {
        return [Status::QuotaTooLarge.to_raw(), pool, 0, 0];
    }
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let Some(i) = t.slots.iter().position(Option::is_none) else {
        return st(Status::NoResources);
    };
    let generation = (t.generations[i].wrapping_add(1) & 0x00ff_ffff).max(1);
    t.generations[i] = generation;
    t.slots[i] = Some(Session {
        generation,
        quota,
        loaded: None,
    });
    [
        Status::Success.to_raw(),
        u64::from(generation) << 8 | (i as u64 + 1),
        0,
        0,
    ]
}

/// SESSION_CLOSE: unloads the module (if any) and forgets the session.
pub fn close(handle: u64) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    match slot_of(&t, handle) {
        Some(i) => {
            t.slots[i] = None;
            st(Status::Success)
        }
        None => st(Status::NoSuchHandle),
    }
}

/// UNLOAD.
pub fn unload(handle: u64) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let Some(i) = slot_of(&t, handle) else {
        return st(Status::NoSuchHandle);
    };
    match t.slots[i].as_mut().and_then(|s| s.loaded.take()) {
        Some(loaded) => {
            drop(loaded);
            st(Status::Success)
        }
        None => st(Status::BadState),
    }
}

/// STATS: page 0 (`x2` = 0): quota, bytes charged, whether a module is loaded; page 1: the
/// counter frequency, LOAD's copy and SHA-256 ticks; page 2: its parse and instantiate ticks.
pub fn stats(handle: u64, page: u64) -> Regs4 {
    let Some(t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let Some(s) = slot_of(&t, handle).and_then(|i| t.slots[i].as_ref()) else {
        return st(Status::NoSuchHandle);
    };
    let charged = s.loaded.as_ref().map_or(0, |l| l.charged);
    let t = s.loaded.as_ref().map_or([0; 6], |l| l.load_ticks);
    let ok = Status::Success.to_raw();
    match page {
        0 => [ok, s.quota, charged, u64::from(s.loaded.is_some())],
        1 => [ok, crate::arch::counter_freq(), t[0], t[1]],
        2 => [
            ok,
            t[2],
            t[3],
            s.loaded.as_ref().map_or(0, |l| l.interruptions),
        ],
        3 => [ok, t[4], t[5], t[3].saturating_sub(t[4] + t[5])],
        _ => st(Status::InvalidParameter),
    }
}

/// The request LOAD checks against a registration before it touches anything.
pub struct LoadRequest {
    /// Session handle.
    pub session: u64,
    /// Start of the file (VA == PA of normal-world memory, already checked to be inside a
    /// live registration together with `len`).
    pub file: u64,
    /// File length.
    pub len: u64,
    /// Where the report goes (checked the same way, 8-aligned, LOAD_REPORT_SIZE bytes).
    pub report: u64,
}

/// LOAD: copy, measure, parse, check the quota, instantiate; report into shared memory.
pub fn load(req: &LoadRequest) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let Some(i) = slot_of(&t, req.session) else {
        return st(Status::NoSuchHandle);
    };
    let Some(session) = t.slots[i].as_mut() else {
        return st(Status::NoSuchHandle);
    };
    if session.loaded.is_some() {
        return st(Status::BadState);
    }
    let mut report = LoadReport::new(0);
    let result = load_into(session, req, &mut report);
    let regs = match result {
        Ok(regs) => regs,
        Err((status, x1, message)) => {
            report.set_message(&message);
            [status.to_raw(), x1, 0, 0]
        }
    };
    report.status = regs[0] as i64 as i32;
    write_report(req.report, &report);
    regs
}

type LoadError = (Status, u64, String);

fn load_into(
    s: &mut Session,
    req: &LoadRequest,
    report: &mut LoadReport,
) -> Result<Regs4, LoadError> {
    let len = req.len as usize;
    if req.len == 0 || req.len > MAX_MODULE_SIZE {
        return Err((
            Status::BadAddress,
            0,
            alloc::format!("module size {} is not in 1..={MAX_MODULE_SIZE}", req.len),
        ));
    }
    // The copy counts against the quota once the module is loaded; a quota that cannot hold
    // it is still answered with the module's real minimum, so the copy and the parse happen
    // first and are freed before the refusal.
    let copy_cost = (req.len.div_ceil(8) * 8).max(8);
    // Copy out of shared memory first: never parse what the normal world can still change.
    let t0 = crate::arch::counter();
    // SAFETY: [file, file + len) is inside a live registration (checked by the caller, which
    // holds the registry lock).
    let Some(words) = (unsafe { crate::platform::copy_in(req.file, len) }) else {
        return Err((
            Status::OutOfMemory,
            0,
            String::from("secure pool exhausted copying the module"),
        ));
    };
    let file_box: Box<[u64]> = words.into_boxed_slice();
    let file_ptr = Box::into_raw(file_box);
    // SAFETY: file_ptr holds len.div_ceil(8) initialised u64s, at least len bytes.
    let file: &'static [u8] = unsafe { core::slice::from_raw_parts(file_ptr.cast::<u8>(), len) };
    let free_file = || {
        // SAFETY: file_ptr came from Box::into_raw above and is no longer borrowed.
        let mut b = unsafe { Box::from_raw(file_ptr) };
        b.fill(0);
    };
    let t1 = crate::arch::counter();
    report.sha256.copy_from_slice(&Sha256::digest(file));
    let t2 = crate::arch::counter();

    let module = match parse(file, Arch::Aarch64) {
        Ok(m) => m,
        Err(e) => {
            free_file();
            let status = match e {
                tzwasm_aot_loader::LoadError::OutOfMemory => Status::OutOfMemory,
                _ => Status::BadModule,
            };
            return Err((status, 0, alloc::format!("{e}")));
        }
    };
    let config = InstanceConfig {
        heap_quota: s.quota - copy_cost,
        stack_size: MODULE_STACK,
        ..Default::default()
    };
    let min_quota = match footprint_total(&module, &config, 4096) {
        Ok(fp) => copy_cost.saturating_add(fp),
        Err(e) => {
            free_file();
            return Err((Status::BadModule, 0, alloc::format!("{e}")));
        }
    };
    report.min_quota = min_quota;
    if min_quota > s.quota {
        free_file();
        return Err((
            Status::QuotaTooSmall,
            min_quota,
            alloc::format!(
                "heap quota {} is too small: this module needs at least {min_quota} bytes",
                s.quota
            ),
        ));
    }
    let t3 = crate::arch::counter();
    let module_ptr = Box::into_raw(Box::new(module));
    // SAFETY: module_ptr is a fresh Box, freed only in Loaded::drop or below.
    let module_ref: &'static AotModule = unsafe { &*module_ptr };
    match Instance::new(module_ref, file, SecurePlatform::new(), config) {
        Ok(instance) => {
            let it = instance.platform.ticks;
            let ticks = [
                t1 - t0,
                t2 - t1,
                t3 - t2,
                crate::arch::counter() - t3,
                it.relocate,
                it.memory,
            ];
            let charged = copy_cost + instance.quota().used();
            report.charged = charged;
            report.set_message("loaded");
            s.loaded = Some(Loaded {
                instance: ManuallyDrop::new(instance),
                run: RunState::NotStarted,
                module: module_ptr,
                file: file_ptr,
                charged,
                load_ticks: ticks,
                interruptions: 0,
            });
            Ok([Status::Success.to_raw(), charged, min_quota, 0])
        }
        Err(e) => {
            // SAFETY: the failed instance is gone; nothing borrows the module any more.
            drop(unsafe { Box::from_raw(module_ptr) });
            free_file();
            let status = match e {
                InstantiateError::Quota(_) => Status::QuotaTooSmall,
                InstantiateError::Platform(_) | InstantiateError::OutOfMemory => {
                    Status::OutOfMemory
                }
                _ => Status::BadModule,
            };
            Err((status, min_quota, alloc::format!("{e}")))
        }
    }
}

/// Writes `bytes` to normal-world memory at `at`.
///
/// # Safety
/// `[at, at + bytes.len())` must lie inside a live registration (mapped NS RW for EL1) that
/// stays mapped for the call: LOAD holds the registry lock; for RUN, RESUME and CANCEL,
/// SHM_UNREGISTER answers BUSY while the session table is locked or a paused run lives in the
/// registration.
unsafe fn write_shared(at: u64, bytes: &[u8]) {
    for (k, b) in bytes.iter().enumerate() {
        // SAFETY: inside the caller's range, by this function's contract.
        unsafe { core::ptr::write_volatile((at + k as u64) as *mut u8, *b) };
    }
}

fn write_report(at: u64, report: &LoadReport) {
    // SAFETY: the caller checked [at, at + LOAD_REPORT_SIZE) lies in a live registration and
    // holds the registry lock.
    unsafe { write_shared(at, &report.to_bytes()) };
}

/// True if a paused run's ring lives in registration `shm` (it must stay mapped), or the
/// session table is busy (then we cannot tell: the caller answers BUSY).
pub fn shm_in_use(shm: u64) -> bool {
    let Some(t) = SESSIONS.try_lock() else {
        return true;
    };
    t.slots.iter().flatten().any(|s| {
        s.loaded.as_ref().is_some_and(|l| match l.run {
            RunState::Paused { place, .. } | RunState::Flushing { place, .. } => place.shm == shm,
            _ => false,
        })
    })
}

/// What RUN needs once its shared-memory arguments are checked and copied.
pub struct RunRequest<'a> {
    /// Session handle.
    pub session: u64,
    /// The registration holding the ring.
    pub shm: u64,
    /// The run block, already copied into secure memory and validated.
    pub block: RunBlock<'a>,
    /// The output ring's producer end (its block lies inside registration `shm`).
    pub producer: Producer<'static>,
    /// Address of the [`RunReport`] area, inside registration `shm` (checked by the caller).
    pub report: u64,
}

/// Where a run's answers go: the registration holding its ring and report, and the report's
/// address.
#[derive(Clone, Copy)]
struct RunPlace {
    shm: u64,
    report: u64,
}

/// The report of a run that ended with `result` (x0..x3 of the final answer).
fn run_report(result: &Regs4, stop: Option<&Stop>) -> RunReport {
    let mut r = RunReport::new(result[0] as i64 as i32);
    match stop {
        Some(Stop::Trap(t)) => {
            r.trap_id = t.id().map_or(tzwasm_smc::session::NO_TRAP_ID, |i| i as u32);
            r.set_message(&alloc::format!("{t}"));
        }
        Some(Stop::Exit(code)) => {
            r.exit_code = *code;
            r.set_message("exited");
        }
        _ if result[0] == Status::Success.to_raw() => r.set_message("exited"),
        _ => r.set_message("ended"),
    }
    r
}

/// Ends a run with `result`: the report written at `place`, the ring marked finished.
fn end_run(
    loaded: &mut Loaded,
    mut result: Regs4,
    mut report: RunReport,
    place: RunPlace,
) -> Regs4 {
    let wasi = &mut loaded.instance.platform.wasi;
    if result[0] == Status::Success.to_raw() || result[0] == Status::Trapped.to_raw() {
        result[2] = wasi.written[0];
        result[3] = wasi.written[1];
    }
    report.written = wasi.written;
    // SAFETY: RUN checked [report, report + RUN_REPORT_SIZE) lies in registration `shm`,
    // which cannot be unregistered while this run holds the session table or is paused.
    unsafe { write_shared(place.report, &report.to_bytes()) };
    loaded.run = RunState::Done;
    wasi.finish();
    result
}

fn step_result(
    loaded: &mut Loaded,
    step: Step,
    cur: Option<Box<Cursor>>,
    place: RunPlace,
) -> Regs4 {
    match (step, cur) {
        (step @ (Step::Paused | Step::Interrupted), Some(cur)) => {
            loaded.run = RunState::Paused { cur, place };
            let status = if matches!(step, Step::Paused) {
                Status::OutputPending
            } else {
                loaded.interruptions += 1;
                Status::Interrupted
            };
            [status.to_raw(), 0, 0, 0]
        }
        (Step::Paused | Step::Interrupted, None) => {
            let result = st(Status::Internal);
            let mut report = RunReport::new(Status::Internal.to_raw() as i64 as i32);
            report.set_message("paused without a saved context");
            end_run(loaded, result, report, place)
        }
        (Step::Finished(r), _) => {
            let result = match &r {
                Ok(()) => [Status::Success.to_raw(), 0, 0, 0],
                Err(Stop::Exit(code)) => [Status::Success.to_raw(), u64::from(*code), 0, 0],
                Err(Stop::Trap(t)) => {
                    log::info!("module trapped: {t}");
                    let id = t.id().map_or(u64::MAX, |i| i as u64);
                    [Status::Trapped.to_raw(), id, 0, 0]
                }
                Err(Stop::Pending) => [Status::Internal.to_raw(), 0, 0, 0],
            };
            let report = run_report(&result, r.as_ref().err());
            if loaded.instance.platform.wasi.flush_tail() {
                end_run(loaded, result, report, place)
            } else {
                loaded.run = RunState::Flushing {
                    result,
                    place,
                    report: Box::new(report),
                };
                [Status::OutputPending.to_raw(), 0, 0, 0]
            }
        }
    }
}

/// RUN: the loaded module's `_start`, once per LOAD.
pub fn run(req: RunRequest<'_>) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let loaded = match loaded_in(&mut t, req.session) {
        Ok(l) => l,
        Err(r) => return r,
    };
    if !matches!(loaded.run, RunState::NotStarted) {
        return st(Status::BadState);
    }
    let place = RunPlace {
        shm: req.shm,
        report: req.report,
    };
    if loaded
        .instance
        .platform
        .wasi
        .configure(req.block.args(), req.block.env(), Some(req.producer))
        .is_err()
    {
        return st(Status::OutOfMemory);
    }
    let args: Vec<&str> = req
        .block
        .args()
        .skip(1)
        .map(|a| core::str::from_utf8(a).unwrap_or(""))
        .collect();
    let export = req.block.entry().map(|name| (name, args.as_slice()));
    let mut cur = match start(&mut loaded.instance, export) {
        Ok(cur) => Box::new(cur),
        Err(stop) => return step_result(loaded, Step::Finished(Err(stop)), None, place),
    };
    let step = resume_run(&mut loaded.instance, &mut cur);
    step_result(loaded, step, Some(cur), place)
}

/// RESUME: continue a run paused with OUTPUT_PENDING.
pub fn resume(handle: u64) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let loaded = match loaded_in(&mut t, handle) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let (mut cur, place) = match core::mem::replace(&mut loaded.run, RunState::Done) {
        RunState::Paused { cur, place } => (cur, place),
        RunState::Flushing {
            result,
            place,
            report,
        } => {
            if !loaded.instance.platform.wasi.flush_tail() {
                loaded.run = RunState::Flushing {
                    result,
                    place,
                    report,
                };
                return [Status::OutputPending.to_raw(), 0, 0, 0];
            }
            return end_run(loaded, result, *report, place);
        }
        other => {
            loaded.run = other;
            return st(Status::BadState);
        }
    };
    let step = resume_run(&mut loaded.instance, &mut cur);
    step_result(loaded, step, Some(cur), place)
}

/// CANCEL: end a paused run; its output so far stays in the ring.
pub fn cancel(handle: u64) -> Regs4 {
    let Some(mut t) = SESSIONS.try_lock() else {
        return st(Status::Busy);
    };
    let loaded = match loaded_in(&mut t, handle) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let place = match loaded.run {
        RunState::Paused { place, .. } | RunState::Flushing { place, .. } => place,
        _ => return st(Status::BadState),
    };
    let mut report = RunReport::new(Status::Cancelled.to_raw() as i64 as i32);
    report.set_message("cancelled");
    end_run(loaded, st(Status::Success), report, place)
}
