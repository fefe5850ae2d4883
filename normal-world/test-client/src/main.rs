//! tzwasm bare-metal test client: a no_std BL33 that TF-A enters at NS-EL1 on QEMU virt.
//!
//! It calls every implemented tzwasm SMC from the boot CPU and from a secondary CPU started
//! with PSCI CPU_ON, checks the answers (including bad inputs and FP/SIMD register survival),
//! times a null call against PSCI_VERSION, prints one line per check and a final
//! `N passed, M failed`, then powers the machine off with PSCI SYSTEM_OFF.
//!
//! Crash mode: when the u64 at [`mode::MODE_ADDR`] holds [`mode::CRASH_TEST_MAGIC`] (QEMU:
//! `-device loader,addr=0x5ffff000,data=0xfa177e57,data-len=8`), the secondary CPU finally
//! calls TEST_FAULT, which makes the secure world fail stop: the call answers FAILED, and the
//! primary checks that every later call does too and reads the failure message.
#![cfg_attr(target_os = "none", no_std, no_main)]
// `tzwasm_smc::runner::Error` deliberately carries the 256-byte LOAD report (no allocator to
// box it in); passing it by value through a few results here is fine.
#![allow(clippy::result_large_err)]

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod checks;
#[cfg(target_os = "none")]
mod client;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod hostile;
#[cfg(target_os = "none")]
mod irq;
#[cfg(target_os = "none")]
mod isolation;
#[cfg(target_os = "none")]
mod mode;
#[cfg(target_os = "none")]
mod parallel;
#[cfg(target_os = "none")]
mod psci;
#[cfg(target_os = "none")]
mod report;
#[cfg(target_os = "none")]
mod timer;

/// The bare-metal image has no `main`; on the host this binary is an empty shell so the
/// workspace builds everywhere.
#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("[FAIL] panic on cpu{}: {}", arch::mpidr() & 0xff, info);
    println!("panic: aborting");
    console::Console::flush();
    psci::system_off()
}
