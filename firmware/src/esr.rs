//! Decoding of ESR_EL1 (Exception Syndrome Register) for crash reports and fault routing.
//!
//! Field names follow the Arm ARM (D17.2.40): EC (exception class), IL, ISS, and for aborts
//! the DFSC/IFSC fault status code and WnR.

use core::fmt;

/// ESR_EL1 as read by the exception vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Esr(pub u64);

/// Exception classes the payload distinguishes (ESR_ELx.EC, bits [31:26]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    /// 0x00: unknown reason (e.g. an undefined instruction).
    Unknown,
    /// 0x01: WFI or WFE trapped.
    WfxTrap,
    /// 0x07: access to SVE, Advanced SIMD or floating point trapped by CPACR_EL1.FPEN.
    FpSimdTrap,
    /// 0x0e: illegal execution state.
    IllegalState,
    /// 0x15: SVC from AArch64.
    Svc64,
    /// 0x17: SMC from AArch64.
    Smc64,
    /// 0x18: MSR/MRS/system instruction trapped.
    SysRegTrap,
    /// 0x20: instruction abort from a lower exception level.
    InstrAbortLower,
    /// 0x21: instruction abort without a change in exception level.
    InstrAbortSame,
    /// 0x22: PC alignment fault.
    PcAlignment,
    /// 0x24: data abort from a lower exception level.
    DataAbortLower,
    /// 0x25: data abort without a change in exception level.
    DataAbortSame,
    /// 0x26: SP alignment fault.
    SpAlignment,
    /// 0x2c: trapped floating-point exception.
    FpException,
    /// 0x2f: SError interrupt.
    SError,
    /// 0x3c: BRK instruction.
    Brk,
    /// Anything else, with its raw value.
    Other(u8),
}

impl ExceptionClass {
    /// Human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown reason / undefined instruction",
            Self::WfxTrap => "WFI/WFE trapped",
            Self::FpSimdTrap => "FP/SIMD access trapped",
            Self::IllegalState => "illegal execution state",
            Self::Svc64 => "SVC (AArch64)",
            Self::Smc64 => "SMC (AArch64)",
            Self::SysRegTrap => "system register access trapped",
            Self::InstrAbortLower => "instruction abort from lower EL",
            Self::InstrAbortSame => "instruction abort from same EL",
            Self::PcAlignment => "PC alignment fault",
            Self::DataAbortLower => "data abort from lower EL",
            Self::DataAbortSame => "data abort from same EL",
            Self::SpAlignment => "SP alignment fault",
            Self::FpException => "trapped floating-point exception",
            Self::SError => "SError interrupt",
            Self::Brk => "BRK instruction",
            Self::Other(_) => "other exception class",
        }
    }
}

impl Esr {
    /// EC, bits [31:26].
    pub fn ec_raw(self) -> u8 {
        ((self.0 >> 26) & 0x3f) as u8
    }

    /// The decoded exception class.
    pub fn class(self) -> ExceptionClass {
        match self.ec_raw() {
            0x00 => ExceptionClass::Unknown,
            0x01 => ExceptionClass::WfxTrap,
            0x07 => ExceptionClass::FpSimdTrap,
            0x0e => ExceptionClass::IllegalState,
            0x15 => ExceptionClass::Svc64,
            0x17 => ExceptionClass::Smc64,
            0x18 => ExceptionClass::SysRegTrap,
            0x20 => ExceptionClass::InstrAbortLower,
            0x21 => ExceptionClass::InstrAbortSame,
            0x22 => ExceptionClass::PcAlignment,
            0x24 => ExceptionClass::DataAbortLower,
            0x25 => ExceptionClass::DataAbortSame,
            0x26 => ExceptionClass::SpAlignment,
            0x2c => ExceptionClass::FpException,
            0x2f => ExceptionClass::SError,
            0x3c => ExceptionClass::Brk,
            other => ExceptionClass::Other(other),
        }
    }

    /// ISS, bits [24:0].
    pub fn iss(self) -> u32 {
        (self.0 & 0x1ff_ffff) as u32
    }

    /// True for instruction and data aborts, whose ISS holds a fault status code.
    pub fn is_abort(self) -> bool {
        matches!(
            self.class(),
            ExceptionClass::InstrAbortLower
                | ExceptionClass::InstrAbortSame
                | ExceptionClass::DataAbortLower
                | ExceptionClass::DataAbortSame
        )
    }

