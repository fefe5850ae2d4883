//! The TF-A opteed dispatcher ABI (TF-A 2.8 `services/spd/opteed/teesmc_opteed.h`): the
//! function ids the payload uses to hand control back to EL3.

/// `TEESMC_OPTEED_RV(func)`: SMC32 fast call in OEN 62 (Trusted OS) with the given number.
const fn opteed_return(func: u32) -> u32 {
    0xBE00_0000 | func
}

/// Cold boot finished; x1 = address of the opteed vector table.
pub const RETURN_ENTRY_DONE: u32 = opteed_return(0);
/// CPU_ON handled.
pub const RETURN_ON_DONE: u32 = opteed_return(1);
/// CPU_OFF handled.
pub const RETURN_OFF_DONE: u32 = opteed_return(2);
/// CPU_SUSPEND handled.
pub const RETURN_SUSPEND_DONE: u32 = opteed_return(3);
/// CPU resume handled.
pub const RETURN_RESUME_DONE: u32 = opteed_return(4);
/// A normal-world SMC finished; x1..x4 become the normal world's x0..x3.
pub const RETURN_CALL_DONE: u32 = opteed_return(5);
/// A secure FIQ was handled.
pub const RETURN_FIQ_DONE: u32 = opteed_return(6);
/// SYSTEM_OFF handled.
pub const RETURN_SYSTEM_OFF_DONE: u32 = opteed_return(7);
/// SYSTEM_RESET handled.
pub const RETURN_SYSTEM_RESET_DONE: u32 = opteed_return(8);
