//! Translation tables for tzwasm's secure payload: the S-EL1&0 regime through `TTBR0_EL1`,
//! 4 KiB granule, 4 KiB pages only. A [`PageTables`] spans 39 bits (levels 1-3); with module
//! address spaces every root is a level 0 table (48-bit VA) linking two of them.
//!
//! - [`PageTables`] builds and edits one address space: [`map`](PageTables::map),
//!   [`unmap`](PageTables::unmap), [`protect`](PageTables::protect),
//!   [`query`](PageTables::query). Table pages come from a caller-owned [`TableAllocator`]
//!   ([`FixedPool`] over a static array); running out is [`Error::OutOfTablePages`], never a
//!   panic.
//! - [`Attributes`] says what a page is (memory type, EL1/EL0 access, who may execute, NS)
//!   and presets name every mapping the payload makes. W^X is checked on every call
//!   ([`Attributes::check`]): nothing is ever writable and executable at any pair of ELs,
//!   Non-secure and Device memory are never executable, and EL1 never executes an
//!   EL0-accessible page. Violations are errors.
//! - [`VaWindows`] reserves large unmapped VA windows (8 GiB per wasm linear memory) in the
//!   window area, which only ever hold explicitly mapped prefixes.
//! - [`AddressSpace`] is one module address space: a level 0 root with its own ASID whose
//!   entry 0 links the payload's tables (global, EL1-only) and whose entry 1 holds the
//!   module's windows (not-global, tagged with the ASID); [`AsidAllocator`] hands out ASIDs
//!   and flushes them before reuse.
//! - `arch` (aarch64 only): [`arch::enable`] programs `MAIR_EL1`/`TCR_EL1`/`TTBR0_EL1`/
//!   `SCTLR_EL1` on each CPU; [`arch::flush_tlb_range`], [`arch::sync_icache_range`];
//!   [`arch::HwTlb`] is the [`TlbMaintenance`] to give [`PageTables`] on the target.
//!
//! VA layout: `[0, 512 GiB)` is identity-mapped where mapped at all (the payload image,
//! devices, normal-world shared pages: VA == PA), the same tables in every root;
//! `[512 GiB, 1 TiB)` is the window area of the installed module address space
//! ([`WINDOW_AREA_START`]..[`WINDOW_AREA_END`]), VA != PA. See `docs/mmu.md`.
//!
//! # How the firmware builds its map
//!
//! ```
//! use tzwasm_mmu::{AddressSpace, AsidAllocator, Attributes, FixedPool, PageTables, TablePage, PAGE_SIZE};
//!
//! // Normally linker symbols; here the QEMU layout with made-up section sizes.
//! let (text, rodata, data, stacks, end) = (0x0e10_0000, 0x0e14_0000, 0x0e16_0000, 0x0e18_0000, 0x0e1a_0000);
//! let stack_size = 0x4000; // per CPU, each below an unmapped guard page
//! let (uart, gic) = (0x0904_0000, 0x0800_0000);
//!
//! // On the target: `static mut POOL: [TablePage; 32]` in secure RAM, passed once, and
//! // `arch::HwTlb` instead of `()`; base_pa is the pool's own address (identity map).
//! let mut pool = vec![TablePage::ZERO; 32];
//! let mut pt = PageTables::new(FixedPool::new(&mut pool, 0x0e80_0000), ())?;
//!
//! pt.map_identity(text, rodata - text, Attributes::KERNEL_TEXT)?;
//! pt.map_identity(rodata, data - rodata, Attributes::KERNEL_RODATA)?;
//! pt.map_identity(data, stacks - data, Attributes::KERNEL_DATA)?;
//! for cpu in 0..4 {
//!     let slot = stacks + cpu * (PAGE_SIZE + stack_size);
//!     // `slot` itself is the guard page: left unmapped.
//!     pt.map_identity(slot + PAGE_SIZE, stack_size, Attributes::KERNEL_DATA)?;
//! }
//! pt.map_identity(0x0e80_0000, 32 * PAGE_SIZE, Attributes::KERNEL_DATA)?; // the pool itself
//! pt.map_identity(uart, PAGE_SIZE, Attributes::DEVICE)?;
//! pt.map_identity(gic, 0x2_0000, Attributes::DEVICE)?; // GICv2 distributor + CPU interface
//! # let _ = end;
//!
//! // Then, on every CPU (secondaries reuse the same root):
//! //   unsafe { tzwasm_mmu::arch::enable(pt.root_pa(), Default::default()) };
//!
//! // W^X is refused, not silently fixed:
//! assert_eq!(
//!     pt.protect(text, PAGE_SIZE, Attributes { exec: tzwasm_mmu::Exec::Kernel, ..Attributes::KERNEL_DATA }),
//!     Err(tzwasm_mmu::Error::WriteExecute)
//! );
//! assert!(pt.query(stacks).is_none()); // guard page
//!
//! // With module address spaces: a level 0 root over the payload's tables (what every CPU
//! // installs when no module runs; enable with `address_spaces: true`).
//! let kernel_l0 = pt.make_level0_root()?;
//! # let _ = kernel_l0;
//!
//! // Normal-world shared page (NS=1, Normal WB, never executable), identity-mapped.
//! pt.map_identity(0x4800_0000, PAGE_SIZE, Attributes::NS_SHARED)?;
//!
//! // A module: its own address space (own root, ASID, not-global leaves) whose root also
//! // links the payload's tables. On the target the pages come from the secure pool.
//! let mut asids = AsidAllocator::new(false);
//! let mut space_pool = vec![TablePage::ZERO; 16];
//! let asid = asids.allocate().ok_or(tzwasm_mmu::Error::AsidsExhausted)?;
//! let mut space = AddressSpace::new(FixedPool::new(&mut space_pool, 0x0ec0_0000), (), asid, pt.root_pa())?;
//! // TTBR0_EL1 value installing it: root | ASID << 48.
//! assert_eq!(space.ttbr() >> 48, u64::from(asid));
//!
//! // Reserve 8 GiB of linear memory, map a 64 KiB prefix, grow it in place.
//! let lm = space.reserve(tzwasm_mmu::WASM_LINEAR_WINDOW)?;
//! space.map(lm.base, 0x0e90_0000, 0x1_0000, Attributes::USER_DATA)?;
//! space.map(lm.base + 0x1_0000, 0x0e91_0000, 0x1_0000, Attributes::USER_DATA)?;
//! assert!(space.query(lm.base + 0x2_0000).is_none()); // beyond the prefix: faults
//!
//! // Module text: mapped EL1 RW while relocating, then EL0 RX + PXN (on the target followed
//! // by arch::sync_icache_range before the module runs). Never W and X at once.
//! let text_win = space.reserve(0x2000)?;
//! space.map(text_win.base, 0x0ea0_0000, 0x2000, Attributes::KERNEL_DATA)?;
//! // ... relocate through text_win.base ...
//! space.protect(text_win.base, 0x2000, Attributes::USER_TEXT)?;
//! assert_eq!(space.query(text_win.base + 4).unwrap().pa, 0x0ea0_0004);
//!
//! // Teardown: unmap (tables left empty return to the pool), release the window; at the
//! // end the space goes, its ASID flushed before it can be handed out again.
//! space.unmap(lm.base, 0x2_0000)?;
//! space.release(lm.base)?;
//! drop(space.destroy(&mut asids));
//! # Ok::<(), tzwasm_mmu::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
// Nothing the normal world or a module can reach may panic: no unwrap, expect, panic or
// unchecked indexing outside tests. An `allow` below this says why it cannot fire.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod asid;
mod attrs;
mod pool;
pub mod regs;
mod space;
mod tables;
mod window;

