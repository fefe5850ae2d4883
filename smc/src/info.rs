//! GET_INFO: the selector passed in `x1` and the typed "page" each selector returns in
//! `x1..x3` (only four result registers reach the normal world, `x0` being the status).
//! Also the protocol and firmware version encodings and the feature bits.
//!
//! | selector | page        | x1                         | x2                        | x3                   |
//! |----------|-------------|----------------------------|---------------------------|----------------------|
//! | 0        | VERSIONS    | protocol version (packed)  | firmware version (packed) | number of selectors  |
//! | 1        | POOL        | pool size, bytes           | used, bytes               | high-water, bytes    |
//! | 2        | CPUS        | CPUs seen (count)          | CPUs seen (mask)          | max CPUs of build    |
//! | 3        | FEATURES    | feature bits               | 0 (reserved)              | 0 (reserved)         |
//! | 4        | FAILURE     | message bytes 0..8 at `x2` | message bytes 8..16       | message bytes 16..24 |
//! | 5        | MEASUREMENT | digest bytes 0..8 at `x2`  | digest bytes 8..16        | digest bytes 16..24  |
//!
//! A selector outside this table gets [`Status::InvalidParameter`](crate::Status). New
//! selectors are added at the end (a minor protocol revision).
//!
//! FAILURE reads the fail-stop message ([`FailureMessage`]) 24 bytes at a time: `x2` is the
//! byte offset (below [`FAILURE_MESSAGE_MAX`]); bytes past the message's end are zero, and the
//! message itself contains no zero byte. Before any failure the message is empty. It is one of
//! the few calls still answered after the secure world failed (docs/protocol.md, FAILED).
//!
//! MEASUREMENT reads the firmware measurement (SHA-256 of the BL32 image as loaded,
//! [`MEASUREMENT_LEN`] bytes) the same way: `x2` is the byte offset, 0 or 24 (below 32), and
//! bytes past the digest's end are zero. Answered in every build and after a failure.

use core::fmt;

/// The protocol version this crate implements (returned by REVISION and GET_INFO VERSIONS).
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion { major: 1, minor: 6 };

/// The GET_INFO selector (`x1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum InfoSelector {
    /// Protocol version, firmware version, number of selectors.
    Versions = 0,
    /// Pool heap size, usage and high-water mark.
    Pool = 1,
    /// CPUs that have entered the secure world.
    Cpus = 2,
    /// Feature bits.
    Features = 3,
    /// The fail-stop message, 24 bytes per call from the offset in `x2`.
    Failure = 4,
    /// The firmware measurement, 24 bytes per call from the offset in `x2`.
    Measurement = 5,
}

/// Every selector, in numeric order.
pub const ALL_SELECTORS: [InfoSelector; 6] = [
    InfoSelector::Versions,
    InfoSelector::Pool,
    InfoSelector::Cpus,
    InfoSelector::Features,
    InfoSelector::Failure,
    InfoSelector::Measurement,
];

impl InfoSelector {
    /// Number of selectors defined (the VERSIONS page's `x3`).
    pub const COUNT: u64 = ALL_SELECTORS.len() as u64;

    /// Parses the untrusted `x1` value.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        Some(match raw {
            0 => InfoSelector::Versions,
            1 => InfoSelector::Pool,
            2 => InfoSelector::Cpus,
            3 => InfoSelector::Features,
            4 => InfoSelector::Failure,
            5 => InfoSelector::Measurement,
            _ => return None,
        })
    }

    /// The `x1` value.
    pub const fn to_raw(self) -> u64 {
        self as u64
    }

    /// The name used in docs/protocol.md.
    pub const fn name(self) -> &'static str {
        match self {
            InfoSelector::Versions => "VERSIONS",
            InfoSelector::Pool => "POOL",
            InfoSelector::Cpus => "CPUS",
            InfoSelector::Features => "FEATURES",
            InfoSelector::Failure => "FAILURE",
            InfoSelector::Measurement => "MEASUREMENT",
        }
    }
}

