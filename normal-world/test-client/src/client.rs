//! The test sequence: Rust entry points for the primary and secondary CPUs, the hand-over
//! between them, the timing report, crash mode and the final summary.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::arch::{self, FpProbe};
use crate::console::Console;
use crate::mode::{self, Mode};
use crate::report::Report;
use crate::{println, psci, timer};

/// Stack index (= PSCI context id) of the secondary CPU.
const SECONDARY_INDEX: u64 = 1;
/// MPIDR of the secondary CPU on QEMU virt (Aff0 = 1).
const SECONDARY_MPIDR: u64 = 1;
/// How long the primary waits for the secondary's checks.
const SECONDARY_TIMEOUT_MS: u64 = 20_000;
/// How long the primary waits for the TEST_FAULT call to come back FAILED.
const CRASH_WAIT_MS: u64 = 20_000;

/// Secondary CPU progress, written by the secondary, polled by the primary.
static SECONDARY_STATE: AtomicU32 = AtomicU32::new(State::Off as u32);
/// The secondary's pass/fail counts, valid once its state is `ChecksDone` or later.
static SECONDARY_PASSED: AtomicU32 = AtomicU32::new(0);
static SECONDARY_FAILED: AtomicU32 = AtomicU32::new(0);
/// Set by the primary when the secondary may call TEST_FAULT (crash mode, after timing).
static CRASH_GO: AtomicU32 = AtomicU32::new(0);
/// The TEST_FAULT kind for the secondary (crash mode).
static CRASH_KIND: AtomicU64 = AtomicU64::new(0);
/// `x0` of the secondary's TEST_FAULT call, valid once its state is `FaultReturned`.
static CRASH_X0: AtomicU64 = AtomicU64::new(0);

#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Off = 0,
    Running = 1,
    ChecksDone = 2,
    CallingFault = 3,
    FaultReturned = 4,
}

fn secondary_state() -> u32 {
    SECONDARY_STATE.load(Ordering::Acquire)
}

/// Primary CPU entry from `_start` (stack set, .bss zeroed, FP/SIMD enabled).
#[unsafe(no_mangle)]
extern "C" fn primary_main(dtb: u64, entry_el: u64) -> ! {
    Console::init();
    println!("tzwasm bare-metal test client");
    let mode = mode::read();
    println!(
        "boot: entered at EL{entry_el}, running at EL{}, MPIDR {:#x}, DTB {dtb:#x}, CNTFRQ {} Hz, mode {:?}",
        arch::current_el(),
        arch::mpidr(),
        arch::counter_frequency(),
        mode
    );
    let mut report = Report::new("");
    report.check(
        "boot: running at NS-EL1",
        arch::current_el() == 1,
        format_args!("CurrentEL is EL{}", arch::current_el()),
    );

    let psci_version = psci::version();
    report.check(
        "psci: PSCI_VERSION >= 1.0",
        psci_version >> 16 >= 1,
        format_args!("version {:#x}", psci_version),
    );

    if mode == Mode::Parallel {
        crate::parallel::run_parallel_mode(&mut report);
        let (passed, failed) = (report.passed, report.failed);
        println!("{passed} passed, {failed} failed");
        Console::flush();
        psci::system_off()
    }
    if mode == Mode::Timing {
        crate::checks::timing();
        let (passed, failed) = (report.passed, report.failed);
        println!("{passed} passed, {failed} failed");
        Console::flush();
        psci::system_off()
    }
    crate::checks::run_primary(&mut report);
    run_secondary(&mut report);
    crate::checks::timing();

    if let Mode::CrashTest { kind } = mode {
        crash_test(&mut report, kind);
    }

    let passed = report.passed;
    let failed = report.failed;
    println!("{passed} passed, {failed} failed");
    Console::flush();
    psci::system_off()
}

