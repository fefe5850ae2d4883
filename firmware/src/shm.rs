//! Shared-memory registrations: which normal-world physical ranges the secure world has
//! accepted and mapped (NS=1, never executable).
//!
//! The normal world names a range by physical base and size in SHM_REGISTER. Everything about
//! it is checked here, once, before anything is mapped: page-aligned, non-empty, at most
//! [`SHM_MAX_SIZE`], no wrap, wholly inside one normal-world DRAM bank from the DTB (so never
//! secure memory, never MMIO), and not overlapping another registration. The caller gets an
//! opaque [`ShmHandle`] (slot + generation, so a stale handle never names a newer
//! registration).

use crate::ns_memory::NsDram;
use tzwasm_smc::call::{SHM_MAX_REGISTRATIONS, SHM_MAX_SIZE};
use tzwasm_smc::Status;

const PAGE: u64 = 4096;

/// An accepted range: page-aligned, non-empty, inside normal-world DRAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmRange {
    /// Physical base (the secure world maps it at the same VA).
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

impl ShmRange {
    fn end(self) -> u64 {
        self.base + self.size
    }

    fn overlaps(self, other: ShmRange) -> bool {
        self.base < other.end() && other.base < self.end()
    }
}

/// The handle SHM_REGISTER returns: `generation << 8 | (slot + 1)`, never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmHandle(pub u64);

#[derive(Clone, Copy, Default)]
struct Slot {
    range: Option<ShmRange>,
    generation: u32,
}

/// The registrations alive now.
pub struct Registry {
    slots: [Slot; SHM_MAX_REGISTRATIONS],
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// No registrations.
    pub const fn new() -> Self {
        Self {
            slots: [Slot {
                range: None,
                generation: 0,
            }; SHM_MAX_REGISTRATIONS],
        }
    }

    /// Checks a requested range (untrusted register values) against normal-world DRAM.
    pub fn validate(base: u64, size: u64, dram: &NsDram) -> Result<ShmRange, Status> {
        if size == 0
            || !base.is_multiple_of(PAGE)
            || !size.is_multiple_of(PAGE)
            || size > SHM_MAX_SIZE
        {
            return Err(Status::BadAddress);
        }
        if base.checked_add(size).is_none() || !dram.contains(base, size) {
            return Err(Status::BadAddress);
        }
        Ok(ShmRange { base, size })
    }

    /// Records a validated range; the caller maps it, and calls [`Registry::unregister`] if
    /// mapping fails.
    pub fn register(
        &mut self,
        base: u64,
        size: u64,
        dram: &NsDram,
    ) -> Result<(ShmHandle, ShmRange), Status> {
        let range = Self::validate(base, size, dram)?;
        if self.live().any(|r| r.overlaps(range)) {
            return Err(Status::Overlap);
        }
        let (index, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.range.is_none())
            .ok_or(Status::NoResources)?;
        slot.generation = slot.generation.wrapping_add(1) & 0x00ff_ffff;
        if slot.generation == 0 {
            slot.generation = 1;
        }
        slot.range = Some(range);
        let handle = ShmHandle(u64::from(slot.generation) << 8 | (index as u64 + 1));
        Ok((handle, range))
    }

    fn slot_of(&self, handle: u64) -> Option<usize> {
        let index = (handle & 0xff).checked_sub(1)? as usize;
        let slot = self.slots.get(index)?;
        (slot.range.is_some() && handle >> 8 == u64::from(slot.generation)).then_some(index)
    }

    /// The range a handle names, if it is live.
    pub fn get(&self, handle: u64) -> Option<ShmRange> {
        self.slot_of(handle).and_then(|i| self.slots[i].range)
    }

    /// Forgets a registration; returns its range so the caller can unmap it.
    pub fn unregister(&mut self, handle: u64) -> Result<ShmRange, Status> {
        let index = self.slot_of(handle).ok_or(Status::NoSuchHandle)?;
        self.slots[index].range.take().ok_or(Status::NoSuchHandle)
    }