/// Protocol version: major changes break compatibility, minor ones only add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Incremented on any incompatible change.
    pub major: u16,
    /// Incremented when calls, selectors, statuses or feature bits are added.
    pub minor: u16,
}

impl ProtocolVersion {
    /// Packed as `major << 16 | minor`.
    pub const fn pack(self) -> u64 {
        (self.major as u64) << 16 | self.minor as u64
    }

    /// Unpacks; `None` if bits above 31 are set.
    pub const fn unpack(raw: u64) -> Option<Self> {
        if raw >> 32 != 0 {
            return None;
        }
        Some(ProtocolVersion {
            major: (raw >> 16) as u16,
            minor: raw as u16,
        })
    }

    /// True if a client written for `self` can talk to a secure world reporting `server`:
    /// same major, and the server's minor at least ours.
    pub const fn is_compatible_with(self, server: ProtocolVersion) -> bool {
        self.major == server.major && server.minor >= self.minor
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Firmware (BL32 image) version, from the firmware crate's semver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FirmwareVersion {
    /// Semver major.
    pub major: u16,
    /// Semver minor.
    pub minor: u16,
    /// Semver patch.
    pub patch: u16,
}

impl FirmwareVersion {
    /// Packed as `major << 32 | minor << 16 | patch`.
    pub const fn pack(self) -> u64 {
        (self.major as u64) << 32 | (self.minor as u64) << 16 | self.patch as u64
    }

    /// Unpacks; `None` if bits above 47 are set.
    pub const fn unpack(raw: u64) -> Option<Self> {
        if raw >> 48 != 0 {
            return None;
        }
        Some(FirmwareVersion {
            major: (raw >> 32) as u16,
            minor: (raw >> 16) as u16,
            patch: raw as u16,
        })
    }
}

impl fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// GET_INFO VERSIONS page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// `x1`: protocol version.
    pub protocol: ProtocolVersion,
    /// `x2`: firmware version.
    pub firmware: FirmwareVersion,
    /// `x3`: number of GET_INFO selectors the firmware serves (selectors are `0..count`).
    pub selector_count: u64,
}

impl VersionInfo {
    /// The `x1..x3` registers.
    pub const fn to_regs(self) -> [u64; 3] {
        [
            self.protocol.pack(),
            self.firmware.pack(),
            self.selector_count,
        ]
    }

    /// Parses `x1..x3`.
    pub fn from_regs(regs: [u64; 3]) -> Result<Self, &'static str> {
        Ok(VersionInfo {
            protocol: ProtocolVersion::unpack(regs[0])
                .ok_or("protocol version has bits above 31 set")?,
            firmware: FirmwareVersion::unpack(regs[1])
                .ok_or("firmware version has bits above 47 set")?,
            selector_count: regs[2],
        })
    }
}

/// GET_INFO POOL page: the static pool heap, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// `x1`: total size of the pool.
    pub size: u64,
    /// `x2`: bytes currently allocated.
    pub used: u64,
    /// `x3`: the most bytes ever allocated at once since boot.
    pub high_water: u64,
}

impl PoolInfo {
    /// The `x1..x3` registers.
    pub const fn to_regs(self) -> [u64; 3] {
        [self.size, self.used, self.high_water]
    }

    /// Parses `x1..x3`, checking `used <= high_water <= size`.
    pub fn from_regs(regs: [u64; 3]) -> Result<Self, &'static str> {
        let info = PoolInfo {
            size: regs[0],
            used: regs[1],
            high_water: regs[2],
        };
        if info.used > info.high_water {
            return Err("pool: used above high-water mark");
        }
        if info.high_water > info.size {
            return Err("pool: high-water mark above size");
        }
        Ok(info)
    }
}

/// GET_INFO CPUS page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuInfo {
    /// `x1`: how many CPUs have entered the payload (boot CPU and CPU_ON'd secondaries).
    pub seen_count: u64,
    /// `x2`: bit `i` set if the CPU with linear index `i` (the payload's per-CPU stack index,
    /// from MPIDR_EL1 affinity) has entered the payload.
    pub seen_mask: u64,
    /// `x3`: how many CPUs this build has stacks for.
    pub max_cpus: u64,
}

