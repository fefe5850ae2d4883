//! Running code at S-EL0: FP/SIMD ownership, then the ERET/exception round trip of
//! `arch/user.S`, decoded into a [`UserExit`].

use crate::arch;
use tzwasm_firmware::user::{classify, sanitize_pstate, UserContext, UserExit};

/// Runs `ctx` at S-EL0 until its next exception.
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
pub fn run(ctx: &mut UserContext) -> UserExit {
    // Module code uses FP/SIMD: save the normal world's registers first (once per call).
    // SAFETY: on this CPU, in the secure world; the save area is this CPU's own.
    unsafe { arch::fpsimd_enter_secure(arch::current_cpu()) };
    ctx.pstate = sanitize_pstate(ctx.pstate);
    // SAFETY: ctx is a valid, exclusively borrowed UserContext whose SPSR can only ERET to
    // EL0; enter_user returns through the lower-EL vectors with every payload register and
    // stack restored.
    let kind = unsafe { arch::enter_user(ctx) };
    classify(kind, ctx.esr, ctx.far)
}
