//! Module address spaces: [`AddressSpace`], one per session, and the level 0 entries that
//! tie every root to the payload's own tables.
//!
//! With address spaces on, `TTBR0_EL1` walks start at level 0 (48-bit VA, `T0SZ` = 16) and
//! every root is a level 0 table with two entries:
//!
//! - entry 0, `[0, 512 GiB)`: the payload's one level 1 table ([`kernel_root_entry`]), shared
//!   by every root. Its leaves are global (nG = 0) and EL1-only, and the link itself has
//!   `APTable` = no EL0 access and `UXNTable`, so nothing below it is reachable from EL0
//!   whatever a leaf says. The payload keeps its VA == PA identity map in every space.
//! - entry 1, `[512 GiB, 1 TiB)` ([`crate::WINDOW_AREA_START`]..): the space's own level 1
//!   table (`PXNTable`: EL1 never executes anything there), with not-global leaves (nG = 1)
//!   tagged with the space's ASID. Only the session's module windows live here.
//!
//! The payload's own root (no session installed, ASID 0) is the same level 0 table without
//! entry 1 ([`crate::PageTables::make_level0_root`]). Switching spaces is one `TTBR0_EL1`
//! write (root and ASID together); no TLB maintenance is needed because no entry of one ASID
//! matches another, and the payload's global entries are the same in every space.

use crate::asid::AsidAllocator;
use crate::attrs::{desc, Attributes, Exec};
use crate::pool::TableAllocator;
use crate::tables::{Mapping, PageTables, TlbMaintenance};
use crate::window::{VaWindows, Window};
use crate::{Error, WINDOW_AREA_END, WINDOW_AREA_START};

/// Windows one address space can hold (a module needs five: code, data, stack, linear
/// memory, entry stubs).
pub const SPACE_WINDOWS: usize = 32;

/// TLB maintenance for ASID-tagged (not-global) entries.
///
/// On the target this is [`crate::arch::HwTlb`] (`TLBI VAE1IS` with the ASID, `TLBI
/// ASIDE1IS`); both broadcast, because another CPU may have run the space before.
pub trait AsidTlb {
    /// Like [`TlbMaintenance::publish`].
    fn publish(&mut self);
    /// Entries of `asid` translating `[va, va + len)` were changed or removed (and tables
    /// covering them may have been unlinked).
    fn invalidate(&mut self, asid: u16, va: u64, len: u64);
    /// Every entry tagged with `asid` (leaves and cached walks) must go, on every CPU.
    fn invalidate_asid(&mut self, asid: u16);
}

impl AsidTlb for () {
    fn publish(&mut self) {}
    fn invalidate(&mut self, _asid: u16, _va: u64, _len: u64) {}
    fn invalidate_asid(&mut self, _asid: u16) {}
}

/// The level 0 descriptor linking the payload's level 1 root `l1`: a table descriptor with
/// `APTable` = no EL0 access and `UXNTable` set.
pub const fn kernel_root_entry(l1: u64) -> u64 {
    (l1 & desc::OA_MASK)
        | desc::VALID
        | desc::TABLE_OR_PAGE
        | desc::AP_TABLE_NO_EL0
        | desc::UXN_TABLE
}

/// The level 0 descriptor linking a space's own level 1 table: `PXNTable` set.
const fn user_root_entry(l1: u64) -> u64 {
    (l1 & desc::OA_MASK) | desc::VALID | desc::TABLE_OR_PAGE | desc::PXN_TABLE
}

/// Adapts an [`AsidTlb`] to the builder, which works on offsets from
/// [`WINDOW_AREA_START`].
pub struct Tagged<T> {
    tlb: T,
    asid: u16,
}

impl<T: AsidTlb> TlbMaintenance for Tagged<T> {
    fn publish(&mut self) {
        self.tlb.publish();
    }

    fn invalidate(&mut self, va: u64, len: u64) {
        self.tlb.invalidate(self.asid, WINDOW_AREA_START + va, len);
    }
}

/// One module address space: a level 0 root with its own ASID, the payload's tables shared
/// through entry 0, and the window area with its VA reservations and mappings.
///
/// Every mapping is not-global and lies inside a window reserved here; nothing in it is
/// EL1-executable. Placement is deterministic ([`VaWindows`] first fit): with a private
/// space, nothing of any other session is mapped at any address anyway.
pub struct AddressSpace<A: TableAllocator, T: AsidTlb> {
    pt: PageTables<A, Tagged<T>>,
    l0: u64,
    asid: u16,
    windows: VaWindows<SPACE_WINDOWS>,
}

