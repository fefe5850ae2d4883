//! Normal-world DRAM as the platform describes it: the `/memory` nodes of the device tree TF-A
//! passes in x2 at cold boot. Later shared-memory registrations are accepted only if they lie
//! wholly inside one of these banks (and never in secure memory).
//!
//! The DTB is read once, at cold boot, before any normal-world code has run: it comes from the
//! platform firmware (QEMU and TF-A's BL2), not from the normal world. It is still bounds-
//! checked: a bank that overlaps secure memory or wraps is dropped with a warning.

use core::ops::Range;

/// Most banks we keep; more are ignored (with a warning from the caller).
pub const MAX_BANKS: usize = 8;
/// Largest DTB accepted (TF-A qemu: PLAT_QEMU_DT_MAX_SIZE).
pub const MAX_DTB_SIZE: usize = 1 << 20;

/// Why the DTB did not give us normal-world memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtbError {
    /// No FDT magic, or a size outside [40 bytes, MAX_DTB_SIZE].
    BadHeader,
    /// The fdt crate rejected the blob.
    Malformed,
    /// No usable `/memory` bank.
    NoMemory,
}

/// A bank the DTB listed but we refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub why: RefuseReason,
    /// Bank base address.
    pub base: u64,
    /// Bank size.
    pub size: u64,
}

/// Why a bank was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefuseReason {
    /// Overlaps secure memory.
    OverlapsSecure,
    /// Zero-sized or wraps the address space.
    Invalid,
    /// More than MAX_BANKS.
    TooMany,
}

impl RefuseReason {
    /// Human-readable reason.
    pub fn describe(self) -> &'static str {
        match self {
            Self::OverlapsSecure => "overlaps secure memory",
            Self::Invalid => "is empty or wraps",
            Self::TooMany => "is one bank too many",
        }
    }
}

/// Normal-world DRAM banks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsDram {
    banks: [(u64, u64); MAX_BANKS],
    count: usize,
}

impl NsDram {
    /// Keeps every bank that is non-empty, does not wrap and does not overlap `secure`;
    /// `refused` hears about the others.
    pub fn from_banks(
        banks: impl IntoIterator<Item = (u64, u64)>,
        secure: Range<u64>,
        mut refused: impl FnMut(Refused),
    ) -> Self {
        let mut out = Self::default();
        for (base, size) in banks {
            let Some(end) = base.checked_add(size).filter(|_| size != 0) else {
                refused(Refused {
                    why: RefuseReason::Invalid,
                    base,
                    size,
                });
                continue;
            };
            if base < secure.end && secure.start < end {
                refused(Refused {
                    why: RefuseReason::OverlapsSecure,
                    base,
                    size,
                });
            } else if let Some(bank) = out.banks.get_mut(out.count) {
                *bank = (base, size);
                out.count += 1;
            } else {
                refused(Refused {
                    why: RefuseReason::TooMany,
                    base,
                    size,
                });
            }
        }
        out
    }

    /// Reads the `/memory` nodes of a flattened device tree.
    pub fn from_dtb(
        blob: &[u8],
        secure: Range<u64>,
        refused: impl FnMut(Refused),
    ) -> Result<Self, DtbError> {
        let fdt = fdt::Fdt::new(blob).map_err(|_| DtbError::Malformed)?;
        let banks = fdt
            .find_all_nodes("/memory")
            .filter_map(|node| node.reg())
            .flatten()
            .map(|r| (r.starting_address as u64, r.size.unwrap_or(0) as u64));
        let dram = Self::from_banks(banks, secure, refused);
        if dram.count == 0 {
            return Err(DtbError::NoMemory);
        }
        Ok(dram)
    }

    /// The total size a DTB header announces, if the header is plausible.
    pub fn dtb_size(header: &[u8; 8]) -> Result<usize, DtbError> {
        let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if magic != 0xd00d_feed || !(40..=MAX_DTB_SIZE).contains(&size) {
            return Err(DtbError::BadHeader);
        }
        Ok(size)
    }

    /// The banks, as (base, size).
    pub fn banks(&self) -> &[(u64, u64)] {
        self.banks.get(..self.count).unwrap_or(&[])
    }

    /// Total bytes of normal-world DRAM.
    pub fn total(&self) -> u64 {
        self.banks().iter().map(|&(_, s)| s).sum()
    }

    /// True if `[base, base + len)` is non-empty and lies wholly inside one bank.
    pub fn contains(&self, base: u64, len: u64) -> bool {
        let Some(end) = base.checked_add(len).filter(|_| len != 0) else {
            return false;
        };
        self.banks()
            .iter()
            .any(|&(b, s)| base >= b && end <= b.saturating_add(s))
    }
}