/// Starts the secondary CPU, waits for its checks and for it to power itself off again, and
/// adds its counts to `report`. Powered off, its vCPU stays out of the way of the timing.
fn run_secondary(report: &mut Report) {
    if !start_secondary(report, "cpu1: PSCI CPU_ON") {
        return;
    }
    if !wait_state(State::ChecksDone, SECONDARY_TIMEOUT_MS) {
        report.fail(
            "cpu1: checks finished",
            format_args!(
                "timed out after {SECONDARY_TIMEOUT_MS} ms (state {})",
                secondary_state()
            ),
        );
        return;
    }
    report.passed = report
        .passed
        .saturating_add(SECONDARY_PASSED.load(Ordering::Acquire));
    report.failed = report
        .failed
        .saturating_add(SECONDARY_FAILED.load(Ordering::Acquire));

    let info = wait_secondary_off();
    report.check(
        "cpu1: PSCI CPU_OFF (AFFINITY_INFO reports OFF)",
        info == psci::AFFINITY_OFF,
        format_args!("AFFINITY_INFO = {info}"),
    );
}

/// CPU_ON for the secondary; records the result as check `name`.
fn start_secondary(report: &mut Report, name: &str) -> bool {
    let entry = arch::secondary_entry as *const () as u64;
    let status = psci::cpu_on(SECONDARY_MPIDR, entry, SECONDARY_INDEX);
    report.check(
        name,
        status == psci::SUCCESS,
        format_args!("status {status} (is QEMU running with -smp 2?)"),
    );
    status == psci::SUCCESS
}

