//! The Rust side of every entry the assembly makes: cold boot, secondary CPU on, power events,
//! SMCs, and exceptions; and the fail-stop path that a panic or an unexpected S-EL1 exception
//! takes (the record in [`FAILURE`], the abandoned call answered FAILED).

use crate::arch;

use crate::console::{self, CrashWriter};
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use tzwasm_firmware::dispatch::{dispatch, Services};
use tzwasm_firmware::esr::{Esr, ExceptionClass};
use tzwasm_firmware::exception::{write_report, write_summary, ExceptionFrame, VectorKind};
use tzwasm_firmware::failstop::FailRecord;
use tzwasm_firmware::layout::{CPU_STACKS_SIZE, EXCEPTION_STACK_OFFSET, GUARD_SIZE, MAX_CPUS};
use tzwasm_firmware::pool::PoolStats;
use tzwasm_firmware::sessions::Answer;
use tzwasm_smc::args::{SessionCall, ShmHandle, ShmRegisterArgs};
use tzwasm_smc::{El0Program, FaultKind, MeasureSelector, Regs4, Status};

/// Bit n set once CPU n has entered the payload.
static CPUS_SEEN: AtomicU64 = AtomicU64::new(0);

/// The fail-stop record: set by the first panic or unexpected exception, checked by every SMC.
pub static FAILURE: FailRecord = FailRecord::new();

/// What a CPU is doing, for the fail-stop path: outside any call (boot, power events)...
const CPU_IDLE: u8 = 0;
/// ...inside an SMC, which a failure can answer FAILED...
const CPU_IN_CALL: u8 = 1;
/// ...or already handling its own failure.
const CPU_FAILING: u8 = 2;
static CPU_STATE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(CPU_IDLE) }; MAX_CPUS];

/// Stands in for a CPU number past the table (unreachable while MAX_CPUS > 0).
static CPU_STATE_NONE: AtomicU8 = AtomicU8::new(CPU_IDLE);

fn cpu_state(cpu: usize) -> &'static AtomicU8 {
    // `current_cpu` is below MAX_CPUS by construction (the entry code parks any other CPU).
    let last = CPU_STATE.len().saturating_sub(1);
    match CPU_STATE.get(cpu.min(last)) {
        Some(state) => state,
        None => &CPU_STATE_NONE,
    }
}

unsafe extern "C" {
    static __pool_start: u8;
    static __pool_end: u8;
}

/// Arguments of one SMC as the assembly stores them, and on return its four result registers
/// in `x[0..4]`.
#[repr(C)]
pub struct SmcArgs {
    /// x0 = function id, x1..x7 = the normal world's arguments.
    pub x: [u64; 8],
    /// This CPU's index.
    pub cpu: u64,
    /// 1 for a yielding call, 0 for a fast call.
    pub is_yield: u64,
}

fn mark_cpu_seen(cpu: usize) {
    CPUS_SEEN.fetch_or(1 << cpu, Ordering::Relaxed);
}

/// Cold boot on the primary CPU.
#[unsafe(no_mangle)]
extern "C" fn primary_main(cpu: usize, dtb: usize) {
    // Before anything writes a static: .data as loaded, for the firmware measurement.
    crate::device::snapshot_data();
    // The MMU goes on first: until then every access is Device memory, where the exclusive
    // accesses behind the locks below are not reliable on hardware.
    let table_pages = crate::mmu::init_primary();
    console::init();
    mark_cpu_seen(cpu);
    let start = core::ptr::addr_of!(__pool_start) as usize;
    let end = core::ptr::addr_of!(__pool_end) as usize;
    // SAFETY: the linker reserves __pool_start..__pool_end for the pool alone
    // (linker/bl32.ld); called once, before any allocation.
    unsafe { crate::heap::POOL.init(start as *mut u8, end - start) };
    let reservable = ((end - start) as u64).saturating_sub(crate::heap::KERNEL_RESERVE);
    crate::session::MACHINE.book.set_limit(reservable);
    log::info!(
        "tzwasm BL32 v{} on CPU {cpu}; pool {} KiB",
        env!("CARGO_PKG_VERSION"),
        (end - start) / 1024
    );
    log::info!("MMU on: {table_pages} translation-table pages in use");
    crate::platform::init_ns_dram(dtb as u64);
    crate::device::init();
    #[cfg(feature = "test-hooks")]
    crate::measure::init();
    log::info!("initialised, returning ENTRY_DONE to the opteed dispatcher");
}

/// Logs `args`; once the secure world has failed, through the lock-free crash writer instead
/// (in the logger's own line format, so log checks read it alike), because the console lock
/// may be held by a CPU that will never release it.
fn note(level: log::Level, args: core::fmt::Arguments<'_>) {
    if FAILURE.has_failed() {
        let cpu = arch::current_cpu();
        let _ = writeln!(CrashWriter, "[tzwasm cpu{cpu}] {level:5} {args}");
    } else {
        log::log!(level, "{args}");
    }
}

