//! Relocation encodings: pure functions that patch one relocation into a byte buffer.
//!
//! [`apply`] takes the section bytes, the offset of the patched field, the address that field
//! will have at run time (`P`), the symbol address (`S`) and the explicit addend (`A`). As in
//! WAMR 2.4.3 (`arch/aot_reloc_aarch64.c`, `arch/aot_reloc_x86_64.c`), the addend already
//! encoded in the instruction or data word is added to `A` (LLVM writes 0 there). Range
//! checks use the architectural limits of each field: a value that does not fit is an error,
//! never a silently truncated branch.
//!
//! Choosing `S` for runtime helpers (a PLT entry) and GOT slots is the caller's business:
//! see [`crate::image`].

use core::fmt;

use crate::Arch;

/// AArch64 ELF relocation types WAMR 2.4.3 supports.
pub mod aarch64 {
    /// MOVZ/MOVK imm16 = bits [15:0] of S+A, checked to fit 16 bits.
    pub const MOVW_UABS_G0: u32 = 263;
    /// bits [15:0], no check.
    pub const MOVW_UABS_G0_NC: u32 = 264;
    /// bits [31:16], checked to fit 32 bits.
    pub const MOVW_UABS_G1: u32 = 265;
    /// bits [31:16], no check.
    pub const MOVW_UABS_G1_NC: u32 = 266;
    /// bits [47:32], checked to fit 48 bits.
    pub const MOVW_UABS_G2: u32 = 267;
    /// bits [47:32], no check.
    pub const MOVW_UABS_G2_NC: u32 = 268;
    /// bits [63:48].
    pub const MOVW_UABS_G3: u32 = 269;
    /// ADRP: Page(S+A) - Page(P), checked to ±4 GiB.
    pub const ADR_PREL_PG_HI21: u32 = 275;
    /// ADRP, no check.
    pub const ADR_PREL_PG_HI21_NC: u32 = 276;
    /// ADD imm12 = (S+A) & 0xfff.
    pub const ADD_ABS_LO12_NC: u32 = 277;
    /// LDRB/STRB imm12.
    pub const LDST8_ABS_LO12_NC: u32 = 278;
    /// B imm26 (tail call).
    pub const JUMP26: u32 = 282;
    /// BL imm26 (call).
    pub const CALL26: u32 = 283;
    /// LDRH/STRH imm12 (scaled by 2).
    pub const LDST16_ABS_LO12_NC: u32 = 284;
    /// 32-bit LDR/STR imm12 (scaled by 4).
    pub const LDST32_ABS_LO12_NC: u32 = 285;
    /// 64-bit LDR/STR imm12 (scaled by 8).
    pub const LDST64_ABS_LO12_NC: u32 = 286;
    /// 128-bit LDR/STR imm12 (scaled by 16).
    pub const LDST128_ABS_LO12_NC: u32 = 299;
}

/// x86-64 ELF relocation types wamrc emits (and WAMR 2.4.3 applies) on Linux.
pub mod x86_64 {
    /// 64-bit absolute S+A.
    pub const R_64: u32 = 1;
    /// 32-bit PC-relative S+A-P.
    pub const PC32: u32 = 2;
    /// 32-bit PC-relative to a PLT entry or function.
    pub const PLT32: u32 = 4;
    /// 32-bit PC-relative to a GOT slot.
    pub const GOTPCREL: u32 = 9;
    /// 32-bit absolute, zero-extended.
    pub const R_32: u32 = 10;
    /// 32-bit absolute, sign-extended.
    pub const R_32S: u32 = 11;
    /// 64-bit PC-relative.
    pub const PC64: u32 = 24;
    /// Relaxable GOTPCREL.
    pub const GOTPCRELX: u32 = 41;
    /// Relaxable GOTPCREL with REX prefix.
    pub const REX_GOTPCRELX: u32 = 42;
}

