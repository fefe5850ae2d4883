//! Fault injection for the TEST_FAULT call (test-hooks builds only): each kind provokes a real
//! exception in the payload so the system tests can check the crash report.

use tzwasm_smc::FaultKind;

/// Read-only data to write to.
static RODATA_TARGET: u64 = 0x5afe;
/// Writable, never-executable data to branch to.
static mut DATA_TARGET: [u32; 4] = [0xd65f03c0; 4]; // `ret`, to show XN is what stops it

/// Runs off the bottom of this CPU's stack into its guard page: never returns.
#[cfg(feature = "test-hooks")]
#[inline(never)]
#[allow(unconditional_recursion)] // the point: it ends in the guard page's translation fault
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 128];
    core::hint::black_box(&frame);
    recurse(depth + 1).wrapping_add(core::hint::black_box(frame[0]))
}

/// Provokes `kind`. Returns only in builds without test hooks (where it logs and does nothing)
/// or if the fault unexpectedly did not happen.
pub fn inject(kind: FaultKind) {
    if !cfg!(feature = "test-hooks") {
        log::error!("TEST_FAULT is not served by this build");
        return;
    }
    match kind {
        FaultKind::DataAbortUnmapped => {
            // SAFETY: deliberately faulting: VA 0x1000 is never mapped (translation fault).
            let v = unsafe { core::ptr::read_volatile(0x1000 as *const u64) };
            core::hint::black_box(v);
        }
        FaultKind::UndefinedInstruction => {
            // SAFETY: deliberately faulting: UDF is permanently undefined.
            unsafe { core::arch::asm!("udf #0xbad", options(nomem, nostack)) };
        }
        FaultKind::StackGuardOverflow => {
            #[cfg(feature = "test-hooks")]
            core::hint::black_box(recurse(0));
        }
        FaultKind::WriteToReadOnly => {
            let p = core::ptr::addr_of!(RODATA_TARGET).cast_mut();
            // SAFETY: deliberately faulting: the page is mapped read-only (permission fault).
            unsafe { core::ptr::write_volatile(p, 0) };
        }
        FaultKind::ExecuteNonExecutable => {
            let target = core::ptr::addr_of_mut!(DATA_TARGET) as usize;
            // SAFETY: deliberately faulting: the page is XN, so the branch takes an
            // instruction abort before anything executes.
            unsafe { core::arch::asm!("blr {}", in(reg) target, clobber_abi("C")) };
        }
        // The test-hooks-only TEST_FAULT exists to exercise fail-stop: this panic is the point.
        #[allow(clippy::panic)]
        FaultKind::Panic => panic!("TEST_FAULT: deliberate panic"),
    }
    log::error!("TEST_FAULT {}: the fault did not happen", kind.name());
}
