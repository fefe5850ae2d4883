//! Running a WAMR AOT module in the secure world: the `tzwasm-aot-loader` runtime's
//! [`Instance`] on the secure [`SecurePlatform`] (windows.rs: the instance's own address space,
//! its windows and entry stubs) with a [`wasi::RunWasi`] host (wasi.rs: args, environment, output
//! ring, clocks; the file channel and the module's descriptors are the library's
//! [`tzwasm_firmware::files::RunFiles`]), and the run loop around [`crate::el0::run`]: enter an
//! export at S-EL0, serve its helper and import SVCs, and stop on return, trap, a full output
//! ring or a pending normal-world interrupt, with the module's registers saved in a [`Cursor`]
//! for RESUME. Faults are reported as (window, offset), never as secure virtual addresses.
//!
//! LOAD instantiates with it (session.rs). TEST_RUN (test builds) also runs `_start`, with
//! the module's stdout/stderr going to the secure log until RUN and the output ring exist.

mod wasi;
mod windows;

pub use windows::SecurePlatform;

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use tzwasm_aot_loader::layout::ExceptionId;
use tzwasm_aot_loader::runtime::abi::{self, CallRegs};
use tzwasm_aot_loader::runtime::{Instance, InstanceConfig, Stop, Trap, Value};
use tzwasm_aot_loader::{parse, Arch};
use tzwasm_firmware::user::{UserContext, UserExit, PSTATE_EL0_PREEMPTIBLE};
use windows::RETURN_ID;