/// Bytes a relocation type patches, or `None` if the type is not supported for `arch`.
pub fn patch_width(arch: Arch, r_type: u32) -> Option<usize> {
    use aarch64 as a;
    use x86_64 as x;
    match arch {
        Arch::Aarch64 => match r_type {
            a::MOVW_UABS_G0..=a::MOVW_UABS_G3
            | a::ADR_PREL_PG_HI21
            | a::ADR_PREL_PG_HI21_NC
            | a::ADD_ABS_LO12_NC
            | a::LDST8_ABS_LO12_NC
            | a::LDST16_ABS_LO12_NC
            | a::LDST32_ABS_LO12_NC
            | a::LDST64_ABS_LO12_NC
            | a::LDST128_ABS_LO12_NC
            | a::JUMP26
            | a::CALL26 => Some(4),
            _ => None,
        },
        Arch::X86_64 => match r_type {
            x::R_64 | x::PC64 => Some(8),
            x::PC32
            | x::PLT32
            | x::GOTPCREL
            | x::R_32
            | x::R_32S
            | x::GOTPCRELX
            | x::REX_GOTPCRELX => Some(4),
            _ => None,
        },
    }
}

/// True for relocation types that are calls or jumps, which reach runtime helpers through the
/// PLT.
pub fn is_branch(arch: Arch, r_type: u32) -> bool {
    match arch {
        Arch::Aarch64 => r_type == aarch64::CALL26 || r_type == aarch64::JUMP26,
        Arch::X86_64 => r_type == x86_64::PLT32,
    }
}

/// True for relocation types whose `S` is a GOT slot.
pub fn uses_got(arch: Arch, r_type: u32) -> bool {
    arch == Arch::X86_64
        && matches!(
            r_type,
            x86_64::GOTPCREL | x86_64::GOTPCRELX | x86_64::REX_GOTPCRELX
        )
}

/// Why a relocation could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocError {
    /// The type is not implemented for the processor.
    Unsupported {
        /// Processor.
        arch: Arch,
        /// ELF type.
        r_type: u32,
    },
    /// The patched bytes are not inside the section.
    OffsetOutOfBounds {
        /// Offset of the field.
        offset: u64,
        /// Section length.
        len: usize,
    },
    /// The computed value does not fit the field.
    OutOfRange {
        /// ELF type.
        r_type: u32,
        /// The value that did not fit (a distance for PC-relative types).
        value: i128,
    },
    /// The value is not a multiple of the field's scale (branch targets, scaled loads).
    Misaligned {
        /// ELF type.
        r_type: u32,
        /// The value.
        value: i128,
    },
}

impl fmt::Display for RelocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelocError::Unsupported { arch, r_type } => {
                write!(
                    f,
                    "relocation type {r_type} is not supported for {}",
                    arch.name()
                )
            }
            RelocError::OffsetOutOfBounds { offset, len } => write!(
                f,
                "relocation at offset {offset:#x} lies outside its {len}-byte section"
            ),
            RelocError::OutOfRange { r_type, value } => write!(
                f,
                "relocation type {r_type}: value {value:#x} does not fit the instruction field"
            ),
            RelocError::Misaligned { r_type, value } => write!(
                f,
                "relocation type {r_type}: value {value:#x} is not aligned as the instruction needs"
            ),
        }
    }
}

fn field<const N: usize>(buf: &mut [u8], offset: u64) -> Result<&mut [u8; N], RelocError> {
    let len = buf.len();
    let oob = RelocError::OffsetOutOfBounds { offset, len };
    let start = usize::try_from(offset).map_err(|_| oob.clone())?;
    let end = start.checked_add(N).ok_or(oob.clone())?;
    buf.get_mut(start..end)
        .and_then(|s| <&mut [u8; N]>::try_from(s).ok())
        .ok_or(oob)
}

fn sign_extend(v: u64, bits: u32) -> i128 {
    let shift = 128 - bits;
    ((v as i128) << shift) >> shift
}

fn page(x: i128) -> i128 {
    x & !0xfff
}

/// Applies one relocation of `arch` type `r_type` at `buf[offset..]`.
///
/// `place` is the run-time address of `buf[offset]`, `symbol` is `S`, `addend` is `A`.
pub fn apply(
    arch: Arch,
    r_type: u32,
    buf: &mut [u8],
    offset: u64,
    place: u64,
    symbol: u64,
    addend: i64,
) -> Result<(), RelocError> {
    match arch {
        Arch::Aarch64 => apply_aarch64(r_type, buf, offset, place, symbol, addend),
        Arch::X86_64 => apply_x86_64(r_type, buf, offset, place, symbol, addend),
    }
}