impl<A: TableAllocator, T: AsidTlb> AddressSpace<A, T> {
    /// An empty space with ASID `asid` (from an [`AsidAllocator`], never 0) whose root also
    /// links `kernel_l1`, the payload's level 1 root ([`PageTables::root_pa`]). Takes two
    /// pages from `alloc` (the level 0 and level 1 tables).
    pub fn new(alloc: A, tlb: T, asid: u16, kernel_l1: u64) -> Result<Self, Error> {
        if asid == 0 {
            return Err(Error::InvalidRange);
        }
        let mut pt = PageTables::new_not_global(alloc, Tagged { tlb, asid })?;
        let Some(l0) = pt.allocator_mut().allocate() else {
            drop(pt.destroy());
            return Err(Error::OutOfTablePages);
        };
        let l1 = pt.root_pa();
        match pt.allocator_mut().table_mut(l0) {
            Some(t) => {
                t.0[0] = kernel_root_entry(kernel_l1);
                t.0[1] = user_root_entry(l1);
            }
            None => {
                drop(pt.destroy());
                return Err(Error::Corrupt(l0));
            }
        }
        pt.tlb_mut().publish();
        Ok(Self {
            pt,
            l0,
            asid,
            windows: VaWindows::new(),
        })
    }

    /// The `TTBR0_EL1` value that installs this space: root PA, ASID in bits [63:48].
    pub fn ttbr(&self) -> u64 {
        self.l0 | (u64::from(self.asid) << 48)
    }

    /// The space's ASID.
    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// Physical address of the level 0 root.
    pub fn root_pa(&self) -> u64 {
        self.l0
    }

    /// The table allocator (for its statistics).
    pub fn allocator(&self) -> &A {
        self.pt.allocator()
    }

    /// Reserves a window of `size` bytes in this space ([`VaWindows::reserve`]).
    pub fn reserve(&mut self, size: u64) -> Result<Window, Error> {
        self.windows.reserve(size)
    }

    /// Releases the window at `base`; whatever was mapped in it must be unmapped first.
    pub fn release(&mut self, base: u64) -> Result<Window, Error> {
        self.windows.release(base)
    }

    /// The reserved window containing `va`.
    pub fn find(&self, va: u64) -> Option<Window> {
        self.windows.find(va)
    }

    /// Reserved windows.
    pub fn windows(&self) -> impl Iterator<Item = &Window> {
        self.windows.iter()
    }

    /// Offset of `[va, va + len)` in the window area, if it lies inside one window.
    fn offset(&self, va: u64, len: u64) -> Result<u64, Error> {
        let end = va.checked_add(len).ok_or(Error::InvalidRange)?;
        if va < WINDOW_AREA_START || end > WINDOW_AREA_END {
            return Err(Error::OutsideSpace(va));
        }
        match self.windows.find(va) {
            Some(w) if end <= w.end() => Ok(va - WINDOW_AREA_START),
            _ => Err(Error::OutsideSpace(va)),
        }
    }

    fn check(va: u64, attrs: Attributes) -> Result<(), Error> {
        if matches!(attrs.exec, Exec::Kernel) {
            return Err(Error::OutsideSpace(va));
        }
        Ok(())
    }

    /// Maps `[va, va + len)` (inside one reserved window) to `[pa, pa + len)`: the builder's
    /// [`PageTables::map`] with nG = 1; EL1-executable attributes are refused.
    pub fn map(&mut self, va: u64, pa: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
        Self::check(va, attrs)?;
        let off = self.offset(va, len)?;
        self.pt.map(off, pa, len, attrs)
    }

    /// Unmaps `[va, va + len)`; TLB entries of this ASID invalidated.
    pub fn unmap(&mut self, va: u64, len: u64) -> Result<(), Error> {
        let off = self.offset(va, len)?;
        self.pt.unmap(off, len)
    }

    /// Changes the permissions of `[va, va + len)` ([`PageTables::protect`], nG kept).
    pub fn protect(&mut self, va: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
        Self::check(va, attrs)?;
        let off = self.offset(va, len)?;
        self.pt.protect(off, len, attrs)
    }

    /// The mapping of `va`, if any.
    pub fn query(&self, va: u64) -> Option<Mapping> {
        if !(WINDOW_AREA_START..WINDOW_AREA_END).contains(&va) {
            return None;
        }
        self.pt.query(va - WINDOW_AREA_START)
    }

    /// Calls `f(va, descriptor)` for every valid leaf of the space, in VA order.
    pub fn for_each_page(&self, mut f: impl FnMut(u64, u64)) -> Result<(), Error> {
        self.pt
            .for_each_page(|off, d| f(WINDOW_AREA_START + off, d))
    }

    /// Level 0 entry `i` of the root (tests and self-checks).
    pub fn root_entry(&self, i: usize) -> Option<u64> {
        self.pt
            .allocator()
            .table(self.l0)
            .and_then(|t| t.0.get(i))
            .copied()
    }

    /// Ends the space: invalidates its ASID on every CPU (`TLBI ASIDE1IS`), frees every
    /// table page, then gives the ASID back to `asids`; returns the allocator.
    ///
    /// No CPU may have the space installed (the firmware switches to its own root first).
    pub fn destroy(self, asids: &mut AsidAllocator) -> A {
        let Self {
            mut pt, l0, asid, ..
        } = self;
        pt.tlb_mut().tlb.invalidate_asid(asid);
        let mut alloc = pt.destroy();
        alloc.free(l0);
        asids.release_flushed(asid);
        alloc
    }
}