/// A secondary CPU entering through the opteed cpu_on vector.
#[unsafe(no_mangle)]
extern "C" fn secondary_main(cpu: usize) {
    crate::mmu::init_secondary();
    mark_cpu_seen(cpu);
    note(log::Level::Info, format_args!("CPU {cpu} on"));
}

/// CPU off / suspend / resume, system off / reset, and stray FIQs. These keep working after a
/// failure (fail-stop), so the machine can still be powered off or reset.
#[unsafe(no_mangle)]
extern "C" fn power_event(cpu: usize, event: u64) {
    use log::Level::{Debug, Info, Warn};
    match event {
        0 => note(Info, format_args!("CPU {cpu} off")),
        1 => note(Debug, format_args!("CPU {cpu} suspend")),
        2 => note(Debug, format_args!("CPU {cpu} resume")),
        3 => note(Info, format_args!("system off")),
        4 => note(Info, format_args!("system reset")),
        _ => note(
            Warn,
            format_args!("unexpected secure FIQ on CPU {cpu}; ignored"),
        ),
    }
}

/// The platform side of the dispatcher.
struct Platform;

impl Services for Platform {
    fn fail_record(&self) -> &FailRecord {
        &FAILURE
    }

    fn test_hooks(&self) -> bool {
        cfg!(feature = "test-hooks")
    }

    fn pool_stats(&self) -> PoolStats {
        crate::heap::POOL.stats()
    }

    fn cpus_seen(&self) -> u64 {
        CPUS_SEEN.load(Ordering::Relaxed)
    }

    fn max_cpus(&self) -> u64 {
        MAX_CPUS as u64
    }

    fn shm_register(&mut self, args: ShmRegisterArgs) -> Result<ShmHandle, Status> {
        crate::calls::shm_register(args)
    }

    fn shm_unregister(&mut self, handle: ShmHandle) -> Result<(), Status> {
        crate::calls::shm_unregister(handle)
    }

    fn session_call(&mut self, call: SessionCall) -> Answer {
        crate::session::MACHINE.serve(call)
    }

    fn test_fault(&mut self, kind: FaultKind) {
        log::warn!("TEST_FAULT: injecting {}", kind.name());
        crate::fault::inject(kind)
    }

    fn test_shm(&mut self, handle: ShmHandle, offset: u64, len: u64) -> Result<u64, Status> {
        crate::calls::shm_test(handle, offset, len)
    }

    fn test_run(&mut self, handle: ShmHandle, offset: u64, len: u64) -> Regs4 {
        #[cfg(feature = "test-hooks")]
        return crate::calls::test_run(handle, offset, len);
        #[cfg(not(feature = "test-hooks"))]
        {
            let _ = (handle, offset, len);
            [Status::NotSupported.to_raw(), 0, 0, 0]
        }
    }

    fn test_el0(&mut self, program: El0Program, a: u64, b: u64) -> Regs4 {
        #[cfg(feature = "test-hooks")]
        return crate::el0_test::run(program, a, b);
        #[cfg(not(feature = "test-hooks"))]
        {
            let _ = (program, a, b);
            [Status::NotSupported.to_raw(), 0, 0, 0]
        }
    }

    fn test_measure(&mut self, selector: MeasureSelector) -> [u64; 3] {
        #[cfg(feature = "test-hooks")]
        return crate::measure::measure(selector);
        #[cfg(not(feature = "test-hooks"))]
        {
            let _ = selector;
            [0; 3]
        }
    }

    fn test_alloc_fail(&mut self, n: u64) -> [u64; 3] {
        if !cfg!(feature = "test-hooks") {
            return [0; 3];
        }
        let left = crate::heap::POOL.fail_nth(n);
        [left, crate::heap::POOL.injected(), 0]
    }

    fn test_fp(&mut self, a: u64, b: u64) -> [u64; 3] {
        let mut out = [0u64; 3];
        // SAFETY: `out` is a valid, writable [u64; 3]; the routine touches only FP/SIMD
        // registers (whose normal-world values the trap handler saves first) and `out`.
        unsafe { arch::tzwasm_test_fp(a, b, &mut out) };
        out
    }
}

/// A fast or yielding SMC from the normal world. `dispatch` answers FAILED first thing once
/// the secure world has failed.
#[unsafe(no_mangle)]
extern "C" fn smc_handler(args: &mut SmcArgs) {
    let cpu = args.cpu as usize;
    mark_cpu_seen(cpu);
    cpu_state(cpu).store(CPU_IN_CALL, Ordering::Relaxed);
    let r = dispatch(&mut Platform, &args.x);
    // No module address space stays installed while the normal world runs.
    crate::mmu::leave_user_space();
    cpu_state(cpu).store(CPU_IDLE, Ordering::Relaxed);
    args.x[..4].copy_from_slice(&r);
}

