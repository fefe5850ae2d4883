//! SMCCC function-id encoding (Arm DEN 0028, "Function Identifiers").
//!
//! A function id is the 32-bit value in `w0`:
//!
//! | bits  | meaning                                                            |
//! |-------|--------------------------------------------------------------------|
//! | 31    | call type: 1 = fast, 0 = yielding                                  |
//! | 30    | calling convention: 1 = SMC64, 0 = SMC32                           |
//! | 29:24 | OEN, owning entity number (50..=63 = Trusted OS)                   |
//! | 23:17 | must be zero (for fast calls per SMCCC; tzwasm also for yielding)  |
//! | 16    | SVE hint (SMCCC v1.3, fast calls only): "no live SVE state"        |
//! | 15:0  | function number                                                    |
//!
//! TF-A's BL31 strips the SVE hint bit before it dispatches to the SPD, so the secure side
//! normally sees it clear; [`FunctionId::decode`](crate::FunctionId::decode) ignores it on
//! fast calls and rejects it on yielding ones.

use core::fmt;

/// Bit 31: set for fast calls, clear for yielding calls.
pub const FAST_BIT: u32 = 1 << 31;
/// Bit 30: set for the SMC64 calling convention, clear for SMC32.
pub const SMC64_BIT: u32 = 1 << 30;
/// Shift of the OEN field (bits 29:24).
pub const OEN_SHIFT: u32 = 24;
/// Mask of the OEN field after shifting.
pub const OEN_MASK: u32 = 0x3f;
/// Bit 16: SMCCC v1.3 SVE hint, valid on fast calls only.
pub const SVE_HINT_BIT: u32 = 1 << 16;
/// Bits 23:17, which must be zero.
pub const RESERVED_MASK: u32 = 0x00fe_0000;
/// Mask of the function number (bits 15:0).
pub const NUMBER_MASK: u32 = 0xffff;

/// OEN 50: Trusted OS calls. tzwasm's own calls live here.
pub const OEN_TRUSTED_OS: u8 = 50;
/// OEN 63: Trusted OS, and home of the standard Trusted OS queries (Call Count, UID, Revision).
pub const OEN_TRUSTED_OS_END: u8 = 63;

/// Fast (atomic, interrupts masked, must be short) or yielding (may be long, may be
/// interrupted and resumed) call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallType {
    /// Bit 31 set.
    Fast,
    /// Bit 31 clear.
    Yielding,
}

/// SMC32 (arguments and results in `w` registers) or SMC64 (full `x` registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallConv {
    /// Bit 30 clear: only the low 32 bits of each register are meaningful.
    Smc32,
    /// Bit 30 set: all 64 bits of each register are meaningful.
    Smc64,
}

/// A raw function id as received in `w0`. Untrusted: it comes from the normal world.
/// Turn it into a [`Call`](crate::Call) with [`FunctionId::decode`](crate::FunctionId::decode).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionId(pub u32);

impl FunctionId {
    /// Builds a function id from its fields. `number` is the 16-bit function number.
    pub const fn new(call_type: CallType, conv: CallConv, oen: u8, number: u16) -> Self {
        let mut raw = ((oen as u32) & OEN_MASK) << OEN_SHIFT | number as u32;
        if let CallType::Fast = call_type {
            raw |= FAST_BIT;
        }
        if let CallConv::Smc64 = conv {
            raw |= SMC64_BIT;
        }
        FunctionId(raw)
    }

    /// The function id in the `x0` register value of an SMC: SMCCC defines it as `w0`, so
    /// the upper 32 bits are ignored.
    pub const fn from_x0(x0: u64) -> Self {
        FunctionId(x0 as u32)
    }

    /// The raw 32-bit value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The value to put in `x0` when making the call.
    pub const fn to_x0(self) -> u64 {
        self.0 as u64
    }

    /// Bit 31.
    pub const fn call_type(self) -> CallType {
        if self.0 & FAST_BIT != 0 {
            CallType::Fast
        } else {
            CallType::Yielding
        }
    }

    /// Bit 30.
    pub const fn conv(self) -> CallConv {
        if self.0 & SMC64_BIT != 0 {
            CallConv::Smc64
        } else {
            CallConv::Smc32
        }
    }

    /// Bits 29:24.
    pub const fn oen(self) -> u8 {
        ((self.0 >> OEN_SHIFT) & OEN_MASK) as u8
    }

    /// Bits 15:0.
    pub const fn number(self) -> u16 {
        (self.0 & NUMBER_MASK) as u16
    }

    /// Bit 16, the SVE hint.
    pub const fn sve_hint(self) -> bool {
        self.0 & SVE_HINT_BIT != 0
    }

    /// Bits 23:17 (in place), which must be zero.
    pub const fn reserved_bits(self) -> u32 {
        self.0 & RESERVED_MASK
    }

    /// True if the OEN is in the Trusted OS range 50..=63 that opteed forwards to BL32.
    pub const fn is_trusted_os(self) -> bool {
        let oen = self.oen();
        oen >= OEN_TRUSTED_OS && oen <= OEN_TRUSTED_OS_END
    }
}

impl fmt::Debug for FunctionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FunctionId({:#010x})", self.0)
    }
}

impl fmt::Display for FunctionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}
