//! The table builder: [`PageTables`], one TTBR0_EL1 address space (39-bit VA, levels 1-3,
//! 4 KiB pages only).

use crate::attrs::{desc, Attributes};
use crate::pool::{TableAllocator, TablePage, ENTRIES};
use crate::{Error, PAGE_SIZE, PA_LIMIT, VA_LIMIT};

/// TLB and table-walk synchronisation the builder asks for after changing live tables.
///
/// On the target this is [`crate::arch::HwTlb`]; host tests use a recording fake; `()` does
/// nothing (fine only while the tables are not in use by any CPU).
pub trait TlbMaintenance {
    /// Invalid entries were made valid, or a new table page was zeroed and is about to be
    /// linked in. On hardware: `DSB ISHST; ISB`, so the walker of every CPU sees the writes
    /// so far (and a table's contents before the link to it).
    fn publish(&mut self);
    /// Entries translating `[va, va + len)` that were valid were changed or removed (and
    /// tables covering them may have been unlinked). On hardware: `DSB ISHST`, `TLBI VAE1IS`
    /// for each page (or `TLBI VMALLE1IS`), `DSB ISH; ISB`. Called before any unlinked table
    /// page goes back to the allocator.
    fn invalidate(&mut self, va: u64, len: u64);
}

impl TlbMaintenance for () {
    fn publish(&mut self) {}
    fn invalidate(&mut self, _va: u64, _len: u64) {}
}

/// A valid leaf mapping, as returned by [`PageTables::query`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Physical address the queried VA translates to (page address plus offset).
    pub pa: u64,
    /// The page's attributes.
    pub attrs: Attributes,
}

const LEVELS: [u32; 3] = [1, 2, 3];

/// Bytes covered by one entry of a table at `level` (1: 1 GiB, 2: 2 MiB, 3: 4 KiB).
const fn entry_span(level: u32) -> u64 {
    1 << (12 + 9 * (3 - level))
}

const fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (3 - level))) as usize) & (ENTRIES - 1)
}

/// Pages from `cur` (at level 3 index `first`) to `end` that lie in the same level 3 table.
fn run_len(first: usize, cur: u64, end: u64) -> usize {
    ((ENTRIES - first) as u64).min((end - cur) / PAGE_SIZE) as usize
}

const fn is_table(d: u64) -> bool {
    d & (desc::VALID | desc::TABLE_OR_PAGE) == desc::VALID | desc::TABLE_OR_PAGE
}

/// Checks `va`/`pa`/`len` and returns the end VA.
fn check_range(va: u64, len: u64) -> Result<u64, Error> {
    if !va.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
        return Err(Error::Misaligned);
    }
    let end = va.checked_add(len).ok_or(Error::InvalidRange)?;
    if len == 0 || end > VA_LIMIT {
        return Err(Error::InvalidRange);
    }
    Ok(end)
}

/// One TTBR0_EL1 address space: a level 1 root table and the tables below it, drawn from a
/// [`TableAllocator`]. Every leaf is a 4 KiB page descriptor written through
/// [`Attributes::page_descriptor`] after [`Attributes::check`] passed, so W^X holds for every
/// page at all times.
///
/// Every call either succeeds completely or returns an error with the tables as they were.
pub struct PageTables<A: TableAllocator, T: TlbMaintenance> {
    alloc: A,
    tlb: T,
    root: u64,
    /// OR-ed into every leaf: 0 (global) or [`desc::NG`] (tagged with the ASID).
    ng: u64,
}

impl<A: TableAllocator, T: TlbMaintenance> PageTables<A, T> {
    /// An empty address space (nothing mapped); takes one page from `alloc` for the root.
    pub fn new(mut alloc: A, tlb: T) -> Result<Self, Error> {
        let root = alloc.allocate().ok_or(Error::OutOfTablePages)?;
        Ok(Self {
            alloc,
            tlb,
            root,
            ng: 0,
        })
    }

    /// Like [`new`](Self::new), but every leaf is written not-global (`nG` = 1): its TLB
    /// entries are tagged with the ASID the tables are installed with ([`crate::AddressSpace`]).
    pub fn new_not_global(alloc: A, tlb: T) -> Result<Self, Error> {
        let mut pt = Self::new(alloc, tlb)?;
        pt.ng = desc::NG;
        Ok(pt)
    }

    /// A level 0 table (taken from the allocator, never freed by these tables) whose entry 0
    /// links this level 1 root with [`crate::kernel_root_entry`]: the root for `TTBR0_EL1`
    /// once walks start at level 0 ([`crate::SPACE_VA_BITS`]), with nothing in the window
    /// area (the root the payload runs on when no module address space is installed).
    pub fn make_level0_root(&mut self) -> Result<u64, Error> {
        let l0 = self.alloc.allocate().ok_or(Error::OutOfTablePages)?;
        let root = self.root;
        write_entry(self.table_mut(l0)?, 0, crate::kernel_root_entry(root));
        self.tlb.publish();
        Ok(l0)
    }

