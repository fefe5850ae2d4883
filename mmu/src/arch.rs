//! The aarch64-only part: system registers, TLB and cache maintenance.
//!
//! Registers go through the `aarch64-cpu` crate; the instructions it has no wrapper for
//! (`TLBI`, `DC`, `IC`, `CTR_EL0`) are one-line `asm!`.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    Readable, Writeable, ID_AA64MMFR0_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1,
};
use core::arch::asm;

use crate::regs::{sctlr_el1, tcr_el1, tcr_el1_spaces};
use crate::{AsidTlb, TlbMaintenance, MAIR_EL1_VALUE, PAGE_SIZE};

/// Above this many pages [`flush_tlb_range`] invalidates the whole EL1&0 TLB instead.
pub const TLBI_RANGE_MAX_PAGES: u64 = 64;

/// Options for [`enable`].
#[derive(Clone, Copy, Debug)]
pub struct EnableOptions {
    /// Set `SCTLR_EL1.WXN` (writable implies execute-never), a hardware backstop behind the
    /// builder's W^X check. Recommended.
    pub wxn: bool,
    /// Module address spaces ([`crate::AddressSpace`]): `root_pa` is a level 0 root
    /// ([`crate::PageTables::make_level0_root`]), `TCR_EL1` is
    /// [`crate::regs::tcr_el1_spaces`] (48-bit VA, 16-bit ASIDs where the CPU has them).
    /// Off: `root_pa` is the level 1 root of a 39-bit space ([`crate::regs::tcr_el1`]).
    pub address_spaces: bool,
}

impl Default for EnableOptions {
    fn default() -> Self {
        Self {
            wxn: true,
            address_spaces: false,
        }
    }
}

/// Whether this CPU has 16-bit ASIDs (`ID_AA64MMFR0_EL1.ASIDBits` = 0b0010).
pub fn sixteen_bit_asids() -> bool {
    ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::ASIDBits) == 0b0010
}

/// The current `TTBR0_EL1` (root PA and ASID).
pub fn ttbr0() -> u64 {
    TTBR0_EL1.get()
}

/// Installs `ttbr` (root PA | ASID << 48, e.g. [`crate::AddressSpace::ttbr`]) in
/// `TTBR0_EL1` on this CPU, then `ISB`. No TLB maintenance: entries of other ASIDs do not
/// match, and global entries are the same in every root.
///
/// # Safety
/// The root must map the code, stack and data this CPU runs on (every root made by
/// [`crate::AddressSpace::new`] or [`crate::PageTables::make_level0_root`] links the
/// payload's tables), and stay valid while installed.
pub unsafe fn install_ttbr0(ttbr: u64) {
    TTBR0_EL1.set(ttbr);
    barrier::isb(barrier::SY);
}

/// Turns the MMU and caches on for this CPU with the tables rooted at `root_pa`
/// ([`crate::PageTables::root_pa`]). Every CPU calls it once; secondaries reuse the root
/// built by the primary.
///
/// Programs `MAIR_EL1` ([`MAIR_EL1_VALUE`]), `TCR_EL1` ([`crate::regs::tcr_el1`] with this
/// CPU's `PARange`), `TTBR0_EL1` (ASID 0), invalidates this CPU's stale TLB entries and sets
/// `SCTLR_EL1` ([`crate::regs::sctlr_el1`]).
///
/// # Safety
/// - Called at EL1 with the EL1&0 MMU off.
/// - The tables at `root_pa` map, with correct attributes, everything the code runs on from
///   here: the code calling this (at its current address: the map is an identity map for
///   it), its stack, data, and the table pages themselves.
/// - The table contents are in memory, not only in a cache: on the primary, tables written
///   with the data cache off must not have stale lines over them
///   ([`invalidate_dcache_range`] on the pool before building them); on a secondary, the
///   primary built them with caches on and the walk is coherent.
pub unsafe fn enable(root_pa: u64, options: EnableOptions) {
    let parange = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange);
    MAIR_EL1.set(MAIR_EL1_VALUE);
    TCR_EL1.set(if options.address_spaces {
        tcr_el1_spaces(parange, sixteen_bit_asids())
    } else {
        tcr_el1(parange)
    });
    TTBR0_EL1.set(root_pa);
    barrier::isb(barrier::SY);
    // SAFETY: TLB invalidation of this CPU's EL1&0 entries has no memory effects.
    unsafe {
        asm!(
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            options(nostack, preserves_flags)
        )
    };
    SCTLR_EL1.set(sctlr_el1(options.wxn));
    barrier::isb(barrier::SY);
}