    /// True if FAR_EL1 holds the faulting address for this exception: an instruction or data
    /// abort without ISS.FnV (bit 10), or a PC alignment fault. For every other class the
    /// Arm ARM leaves FAR_EL1 UNKNOWN: in practice a stale address of an earlier fault.
    pub fn far_valid(self) -> bool {
        (self.is_abort() && self.iss() & (1 << 10) == 0) || self.ec_raw() == 0x22
    }

    /// For data aborts: WnR, true if the access was a write.
    pub fn is_write(self) -> bool {
        matches!(
            self.class(),
            ExceptionClass::DataAbortLower | ExceptionClass::DataAbortSame
        ) && self.iss() & (1 << 6) != 0
    }

    /// For aborts: the DFSC/IFSC, bits [5:0].
    pub fn fault_status(self) -> Option<FaultStatus> {
        self.is_abort()
            .then(|| FaultStatus::from_code((self.iss() & 0x3f) as u8))
    }
}

/// Abort fault status codes (DFSC/IFSC) the payload names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStatus {
    /// Address size fault at the given level.
    AddressSize(u8),
    /// Translation fault (nothing mapped) at the given level.
    Translation(u8),
    /// Access flag fault at the given level.
    AccessFlag(u8),
    /// Permission fault at the given level.
    Permission(u8),
    /// Synchronous external abort.
    External,
    /// Alignment fault.
    Alignment,
    /// TLB conflict abort.
    TlbConflict,
    /// Any other code.
    Other(u8),
}

impl FaultStatus {
    /// Decodes a 6-bit DFSC/IFSC.
    pub fn from_code(code: u8) -> Self {
        let level = code & 3;
        match code {
            0x00..=0x03 => Self::AddressSize(level),
            0x04..=0x07 => Self::Translation(level),
            0x09..=0x0b => Self::AccessFlag(level),
            0x0d..=0x0f => Self::Permission(level),
            0x10 => Self::External,
            0x21 => Self::Alignment,
            0x30 => Self::TlbConflict,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for FaultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressSize(l) => write!(f, "address size fault, level {l}"),
            Self::Translation(l) => write!(f, "translation fault, level {l}"),
            Self::AccessFlag(l) => write!(f, "access flag fault, level {l}"),
            Self::Permission(l) => write!(f, "permission fault, level {l}"),
            Self::External => f.write_str("synchronous external abort"),
            Self::Alignment => f.write_str("alignment fault"),
            Self::TlbConflict => f.write_str("TLB conflict abort"),
            Self::Other(c) => write!(f, "fault status {c:#04x}"),
        }
    }
}

impl fmt::Display for Esr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ESR {:#010x}: EC {:#04x} ({}), IL {}, ISS {:#09x}",
            self.0,
            self.ec_raw(),
            self.class().name(),
            (self.0 >> 25) & 1,
            self.iss()
        )?;
        if let Some(fs) = self.fault_status() {
            write!(f, "; {fs}")?;
            if matches!(
                self.class(),
                ExceptionClass::DataAbortLower | ExceptionClass::DataAbortSame
            ) {
                f.write_str(if self.is_write() { ", write" } else { ", read" })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_abort_translation_fault_write() {
        // EC 0x25, IL 1, WnR 1, DFSC 0x07 (translation fault, level 3).
        let esr = Esr((0x25 << 26) | (1 << 25) | (1 << 6) | 0x07);
        assert_eq!(esr.class(), ExceptionClass::DataAbortSame);
        assert_eq!(esr.fault_status(), Some(FaultStatus::Translation(3)));
        assert!(esr.is_write());
        let text = format!("{esr}");
        assert!(text.contains("data abort from same EL"), "{text}");
        assert!(text.contains("translation fault, level 3, write"), "{text}");
    }

    #[test]
    fn undefined_instruction_and_fp_trap() {
        assert_eq!(Esr(1 << 25).class(), ExceptionClass::Unknown);
        assert_eq!(Esr(0x1fe0_0000).class(), ExceptionClass::FpSimdTrap);
        assert_eq!(Esr(0x1fe0_0000).fault_status(), None);
        assert!(!Esr(0x1fe0_0000).is_write());
    }

    #[test]
    fn instruction_abort_permission() {
        let esr = Esr((0x21 << 26) | 0x0f);
        assert_eq!(esr.fault_status(), Some(FaultStatus::Permission(3)));
        assert!(!esr.is_write(), "WnR is meaningless for instruction aborts");
    }

    #[test]
    fn unknown_classes_are_kept() {
        assert_eq!(Esr(0x3e << 26).class(), ExceptionClass::Other(0x3e));
        assert_eq!(FaultStatus::from_code(0x3f), FaultStatus::Other(0x3f));
    }
}