/// Waits until the secondary's state is at least `state`; false on timeout.
fn wait_state(state: State, timeout_ms: u64) -> bool {
    let deadline = timer::Deadline::after_ms(timeout_ms);
    while secondary_state() < state as u32 {
        if deadline.expired() {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Crash mode: starts the secondary once more to call TEST_FAULT, which makes the secure world
/// fail stop: that call must come back FAILED (the CPU is not lost), every later call on this
/// CPU too, with the message readable; and the secondary must still power off.
fn crash_test(report: &mut Report, kind: u64) {
    const NAME: &str = "crash-test: TEST_FAULT answers FAILED";
    CRASH_KIND.store(kind, Ordering::Relaxed);
    CRASH_GO.store(1, Ordering::Release);
    if !start_secondary(report, "crash-test: PSCI CPU_ON") {
        return;
    }
    if !wait_state(State::CallingFault, SECONDARY_TIMEOUT_MS) {
        report.fail(NAME, format_args!("secondary never made the call"));
        return;
    }
    if !wait_state(State::FaultReturned, CRASH_WAIT_MS) {
        report.fail(
            NAME,
            format_args!("the call did not return within {CRASH_WAIT_MS} ms (a parked CPU?)"),
        );
        return;
    }
    let x0 = CRASH_X0.load(Ordering::Acquire);
    report.check(
        NAME,
        x0 == tzwasm_smc::Status::Failed.to_raw(),
        format_args!("x0 = {x0:#x} ({:?})", tzwasm_smc::Status::from_raw(x0)),
    );
    crate::checks::failed_world_checks(report, kind);
    // Power management still works in the failed state.
    let info = wait_secondary_off();
    report.check(
        "crash-test: cpu1 powers off after the failure (AFFINITY_INFO OFF)",
        info == psci::AFFINITY_OFF,
        format_args!("AFFINITY_INFO = {info}"),
    );
}

/// Polls PSCI AFFINITY_INFO until the secondary CPU reports OFF or SECONDARY_TIMEOUT_MS
/// passes; returns the last answer.
fn wait_secondary_off() -> i32 {
    let deadline = timer::Deadline::after_ms(SECONDARY_TIMEOUT_MS);
    let mut info = psci::affinity_info(SECONDARY_MPIDR);
    while info != psci::AFFINITY_OFF && !deadline.expired() {
        core::hint::spin_loop();
        info = psci::affinity_info(SECONDARY_MPIDR);
    }
    info
}

/// Secondary CPU entry from `secondary_entry` (own stack, FP/SIMD enabled). The first start
/// runs the checks and powers the CPU off; in crash mode a second start calls TEST_FAULT.
#[unsafe(no_mangle)]
extern "C" fn secondary_main(index: u64, entry_el: u64) -> ! {
    if crate::parallel::run_job(index) {
        let status = psci::cpu_off();
        println!("cpu{index}: PSCI CPU_OFF returned {status}");
        arch::park()
    }
    if CRASH_GO.load(Ordering::Acquire) != 0 {
        let kind = CRASH_KIND.load(Ordering::Relaxed);
        println!("crash-test: fault kind {kind} from cpu1");
        println!("crash-test: calling TEST_FAULT");
        SECONDARY_STATE.store(State::CallingFault as u32, Ordering::Release);
        let x0 = crate::checks::call_test_fault(kind);
        println!(
            "crash-test: TEST_FAULT returned x0 = {x0:#x} ({:?})",
            tzwasm_smc::Status::from_raw(x0)
        );
        CRASH_X0.store(x0, Ordering::Release);
        SECONDARY_STATE.store(State::FaultReturned as u32, Ordering::Release);
        let status = psci::cpu_off();
        println!("crash-test: cpu1: PSCI CPU_OFF returned {status}");
        arch::park()
    }

    SECONDARY_STATE.store(State::Running as u32, Ordering::Release);
    let mut report = Report::new("cpu1: ");
    report.check(
        "running at NS-EL1",
        arch::current_el() == 1,
        format_args!(
            "entered at EL{entry_el}, CurrentEL is EL{}",
            arch::current_el()
        ),
    );
    crate::checks::run_secondary(&mut report);
    SECONDARY_PASSED.store(report.passed, Ordering::Release);
    SECONDARY_FAILED.store(report.failed, Ordering::Release);
    SECONDARY_STATE.store(State::ChecksDone as u32, Ordering::Release);
    let status = psci::cpu_off();
    // Only reached if EL3 refused; the primary sees AFFINITY_INFO stay ON and reports it.
    println!("cpu1: PSCI CPU_OFF returned {status}");
    arch::park()
}

/// Any exception taken to NS-EL1 (from `client_vectors`): report it, then power off.
#[unsafe(no_mangle)]
extern "C" fn unexpected_exception(vector: u64, esr: u64, elr: u64, far: u64) -> ! {
    println!(
        "[FAIL] unexpected exception on cpu{}: vector {vector}, ESR {esr:#x} (EC {:#x}), ELR {elr:#x}, FAR {far:#x}",
        arch::mpidr() & 0xff,
        (esr >> 26) & 0x3f
    );
    println!("exception: aborting");
    Console::flush();
    psci::system_off()
}

/// Runs one FP/SIMD survival probe around the SMC `args`; `Err` describes what changed.
pub fn fp_probe(args: [u64; 8], seed: u64, fpcr: u64, fpsr: u64) -> (Result<(), FpLoss>, [u64; 4]) {
    let mut probe = FpProbe {
        args,
        seed,
        fpcr_set: fpcr,
        fpsr_set: fpsr,
        ..FpProbe::default()
    };
    // SAFETY: `probe` is a live, exclusively borrowed FpProbe with the layout fp.S expects;
    // the routine only clobbers registers the SMCCC allows plus the V registers, which this
    // softfloat program never uses.
    let mask = unsafe { arch::fp_smc_probe(&mut probe) };
    let loss = FpLoss {
        v_mask: mask,
        fpcr: (probe.fpcr_before, probe.fpcr_after),
        fpsr: (probe.fpsr_before, probe.fpsr_after),
    };
    let ok = mask == 0 && loss.fpcr.0 == loss.fpcr.1 && loss.fpsr.0 == loss.fpsr.1;
    (if ok { Ok(()) } else { Err(loss) }, probe.results)
}

/// What an FP/SIMD probe found changed.
pub struct FpLoss {
    /// Bit n: V_n changed.
    pub v_mask: u64,
    /// FPCR (before, after).
    pub fpcr: (u64, u64),
    /// FPSR (before, after).
    pub fpsr: (u64, u64),
}

impl core::fmt::Display for FpLoss {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "V registers changed: mask {:#010x}; FPCR {:#x} -> {:#x}; FPSR {:#x} -> {:#x}",
            self.v_mask, self.fpcr.0, self.fpcr.1, self.fpsr.0, self.fpsr.1
        )
    }
}