/// Names the payload memory region an address falls in, for crash reports.
fn region_of(addr: u64) -> Option<&'static str> {
    const NAMES: [&str; 2] = [
        "guard page below a main stack",
        "guard page below an exception stack",
    ];
    let base = arch::stacks_base() as u64;
    let off = addr.checked_sub(base)?;
    if off >= (MAX_CPUS * CPU_STACKS_SIZE) as u64 {
        return None;
    }
    let within = (off % CPU_STACKS_SIZE as u64) as usize;
    if within < GUARD_SIZE {
        Some(NAMES[0])
    } else if (EXCEPTION_STACK_OFFSET - GUARD_SIZE..EXCEPTION_STACK_OFFSET).contains(&within) {
        Some(NAMES[1])
    } else {
        Some("a CPU stack")
    }
}

/// Marks this CPU as failing; returns what it was doing before.
fn enter_failing(cpu: usize) -> u8 {
    cpu_state(cpu).swap(CPU_FAILING, Ordering::Relaxed)
}

/// Parks this CPU for good, saying so on the console.
fn park(cpu: usize, why: &str) -> ! {
    let _ = writeln!(CrashWriter, "*** CPU {cpu} parked: {why} ***");
    // SAFETY: parking is always safe; this CPU never returns to the normal world.
    unsafe { arch::park_forever() }
}

/// The end of every failure on this CPU, after its report and (for the first failure) the
/// message are written: the secure world answers FAILED from now on; the call this CPU was in
/// is answered FAILED on fresh stacks. A CPU that failed outside a call (at boot, in a power
/// event) has no call to answer and no other way back, so it parks.
fn fail_stop(cpu: usize, was: u8) -> ! {
    let message = FAILURE.message_str();
    let message = if message.is_empty() {
        "(the message is still being recorded by another CPU)"
    } else {
        message
    };
    let _ = writeln!(
        CrashWriter,
        "*** tzwasm FAILED: {message}; every call now answers FAILED ***"
    );
    if was != CPU_IN_CALL {
        park(
            cpu,
            "it failed outside a call, so there is no call to answer",
        );
    }
    cpu_state(cpu).store(CPU_IDLE, Ordering::Relaxed);
    // SAFETY: called at the end of this CPU's SMC, which is abandoned: nothing on either of its
    // stacks is used again, and the normal world gets CALL_DONE with x0 = FAILED.
    unsafe { arch::abandon_call(tzwasm_smc::Status::Failed.to_raw()) }
}

/// An unexpected exception in S-EL1: the report, the fail-stop record, FAILED.
fn crash(frame: &ExceptionFrame, kind: VectorKind) -> ! {
    let cpu = arch::current_cpu();
    let was = enter_failing(cpu);
    let _ = write_report(&mut CrashWriter, cpu, kind, frame, &region_of);
    {
        let (ttbr, root) = crate::mmu::crash_facts();
        let _ = writeln!(CrashWriter, "  TTBR0 {ttbr:#018x}  payload root {root:#x}");
    }
    if was == CPU_FAILING {
        // The failure path itself faulted (a fault inside the crash handler runs on the
        // exception stack and parks in the vectors before reaching here): nothing on this CPU
        // is left to trust, so it does not try to return; the other CPUs answer FAILED.
        park(cpu, "it crashed again while handling its own failure");
    }
    if let Some(mut record) = FAILURE.claim() {
        let _ = write_summary(&mut record, cpu, kind, frame, &region_of);
    }
    fail_stop(cpu, was)
}

/// An exception taken from the payload itself. Returns only if it was handled.
#[unsafe(no_mangle)]
extern "C" fn handle_current_el_exception(frame: &mut ExceptionFrame, kind: u64) {
    let kind = VectorKind::from_raw(kind);
    if kind == VectorKind::CurrentSync && Esr(frame.esr).class() == ExceptionClass::FpSimdTrap {
        // SAFETY: called on this CPU, in the secure world, before any secure FP use.
        unsafe { arch::fpsimd_enter_secure(arch::current_cpu()) };
        return;
    }
    crash(frame, kind)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let cpu = arch::current_cpu();
    let was = enter_failing(cpu);
    let _ = writeln!(CrashWriter, "\n*** tzwasm PANIC on CPU {cpu}: {info}");
    if was == CPU_FAILING {
        park(cpu, "it panicked while handling its own failure");
    }
    if let Some(mut record) = FAILURE.claim() {
        let _ = write!(record, "panic on CPU {cpu}");
        if let Some(at) = info.location() {
            let _ = write!(record, " at {}:{}", at.file(), at.line());
        }
        let _ = write!(record, ": {}", info.message());
    }
    fail_stop(cpu, was)
}
