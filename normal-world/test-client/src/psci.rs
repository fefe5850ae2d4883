//! PSCI calls the client makes (Arm DEN0022, SMC conduit); EL3 answers them alone.

use crate::arch;

/// PSCI_VERSION (SMC32 fast call).
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// CPU_ON (SMC64): x1 = target MPIDR, x2 = entry point, x3 = context id.
pub const CPU_ON: u32 = 0xC400_0003;
/// SYSTEM_OFF (SMC32).
pub const SYSTEM_OFF: u32 = 0x8400_0008;

/// PSCI return codes the client names.
pub const SUCCESS: i32 = 0;

/// PSCI_VERSION: (major << 16) | minor.
pub fn version() -> u32 {
    arch::smc([u64::from(PSCI_VERSION), 0, 0, 0, 0, 0, 0, 0])[0] as u32
}

/// CPU_ON for `mpidr`, entering at `entry` with x0 = `context`; returns the PSCI status.
pub fn cpu_on(mpidr: u64, entry: u64, context: u64) -> i32 {
    arch::smc([u64::from(CPU_ON), mpidr, entry, context, 0, 0, 0, 0])[0] as i32
}

/// SYSTEM_OFF; parks this CPU if EL3 ever returns.
pub fn system_off() -> ! {
    arch::smc([u64::from(SYSTEM_OFF), 0, 0, 0, 0, 0, 0, 0]);
    arch::park()
}