    /// Frees every table page, the root included, and returns the allocator.
    ///
    /// No CPU may walk these tables any more, and their TLB entries must have been
    /// invalidated already (for an [`crate::AddressSpace`]: `TLBI ASIDE1IS` of its ASID).
    pub fn destroy(mut self) -> A {
        let root = self.root;
        self.free_subtree(root, 1);
        self.alloc
    }

    fn free_subtree(&mut self, table: u64, level: u32) {
        if level < 3 {
            for i in 0..ENTRIES {
                let d = match self.table(table) {
                    Ok(t) => t.entry(i),
                    Err(_) => return,
                };
                if is_table(d) {
                    self.free_subtree(d & desc::OA_MASK, level + 1);
                }
            }
        }
        self.alloc.free(table);
    }

    /// Physical address of the level 1 root table: the value for `TTBR0_EL1` (ASID 0).
    pub fn root_pa(&self) -> u64 {
        self.root
    }

    /// The table allocator (for its statistics).
    pub fn allocator(&self) -> &A {
        &self.alloc
    }

    pub(crate) fn tlb_mut(&mut self) -> &mut T {
        &mut self.tlb
    }

    pub(crate) fn allocator_mut(&mut self) -> &mut A {
        &mut self.alloc
    }

    /// Maps `[va, va + len)` to `[pa, pa + len)` with `attrs`.
    ///
    /// Errors: the policy ([`Attributes::check`]); [`Error::Misaligned`] unless all three are
    /// multiples of 4 KiB; [`Error::InvalidRange`] for an empty range or one past the VA space
    /// or 48-bit PA; [`Error::AlreadyMapped`] if any page is mapped already (mappings never
    /// overlap: change them with [`protect`](Self::protect) or unmap first);
    /// [`Error::OutOfTablePages`] when the pool runs dry (what this call mapped so far is
    /// undone).
    pub fn map(&mut self, va: u64, pa: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
        attrs.check()?;
        let end = check_range(va, len)?;
        if !pa.is_multiple_of(PAGE_SIZE) {
            return Err(Error::Misaligned);
        }
        if pa.checked_add(len).is_none_or(|pend| pend > PA_LIMIT) {
            return Err(Error::InvalidRange);
        }
        if let Some(at) = self.find(va, end, true)? {
            return Err(Error::AlreadyMapped(at));
        }
        let mut cur = va;
        while cur < end {
            let l3 = match self.leaf_table_alloc(cur) {
                Ok(t) => t,
                Err(e) => {
                    // Undo: pages mapped so far, and tables made for them.
                    self.remove(va, end)?;
                    return Err(e);
                }
            };
            let first = index(cur, 3);
            let n = run_len(first, cur, end);
            let base_pa = pa + (cur - va);
            let ng = self.ng;
            let table = self.table_mut(l3)?;
            for k in 0..n {
                let d = attrs.page_descriptor(base_pa + k as u64 * PAGE_SIZE) | ng;
                write_entry(table, first + k, d);
            }
            cur += n as u64 * PAGE_SIZE;
        }
        self.tlb.publish();
        Ok(())
    }

    /// Identity map: `map(pa, pa, len, attrs)`.
    pub fn map_identity(&mut self, pa: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
        self.map(pa, pa, len, attrs)
    }

    /// Unmaps `[va, va + len)`, every page of which must be mapped ([`Error::NotMapped`]
    /// otherwise, with nothing changed). Tables left empty go back to the allocator after
    /// the TLBs were invalidated.
    pub fn unmap(&mut self, va: u64, len: u64) -> Result<(), Error> {
        let end = check_range(va, len)?;
        if let Some(at) = self.find(va, end, false)? {
            return Err(Error::NotMapped(at));
        }
        self.remove(va, end)
    }