#[cfg(target_arch = "aarch64")]
pub mod arch;

pub use asid::AsidAllocator;
pub use attrs::{
    desc, Access, Attributes, Exec, MemoryType, MAIR_ATTR_DEVICE_NGNRE, MAIR_ATTR_NORMAL_NC,
    MAIR_ATTR_NORMAL_WB, MAIR_EL1_VALUE, MAIR_IDX_DEVICE, MAIR_IDX_NORMAL, MAIR_IDX_NORMAL_NC,
};
pub use pool::{FixedPool, TableAllocator, TablePage, ENTRIES};
pub use space::{kernel_root_entry, AddressSpace, AsidTlb, SPACE_WINDOWS};
pub use tables::{Mapping, PageTables, TlbMaintenance};
pub use window::{VaWindows, Window};

/// Page (translation granule) size.
pub const PAGE_SIZE: u64 = 4096;
/// Size of a level 2 entry's span (2 MiB); window alignment.
pub const BLOCK_SIZE: u64 = 2 << 20;
/// Virtual address bits of the `TTBR0_EL1` region (`TCR_EL1.T0SZ` = 25).
pub const VA_BITS: u32 = 39;
/// One past the highest mappable VA (512 GiB).
pub const VA_LIMIT: u64 = 1 << VA_BITS;
/// One past the highest physical address a descriptor can hold (48-bit output addresses).
pub const PA_LIMIT: u64 = 1 << 48;
/// Start of the module (S-EL0) window area: the second 512 GiB of the 48-bit `TTBR0_EL1`
/// space, level 0 entry 1 of every [`AddressSpace`] root. The payload's own identity area is
/// `[0, VA_LIMIT)` (level 0 entry 0, shared by every root).
pub const WINDOW_AREA_START: u64 = VA_LIMIT;
/// End of the window area (1 TiB).
pub const WINDOW_AREA_END: u64 = 2 * VA_LIMIT;
/// Virtual address bits of the `TTBR0_EL1` region once address spaces are on
/// ([`arch::EnableOptions::address_spaces`]: `TCR_EL1.T0SZ` = 16, walks start at level 0).
pub const SPACE_VA_BITS: u32 = 48;
/// Reservation for one wasm linear memory: 4 GiB of 32-bit index + 4 GiB of static offset.
pub const WASM_LINEAR_WINDOW: u64 = 8 << 30;