/// A message formatted without aborting: empty if the pool (or the session's quota) cannot
/// hold it. Every message on a path the normal world or a module reaches is made with it.
pub fn text(args: core::fmt::Arguments<'_>) -> String {
    tzwasm_aot_loader::fallible::format(args).unwrap_or_default()
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; RUN next
/// What a run ended with.
pub enum Outcome {
    /// `_start` returned or called proc_exit.
    Exit(u32),
    /// A trap: WAMR id (if any) and its message.
    Trap(Option<u32>, String),
    /// The file did not load or instantiate.
    LoadError(String),
}

#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))] // TEST_RUN now; RUN next
/// Loads `file` (an aarch64 AOT image, already copied into secure memory) and runs its
/// `_start` at S-EL0.
pub fn run_command(file: &[u8]) -> (Outcome, [u64; 2]) {
    let module = match parse(file, Arch::Aarch64) {
        Ok(m) => m,
        Err(e) => return (Outcome::LoadError(text(format_args!("{e}"))), [0; 2]),
    };
    let config = InstanceConfig {
        heap_quota: 8 << 20,
        stack_size: 256 << 10,
        ..Default::default()
    };
    let mut inst = match Instance::new(&module, file, SecurePlatform::new(), config) {
        Ok(i) => i,
        Err(e) => return (Outcome::LoadError(text(format_args!("{e}"))), [0; 2]),
    };
    let name: &[u8] = b"module";
    if inst
        .platform
        .wasi
        .configure([name].into_iter(), [].into_iter(), None)
        .is_err()
    {
        return (
            Outcome::LoadError(text(format_args!("out of memory"))),
            [0; 2],
        );
    }
    let outcome = match start(&mut inst, None).and_then(|mut cur| {
        match resume(&mut inst, &mut cur) {
            Step::Finished(r) => r,
            Step::Paused => Err(Trap::Message(text(format_args!("paused without a ring"))).into()),
            Step::Interrupted => Err(Trap::Message(text(format_args!("interrupted"))).into()),
            Step::InputPending => {
                Err(Trap::Message(text(format_args!("waiting for input without a ring"))).into())
            }
            Step::FileRequest => {
                Err(Trap::Message(text(format_args!("a file call without a channel"))).into())
            }
        }
    }) {
        Ok(()) => Outcome::Exit(0),
        Err(Stop::Exit(code)) => Outcome::Exit(code),
        Err(Stop::Trap(t)) => Outcome::Trap(t.id().map(|i| i as u32), text(format_args!("{t}"))),
        Err(Stop::Pending | Stop::Interrupted) => {
            Outcome::Trap(None, text(format_args!("paused without a ring")))
        }
    };
    inst.platform.wasi.finish();
    let written = inst.platform.wasi.written;
    drop(inst);
    (outcome, written)
}

/// Where a run stands after [`resume`] returns.
pub enum Step {
    /// The function returned (`Ok`), exited or trapped.
    Finished(Result<(), Stop>),
    /// The output ring is full: `ctx` is saved with the pending call to be issued again.
    Paused,
    /// A normal-world interrupt arrived while module code ran: `ctx` is saved where it was
    /// interrupted.
    Interrupted,
    /// The module waits for stdin and the input ring is empty: `ctx` is saved with the
    /// pending call to be issued again.
    InputPending,
    /// The module made a file call: its request is in the file channel, `ctx` is saved with
    /// the call to be issued again once the tool answered.
    FileRequest,
}

/// What a RUN calls after the start function.
enum Next {
    /// Nothing: the call in `ctx` is the last one.
    Nothing,
    /// The WASI command's `_start`.
    Command,
    /// An export with its parsed arguments.
    Export(u32, Vec<Value>),
}

/// A run in progress: the module's registers, what is running, and what follows (the
/// module's start function, if it has one, runs first).
pub struct Cursor {
    /// The module thread's registers.
    pub ctx: UserContext,
    /// The export running now, whose results are printed when it returns.
    export: Option<u32>,
    next: Next,
}

fn enter(
    inst: &mut Instance<'_, SecurePlatform>,
    index: u32,
    args: &[Value],
) -> Result<UserContext, Stop> {
    let regs = inst.prepare_call(index, args)?;
    let ret_stub = inst.platform.stub_page().map(|(va, _)| va).ok_or_else(|| {
        Stop::Trap(Trap::Message(text(format_args!(
            "allocate memory failed (entry stubs)"
        ))))
    })?;
    let mut ctx = UserContext::new(regs.func, regs.sp, &regs.int);
    for (q, v) in ctx.q.iter_mut().zip(regs.vec.iter()) {
        *q = u128::from(v[0]) | (u128::from(v[1]) << 64);
    }
    ctx.x[30] = ret_stub;
    ctx.pstate = PSTATE_EL0_PREEMPTIBLE;
    Ok(ctx)
}

fn main_index(inst: &Instance<'_, SecurePlatform>) -> Result<u32, Stop> {
    inst.export_func("_start").ok_or_else(|| {
        Stop::Trap(Trap::Message(text(format_args!(
            "module exports no _start"
        ))))
    })
}

/// Prepares a run: the module's start function (if any), then `_start` (`export` = None) or
/// the export named with its parameters as text (parsed as iwasm's `-f` does).
pub fn start(
    inst: &mut Instance<'_, SecurePlatform>,
    export: Option<(&str, &[&str])>,
) -> Result<Cursor, Stop> {
    // Preparing a call writes the module's exec_env and stack through their windows.
    inst.platform.activate();
    let next = match export {
        None => {
            main_index(inst)?;
            Next::Command
        }
        Some((name, params)) => {
            let index = inst.export_func(name).ok_or_else(|| {
                Stop::Trap(Trap::Message(text(format_args!(
                    "lookup function {name} failed"
                ))))
            })?;
            let ty = inst
                .func_type(index)
                .ok_or_else(|| Stop::Trap(Trap::Message(text(format_args!("bad export type")))))?;
            let args = abi::parse_args(ty, params).map_err(|m| Stop::Trap(Trap::Message(m)))?;
            Next::Export(index, args)
        }
    };
    let mut cur = Cursor {
        ctx: UserContext::new(0, 0, &[]),
        export: None,
        next,
    };
    match inst.start_function() {
        Some(f) => cur.ctx = enter(inst, f, &[])?,
        None => advance(inst, &mut cur)?,
    }
    Ok(cur)
}

/// Sets up the next call of the run.
fn advance(inst: &mut Instance<'_, SecurePlatform>, cur: &mut Cursor) -> Result<(), Stop> {
    match core::mem::replace(&mut cur.next, Next::Nothing) {
        Next::Nothing => {}
        Next::Command => cur.ctx = enter(inst, main_index(inst)?, &[])?,
        Next::Export(index, args) => {
            cur.ctx = enter(inst, index, &args)?;
            cur.export = Some(index);
        }
    }
    Ok(())
}

/// Runs a prepared run until it returns, stops, or has to wait for the output ring. When an
/// export returns, its results are printed on stdout as iwasm prints them.
pub fn resume(inst: &mut Instance<'_, SecurePlatform>, cur: &mut Cursor) -> Step {
    inst.platform.activate();
    loop {
        match resume_ctx(inst, &mut cur.ctx) {
            Step::Finished(Ok(())) if !matches!(cur.next, Next::Nothing) => {
                if let Err(stop) = advance(inst, cur) {
                    return Step::Finished(Err(stop));
                }
            }
            Step::Finished(Ok(())) => {
                if let Some(index) = cur.export.take() {
                    let q0 = cur.ctx.q[0];
                    let regs = CallRegs {
                        ret_int: [cur.ctx.x[0], cur.ctx.x[1]],
                        ret_vec: [q0 as u64, (q0 >> 64) as u64],
                        ..CallRegs::default()
                    };
                    let line = inst
                        .finish_call(index, &regs)
                        .and_then(|r| Ok(abi::format_results(&r)?));
                    match line {
                        Ok(line) => {
                            let wasi = &mut inst.platform.wasi;
                            if !(wasi.queue_stdout(line.as_bytes()) && wasi.queue_stdout(b"\n")) {
                                return Step::Finished(Err(Trap::Message(text(format_args!(
                                    "allocate memory failed"
                                )))
                                .into()));
                            }
                        }
                        Err(stop) => return Step::Finished(Err(stop)),
                    }
                }
                return Step::Finished(Ok(()));
            }
            other => return other,
        }
    }
}

/// Runs module code from `ctx` at S-EL0, serving helper and import SVCs, until the call
/// returns, stops, or has to wait for the output ring.
fn resume_ctx(inst: &mut Instance<'_, SecurePlatform>, ctx: &mut UserContext) -> Step {
    // The module runs in its own address space, which also stays installed while the payload
    // serves its SVCs (helpers reach module memory through the windows' VAs).
    inst.platform.activate();
    loop {
        let entered = crate::arch::counter();
        let exit = crate::el0::run(ctx);
        let t = &mut inst.platform.run_ticks;
        t.el0 = t
            .el0
            .saturating_add(crate::arch::counter().wrapping_sub(entered));
        match exit {
            UserExit::Svc { imm: 0 } => {
                inst.platform.run_ticks.svcs = inst.platform.run_ticks.svcs.saturating_add(1);
                let id = ctx.x[16];
                if id == RETURN_ID {
                    return Step::Finished(Ok(()));
                }
                let args = call_args(inst, ctx);
                inst.platform.wasi.begin_call();
                match inst.dispatch(id, &args) {
                    Ok(v) => ctx.x[0] = v,
                    Err(Stop::Interrupted) => {
                        // A long helper stopped between chunks for a pending normal-world
                        // interrupt; the instance keeps its progress. Rewinding to the `svc`
                        // re-issues the same call with the same registers on RESUME, and it
                        // continues where it stopped.
                        ctx.pc -= 4;
                        return Step::Interrupted;
                    }
                    Err(Stop::Pending) => {
                        // Issue the same `svc` again on resume: the stub's registers are
                        // all still in ctx, and the call had no effect.
                        ctx.pc -= 4;
                        if inst.platform.wasi.take_sleep_cut() {
                            return Step::Interrupted;
                        }
                        if inst.platform.wasi.take_input_wait() {
                            return Step::InputPending;
                        }
                        if inst.platform.wasi.take_file_posted() {
                            return Step::FileRequest;
                        }
                        return Step::Paused;
                    }
                    Err(stop) => return Step::Finished(Err(stop)),
                }
            }
            UserExit::Svc { imm } => {
                return Step::Finished(Err(Trap::Message(text(format_args!(
                    "unexpected svc #{imm}"
                )))
                .into()))
            }
            UserExit::Fault { .. } if inst.platform.in_el0_lib(ctx.pc) => {
                // memmove/memcpy/memset (el0_lib.S) on memory the module cannot write or
                // read: what the payload's own helper answered before they ran at EL0.
                return Step::Finished(Err(ExceptionId::OutOfBoundsMemoryAccess.into()));
            }
            UserExit::Fault { esr, far } => {
                return Step::Finished(Err(inst.fault(far).unwrap_or_else(|| {
                    let at = if esr.far_valid() {
                        inst.platform.describe(far)
                    } else {
                        text(format_args!("no fault address"))
                    };
                    Trap::Message(text(format_args!("module fault: {esr}, at {at}"))).into()
                })))
            }
            UserExit::Interrupt => return Step::Interrupted,
            UserExit::Fatal { kind } => {
                return Step::Finished(Err(Trap::Message(text(format_args!(
                    "fatal exception kind {kind}"
                )))
                .into()))
            }
        }
    }
}

/// The integer arguments of the module's call at an `svc`: x0..x7, then the words the
/// AAPCS64 passes on the stack (from SP_EL0 up; WASI's `path_open` has 10 native arguments),
/// each read only if it lies inside the instance's own stack window (else 0).
fn call_args(inst: &Instance<'_, SecurePlatform>, ctx: &UserContext) -> [u64; 16] {
    let mut args = [0u64; 16];
    let (regs, stacked) = args.split_at_mut(8);
    regs.copy_from_slice(ctx.x.get(..8).unwrap_or(&[0; 8]));
    let (low, high) = inst.stack();
    for (k, slot) in stacked.iter_mut().enumerate() {
        let Some(at) = ctx.sp.checked_add(8 * k as u64) else {
            break;
        };
        if at < low || at.checked_add(8).is_none_or(|end| end > high) || at % 8 != 0 {
            break;
        }
        // SAFETY: an aligned word inside this instance's stack window, which is mapped RW
        // (pool pages) in its address space, installed while the payload serves its SVCs.
        *slot = unsafe { core::ptr::read_volatile(at as *const u64) };
    }
    args
}

/// CPUs executing module code right now.
pub static RUNS_NOW: AtomicU64 = AtomicU64::new(0);
/// The most CPUs seen executing module code at once since boot (STATS page 4; test builds
/// let a module read it through `clock_time_get`).
pub static RUNS_PEAK: AtomicU64 = AtomicU64::new(0);

/// Module code runs between these: counts the CPUs doing so at once.
pub fn running<R>(f: impl FnOnce() -> R) -> R {
    let now = RUNS_NOW.fetch_add(1, Ordering::AcqRel) + 1;
    RUNS_PEAK.fetch_max(now, Ordering::AcqRel);
    let r = f();
    RUNS_NOW.fetch_sub(1, Ordering::AcqRel);
    r
}
