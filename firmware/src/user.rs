//! The register state of code running at S-EL0 (module code), as `arch/user.S` loads and
//! saves it, and what an exit from S-EL0 means.
//!
//! Module code leaves EL0 only through an exception: an SVC (a helper or import call, or the
//! return stub), a fault (which ends the run as a trap), or an interrupt. [`classify`] turns the
//! vector kind and ESR into a [`UserExit`]; nothing the module wrote is trusted beyond that.

use crate::esr::{Esr, ExceptionClass};

/// SPSR value for entering EL0: AArch64 EL0t, D/A/I/F masked (the payload's own test
/// programs, which must not be preempted).
pub const PSTATE_EL0_MASKED: u64 = 0x3c0;
/// SPSR value for module code: AArch64 EL0t, D/A/F masked, IRQ unmasked. A normal-world
/// interrupt (an IRQ at S-EL1 with GICv2: opteed leaves SCR_EL3.IRQ clear in the secure
/// state) then leaves module code through the lower-EL IRQ vector, and the run returns
/// INTERRUPTED with the interrupt still pending for the normal world to take.
pub const PSTATE_EL0_PREEMPTIBLE: u64 = 0x340;
/// PSTATE.I.
const PSTATE_I: u64 = 1 << 7;
/// PSTATE.{N,Z,C,V}.
const PSTATE_NZCV: u64 = 0xf << 28;

/// The SPSR to ERET with, from a saved one: the module's condition flags and IRQ mask kept,
/// everything else forced (EL0t, AArch64, D/A/F masked, no single-step or PAN games), so no
/// value in a context can take the ERET anywhere but EL0.
pub const fn sanitize_pstate(saved: u64) -> u64 {
    (saved & (PSTATE_NZCV | PSTATE_I)) | PSTATE_EL0_PREEMPTIBLE
}

/// A module thread's registers. Layout fixed by `arch/user.S`.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct UserContext {
    /// x0..x30.
    pub x: [u64; 31],
    /// SP_EL0.
    pub sp: u64,
    /// Where EL0 resumes (ELR_EL1).
    pub pc: u64,
    /// SPSR_EL1 for the ERET.
    pub pstate: u64,
    /// ESR_EL1 of the last exit.
    pub esr: u64,
    /// FAR_EL1 of the last exit.
    pub far: u64,
    /// FPCR.
    pub fpcr: u64,
    /// FPSR.
    pub fpsr: u64,
    /// Q0..Q31.
    pub q: [u128; 32],
    /// TPIDR_EL0, the one system register EL0 can write that the payload does not otherwise
    /// switch: each module thread has its own (zero at first), so no value crosses from one
    /// module to the next.
    pub tpidr_el0: u64,
}

/// Offset of `fpcr` (then `fpsr`), passed to the assembly.
pub const USER_FPCR_OFFSET: usize = core::mem::offset_of!(UserContext, fpcr);
/// Offset of `q`, passed to the assembly.
pub const USER_Q_OFFSET: usize = core::mem::offset_of!(UserContext, q);
const _: () = assert!(core::mem::offset_of!(UserContext, sp) == 248);
const _: () = assert!(core::mem::offset_of!(UserContext, pc) == 256);
const _: () = assert!(core::mem::offset_of!(UserContext, pstate) == 264);
const _: () = assert!(core::mem::offset_of!(UserContext, esr) == 272);
const _: () = assert!(core::mem::offset_of!(UserContext, far) == 280);
/// Offset of `tpidr_el0`, passed to the assembly.
pub const USER_TPIDR_OFFSET: usize = core::mem::offset_of!(UserContext, tpidr_el0);
const _: () = assert!(USER_FPCR_OFFSET == 288 && USER_Q_OFFSET == 304);
const _: () = assert!(USER_TPIDR_OFFSET == 304 + 512);

impl UserContext {
    /// A fresh context that starts at `pc` with stack `sp` and x0.. = `args`; all other
    /// registers zero, FP round-to-nearest.
    pub fn new(pc: u64, sp: u64, args: &[u64]) -> Self {
        let mut x = [0; 31];
        for (r, a) in x.iter_mut().zip(args) {
            *r = *a;
        }
        Self {
            x,
            sp,
            pc,
            pstate: PSTATE_EL0_MASKED,
            esr: 0,
            far: 0,
            fpcr: 0,
            fpsr: 0,
            q: [0; 32],
            tpidr_el0: 0,
        }
    }
}