/// Why a table operation was refused. Every refused call leaves the tables as they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A VA, PA or length is not a multiple of 4 KiB.
    Misaligned,
    /// Empty range, or one that wraps or goes past [`VA_LIMIT`] / [`PA_LIMIT`].
    InvalidRange,
    /// `map` over a page that is already mapped (the VA given).
    AlreadyMapped(u64),
    /// `unmap`/`protect` of a page that is not mapped (the VA given).
    NotMapped(u64),
    /// The table allocator has no page left.
    OutOfTablePages,
    /// Writable and executable (at any EL) requested.
    WriteExecute,
    /// Executable Non-secure memory requested.
    NonSecureExecute,
    /// Executable Device memory requested.
    DeviceExecute,
    /// EL1-executable page that EL0 can access requested.
    KernelExecUserPage,
    /// `protect` would change the memory type or NS bit of the page at this VA.
    TypeChange(u64),
    /// A table holds something this crate never writes: the VA it translates, or the PA of
    /// a table link that does not point into the pool.
    Corrupt(u64),
    /// No free window slot, or no gap large enough.
    WindowsExhausted,
    /// `release` of a base that is not a reserved window.
    UnknownWindow,
    /// An [`AddressSpace`] call with an address outside the window area, or a mapping that
    /// EL1 could execute (module spaces never hold payload code).
    OutsideSpace(u64),
    /// Every ASID is in use.
    AsidsExhausted,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Misaligned => f.write_str("address or length not 4 KiB aligned"),
            Error::InvalidRange => f.write_str("empty or out-of-range address range"),
            Error::AlreadyMapped(va) => write!(f, "VA {va:#x} already mapped"),
            Error::NotMapped(va) => write!(f, "VA {va:#x} not mapped"),
            Error::OutOfTablePages => f.write_str("out of translation table pages"),
            Error::WriteExecute => f.write_str("W^X: writable and executable"),
            Error::NonSecureExecute => f.write_str("Non-secure memory may not be executable"),
            Error::DeviceExecute => f.write_str("Device memory may not be executable"),
            Error::KernelExecUserPage => f.write_str("EL1 may not execute EL0-accessible memory"),
            Error::TypeChange(va) => {
                write!(f, "VA {va:#x}: memory type or NS change needs unmap+map")
            }
            Error::Corrupt(va) => write!(f, "corrupt translation table at {va:#x}"),
            Error::WindowsExhausted => f.write_str("no VA window available"),
            Error::UnknownWindow => f.write_str("no such VA window"),
            Error::OutsideSpace(va) => {
                write!(
                    f,
                    "VA {va:#x} is not a module window address (or EL1-executable)"
                )
            }
            Error::AsidsExhausted => f.write_str("no ASID left for another address space"),
        }
    }
}

#[cfg(test)]
mod tests;
