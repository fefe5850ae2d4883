//! The exception frame the vectors save, the crash report printed for exceptions the payload
//! does not expect, and the one-line summary of such an exception that becomes the fail-stop
//! message (`crate::failstop`).

use crate::esr::{Esr, ExceptionClass};
use core::fmt::{self, Write};

/// Register state saved by `arch/vectors.S`. Offsets are fixed by the assembly.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExceptionFrame {
    /// x0..x30.
    pub x: [u64; 31],
    /// Stack pointer of the interrupted context.
    pub sp: u64,
    /// ELR_EL1: where the exception was taken.
    pub elr: u64,
    /// SPSR_EL1: the interrupted PSTATE.
    pub spsr: u64,
    /// ESR_EL1.
    pub esr: u64,
    /// FAR_EL1.
    pub far: u64,
}

/// Size of [`ExceptionFrame`], passed to the assembly.
pub const FRAME_SIZE: usize = core::mem::size_of::<ExceptionFrame>();
const _: () = assert!(FRAME_SIZE == 288 && FRAME_SIZE.is_multiple_of(16));
const _: () = assert!(core::mem::offset_of!(ExceptionFrame, sp) == 248);
const _: () = assert!(core::mem::offset_of!(ExceptionFrame, elr) == 256);
const _: () = assert!(core::mem::offset_of!(ExceptionFrame, esr) == 272);
const _: () = assert!(core::mem::offset_of!(ExceptionFrame, far) == 280);

/// Which vector slot was taken (the `kind` the assembly passes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    /// Synchronous exception from the payload.
    CurrentSync,
    /// IRQ while the payload ran.
    CurrentIrq,
    /// FIQ while the payload ran.
    CurrentFiq,
    /// SError while the payload ran.
    CurrentSError,
    /// Synchronous exception from S-EL0.
    LowerSync,
    /// IRQ while S-EL0 ran.
    LowerIrq,
    /// FIQ while S-EL0 ran.
    LowerFiq,
    /// SError while S-EL0 ran.
    LowerSError,
    /// Anything from AArch32 (never expected).
    LowerAarch32(u64),
}

impl VectorKind {
    /// Decodes the assembly's kind number.
    pub fn from_raw(kind: u64) -> Self {
        match kind {
            0 => Self::CurrentSync,
            1 => Self::CurrentIrq,
            2 => Self::CurrentFiq,
            3 => Self::CurrentSError,
            4 => Self::LowerSync,
            5 => Self::LowerIrq,
            6 => Self::LowerFiq,
            7 => Self::LowerSError,
            other => Self::LowerAarch32(other),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::CurrentSync => "synchronous exception in S-EL1",
            Self::CurrentIrq => "unexpected IRQ in S-EL1",
            Self::CurrentFiq => "unexpected FIQ in S-EL1",
            Self::CurrentSError => "SError in S-EL1",
            Self::LowerSync => "synchronous exception from S-EL0",
            Self::LowerIrq => "unexpected IRQ in S-EL0",
            Self::LowerFiq => "unexpected FIQ in S-EL0",
            Self::LowerSError => "SError in S-EL0",
            Self::LowerAarch32(_) => "exception from AArch32",
        }
    }

    /// True if the ESR describes the exception (synchronous and SError entries).
    pub fn has_syndrome(self) -> bool {
        matches!(
            self,
            Self::CurrentSync | Self::CurrentSError | Self::LowerSync | Self::LowerSError
        )
    }
}

/// Decodes SPSR_ELx.M[3:0] into an exception-level name.
fn spsr_mode(spsr: u64) -> &'static str {
    match spsr & 0xf {
        0b0000 => "EL0t",
        0b0100 => "EL1t",
        0b0101 => "EL1h",
        _ => "unexpected mode",
    }
}

/// Writes the crash report for an unexpected exception. `region` names the memory region an
/// address falls in (e.g. "guard page below CPU 1 main stack"), if known. The caller ends the
/// report with what happens next (fail-stop, or the CPU parks).
pub fn write_report(
    w: &mut dyn Write,
    cpu: usize,
    kind: VectorKind,
    frame: &ExceptionFrame,
    region: &dyn Fn(u64) -> Option<&'static str>,
) -> fmt::Result {
    writeln!(
        w,
        "\n*** tzwasm CRASH on CPU {cpu}: {} ***",
        kind.describe()
    )?;
    if kind.has_syndrome() {
        let esr = Esr(frame.esr);
        writeln!(w, "  {esr}")?;
        if esr.is_abort()
            || matches!(
                esr.class(),
                ExceptionClass::PcAlignment | ExceptionClass::SpAlignment
            )
        {
            write!(w, "  FAR  {:#018x}", frame.far)?;
            match region(frame.far) {
                Some(name) => writeln!(w, " ({name})")?,
                None => writeln!(w)?,
            }
        }
    }
    writeln!(
        w,
        "  ELR  {:#018x}  SPSR {:#010x} ({})  SP {:#018x}",
        frame.elr,
        frame.spsr,
        spsr_mode(frame.spsr),
        frame.sp
    )?;
    if let Some(name) = region(frame.sp) {
        writeln!(w, "  SP is in {name}")?;
    }
    for (i, pair) in frame.x.chunks(2).enumerate() {
        match pair {
            [a, b] => writeln!(w, "  x{:<2} {a:#018x}  x{:<2} {b:#018x}", 2 * i, 2 * i + 1)?,
            [a] => writeln!(w, "  x{:<2} {a:#018x}", 2 * i)?,
            _ => {}
        }
    }
    Ok(())
}