    /// Changes the permissions of `[va, va + len)`, every page of which must be mapped, to
    /// `attrs` (checked against the policy). Output addresses stay; the memory type and the
    /// NS bit must stay too ([`Error::TypeChange`]: that change needs unmap + map).
    ///
    /// Permission-only changes need no break-before-make; the caller still has to keep the
    /// order the architecture needs for code: write through a `KERNEL_DATA` mapping, protect
    /// to an executable preset, then [`crate::arch::sync_icache_range`].
    pub fn protect(&mut self, va: u64, len: u64, attrs: Attributes) -> Result<(), Error> {
        attrs.check()?;
        let end = check_range(va, len)?;
        // First pass: all mapped, same type and NS.
        let mut cur = va;
        while cur < end {
            let (l3, first) = self.leaf_table(cur)?.ok_or(Error::NotMapped(cur))?;
            let table = self.table(l3)?;
            let n = run_len(first, cur, end);
            for k in 0..n {
                let at = cur + k as u64 * PAGE_SIZE;
                let old = Attributes::decode(table.entry(first + k)).ok_or(Error::NotMapped(at))?;
                if old.memory != attrs.memory || old.non_secure != attrs.non_secure {
                    return Err(Error::TypeChange(at));
                }
            }
            cur += n as u64 * PAGE_SIZE;
        }
        let mut cur = va;
        while cur < end {
            let (l3, first) = self.leaf_table(cur)?.ok_or(Error::NotMapped(cur))?;
            let n = run_len(first, cur, end);
            let ng = self.ng;
            let table = self.table_mut(l3)?;
            for k in first..first + n {
                let d = attrs.page_descriptor(table.entry(k) & desc::OA_MASK) | ng;
                write_entry(table, k, d);
            }
            cur += n as u64 * PAGE_SIZE;
        }
        self.tlb.invalidate(va, len);
        Ok(())
    }

    /// The mapping of `va` (any byte address), if it is mapped.
    pub fn query(&self, va: u64) -> Option<Mapping> {
        if va >= VA_LIMIT {
            return None;
        }
        let (l3, i) = self.leaf_table(va & !(PAGE_SIZE - 1)).ok()??;
        let d = self.table(l3).ok()?.entry(i);
        let attrs = Attributes::decode(d)?;
        Some(Mapping {
            pa: (d & desc::OA_MASK) | (va & (PAGE_SIZE - 1)),
            attrs,
        })
    }

    /// Calls `f(va, descriptor)` for every valid leaf descriptor, in VA order. Raw
    /// descriptors, so that checks (tests, a debug self-check) need not trust the decoder.
    pub fn for_each_page(&self, mut f: impl FnMut(u64, u64)) -> Result<(), Error> {
        self.walk(self.root, 1, 0, &mut f)
    }

    /// Re-checks every mapped page against the policy: `Err((va, error))` for the first page
    /// that violates it or holds a descriptor this crate never writes.
    pub fn verify(&self) -> Result<(), (u64, Error)> {
        let mut bad = None;
        self.for_each_page(|va, d| {
            if bad.is_none() {
                match Attributes::decode(d) {
                    None => bad = Some((va, Error::Corrupt(va))),
                    Some(a) => {
                        if let Err(e) = a.check() {
                            bad = Some((va, e));
                        }
                    }
                }
            }
        })
        .map_err(|e| (0, e))?;
        bad.map_or(Ok(()), Err)
    }

    fn walk(
        &self,
        table: u64,
        level: u32,
        base: u64,
        f: &mut impl FnMut(u64, u64),
    ) -> Result<(), Error> {
        let t = self.table(table)?;
        for (i, &d) in t.0.iter().enumerate() {
            let va = base + i as u64 * entry_span(level);
            if d & desc::VALID == 0 {
                continue;
            }
            if level == 3 {
                f(va, d);
            } else if is_table(d) {
                self.walk(d & desc::OA_MASK, level + 1, va, f)?;
            } else {
                return Err(Error::Corrupt(va));
            }
        }
        Ok(())
    }

    fn table(&self, pa: u64) -> Result<&TablePage, Error> {
        self.alloc.table(pa).ok_or(Error::Corrupt(pa))
    }

    fn table_mut(&mut self, pa: u64) -> Result<&mut TablePage, Error> {
        self.alloc.table_mut(pa).ok_or(Error::Corrupt(pa))
    }

    /// The level 3 table and index for `va`, or `None` if a table on the way is missing.
    fn leaf_table(&self, va: u64) -> Result<Option<(u64, usize)>, Error> {
        let mut table = self.root;
        for level in [1, 2] {
            let d = self.table(table)?.entry(index(va, level));
            if d & desc::VALID == 0 {
                return Ok(None);
            }
            if !is_table(d) {
                return Err(Error::Corrupt(va));
            }
            table = d & desc::OA_MASK;
        }
        Ok(Some((table, index(va, 3))))
    }

    /// The level 3 table for `va`, allocating missing tables.
    fn leaf_table_alloc(&mut self, va: u64) -> Result<u64, Error> {
        let mut table = self.root;
        for level in [1, 2] {
            let i = index(va, level);
            let d = self.table(table)?.entry(i);
            table = if d & desc::VALID == 0 {
                let new = self.alloc.allocate().ok_or(Error::OutOfTablePages)?;
                // The zeroing of the new table must be visible to every walker before the
                // link that makes it reachable.
                self.tlb.publish();
                // Table descriptor; hierarchical attributes (APTable, XNTable, NSTable) zero:
                // the leaves alone decide.
                write_entry(
                    self.table_mut(table)?,
                    i,
                    new | desc::VALID | desc::TABLE_OR_PAGE,
                );
                new
            } else if is_table(d) {
                d & desc::OA_MASK
            } else {
                return Err(Error::Corrupt(va));
            };
        }
        Ok(table)
    }

