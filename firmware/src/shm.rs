//! Shared-memory registrations: which normal-world physical ranges the secure world has
//! accepted and mapped (NS=1, never executable).
//!
//! The normal world names a range by physical base and size in SHM_REGISTER. Everything about
//! it is checked once, before anything is mapped: the shape (page-aligned, non-empty, at most
//! `SHM_MAX_SIZE`, no wrap) by [`ShmRegisterArgs`] when the registers are decoded, then here
//! that it lies wholly inside one normal-world DRAM bank from the DTB (so never secure memory,
//! never MMIO). The registrations themselves live in the generic handle table
//! of [`crate::sessions::Machine`], which also refuses overlapping ranges.

use crate::ns_memory::NsDram;
use tzwasm_smc::args::ShmRegisterArgs;
use tzwasm_smc::Status;

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
        // No wrap: checked when the range was accepted.
        self.base.saturating_add(self.size)
    }

    /// True if the two ranges share a byte.
    pub fn overlaps(self, other: ShmRange) -> bool {
        self.base < other.end() && other.base < self.end()
    }
}

/// Checks a requested range whose shape [`ShmRegisterArgs`] already checked (page-aligned,
/// non-empty, at most [`SHM_MAX_SIZE`](tzwasm_smc::call::SHM_MAX_SIZE), no wrap) against
/// normal-world DRAM: inside one bank.
pub fn accept_range(args: ShmRegisterArgs, dram: &NsDram) -> Result<ShmRange, Status> {
    let (base, size) = (args.base(), args.size());
    if !dram.contains(base, size) {
        return Err(Status::BadAddress);
    }
    Ok(ShmRange { base, size })
}

/// Checks a requested range (untrusted register values): [`ShmRegisterArgs::new`], then
/// [`accept_range`].
pub fn validate_range(base: u64, size: u64, dram: &NsDram) -> Result<ShmRange, Status> {
    let args = ShmRegisterArgs::new(base, size).map_err(|r| r.status())?;
    accept_range(args, dram)
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
        for (base, size) in bad {
            assert_eq!(
                validate_range(base, size, &d),
                Err(Status::BadAddress),
                "{base:#x}+{size:#x}"
            );
        }
        assert_eq!(
            validate_range(0x5000_0000, 0x4000, &d),
            Ok(ShmRange {
                base: 0x5000_0000,
                size: 0x4000
            })
        );
    }

    #[test]
    fn overlap() {
        let r = ShmRange {
            base: 0x5000_0000,
            size: 0x4000,
        };
        for (base, size, hit) in [
            (0x5000_0000, 0x1000, true),
            (0x4fff_f000, 0x2000, true),
            (0x5000_3000, 0x1000, true),
            (0x5000_4000, 0x1000, false),
            (0x4fff_f000, 0x1000, false),
        ] {
            assert_eq!(r.overlaps(ShmRange { base, size }), hit, "{base:#x}");
        }
    }

    #[test]
    fn no_dram_means_no_shared_memory() {
        assert_eq!(
            validate_range(0x5000_0000, 0x1000, &NsDram::default()),
            Err(Status::BadAddress)
        );
    }
}
