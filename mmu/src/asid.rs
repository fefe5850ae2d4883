//! ASID allocation for module address spaces: [`AsidAllocator`].
//!
//! ASID 0 is the payload's own (its root maps only global entries) and is never handed out.
//! An ASID goes back to the free set only after its TLB entries were invalidated on every CPU
//! ([`AsidTlb::invalidate_asid`], `TLBI ASIDE1IS`), so a TLB entry of an address space that
//! is gone can never translate for the next owner of its ASID: flush-on-reuse, no
//! generations needed (there are far fewer sessions than ASIDs).

use crate::space::AsidTlb;

const WORDS: usize = 16;
/// Most ASIDs the allocator can track (`WORDS * 64`), whatever the hardware has.
pub const MAX_TRACKED_ASIDS: usize = WORDS * 64;

/// A set of free ASIDs `1..=limit`, handed out round-robin (a freed ASID is reused as late as
/// possible).
pub struct AsidAllocator {
    used: [u64; WORDS],
    limit: u16,
    next: u16,
}

impl AsidAllocator {
    /// ASIDs `1..=255` for 8-bit ASIDs, `1..=1023` when the CPU has 16-bit ones
    /// (`ID_AA64MMFR0_EL1.ASIDBits` = 0b0010 and `TCR_EL1.AS` = 1).
    pub const fn new(sixteen_bit: bool) -> Self {
        let mut used = [0; WORDS];
        used[0] = 1; // ASID 0, the payload's
        Self {
            used,
            limit: if sixteen_bit {
                (MAX_TRACKED_ASIDS - 1) as u16
            } else {
                255
            },
            next: 1,
        }
    }

    /// The highest ASID this allocator hands out.
    pub const fn limit(&self) -> u16 {
        self.limit
    }

    /// The word of `used` holding `asid`'s bit, and the bit; `None` beyond the tracked range.
    fn slot(&self, asid: u16) -> Option<(usize, u64)> {
        let word = usize::from(asid) / 64;
        (word < WORDS).then_some((word, 1 << (asid % 64)))
    }

    /// True when `asid` is handed out (ASIDs beyond the tracked range count as used, so they
    /// are never handed out).
    fn is_used(&self, asid: u16) -> bool {
        match self.slot(asid) {
            Some((word, bit)) => self.used.get(word).is_some_and(|w| w & bit != 0),
            None => true,
        }
    }

    fn set_used(&mut self, asid: u16, used: bool) {
        if let Some((word, bit)) = self.slot(asid) {
            if let Some(w) = self.used.get_mut(word) {
                if used {
                    *w |= bit;
                } else {
                    *w &= !bit;
                }
            }
        }
    }

    /// A free ASID (never 0), or `None` when all are in use.
    pub fn allocate(&mut self) -> Option<u16> {
        for k in 0..self.limit {
            let asid = (self.next - 1 + k) % self.limit + 1;
            if !self.is_used(asid) {
                self.set_used(asid, true);
                self.next = asid % self.limit + 1;
                return Some(asid);
            }
        }
        None
    }

    /// Invalidates `asid`'s TLB entries on every CPU, then makes it free again. Ignores 0 and
    /// ASIDs not handed out.
    pub fn release(&mut self, asid: u16, tlb: &mut impl AsidTlb) {
        if asid == 0 || asid > self.limit || !self.is_used(asid) {
            return;
        }
        tlb.invalidate_asid(asid);
        self.release_flushed(asid);
    }

    /// Makes `asid` free; the caller invalidated its TLB entries after the last change.
    pub(crate) fn release_flushed(&mut self, asid: u16) {
        if asid != 0 && asid <= self.limit {
            self.set_used(asid, false);
        }
    }

    /// ASIDs in use (not counting 0).
    pub fn in_use(&self) -> usize {
        self.used
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>()
            - 1
    }
}