/// Why module code stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExit {
    /// `svc #imm`: a call into the payload; `x0..x7` hold its arguments.
    Svc {
        /// The SVC immediate.
        imm: u16,
    },
    /// A synchronous exception other than SVC: the module trapped.
    Fault {
        /// The decoded syndrome.
        esr: Esr,
        /// FAR_EL1 for aborts (and PC alignment faults); 0 for other classes, where the
        /// register is UNKNOWN and would show an earlier fault's address (another module's).
        far: u64,
    },
    /// An IRQ or FIQ arrived while module code ran.
    Interrupt,
    /// An SError, or an exception from AArch32 (which we never run): the run cannot go on.
    Fatal {
        /// The vector kind.
        kind: u64,
    },
}

/// Decodes the vector kind `enter_user` returned and the ESR it saved.
pub fn classify(kind: u64, esr: u64, far: u64) -> UserExit {
    let esr = Esr(esr);
    match kind {
        4 if esr.class() == ExceptionClass::Svc64 => UserExit::Svc {
            imm: (esr.iss() & 0xffff) as u16,
        },
        4 => UserExit::Fault {
            esr,
            far: if esr.far_valid() { far } else { 0 },
        },
        5 | 6 => UserExit::Interrupt,
        other => UserExit::Fatal { kind: other },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svc_and_faults() {
        let svc = (0x15 << 26) | (1 << 25) | 0x2a;
        assert_eq!(classify(4, svc, 0), UserExit::Svc { imm: 0x2a });
        let dabt = (0x24 << 26) | (1 << 25) | 0x07;
        match classify(4, dabt, 0x1234) {
            UserExit::Fault { esr, far } => {
                assert_eq!(esr.class(), ExceptionClass::DataAbortLower);
                assert_eq!(far, 0x1234);
            }
            other => panic!("{other:?}"),
        }
        // FAR is UNKNOWN for an undefined instruction or BRK (a stale address): dropped.
        let undef = 1 << 25;
        assert_eq!(
            classify(4, undef, 0xdead_0000),
            UserExit::Fault {
                esr: Esr(undef),
                far: 0
            }
        );
        let brk = (0x3c << 26) | (1 << 25);
        assert!(matches!(
            classify(4, brk, 0x1234),
            UserExit::Fault { far: 0, .. }
        ));
        // A data abort with FnV set: no valid address either.
        let fnv = dabt | (1 << 10);
        assert!(matches!(
            classify(4, fnv, 0x1234),
            UserExit::Fault { far: 0, .. }
        ));
        assert_eq!(classify(5, 0, 0), UserExit::Interrupt);
        assert_eq!(classify(7, 0, 0), UserExit::Fatal { kind: 7 });
        assert_eq!(classify(8, svc, 0), UserExit::Fatal { kind: 8 });
    }

    #[test]
    fn pstate_is_forced_to_el0() {
        assert_eq!(sanitize_pstate(PSTATE_EL0_MASKED), PSTATE_EL0_MASKED);
        assert_eq!(
            sanitize_pstate(PSTATE_EL0_PREEMPTIBLE),
            PSTATE_EL0_PREEMPTIBLE
        );
        // EL1h with everything unmasked and flags set: back to EL0t, flags kept.
        assert_eq!(sanitize_pstate(0xf000_0005), 0xf000_0340);
        // AArch32, single-step, illegal-state bits: dropped.
        assert_eq!(sanitize_pstate(0x0030_0010 | (1 << 21)), 0x340);
    }

    #[test]
    fn fresh_context() {
        let c = UserContext::new(0x1000, 0x8000, &[1, 2, 3]);
        assert_eq!(&c.x[..4], &[1, 2, 3, 0]);
        assert_eq!(c.pstate & 0xf, 0, "EL0t");
        assert_eq!(c.pstate & 0x3c0, 0x3c0, "DAIF masked");
        assert_eq!(c.tpidr_el0, 0);
        assert_eq!(core::mem::size_of::<UserContext>(), 304 + 512 + 16);
    }
}
