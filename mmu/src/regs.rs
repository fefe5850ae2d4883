//! System register values, computed on any host (tested there) and written by
//! [`crate::arch`] on the target.

use crate::VA_BITS;

/// `TCR_EL1.T0SZ` for [`VA_BITS`]: 64 - 39 = 25, so walks start at level 1.
pub const T0SZ: u64 = 64 - VA_BITS as u64;

/// `TCR_EL1` fields used below (Arm ARM D19.2 "TCR_EL1").
pub mod tcr {
    /// `IRGN0` = Normal, Inner Write-Back Read-Allocate Write-Allocate Cacheable.
    pub const IRGN0_WBWA: u64 = 0b01 << 8;
    /// `ORGN0` = Normal, Outer Write-Back Read-Allocate Write-Allocate Cacheable.
    pub const ORGN0_WBWA: u64 = 0b01 << 10;
    /// `SH0` = Inner Shareable.
    pub const SH0_INNER: u64 = 0b11 << 12;
    /// `TG0` = 4 KiB granule.
    pub const TG0_4K: u64 = 0b00 << 14;
    /// `EPD1`: no walks through `TTBR1_EL1` (a TTBR1 address faults).
    pub const EPD1: u64 = 1 << 23;
    /// `TG1` = 4 KiB granule (unused, but not a reserved encoding).
    pub const TG1_4K: u64 = 0b10 << 30;
    /// `IPS` shift (intermediate physical address size, encoded like `PARange`).
    pub const IPS_SHIFT: u32 = 32;
    /// `AS`: 16-bit ASIDs.
    pub const AS: u64 = 1 << 36;
}

/// `TCR_EL1.T0SZ` once module address spaces are on: 64 - 48 = 16, walks start at level 0.
pub const T0SZ_SPACES: u64 = 64 - crate::SPACE_VA_BITS as u64;

/// `TCR_EL1` for the TTBR0-only regime: 39-bit VA, 4 KiB granule, cacheable Inner Shareable
/// walks, `TTBR1_EL1` disabled, 8-bit ASIDs from `TTBR0_EL1` (`A1` = 0, `AS` = 0), no top-byte
/// ignore, no hardware access-flag or dirty management. `parange` is
/// `ID_AA64MMFR0_EL1.PARange`; `IPS` takes it, capped at 48 bits (0b101) as the descriptors
/// use the 48-bit output address format.
pub const fn tcr_el1(parange: u64) -> u64 {
    let ips = if parange > 0b101 { 0b101 } else { parange };
    T0SZ | tcr::IRGN0_WBWA
        | tcr::ORGN0_WBWA
        | tcr::SH0_INNER
        | tcr::TG0_4K
        | (T0SZ << 16) // T1SZ, unused (EPD1)
        | tcr::EPD1
        | tcr::TG1_4K
        | (ips << tcr::IPS_SHIFT)
}

/// `TCR_EL1` for module address spaces ([`crate::AddressSpace`]): as [`tcr_el1`] but with a
/// 48-bit `TTBR0_EL1` region (`T0SZ` = 16, level 0 roots) and 16-bit ASIDs (`AS` = 1) when
/// `sixteen_bit_asids` (`ID_AA64MMFR0_EL1.ASIDBits` = 0b0010); the ASID still comes from
/// `TTBR0_EL1` (`A1` = 0), which every switch writes together with the root.
pub const fn tcr_el1_spaces(parange: u64, sixteen_bit_asids: bool) -> u64 {
    let base = tcr_el1(parange) & !0x3f;
    let asid = if sixteen_bit_asids { tcr::AS } else { 0 };
    base | T0SZ_SPACES | asid
}

/// `SCTLR_EL1` bits (Arm ARM D19.2 "SCTLR_EL1").
pub mod sctlr {
    /// MMU enable for EL1&0 stage 1.
    pub const M: u64 = 1 << 0;
    /// Alignment check; kept 0: AOT code makes unaligned accesses.
    pub const A: u64 = 1 << 1;
    /// Data and unified caches enable.
    pub const C: u64 = 1 << 2;
    /// SP alignment check at EL1.
    pub const SA: u64 = 1 << 3;
    /// SP alignment check at EL0.
    pub const SA0: u64 = 1 << 4;
    /// Instruction cache enable.
    pub const I: u64 = 1 << 12;
    /// Write permission implies XN, at EL1 and EL0.
    pub const WXN: u64 = 1 << 19;
    /// Bits that are RES1 on an Armv8.0 CPU and must be 1 whatever later features do with
    /// them: EOS (11), TSCXT (20), EIS (22), SPAN (23), nTLSMD (28), LSMAOE (29). SPAN = 1
    /// leaves PSTATE.PAN alone on exception entry; the firmware sets PAN itself if it wants.
    pub const RES1: u64 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 23) | (1 << 28) | (1 << 29);
}

/// `SCTLR_EL1` with the MMU, caches and SP alignment checks on, data alignment checks off,
/// little-endian, EL0 cache maintenance / `DC ZVA` / `WFI` / `WFE` / `CTR_EL0` reads trapped,
/// and `WXN` if asked.
pub const fn sctlr_el1(wxn: bool) -> u64 {
    let w = if wxn { sctlr::WXN } else { 0 };
    sctlr::RES1 | sctlr::M | sctlr::C | sctlr::SA | sctlr::SA0 | sctlr::I | w
}