/// The `/chosen` `rng-seed` and `kaslr-seed` bytes of a DTB (QEMU fills them from host
/// entropy), concatenated into `out`; how many bytes were written.
pub fn dtb_seeds(blob: &[u8], out: &mut [u8]) -> usize {
    let Ok(fdt) = fdt::Fdt::new(blob) else {
        return 0;
    };
    let Some(chosen) = fdt.find_node("/chosen") else {
        return 0;
    };
    let mut n = 0;
    for name in ["rng-seed", "kaslr-seed"] {
        if let Some(p) = chosen.property(name) {
            let Some(room) = out.get_mut(n..) else { break };
            let mut take = 0;
            for (o, v) in room.iter_mut().zip(p.value) {
                *o = *v;
                take += 1;
            }
            n += take;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECURE: Range<u64> = 0x0e00_0000..0x0f00_0000;

    #[test]
    fn reads_every_memory_bank() {
        let blob = include_bytes!("../tests/data/two-banks.dtb");
        let header: &[u8; 8] = blob[..8].try_into().unwrap();
        assert_eq!(NsDram::dtb_size(header), Ok(blob.len()));
        let dram = NsDram::from_dtb(blob, SECURE, |r| panic!("refused {r:?}")).unwrap();
        assert_eq!(
            dram.banks(),
            &[(0x4000_0000, 0x4000_0000), (0x1_0000_0000, 0x2000_0000)]
        );
        assert_eq!(dram.total(), 0x6000_0000);
        assert!(dram.contains(0x4000_0000, 0x1000));
        assert!(dram.contains(0x7fff_f000, 0x1000));
        assert!(
            !dram.contains(0x7fff_f000, 0x2000),
            "crosses the end of bank 0"
        );
        assert!(!dram.contains(0x0e10_0000, 0x1000), "secure memory");
        assert!(!dram.contains(0x0900_0000, 0x1000), "MMIO");
        assert!(!dram.contains(0x4000_0000, 0), "empty");
        assert!(!dram.contains(u64::MAX - 0xfff, 0x1000), "wraps");
    }

    #[test]
    fn bank_over_secure_memory_is_refused() {
        let blob = include_bytes!("../tests/data/secure-overlap.dtb");
        let mut refused = Vec::new();
        let r = NsDram::from_dtb(blob, SECURE, |r| refused.push(r));
        assert_eq!(r, Err(DtbError::NoMemory));
        assert_eq!(
            refused,
            vec![Refused {
                why: RefuseReason::OverlapsSecure,
                base: 0,
                size: 0x8000_0000
            }]
        );
    }

    #[test]
    fn chosen_seeds() {
        let blob = include_bytes!("../tests/data/two-banks.dtb");
        let mut out = [0u8; 16];
        assert_eq!(dtb_seeds(blob, &mut out), 12);
        assert_eq!(&out[..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(dtb_seeds(&[0u8; 64], &mut out), 0);
        let mut small = [0u8; 3];
        assert_eq!(dtb_seeds(blob, &mut small), 3, "cut to the buffer");
    }

    #[test]
    fn bad_headers_and_garbage() {
        assert_eq!(NsDram::dtb_size(&[0; 8]), Err(DtbError::BadHeader));
        let mut h = [0xd0, 0x0d, 0xfe, 0xed, 0, 0x20, 0, 1];
        assert_eq!(NsDram::dtb_size(&h), Err(DtbError::BadHeader), "too big");
        h[5] = 0;
        h[7] = 8;
        assert_eq!(NsDram::dtb_size(&h), Err(DtbError::BadHeader), "too small");
        assert_eq!(
            NsDram::from_dtb(&[0u8; 64], SECURE, |_| {}),
            Err(DtbError::Malformed)
        );
    }

    #[test]
    fn invalid_and_excess_banks() {
        let mut refused = Vec::new();
        let banks = (0..10u64).map(|i| (0x4000_0000 + i * 0x1000_0000, 0x1000_0000));
        let invalid = [(0x1000, 0), (u64::MAX, 2)];
        let dram = NsDram::from_banks(invalid.into_iter().chain(banks), SECURE, |r| {
            refused.push(r)
        });
        assert_eq!(dram.banks().len(), MAX_BANKS);
        assert_eq!(refused.len(), 4);
        assert_eq!(refused[0].why, RefuseReason::Invalid);
        assert_eq!(refused[3].why, RefuseReason::TooMany);
    }
}
