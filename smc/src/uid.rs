//! The tzwasm UUID, returned by the Trusted OS Call UID query (`0xBF00FF01`).
//!
//! SMCCC returns a UID as four 32-bit words in `w0..w3`. tzwasm packs the 16 bytes of the
//! UUID in RFC 4122 (network, big-endian field) order into the words little-endian:
//! `w0 = bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24`, `w1` from bytes 4..8,
//! and so on. This is the layout TF-A's `SMC_UUID_RET` produces on AArch64 and the one Linux
//! uses for its hypervisor UIDs. (OP-TEE's OPTEE_MSG_UID words are the other way round:
//! `w0` = time_low as a number.)

use core::fmt;

/// A UUID as its 16 bytes in RFC 4122 order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

/// tzwasm's UUID, `418c105d-a132-4a02-889d-0fb9b8e96588` (random, version 4, generated once).
/// Call UID words: `w0 = 0x5d108c41`, `w1 = 0x024a32a1`, `w2 = 0xb90f9d88`, `w3 = 0x8865e9b8`.
pub const TZWASM_UID: Uuid = Uuid([
    0x41, 0x8c, 0x10, 0x5d, 0xa1, 0x32, 0x4a, 0x02, 0x88, 0x9d, 0x0f, 0xb9, 0xb8, 0xe9, 0x65, 0x88,
]);

impl Uuid {
    /// The four SMCCC result words `w0..w3`.
    pub const fn to_smccc_words(self) -> [u32; 4] {
        let b = self.0;
        [
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        ]
    }

    /// The result registers `x0..x3` (each word zero-extended).
    pub const fn to_regs(self) -> [u64; 4] {
        let w = self.to_smccc_words();
        [w[0] as u64, w[1] as u64, w[2] as u64, w[3] as u64]
    }

    /// Rebuilds a UUID from the words `w0..w3`.
    pub const fn from_smccc_words(w: [u32; 4]) -> Self {
        let (a, b, c, d) = (
            w[0].to_le_bytes(),
            w[1].to_le_bytes(),
            w[2].to_le_bytes(),
            w[3].to_le_bytes(),
        );
        Uuid([
            a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1],
            d[2], d[3],
        ])
    }

    /// Rebuilds a UUID from result registers `x0..x3` (SMC32: only the low 32 bits count).
    pub const fn from_regs(x: [u64; 4]) -> Self {
        Self::from_smccc_words([x[0] as u32, x[1] as u32, x[2] as u32, x[3] as u32])
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}
