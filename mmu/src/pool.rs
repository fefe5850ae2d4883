//! Where translation table pages come from: the [`TableAllocator`] trait and [`FixedPool`],
//! its implementation over a caller-owned array of pages (a static in secure RAM on the
//! target, a boxed slice in host tests).

use crate::PAGE_SIZE;

/// Entries in one translation table (4 KiB granule).
pub const ENTRIES: usize = 512;

/// One 4 KiB, 4 KiB-aligned translation table.
#[derive(Clone)]
#[repr(C, align(4096))]
pub struct TablePage(pub [u64; ENTRIES]);

impl TablePage {
    /// An all-invalid table.
    pub const ZERO: Self = Self([0; ENTRIES]);

    /// Descriptor `i`. Callers index with values masked to `ENTRIES - 1`; an index past the
    /// table would read as an invalid descriptor rather than panic.
    pub fn entry(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

impl Default for TablePage {
    fn default() -> Self {
        Self::ZERO
    }
}

/// A source of translation table pages, each named by its physical address.
///
/// The table builder only reaches table memory through this trait, so it needs no global
/// allocator and no `unsafe`. Table pages must be Normal Write-Back memory once the MMU is on
/// (the walker is configured for cacheable, Inner Shareable walks).
pub trait TableAllocator {
    /// A zeroed table page and its physical address (4 KiB aligned), or `None` when the
    /// pool is exhausted.
    fn allocate(&mut self) -> Option<u64>;
    /// Gives back a page returned by `allocate`. Its contents are arbitrary.
    fn free(&mut self, pa: u64);
    /// The table at `pa`, if `pa` is a page this allocator handed out.
    fn table(&self, pa: u64) -> Option<&TablePage>;
    /// The table at `pa`, mutably, if `pa` is a page this allocator handed out.
    fn table_mut(&mut self, pa: u64) -> Option<&mut TablePage>;
}

/// A [`TableAllocator`] over a caller-owned slice of pages whose first page is at physical
/// address `base_pa` (for the payload's identity-mapped pool: the slice's own address).
///
/// Free pages are kept on a list threaded through the pages themselves, so the pool needs no
/// storage besides the slice.
pub struct FixedPool<'a> {
    pages: &'a mut [TablePage],
    base_pa: u64,
    /// Pages `fresh..` have never been handed out.
    fresh: usize,
    /// Head of the free list (index + 1, 0 = empty); each free page holds the next in entry 0.
    free_head: usize,
    in_use: usize,
    high_water: usize,
}

impl<'a> FixedPool<'a> {
    /// A pool over `pages`, the first of which is at physical address `base_pa`.
    ///
    /// # Panics
    /// If `base_pa` is not 4 KiB aligned or the pool would extend past 2^48 (a build-time
    /// configuration error, not a runtime condition).
    pub fn new(pages: &'a mut [TablePage], base_pa: u64) -> Self {
        assert!(
            base_pa.is_multiple_of(PAGE_SIZE),
            "table pool not page aligned"
        );
        assert!(
            base_pa
                .checked_add(pages.len() as u64 * PAGE_SIZE)
                .is_some_and(|end| end <= 1 << 48),
            "table pool beyond 48-bit PA"
        );
        Self {
            pages,
            base_pa,
            fresh: 0,
            free_head: 0,
            in_use: 0,
            high_water: 0,
        }
    }

    /// Pages in the pool.
    pub fn capacity(&self) -> usize {
        self.pages.len()
    }

    /// Pages currently handed out (tables in use).
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Most pages ever handed out at once.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Physical address of the first page.
    pub fn base_pa(&self) -> u64 {
        self.base_pa
    }

    fn index(&self, pa: u64) -> Option<usize> {
        let off = pa.checked_sub(self.base_pa)?;
        if !off.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        let i = usize::try_from(off / PAGE_SIZE).ok()?;
        (i < self.fresh).then_some(i)
    }
}

impl TableAllocator for FixedPool<'_> {
    fn allocate(&mut self) -> Option<u64> {
        let i = if self.free_head != 0 {
            let i = self.free_head - 1;
            self.free_head = (self.pages.get(i)?.0[0] >> 12) as usize;
            i
        } else if self.fresh < self.pages.len() {
            self.fresh += 1;
            self.fresh - 1
        } else {
            return None;
        };
        self.pages.get_mut(i)?.0.fill(0);
        self.in_use += 1;
        self.high_water = self.high_water.max(self.in_use);
        Some(self.base_pa + i as u64 * PAGE_SIZE)
    }

    fn free(&mut self, pa: u64) {
        // A page that is not from this pool is a caller bug; it is left alone rather than
        // threaded into the free list.
        let Some(i) = self.index(pa) else { return };
        let Some(page) = self.pages.get_mut(i) else {
            return;
        };
        // Entry 0 links the free list, shifted so that bit 0 (VALID) stays clear: the page
        // never looks like it holds a valid descriptor.
        page.0[0] = (self.free_head as u64) << 12;
        self.free_head = i + 1;
        self.in_use = self.in_use.saturating_sub(1);
    }

    fn table(&self, pa: u64) -> Option<&TablePage> {
        self.pages.get(self.index(pa)?)
    }

    fn table_mut(&mut self, pa: u64) -> Option<&mut TablePage> {
        let i = self.index(pa)?;
        self.pages.get_mut(i)
    }
}