impl CpuInfo {
    /// The `x1..x3` registers.
    pub const fn to_regs(self) -> [u64; 3] {
        [self.seen_count, self.seen_mask, self.max_cpus]
    }

    /// Parses `x1..x3`, checking that the count matches the mask and the mask fits the build.
    pub fn from_regs(regs: [u64; 3]) -> Result<Self, &'static str> {
        let info = CpuInfo {
            seen_count: regs[0],
            seen_mask: regs[1],
            max_cpus: regs[2],
        };
        if u64::from(info.seen_mask.count_ones()) != info.seen_count {
            return Err("cpus: count does not match mask");
        }
        if info.max_cpus > 64 {
            return Err("cpus: more than 64 CPUs");
        }
        if info.max_cpus < 64 && info.seen_mask >> info.max_cpus != 0 {
            return Err("cpus: mask has a CPU beyond the build's maximum");
        }
        Ok(info)
    }
}

/// Feature bits (GET_INFO FEATURES `x1`). Unknown bits are kept, not rejected, so an older
/// client can talk to a newer firmware.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(pub u64);

impl Features {
    /// This is a test build: TEST_FAULT, TEST_FP, TEST_EL0 and TEST_SHM are served.
    pub const TEST_CALLS: Features = Features(1 << 0);
    /// The secure world may use FP/SIMD and preserves the normal world's V0-V31, FPCR, FPSR.
    pub const FP_SIMD: Features = Features(1 << 1);
    /// Shared-memory registration is served.
    pub const SHARED_MEMORY: Features = Features(1 << 2);
    /// Sessions and module LOAD/RUN/RESUME/CANCEL/UNLOAD/STATS are served.
    pub const MODULES: Features = Features(1 << 3);
    /// RUN streams stdout/stderr through the shared-memory ring and writes a run report.
    pub const OUTPUT_RING: Features = Features(1 << 4);
    /// A device identity is installed: the device secret was provisioned and its keys derived
    /// at boot, so attestation can be served.
    pub const ATTESTATION: Features = Features(1 << 5);

    /// No feature.
    pub const fn empty() -> Self {
        Features(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// True if every bit of `other` is set.
    pub const fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    pub const fn union(self, other: Features) -> Features {
        Features(self.0 | other.0)
    }
}

impl core::ops::BitOr for Features {
    type Output = Features;
    fn bitor(self, rhs: Features) -> Features {
        self.union(rhs)
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Features, &str); 6] = [
            (Features::TEST_CALLS, "TEST_CALLS"),
            (Features::FP_SIMD, "FP_SIMD"),
            (Features::SHARED_MEMORY, "SHARED_MEMORY"),
            (Features::MODULES, "MODULES"),
            (Features::OUTPUT_RING, "OUTPUT_RING"),
            (Features::ATTESTATION, "ATTESTATION"),
        ];
        write!(f, "Features(")?;
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        write!(f, ")")
    }
}

/// GET_INFO FEATURES page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeaturesInfo {
    /// `x1`: the feature bits.
    pub features: Features,
}

impl FeaturesInfo {
    /// The `x1..x3` registers (`x2`, `x3` reserved, zero).
    pub const fn to_regs(self) -> [u64; 3] {
        [self.features.0, 0, 0]
    }

    /// Parses `x1..x3`; the reserved registers are ignored.
    pub fn from_regs(regs: [u64; 3]) -> Result<Self, &'static str> {
        Ok(FeaturesInfo {
            features: Features(regs[0]),
        })
    }
}

/// Most bytes of a fail-stop message (the secure world truncates longer ones).
pub const FAILURE_MESSAGE_MAX: usize = 192;
/// Message bytes one GET_INFO FAILURE call returns (`x1..x3`).
pub const FAILURE_CHUNK: usize = 24;
const _: () = assert!(FAILURE_MESSAGE_MAX.is_multiple_of(FAILURE_CHUNK));