fn apply_aarch64(
    r_type: u32,
    buf: &mut [u8],
    offset: u64,
    place: u64,
    symbol: u64,
    addend: i64,
) -> Result<(), RelocError> {
    use aarch64::*;
    let f = field::<4>(buf, offset)?;
    let insn = u32::from_le_bytes(*f);
    let (s, p, a) = (i128::from(symbol), i128::from(place), i128::from(addend));
    let out_of_range = |value| RelocError::OutOfRange { r_type, value };
    let new = match r_type {
        CALL26 | JUMP26 => {
            let a = a + sign_extend(u64::from(insn & 0x03ff_ffff) << 2, 28);
            let x = s + a - p;
            if !(-(1 << 27)..(1 << 27)).contains(&x) {
                return Err(out_of_range(x));
            }
            if x & 3 != 0 {
                return Err(RelocError::Misaligned { r_type, value: x });
            }
            (insn & 0xfc00_0000) | (((x >> 2) as u32) & 0x03ff_ffff)
        }
        MOVW_UABS_G0..=MOVW_UABS_G3 => {
            let a = a + sign_extend(u64::from((insn >> 5) & 0xffff), 16);
            let x = s + a;
            let (shift, limit_bits) = match r_type {
                MOVW_UABS_G0 => (0, Some(16)),
                MOVW_UABS_G0_NC => (0, None),
                MOVW_UABS_G1 => (16, Some(32)),
                MOVW_UABS_G1_NC => (16, None),
                MOVW_UABS_G2 => (32, Some(48)),
                MOVW_UABS_G2_NC => (32, None),
                _ => (48, None),
            };
            if let Some(bits) = limit_bits {
                if !(0..(1i128 << bits)).contains(&x) {
                    return Err(out_of_range(x));
                }
            }
            (insn & 0xffe0_001f) | ((((x >> shift) as u32) & 0xffff) << 5)
        }
        ADR_PREL_PG_HI21 | ADR_PREL_PG_HI21_NC => {
            let imm21 = (((insn >> 5) & 0x7ffff) << 2) | ((insn >> 29) & 3);
            let a = a + sign_extend(u64::from(imm21) << 12, 33);
            let x = page(s + a) - page(p);
            if r_type == ADR_PREL_PG_HI21 && !(-(1i128 << 32)..(1i128 << 32)).contains(&x) {
                return Err(out_of_range(x));
            }
            let pages = (x >> 12) as u32;
            (insn & 0x9f00_001f) | ((pages & 3) << 29) | (((pages >> 2) & 0x7ffff) << 5)
        }
        ADD_ABS_LO12_NC | LDST8_ABS_LO12_NC | LDST16_ABS_LO12_NC | LDST32_ABS_LO12_NC
        | LDST64_ABS_LO12_NC | LDST128_ABS_LO12_NC => {
            let a = a + sign_extend(u64::from((insn >> 10) & 0xfff), 12);
            let x = s + a;
            let shift = match r_type {
                LDST16_ABS_LO12_NC => 1,
                LDST32_ABS_LO12_NC => 2,
                LDST64_ABS_LO12_NC => 3,
                LDST128_ABS_LO12_NC => 4,
                _ => 0,
            };
            let lo12 = (x as u32) & 0xfff;
            if lo12 & ((1 << shift) - 1) != 0 {
                return Err(RelocError::Misaligned { r_type, value: x });
            }
            (insn & 0xffc0_03ff) | ((lo12 >> shift) << 10)
        }
        _ => {
            return Err(RelocError::Unsupported {
                arch: Arch::Aarch64,
                r_type,
            })
        }
    };
    *f = new.to_le_bytes();
    Ok(())
}

