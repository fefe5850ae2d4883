//! PSCI calls the client makes (Arm DEN0022, SMC conduit); EL3 answers them alone.

use crate::arch;

/// PSCI_VERSION (SMC32 fast call).
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// CPU_ON (SMC64): x1 = target MPIDR, x2 = entry point, x3 = context id.
pub const CPU_ON: u32 = 0xC400_0003;
/// CPU_OFF (SMC32): powers down the calling CPU; returns only on failure.
pub const CPU_OFF: u32 = 0x8400_0002;
/// AFFINITY_INFO (SMC64): x1 = target affinity, x2 = lowest affinity level; returns 0 = ON,
/// 1 = OFF, 2 = ON_PENDING.
pub const AFFINITY_INFO: u32 = 0xC400_0004;
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

/// CPU_OFF for the calling CPU; returns the PSCI status if EL3 refuses.
pub fn cpu_off() -> i32 {
    arch::smc([u64::from(CPU_OFF), 0, 0, 0, 0, 0, 0, 0])[0] as i32
}

/// AFFINITY_INFO at level 0 for `mpidr`.
pub fn affinity_info(mpidr: u64) -> i32 {
    arch::smc([u64::from(AFFINITY_INFO), mpidr, 0, 0, 0, 0, 0, 0])[0] as i32
}

/// AFFINITY_INFO result: the CPU is off.
pub const AFFINITY_OFF: i32 = 1;

/// SYSTEM_OFF; parks this CPU if EL3 ever returns.
pub fn system_off() -> ! {
    arch::smc([u64::from(SYSTEM_OFF), 0, 0, 0, 0, 0, 0, 0]);
    arch::park()
}
