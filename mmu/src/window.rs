//! Reservation of large virtual address windows in the high half of the VA space.
//!
//! A window is address space only: reserving one maps nothing. The owner maps a prefix of it
//! with [`crate::PageTables::map`] and grows that prefix in place; the rest stays unmapped, so
//! any access beyond the mapped prefix faults (a wasm linear memory reserves 8 GiB: 4 GiB of
//! 32-bit index plus 4 GiB of static offset). [`VaWindows::find`] tells a fault handler which
//! window an address belongs to.

use crate::{Error, BLOCK_SIZE, PAGE_SIZE, WINDOW_AREA_END, WINDOW_AREA_START};

/// A reserved range of virtual addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First VA (2 MiB aligned).
    pub base: u64,
    /// Size in bytes (a multiple of 4 KiB).
    pub size: u64,
}

impl Window {
    /// One past the last VA.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }

    /// Whether `va` lies inside the window.
    pub const fn contains(&self, va: u64) -> bool {
        va >= self.base && va < self.end()
    }
}

/// First-fit allocator of up to `N` windows in `[start, end)`. Every window starts 2 MiB
/// aligned and is kept at least `guard` bytes away from its neighbours and from the ends of
/// the area, so neighbouring windows never share a level 3 table and an overrun of one window
/// past its reservation lands in unmapped space first.
pub struct VaWindows<const N: usize> {
    start: u64,
    end: u64,
    guard: u64,
    slots: [Option<Window>; N],
}

impl<const N: usize> VaWindows<N> {
    /// The default area: [`WINDOW_AREA_START`]..[`WINDOW_AREA_END`] (256 GiB), 2 MiB guards.
    pub const fn new() -> Self {
        Self::with_area(WINDOW_AREA_START, WINDOW_AREA_END, BLOCK_SIZE)
    }

    /// An allocator over `[start, end)` with `guard` bytes of unreserved VA around each window.
    ///
    /// # Panics
    /// If the bounds are not 2 MiB aligned or `start >= end` (configuration errors).
    pub const fn with_area(start: u64, end: u64, guard: u64) -> Self {
        assert!(start.is_multiple_of(BLOCK_SIZE) && end.is_multiple_of(BLOCK_SIZE) && start < end);
        Self {
            start,
            end,
            guard,
            slots: [None; N],
        }
    }

    /// Reserves a window of `size` bytes (a non-zero multiple of 4 KiB).
    ///
    /// Errors: [`Error::Misaligned`], [`Error::InvalidRange`] for zero size,
    /// [`Error::WindowsExhausted`] when all `N` slots are used or no gap is large enough.
    pub fn reserve(&mut self, size: u64) -> Result<Window, Error> {
        if !size.is_multiple_of(PAGE_SIZE) {
            return Err(Error::Misaligned);
        }
        if size == 0 {
            return Err(Error::InvalidRange);
        }
        let slot = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(Error::WindowsExhausted)?;
        let mut base =
            align_up(self.start.saturating_add(self.guard)).ok_or(Error::WindowsExhausted)?;
        'retry: loop {
            let limit = base
                .checked_add(size)
                .and_then(|e| e.checked_add(self.guard))
                .ok_or(Error::WindowsExhausted)?;
            if limit > self.end {
                return Err(Error::WindowsExhausted);
            }
            for w in self.slots.iter().flatten() {
                // Conflict if the candidate plus its guards overlaps `w`.
                let after = w.end().saturating_add(self.guard);
                if base < after && w.base < limit {
                    base = align_up(after).ok_or(Error::WindowsExhausted)?;
                    continue 'retry;
                }
            }
            let w = Window { base, size };
            *self.slots.get_mut(slot).ok_or(Error::WindowsExhausted)? = Some(w);
            return Ok(w);
        }
    }

    /// Releases the window starting at `base`. The caller must have unmapped it (and the
    /// TLBs were invalidated by that unmap) before its VA can be handed out again.
    pub fn release(&mut self, base: u64) -> Result<Window, Error> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.is_some_and(|w| w.base == base))
            .ok_or(Error::UnknownWindow)?;
        slot.take().ok_or(Error::UnknownWindow)
    }

    /// The reserved window containing `va`, if any (fault classification).
    pub fn find(&self, va: u64) -> Option<Window> {
        self.slots
            .iter()
            .flatten()
            .find(|w| w.contains(va))
            .copied()
    }

    /// Reserved windows, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Window> {
        self.slots.iter().flatten()
    }
}

impl<const N: usize> Default for VaWindows<N> {
    fn default() -> Self {
        Self::new()
    }
}

fn align_up(x: u64) -> Option<u64> {
    Some(x.checked_add(BLOCK_SIZE - 1)? & !(BLOCK_SIZE - 1))
}