/// Makes new descriptors visible to every CPU's table walker: `DSB ISHST; ISB`.
pub fn publish_tables() {
    barrier::dsb(barrier::ISHST);
    barrier::isb(barrier::SY);
}

/// Invalidates the EL1&0 TLB entries (and walk-cache entries) for `[va, va + len)` on every
/// CPU of the Inner Shareable domain, after descriptor changes: `DSB ISHST`, `TLBI VAE1IS`
/// per page (ASID 0; our mappings are global, which `VAE1IS` matches for any ASID) or
/// `TLBI VMALLE1IS` above [`TLBI_RANGE_MAX_PAGES`], then `DSB ISH; ISB`.
pub fn flush_tlb_range(va: u64, len: u64) {
    let first = va / PAGE_SIZE;
    let last = va.saturating_add(len).div_ceil(PAGE_SIZE);
    barrier::dsb(barrier::ISHST);
    if last - first > TLBI_RANGE_MAX_PAGES {
        // SAFETY: TLB invalidation has no memory effects.
        unsafe { asm!("tlbi vmalle1is", options(nostack, preserves_flags)) };
    } else {
        for page in first..last {
            // Operand: VA[55:12] in bits [43:0], ASID 0 in bits [63:48].
            // SAFETY: TLB invalidation has no memory effects.
            unsafe { asm!("tlbi vae1is, {}", in(reg) page, options(nostack, preserves_flags)) };
        }
    }
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// Invalidates the whole EL1&0 TLB on every CPU of the Inner Shareable domain.
pub fn flush_tlb_all() {
    barrier::dsb(barrier::ISHST);
    // SAFETY: TLB invalidation has no memory effects.
    unsafe { asm!("tlbi vmalle1is", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

fn ctr_el0() -> u64 {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 at EL1 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    ctr
}

/// Smallest data cache line in bytes, from `CTR_EL0.DminLine`.
fn dline(ctr: u64) -> u64 {
    4 << ((ctr >> 16) & 0xF)
}

/// Smallest instruction cache line in bytes, from `CTR_EL0.IminLine`.
fn iline(ctr: u64) -> u64 {
    4 << (ctr & 0xF)
}

/// Addresses of the `line`-byte cache lines covering `[start, end)`.
fn lines(start: u64, end: u64, line: u64) -> impl Iterator<Item = u64> {
    (start & !(line - 1)..end).step_by(line as usize)
}

/// Makes instructions written to `[va, va + len)` through the data side visible to
/// instruction fetch on every CPU: `DC CVAU` per line, `DSB ISH`, `IC IVAU` per line,
/// `DSB ISH; ISB` (steps skipped where `CTR_EL0.IDC`/`DIC` say the hardware does them).
/// Call it after relocating module text and before anything executes it. The range must be
/// mapped readable at EL1 (it is, as `KERNEL_DATA` or `USER_TEXT`).
pub fn sync_icache_range(va: u64, len: u64) {
    let ctr = ctr_el0();
    let end = va.saturating_add(len);
    if ctr & (1 << 28) == 0 {
        for a in lines(va, end, dline(ctr)) {
            // SAFETY: cleaning a mapped, readable line to PoU does not change memory contents.
            unsafe { asm!("dc cvau, {}", in(reg) a, options(nostack, preserves_flags)) };
        }
    }
    barrier::dsb(barrier::ISH);
    if ctr & (1 << 29) == 0 {
        for a in lines(va, end, iline(ctr)) {
            // SAFETY: instruction cache invalidation has no memory effects.
            unsafe { asm!("ic ivau, {}", in(reg) a, options(nostack, preserves_flags)) };
        }
        barrier::dsb(barrier::ISH);
    }
    barrier::isb(barrier::SY);
}

/// Invalidates (without cleaning) the data cache lines over `[start, start + len)` to the
/// point of coherency (`DC IVAC`), then `DSB SY`. For memory written with the data cache off
/// (the table pool on the primary before [`enable`]), so that no stale line covers it.
///
/// # Safety
/// Discards dirty lines: any data in the range that is only in a cache is lost.
pub unsafe fn invalidate_dcache_range(start: u64, len: u64) {
    for a in lines(start, start.saturating_add(len), dline(ctr_el0())) {
        // SAFETY: the caller accepts losing cached data in the range.
        unsafe { asm!("dc ivac, {}", in(reg) a, options(nostack, preserves_flags)) };
    }
    barrier::dsb(barrier::SY);
}

/// Cleans the data cache lines over `[start, start + len)` to the point of coherency
/// (`DC CVAC`), then `DSB SY`: for data written with caches on that a CPU running with its
/// MMU and caches still off must read (a secondary's first look at shared variables).
pub fn clean_dcache_range(start: u64, len: u64) {
    for a in lines(start, start.saturating_add(len), dline(ctr_el0())) {
        // SAFETY: cleaning writes back dirty lines and changes no contents.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack, preserves_flags)) };
    }
    barrier::dsb(barrier::SY);
}

/// Zeroes `[start, start + len)`: whole `DCZID_EL0` blocks with `DC ZVA` (one instruction per
/// block instead of a store per word: the payload zeroes every page a module gets and gives
/// back, so this is on the LOAD path), the unaligned head and tail with byte stores; plain
/// stores throughout when `DCZID_EL0.DZP` forbids `DC ZVA`.
///
/// # Safety
/// The range must be mapped writable at the current EL as Normal memory (DC ZVA faults on
/// Device memory), and nothing may rely on its previous contents.
pub unsafe fn zero_range(start: u64, len: u64) {
    let dczid: u64;
    // SAFETY: reading DCZID_EL0 has no side effects.
    unsafe { asm!("mrs {}, dczid_el0", out(reg) dczid, options(nomem, nostack, preserves_flags)) };
    let end = start.saturating_add(len);
    let block = 4u64 << (dczid & 0xf);
    let (mut a, zva_end) = if dczid & (1 << 4) != 0 {
        (end, end)
    } else {
        let first = start.div_ceil(block) * block;
        (first.min(end), (end / block * block).max(first.min(end)))
    };
    // SAFETY: [start, a) is inside the caller's writable range.
    unsafe { core::ptr::write_bytes(start as *mut u8, 0, (a - start) as usize) };
    while a < zva_end {
        // SAFETY: [a, a + block) is a whole block inside the caller's writable Normal range.
        unsafe { asm!("dc zva, {}", in(reg) a, options(nostack, preserves_flags)) };
        a += block;
    }
    // SAFETY: [a, end) is inside the caller's writable range.
    unsafe { core::ptr::write_bytes(a as *mut u8, 0, (end - a) as usize) };
}

/// Invalidates the entries of `asid` for `[va, va + len)` on every CPU of the Inner
/// Shareable domain: `TLBI VAE1IS` per page with the ASID in bits [63:48] (or `TLBI
/// ASIDE1IS` above [`TLBI_RANGE_MAX_PAGES`]), between `DSB ISHST` and `DSB ISH; ISB`.
pub fn flush_tlb_asid_range(asid: u16, va: u64, len: u64) {
    let first = va / PAGE_SIZE;
    let last = va.saturating_add(len).div_ceil(PAGE_SIZE);
    let tag = u64::from(asid) << 48;
    barrier::dsb(barrier::ISHST);
    if last - first > TLBI_RANGE_MAX_PAGES {
        // SAFETY: TLB invalidation has no memory effects.
        unsafe { asm!("tlbi aside1is, {}", in(reg) tag, options(nostack, preserves_flags)) };
    } else {
        for page in first..last {
            let op = tag | (page & ((1 << 44) - 1));
            // SAFETY: TLB invalidation has no memory effects.
            unsafe { asm!("tlbi vae1is, {}", in(reg) op, options(nostack, preserves_flags)) };
        }
    }
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

/// Invalidates every entry tagged with `asid` (leaves and cached walks) on every CPU of the
/// Inner Shareable domain: `TLBI ASIDE1IS`.
pub fn flush_tlb_asid(asid: u16) {
    barrier::dsb(barrier::ISHST);
    // SAFETY: TLB invalidation has no memory effects.
    unsafe {
        asm!("tlbi aside1is, {}", in(reg) u64::from(asid) << 48, options(nostack, preserves_flags))
    };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);
}

impl AsidTlb for HwTlb {
    fn publish(&mut self) {
        publish_tables();
    }

    fn invalidate(&mut self, asid: u16, va: u64, len: u64) {
        flush_tlb_asid_range(asid, va, len);
    }

    fn invalidate_asid(&mut self, asid: u16) {
        flush_tlb_asid(asid);
    }
}

/// The hardware [`TlbMaintenance`]: [`publish_tables`] and [`flush_tlb_range`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HwTlb;

impl TlbMaintenance for HwTlb {
    fn publish(&mut self) {
        publish_tables();
    }

    fn invalidate(&mut self, va: u64, len: u64) {
        flush_tlb_range(va, len);
    }
}