/// Writes the one-line summary of an unexpected exception (the fail-stop message): the CPU,
/// the vector, the exception class, for aborts the fault and FAR (with its region), and ELR.
pub fn write_summary(
    w: &mut dyn Write,
    cpu: usize,
    kind: VectorKind,
    frame: &ExceptionFrame,
    region: &dyn Fn(u64) -> Option<&'static str>,
) -> fmt::Result {
    write!(w, "CPU {cpu}: {}", kind.describe())?;
    if kind.has_syndrome() {
        let esr = Esr(frame.esr);
        write!(w, ": EC {:#04x} ({})", esr.ec_raw(), esr.class().name())?;
        if let Some(fs) = esr.fault_status() {
            write!(w, ", {fs}")?;
            if matches!(
                esr.class(),
                ExceptionClass::DataAbortLower | ExceptionClass::DataAbortSame
            ) {
                w.write_str(if esr.is_write() {
                    " (write)"
                } else {
                    " (read)"
                })?;
            }
        }
        if esr.far_valid() {
            write!(w, ", FAR {:#x}", frame.far)?;
            if let Some(name) = region(frame.far) {
                write!(w, " ({name})")?;
            }
        }
    }
    write!(w, ", ELR {:#x}", frame.elr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_fault_and_region() {
        let mut frame = ExceptionFrame {
            esr: (0x25 << 26) | (1 << 25) | (1 << 6) | 0x07,
            far: 0x0e20_0ff8,
            elr: 0x0e10_1234,
            spsr: 0x3c5,
            sp: 0x0e20_1000,
            ..Default::default()
        };
        frame.x[30] = 0xdead;
        let mut out = String::new();
        let region = |a: u64| (a < 0x0e20_1000).then_some("guard page below CPU 0 main stack");
        write_report(&mut out, 0, VectorKind::CurrentSync, &frame, &region).unwrap();
        assert!(
            out.contains("CRASH on CPU 0: synchronous exception in S-EL1"),
            "{out}"
        );
        assert!(out.contains("data abort from same EL"), "{out}");
        assert!(out.contains("translation fault, level 3, write"), "{out}");
        assert!(
            out.contains("FAR  0x000000000e200ff8 (guard page below CPU 0 main stack)"),
            "{out}"
        );
        assert!(out.contains("ELR  0x000000000e101234"), "{out}");
        assert!(out.contains("(EL1h)"), "{out}");
        assert!(out.contains("x30 0x000000000000dead"), "{out}");
        assert!(
            !out.contains("parked"),
            "the caller says what happens next: {out}"
        );

        let mut line = String::new();
        write_summary(&mut line, 0, VectorKind::CurrentSync, &frame, &region).unwrap();
        assert_eq!(
            line,
            "CPU 0: synchronous exception in S-EL1: EC 0x25 (data abort from same EL), \
             translation fault, level 3 (write), FAR 0xe200ff8 (guard page below CPU 0 main \
             stack), ELR 0xe101234"
        );
        assert!(line.len() <= tzwasm_smc::info::FAILURE_MESSAGE_MAX);
    }

    #[test]
    fn summary_of_an_undefined_instruction_has_no_far() {
        let frame = ExceptionFrame {
            esr: 1 << 25,
            far: 0x1234,
            elr: 0x0e10_2000,
            ..Default::default()
        };
        let mut line = String::new();
        write_summary(&mut line, 1, VectorKind::CurrentSync, &frame, &|_| None).unwrap();
        assert_eq!(
            line,
            "CPU 1: synchronous exception in S-EL1: EC 0x00 (unknown reason / undefined \
             instruction), ELR 0xe102000"
        );
        let mut line = String::new();
        write_summary(&mut line, 1, VectorKind::CurrentIrq, &frame, &|_| None).unwrap();
        assert_eq!(line, "CPU 1: unexpected IRQ in S-EL1, ELR 0xe102000");
    }

    #[test]
    fn irq_report_has_no_syndrome() {
        let mut out = String::new();
        let frame = ExceptionFrame::default();
        write_report(&mut out, 1, VectorKind::CurrentIrq, &frame, &|_| None).unwrap();
        assert!(out.contains("unexpected IRQ in S-EL1"));
        assert!(!out.contains("ESR"));
    }
}
