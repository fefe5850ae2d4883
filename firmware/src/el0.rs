//! Running code at S-EL0: FP/SIMD ownership, the EL0 confinement registers, then the
//! ERET/exception round trip of `arch/user.S`, decoded into a [`UserExit`].
//!
//! Confinement: on every entry to module code `CNTKCTL_EL1` and `PMUSERENR_EL0` get the
//! secure values (EL0 may touch no timer, counter or PMU register: each such access traps),
//! and on every exit the values found on entry (the normal world's, when the payload never
//! wrote them) are put back, so the normal world gets its own settings back and cannot
//! widen what module code may do by setting them before a RUN.

use crate::arch;
use aarch64_cpu::registers::{Readable, Writeable, CNTKCTL_EL1};
use tzwasm_firmware::user::{classify, sanitize_pstate, UserContext, UserExit};

/// `CNTKCTL_EL1` while module code runs: EL0PCTEN, EL0VCTEN, EVNTEN, EL0VTEN, EL0PTEN all 0
/// (EL0 reads of CNTPCT/CNTVCT/CNTFRQ and every CNTP_*/CNTV_* access trap; no event stream).
pub const SECURE_CNTKCTL: u64 = 0;
/// `PMUSERENR_EL0` while module code runs: EN, SW, CR, ER all 0 (every EL0 PMU access traps).
pub const SECURE_PMUSERENR: u64 = 0;

fn pmuserenr() -> u64 {
    let v: u64;
    // SAFETY: reading PMUSERENR_EL0 at EL1 has no side effects (aarch64-cpu has no wrapper).
    unsafe { core::arch::asm!("mrs {}, pmuserenr_el0", out(reg) v, options(nomem, nostack)) };
    v
}

fn set_pmuserenr(v: u64) {
    // SAFETY: PMUSERENR_EL0 only controls EL0 access to the PMU.
    unsafe { core::arch::asm!("msr pmuserenr_el0, {}", in(reg) v, options(nomem, nostack)) };
}

/// Runs `ctx` at S-EL0 until its next exception.
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
pub fn run(ctx: &mut UserContext) -> UserExit {
    // Module code uses FP/SIMD: save the normal world's registers first (once per call).
    // SAFETY: on this CPU, in the secure world; the save area is this CPU's own.
    unsafe { arch::fpsimd_enter_secure(arch::current_cpu()) };
    ctx.pstate = sanitize_pstate(ctx.pstate);
    let saved = (CNTKCTL_EL1.get(), pmuserenr());
    CNTKCTL_EL1.set(SECURE_CNTKCTL);
    set_pmuserenr(SECURE_PMUSERENR);
    // SAFETY: ctx is a valid, exclusively borrowed UserContext whose SPSR can only ERET to
    // EL0; enter_user returns through the lower-EL vectors with every payload register and
    // stack restored. (The ERET is context-synchronizing: the register writes above apply to
    // the module's first instruction.)
    let kind = unsafe { arch::enter_user(ctx) };
    CNTKCTL_EL1.set(saved.0);
    set_pmuserenr(saved.1);
    classify(kind, ctx.esr, ctx.far)
}