/// Packs 24 message bytes into `x1..x3`: byte `i` in register `i / 8`, bits `8 * (i % 8)`.
pub fn failure_chunk_to_regs(bytes: &[u8; FAILURE_CHUNK]) -> [u64; 3] {
    let mut regs = [0u64; 3];
    for (reg, word) in regs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        *reg = u64::from_le_bytes(b);
    }
    regs
}

/// Unpacks `x1..x3` of GET_INFO FAILURE into its 24 bytes.
pub fn failure_chunk_from_regs(regs: [u64; 3]) -> [u8; FAILURE_CHUNK] {
    let mut bytes = [0u8; FAILURE_CHUNK];
    for (word, reg) in bytes.chunks_exact_mut(8).zip(regs) {
        word.copy_from_slice(&reg.to_le_bytes());
    }
    bytes
}

/// Bytes of the firmware measurement (GET_INFO MEASUREMENT): a SHA-256.
pub const MEASUREMENT_LEN: usize = 32;

/// The 24 bytes GET_INFO MEASUREMENT returns at byte `offset` of `digest` (zero past its end),
/// or `None` for an offset of [`MEASUREMENT_LEN`] or above.
pub fn measurement_chunk(
    digest: &[u8; MEASUREMENT_LEN],
    offset: u64,
) -> Option<[u8; FAILURE_CHUNK]> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&o| o < MEASUREMENT_LEN)?;
    let mut chunk = [0u8; FAILURE_CHUNK];
    let src = digest.get(start..).unwrap_or(&[]);
    for (d, s) in chunk.iter_mut().zip(src) {
        *d = *s;
    }
    Some(chunk)
}

/// The firmware measurement as the normal world read it (two GET_INFO MEASUREMENT calls).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Measurement(pub [u8; MEASUREMENT_LEN]);

impl Measurement {
    /// Assembles the digest from the pages read at offsets 0 and 24.
    pub fn from_chunks(first: [u64; 3], second: [u64; 3]) -> Self {
        let a = failure_chunk_from_regs(first);
        let b = failure_chunk_from_regs(second);
        let mut d = [0u8; MEASUREMENT_LEN];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = if i < FAILURE_CHUNK {
                a.get(i).copied().unwrap_or(0)
            } else {
                b.get(i - FAILURE_CHUNK).copied().unwrap_or(0)
            };
        }
        Measurement(d)
    }
}

impl fmt::Display for Measurement {
    /// Lowercase hex, as `sha256sum` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The secure world's fail-stop message as the normal world read it (GET_INFO FAILURE): at
/// most [`FAILURE_MESSAGE_MAX`] bytes, untrusted. [`fmt::Display`] shows valid UTF-8 text with
/// control characters replaced by `?`, and `(no message)` when empty.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FailureMessage {
    bytes: [u8; FAILURE_MESSAGE_MAX],
    len: usize,
}

impl FailureMessage {
    /// No message (no failure, or a secure world that does not report one).
    pub const fn empty() -> Self {
        FailureMessage {
            bytes: [0; FAILURE_MESSAGE_MAX],
            len: 0,
        }
    }

    /// Appends one chunk read at offset [`FailureMessage::len`]; returns `false` once the
    /// message is complete (the chunk held a zero byte, or the buffer is full).
    pub fn push_chunk(&mut self, chunk: &[u8; FAILURE_CHUNK]) -> bool {
        for &b in chunk {
            let Some(slot) = self.bytes.get_mut(self.len).filter(|_| b != 0) else {
                return false;
            };
            *slot = b;
            self.len += 1;
        }
        self.len < FAILURE_MESSAGE_MAX
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // len <= FAILURE_MESSAGE_MAX (push_chunk stops there); the whole buffer otherwise.
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }

    /// Bytes read so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there is no message.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for FailureMessage {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Display for FailureMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(no message)");
        }
        for chunk in self.as_bytes().utf8_chunks() {
            for c in chunk.valid().chars() {
                let c = if c.is_control() { '?' } else { c };
                fmt::Write::write_char(f, c)?;
            }
            if !chunk.invalid().is_empty() {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for FailureMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailureMessage(\"{self}\")")
    }
}