    /// Live registrations.
    pub fn live(&self) -> impl Iterator<Item = ShmRange> + '_ {
        self.slots.iter().filter_map(|s| s.range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dram() -> NsDram {
        NsDram::from_banks(
            [(0x4000_0000, 0x4000_0000)],
            0x0e00_0000..0x0f00_0000,
            |_| {},
        )
    }

    #[test]
    fn hostile_ranges_are_refused() {
        let d = dram();
        let bad = [
            (0x0e10_0000, 0x1000),           // secure memory
            (0x0900_0000, 0x1000),           // MMIO
            (0x5000_0001, 0x1000),           // unaligned base
            (0x5000_0000, 0x0fff),           // unaligned size
            (0x5000_0000, 0),                // empty
            (0x5000_0000, 1 << 40),          // huge
            (0x7fff_f000, 0x2000),           // runs off the end of DRAM
            (0x3fff_f000, 0x2000),           // starts below DRAM
            (u64::MAX - 0xfff, 0x2000),      // wraps
            (0xffff_ffff_ffff_f000, 0x1000), // top of the address space
            (0x1_0000_0000, 0x1000),         // beyond -m 1024
        ];
        let mut reg = Registry::new();
        for (base, size) in bad {
            assert_eq!(
                reg.register(base, size, &d),
                Err(Status::BadAddress),
                "{base:#x}+{size:#x}"
            );
        }
        assert_eq!(reg.live().count(), 0);
    }

    #[test]
    fn overlap_capacity_and_handles() {
        let d = dram();
        let mut reg = Registry::new();
        let (h, r) = reg.register(0x5000_0000, 0x4000, &d).unwrap();
        assert_eq!(
            r,
            ShmRange {
                base: 0x5000_0000,
                size: 0x4000
            }
        );
        assert_eq!(reg.get(h.0), Some(r));
        for (base, size) in [
            (0x5000_0000, 0x1000),
            (0x4fff_f000, 0x2000),
            (0x5000_3000, 0x1000),
        ] {
            assert_eq!(reg.register(base, size, &d), Err(Status::Overlap));
        }
        // Adjacent is fine.
        let (h2, _) = reg.register(0x5000_4000, 0x1000, &d).unwrap();
        assert_eq!(reg.unregister(h.0), Ok(r));
        assert_eq!(
            reg.unregister(h.0),
            Err(Status::NoSuchHandle),
            "double unregister"
        );
        assert_eq!(reg.get(h.0), None);
        // The slot is reused with a new generation: the stale handle stays dead.
        let (h3, _) = reg.register(0x5000_0000, 0x4000, &d).unwrap();
        assert_ne!(h3, h);
        assert_eq!(reg.unregister(h.0), Err(Status::NoSuchHandle));
        for bogus in [0, 0xff, u64::MAX, h3.0 + (1 << 8)] {
            assert_eq!(
                reg.unregister(bogus),
                Err(Status::NoSuchHandle),
                "{bogus:#x}"
            );
        }
        reg.unregister(h2.0).unwrap();
        reg.unregister(h3.0).unwrap();
        let handles: Vec<_> = (0..SHM_MAX_REGISTRATIONS as u64)
            .map(|i| {
                reg.register(0x6000_0000 + i * 0x1000, 0x1000, &d)
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(
            reg.register(0x7000_0000, 0x1000, &d),
            Err(Status::NoResources)
        );
        for h in handles {
            reg.unregister(h.0).unwrap();
        }
        assert_eq!(reg.live().count(), 0);
    }

    #[test]
    fn no_dram_means_no_shared_memory() {
        let mut reg = Registry::new();
        assert_eq!(
            reg.register(0x5000_0000, 0x1000, &NsDram::default()),
            Err(Status::BadAddress)
        );
    }
}