    /// First page in `[va, end)` that is mapped (`want_mapped`) or unmapped (`!want_mapped`).
    /// Skips missing tables a whole table span at a time.
    fn find(&self, va: u64, end: u64, want_mapped: bool) -> Result<Option<u64>, Error> {
        let mut cur = va;
        'outer: while cur < end {
            let mut table = self.root;
            for level in LEVELS {
                let d = self.table(table)?.entry(index(cur, level));
                let valid = d & desc::VALID != 0;
                if !valid {
                    if !want_mapped {
                        return Ok(Some(cur));
                    }
                    // Nothing mapped up to the end of this entry's span.
                    cur = (cur | (entry_span(level) - 1)) + 1;
                    continue 'outer;
                }
                if level == 3 {
                    break;
                }
                if !is_table(d) {
                    return Err(Error::Corrupt(cur));
                }
                table = d & desc::OA_MASK;
            }
            if want_mapped {
                return Ok(Some(cur));
            }
            cur += PAGE_SIZE;
        }
        Ok(None)
    }

    /// Writes invalid descriptors over `[va, end)` (tables that are missing are skipped).
    fn clear(&mut self, va: u64, end: u64) -> Result<(), Error> {
        let mut cur = va;
        while cur < end {
            let span_end = ((cur | (entry_span(2) - 1)) + 1).min(end);
            if let Some((l3, first)) = self.leaf_table(cur)? {
                let n = ((span_end - cur) / PAGE_SIZE) as usize;
                let table = self.table_mut(l3)?;
                for k in first..first + n {
                    write_entry(table, k, 0);
                }
            }
            cur = span_end;
        }
        Ok(())
    }

    /// Clears `[va, end)`, unlinks the level 3 and level 2 tables under it left without a
    /// valid entry, invalidates the TLBs (leaf entries and walk caches) and only then gives
    /// the unlinked pages back to the allocator.
    fn remove(&mut self, va: u64, end: u64) -> Result<(), Error> {
        self.clear(va, end)?;
        let chain = self.unlink_empty_tables(va, end)?;
        self.tlb.invalidate(va, end - va);
        let Some(mut pa) = chain else { return Ok(()) };
        loop {
            let next = self.table(pa)?.entry(0);
            self.alloc.free(pa);
            if next == pa {
                return Ok(());
            }
            pa = next;
        }
    }

    /// Unlinks tables under `[va, end)` that hold no valid entry (never the root). Returns
    /// the chain of unlinked pages, threaded through their entry 0 and ending at a self-link;
    /// the links keep bit 0 clear, so a stale walk still finds only invalid entries.
    fn unlink_empty_tables(&mut self, va: u64, end: u64) -> Result<Option<u64>, Error> {
        let mut chain: Option<u64> = None;
        let mut cur = va & !(entry_span(1) - 1);
        while cur < end {
            let i1 = index(cur, 1);
            let d1 = self.table(self.root)?.entry(i1);
            if is_table(d1) {
                let l2 = d1 & desc::OA_MASK;
                let lo = index(va.max(cur), 2);
                let hi = index((end - 1).min(cur + entry_span(1) - 1), 2);
                for i2 in lo..=hi {
                    let d2 = self.table(l2)?.entry(i2);
                    if is_table(d2) {
                        let l3 = d2 & desc::OA_MASK;
                        if is_empty(self.table(l3)?) {
                            write_entry(self.table_mut(l2)?, i2, 0);
                            write_entry(self.table_mut(l3)?, 0, chain.unwrap_or(l3));
                            chain = Some(l3);
                        }
                    }
                }
                if is_empty(self.table(l2)?) {
                    write_entry(self.table_mut(self.root)?, i1, 0);
                    write_entry(self.table_mut(l2)?, 0, chain.unwrap_or(l2));
                    chain = Some(l2);
                }
            }
            cur += entry_span(1);
        }
        Ok(chain)
    }
}

fn is_empty(t: &TablePage) -> bool {
    t.0.iter().all(|&d| d & desc::VALID == 0)
}

/// Descriptor store: a single 64-bit volatile write, so the compiler neither tears, merges
/// nor drops it (the hardware walker reads these pages concurrently).
fn write_entry(table: &mut TablePage, i: usize, d: u64) {
    // Callers index with values masked to `ENTRIES - 1`; an index past the table is ignored.
    if let Some(slot) = table.0.get_mut(i) {
        // SAFETY: `slot` is a valid, aligned, exclusively borrowed u64.
        unsafe { core::ptr::write_volatile(slot, d) }
    }
}