fn apply_x86_64(
    r_type: u32,
    buf: &mut [u8],
    offset: u64,
    place: u64,
    symbol: u64,
    addend: i64,
) -> Result<(), RelocError> {
    use x86_64::*;
    let (s, p, a) = (i128::from(symbol), i128::from(place), i128::from(addend));
    let out_of_range = |value| RelocError::OutOfRange { r_type, value };
    match r_type {
        R_64 => {
            let f = field::<8>(buf, offset)?;
            let existing = i128::from(i64::from_le_bytes(*f));
            *f = ((s + a + existing) as u64).to_le_bytes();
        }
        PC64 => {
            let f = field::<8>(buf, offset)?;
            *f = ((s + a - p) as u64).to_le_bytes();
        }
        PC32 | PLT32 | GOTPCREL | GOTPCRELX | REX_GOTPCRELX => {
            let f = field::<4>(buf, offset)?;
            let x = s + a - p;
            let v = i32::try_from(x).map_err(|_| out_of_range(x))?;
            *f = v.to_le_bytes();
        }
        R_32 => {
            let f = field::<4>(buf, offset)?;
            let x = s + a;
            let v = u32::try_from(x).map_err(|_| out_of_range(x))?;
            *f = v.to_le_bytes();
        }
        R_32S => {
            let f = field::<4>(buf, offset)?;
            let x = s + a;
            let v = i32::try_from(x).map_err(|_| out_of_range(x))?;
            *f = v.to_le_bytes();
        }
        _ => {
            return Err(RelocError::Unsupported {
                arch: Arch::X86_64,
                r_type,
            })
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a64(r_type: u32, insn: u32, place: u64, s: u64, a: i64) -> Result<u32, RelocError> {
        let mut b = [0u8; 8];
        b[4..8].copy_from_slice(&insn.to_le_bytes());
        apply(Arch::Aarch64, r_type, &mut b, 4, place, s, a)?;
        Ok(u32::from_le_bytes(b[4..8].try_into().unwrap()))
    }

    const BL: u32 = 0x9400_0000; // bl #0
    const B: u32 = 0x1400_0000; // b #0

    #[test]
    fn call26_and_jump26() {
        // bl forward 0x100 from 0x1000 -> imm26 = 0x40
        assert_eq!(a64(aarch64::CALL26, BL, 0x1000, 0x1100, 0), Ok(0x9400_0040));
        // backward: -8 -> imm26 = 0x3fffffe
        assert_eq!(a64(aarch64::CALL26, BL, 0x1000, 0xff8, 0), Ok(0x97ff_fffe));
        // b with addend
        assert_eq!(a64(aarch64::JUMP26, B, 0x1000, 0x1000, 16), Ok(0x1400_0004));
        // implicit addend in the instruction is added (bl #8 already encoded)
        assert_eq!(a64(aarch64::CALL26, BL | 2, 0x1000, 0x1000, 0), Ok(BL | 2));
        // limits: +128 MiB - 4 fits, +128 MiB does not, -128 MiB fits
        assert_eq!(
            a64(aarch64::CALL26, BL, 0, (1 << 27) - 4, 0),
            Ok(BL | 0x01ff_ffff)
        );
        assert_eq!(
            a64(aarch64::CALL26, BL, 0, 1 << 27, 0),
            Err(RelocError::OutOfRange {
                r_type: aarch64::CALL26,
                value: 1 << 27
            })
        );
        assert_eq!(
            a64(aarch64::CALL26, BL, 1 << 27, 0, 0),
            Ok(BL | 0x0200_0000)
        );
        assert!(a64(aarch64::CALL26, BL, (1 << 27) + 4, 0, 0).is_err());
        assert!(matches!(
            a64(aarch64::CALL26, BL, 0, 2, 0),
            Err(RelocError::Misaligned { .. })
        ));
    }

    #[test]
    fn adrp() {
        let adrp_x0 = 0x9000_0000; // adrp x0, #0
                                   // same page -> 0
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0x1234, 0x1ff8, 0),
            Ok(adrp_x0)
        );
        // +1 page: immlo = 1
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0x1000, 0x2000, 0),
            Ok(0xb000_0000)
        );
        // +4 pages: immhi = 1
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0x1000, 0x5000, 0),
            Ok(0x9000_0020)
        );
        // -1 page: imm21 = all ones
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0x2000, 0x1000, 0),
            Ok(0xf0ff_ffe0)
        );
        // register and op bits are kept
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21, 0x9000_0011, 0x1000, 0x2000, 0),
            Ok(0xb000_0011)
        );
        // range: +4 GiB - 4 KiB fits, +4 GiB does not, -4 GiB fits; NC does not check
        assert!(a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0, (1 << 32) - 0x1000, 0).is_ok());
        assert!(matches!(
            a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 0, 1 << 32, 0),
            Err(RelocError::OutOfRange { .. })
        ));
        assert!(a64(aarch64::ADR_PREL_PG_HI21, adrp_x0, 1 << 32, 0, 0).is_ok());
        // NC keeps the low 21 bits of the page delta: +4 GiB wraps to the sign bit, +8 GiB to 0
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21_NC, adrp_x0, 0, 1 << 32, 0),
            Ok(0x9080_0000)
        );
        assert_eq!(
            a64(aarch64::ADR_PREL_PG_HI21_NC, adrp_x0, 0, 1 << 33, 0),
            Ok(adrp_x0)
        );
    }

    #[test]
    fn lo12() {
        let add = 0x9100_0000; // add x0, x0, #0
        assert_eq!(
            a64(aarch64::ADD_ABS_LO12_NC, add, 0, 0x1234_5678, 0),
            Ok(add | (0x678 << 10))
        );
        assert_eq!(
            a64(aarch64::ADD_ABS_LO12_NC, add, 0, 0x1000, 0xfff),
            Ok(add | (0xfff << 10))
        );
        let ldrb = 0x3940_0000;
        assert_eq!(
            a64(aarch64::LDST8_ABS_LO12_NC, ldrb, 0, 0x2abc, 1),
            Ok(ldrb | (0xabd << 10))
        );
        let ldrh = 0x7940_0000;
        assert_eq!(
            a64(aarch64::LDST16_ABS_LO12_NC, ldrh, 0, 0x2abc, 0),
            Ok(ldrh | (0x55e << 10))
        );
        let ldr_w = 0xb940_0000;
        assert_eq!(
            a64(aarch64::LDST32_ABS_LO12_NC, ldr_w, 0, 0x2ab8, 0),
            Ok(ldr_w | (0x2ae << 10))
        );
        let ldr_x = 0xf940_0000;
        assert_eq!(
            a64(aarch64::LDST64_ABS_LO12_NC, ldr_x, 0, 0x2ab8, 0),
            Ok(ldr_x | (0x157 << 10))
        );
        let ldr_q = 0x3dc0_0000;
        assert_eq!(
            a64(aarch64::LDST128_ABS_LO12_NC, ldr_q, 0, 0x2ab0, 0),
            Ok(ldr_q | (0xab << 10))
        );
        // scaled loads refuse misaligned targets instead of silently rounding
        assert!(matches!(
            a64(aarch64::LDST64_ABS_LO12_NC, ldr_x, 0, 0x2abc, 0),
            Err(RelocError::Misaligned { .. })
        ));
        assert!(a64(aarch64::LDST128_ABS_LO12_NC, ldr_q, 0, 0x2ab8, 0).is_err());
        // other fields preserved
        assert_eq!(
            a64(aarch64::LDST64_ABS_LO12_NC, ldr_x | 0x3ff, 0, 8, 0),
            Ok(ldr_x | 0x3ff | (1 << 10))
        );
    }

    #[test]
    fn movw() {
        let movz = 0xd280_0000; // movz x0, #0
        let movk = 0xf2a0_0000; // movk x0, #0, lsl #16
        let x = 0x1234_5678_9abc_def0u64;
        assert_eq!(
            a64(aarch64::MOVW_UABS_G0_NC, movz, 0, x, 0),
            Ok(movz | (0xdef0 << 5))
        );
        assert_eq!(
            a64(aarch64::MOVW_UABS_G1_NC, movk, 0, x, 0),
            Ok(movk | (0x9abc << 5))
        );
        assert_eq!(
            a64(aarch64::MOVW_UABS_G2_NC, movk, 0, x, 0),
            Ok(movk | (0x5678 << 5))
        );
        assert_eq!(
            a64(aarch64::MOVW_UABS_G3, movk, 0, x, 0),
            Ok(movk | (0x1234 << 5))
        );
        // checked forms
        assert_eq!(
            a64(aarch64::MOVW_UABS_G0, movz, 0, 0xffff, 0),
            Ok(movz | (0xffff << 5))
        );
        assert!(a64(aarch64::MOVW_UABS_G0, movz, 0, 0x1_0000, 0).is_err());
        assert_eq!(
            a64(aarch64::MOVW_UABS_G1, movz, 0, 0xffff_0000, 0),
            Ok(movz | (0xffff << 5))
        );
        assert!(a64(aarch64::MOVW_UABS_G1, movz, 0, 1 << 32, 0).is_err());
        assert!(a64(aarch64::MOVW_UABS_G2, movz, 0, (1 << 48) - 1, 0).is_ok());
        assert!(a64(aarch64::MOVW_UABS_G2, movz, 0, 1 << 48, 0).is_err());
        assert!(a64(aarch64::MOVW_UABS_G0, movz, 0, 0, -1).is_err());
        // register bits kept
        assert_eq!(
            a64(aarch64::MOVW_UABS_G0_NC, movz | 7, 0, 1, 0),
            Ok(movz | 7 | (1 << 5))
        );
    }

    #[test]
    fn aarch64_bounds_and_unknown_types() {
        let mut b = [0u8; 6];
        assert_eq!(
            apply(Arch::Aarch64, aarch64::CALL26, &mut b, 3, 0, 0, 0),
            Err(RelocError::OffsetOutOfBounds { offset: 3, len: 6 })
        );
        assert!(apply(Arch::Aarch64, aarch64::CALL26, &mut b, u64::MAX, 0, 0, 0).is_err());
        assert_eq!(
            apply(Arch::Aarch64, 257, &mut b, 0, 0, 0, 0),
            Err(RelocError::Unsupported {
                arch: Arch::Aarch64,
                r_type: 257
            })
        );
        assert_eq!(b, [0; 6]);
    }

    fn x64(r_type: u32, init: [u8; 8], place: u64, s: u64, a: i64) -> Result<[u8; 8], RelocError> {
        let mut b = init;
        apply(Arch::X86_64, r_type, &mut b, 0, place, s, a)?;
        Ok(b)
    }

    #[test]
    fn x86_64_encodings() {
        let z = [0u8; 8];
        assert_eq!(
            x64(x86_64::PC32, z, 0x1000, 0x2000, -4),
            Ok([0xfc, 0x0f, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            x64(x86_64::PLT32, z, 0x2000, 0x1000, -4),
            Ok([0xfc, 0xef, 0xff, 0xff, 0, 0, 0, 0])
        );
        assert!(matches!(
            x64(x86_64::PC32, z, 0, 1 << 31, 0),
            Err(RelocError::OutOfRange { .. })
        ));
        assert!(x64(x86_64::GOTPCRELX, z, 1 << 31, 0, 0).is_ok());
        assert_eq!(
            x64(
                x86_64::R_64,
                [1, 0, 0, 0, 0, 0, 0, 0],
                0,
                0x1122_3344_5566_7788,
                0x10
            ),
            Ok(0x1122_3344_5566_7799u64.to_le_bytes())
        );
        assert_eq!(
            x64(x86_64::PC64, z, 0x10, 0x8, 0),
            Ok((-8i64).to_le_bytes())
        );
        assert_eq!(
            x64(x86_64::R_32, z, 0, 0xffff_fff0, 0xf),
            Ok([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        );
        assert!(x64(x86_64::R_32, z, 0, 0xffff_fff0, 0x10).is_err());
        assert!(x64(x86_64::R_32S, z, 0, 0x8000_0000, 0).is_err());
        assert_eq!(
            x64(x86_64::R_32S, z, 0, 0, -1),
            Ok([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        );
        let mut short = [0u8; 7];
        assert!(apply(Arch::X86_64, x86_64::R_64, &mut short, 0, 0, 0, 0).is_err());
        assert!(apply(Arch::X86_64, 3, &mut short, 0, 0, 0, 0).is_err());
    }

    #[test]
    fn widths() {
        assert_eq!(
            patch_width(Arch::Aarch64, aarch64::LDST128_ABS_LO12_NC),
            Some(4)
        );
        assert_eq!(patch_width(Arch::Aarch64, 270), None); // MOVW_SABS_G0
        assert_eq!(patch_width(Arch::Aarch64, 257), None); // ABS64
        assert_eq!(patch_width(Arch::X86_64, x86_64::R_64), Some(8));
        assert_eq!(patch_width(Arch::X86_64, aarch64::CALL26), None);
    }
}
