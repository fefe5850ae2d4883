//! Load errors: every way a `.aot` file can be refused, with a message that says what is wrong
//! and, where there is one, what the user can do about it.
//!
//! Offsets in messages are absolute byte offsets from the start of the file, so they can be
//! checked with `xxd -s`.

use core::fmt;

use crate::Arch;

/// The part of an AOT file being read when an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// The 8-byte file header (magic and version) and the section headers.
    Header,
    /// Section 0, TARGET_INFO.
    TargetInfo,
    /// Section 1, INIT_DATA.
    InitData,
    /// Section 2, TEXT.
    Text,
    /// Section 3, FUNCTION.
    Function,
    /// Section 4, EXPORT.
    Export,
    /// Section 5, RELOCATION.
    Relocation,
    /// Section 100, CUSTOM.
    Custom,
}

impl SectionKind {
    /// The kind of section `id` (CUSTOM for 100), `None` for ids AOT version 6 does not have.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => SectionKind::TargetInfo,
            1 => SectionKind::InitData,
            2 => SectionKind::Text,
            3 => SectionKind::Function,
            4 => SectionKind::Export,
            5 => SectionKind::Relocation,
            100 => SectionKind::Custom,
            _ => return None,
        })
    }

    /// The section's name as WAMR spells it.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Header => "header",
            SectionKind::TargetInfo => "TARGET_INFO",
            SectionKind::InitData => "INIT_DATA",
            SectionKind::Text => "TEXT",
            SectionKind::Function => "FUNCTION",
            SectionKind::Export => "EXPORT",
            SectionKind::Relocation => "RELOCATION",
            SectionKind::Custom => "CUSTOM",
        }
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The file is larger than the 4 GiB - 1 bytes the format can address.
    FileTooLarge {
        /// File size in bytes.
        size: u64,
    },
    /// The first four bytes are not `\0aot`.
    BadMagic {
        /// The value found, as a little-endian u32.
        found: u32,
    },
    /// The AOT format version is not 6.
    UnsupportedVersion {
        /// The version in the file.
        version: u32,
    },
    /// A read ran past the end of a section (or of the file).
    Truncated {
        /// Where.
        section: SectionKind,
        /// Absolute file offset of the read that failed.
        offset: u32,
    },
    /// A count field promises more records than the bytes left in the section can hold.
    CountTooLarge {
        /// Where.
        section: SectionKind,
        /// Absolute file offset of the count.
        offset: u32,
        /// What is being counted.
        what: &'static str,
        /// The count in the file.
        count: u32,
    },
    /// The file was compiled for another processor.
    WrongArch {
        /// The processor named by the file ("x86_64", "aarch64", "riscv", ...).
        found: &'static str,
        /// The processor this loader was asked to load for.
        expected: Arch,
    },
    /// The file was compiled for a 32-bit or big-endian target or as a Windows COFF object.
    WrongBinaryType {
        /// TARGET_INFO `bin_type`.
        bin_type: u16,
    },
    /// The module was compiled with a WebAssembly feature tzwasm does not support.
    UnsupportedFeature {
        /// The feature, e.g. "threads".
        feature: &'static str,
    },
    /// A section id that is not part of AOT version 6.
    UnknownSection {
        /// The id.
        id: u32,
        /// Absolute file offset of the section header.
        offset: u32,
    },
    /// Sections out of the order TARGET_INFO, INIT_DATA, TEXT, FUNCTION, EXPORT, RELOCATION.
    SectionOrder {
        /// The section found.
        found: SectionKind,
        /// Absolute file offset of its header.
        offset: u32,
    },
    /// A required section is absent.
    MissingSection {
        /// The first section that is missing.
        missing: SectionKind,
    },
    /// Bytes left over at the end of a section whose size must match its contents.
    SectionSizeMismatch {
        /// Where.
        section: SectionKind,
        /// Absolute offset where parsing stopped.
        offset: u32,
        /// Unparsed bytes left in the section.
        left_over: u32,
    },
    /// A string is not NUL-terminated, has an interior NUL or is not UTF-8.
    BadString {
        /// Where.
        section: SectionKind,
        /// Absolute file offset of the string's length field.
        offset: u32,
    },
    /// An index refers past the end of the table it indexes.
    IndexOutOfRange {
        /// Where.
        section: SectionKind,
        /// Absolute file offset of the index (0 if found by a cross-check after parsing).
        offset: u32,
        /// What is indexed, e.g. "function type".
        what: &'static str,
        /// The index.
        index: u64,
        /// The number of entries.
        limit: u64,
    },
    /// A field has a value the format does not allow.
    Malformed {
        /// Where.
        section: SectionKind,
        /// Absolute file offset of the field.
        offset: u32,
        /// What is wrong.
        reason: &'static str,
        /// The value found.
        value: u64,
    },
    /// A relocation type this loader does not implement for the file's processor.
    UnsupportedRelocation {
        /// The processor.
        arch: Arch,
        /// The ELF relocation type number.
        r_type: u32,
    },
    /// Memory for the parsed module ran out (the pool or the session's account is full).
    OutOfMemory,
    /// A relocation symbol the format does not allow in that place.
    BadRelocationSymbol {
        /// The symbol name.
        symbol: alloc::string::String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::FileTooLarge { size } => {
                write!(
                    f,
                    "file is {size} bytes; AOT files are limited to 4 GiB - 1"
                )
            }
            LoadError::BadMagic { found } => write!(
                f,
                "not a WAMR AOT file (magic {found:#010x}, expected 0x746f6100 \"\\0aot\"): \
                 compile the .wasm with wamrc first"
            ),
            LoadError::UnsupportedVersion { version } => match version {
                0..=2 => write!(
                    f,
                    "AOT version {version} (WAMR 2021 and older) is not supported: \
                     recompile with wamrc 2.4"
                ),
                3..=5 => write!(
                    f,
                    "AOT version {version} (an older wamrc) is not supported: \
                     recompile with wamrc 2.4"
                ),
                _ => write!(
                    f,
                    "AOT version {version} is newer than this runtime (version 6, WAMR 2.4): \
                     recompile with wamrc 2.4"
                ),
            },
            LoadError::Truncated { section, offset } => {
                write!(f, "section {section} truncated at offset {offset}")
            }
            LoadError::CountTooLarge {
                section,
                offset,
                what,
                count,
            } => write!(
                f,
                "section {section}: {what} count {count} at offset {offset} does not fit \
                 in the section"
            ),
            LoadError::WrongArch { found, expected } => write!(
                f,
                "compiled for {found}; this runtime runs {}: recompile with wamrc --target={}",
                expected.name(),
                expected.name()
            ),
            LoadError::WrongBinaryType { bin_type } => {
                let what = match bin_type {
                    0 | 4 => "a 32-bit target",
                    1 | 3 => "a big-endian target",
                    6 => "Windows (COFF)",
                    _ => "an unknown binary type",
                };
                write!(
                    f,
                    "compiled for {what} (bin_type {bin_type}); tzwasm needs 64-bit \
                     little-endian ELF: recompile with wamrc --target=aarch64 or x86_64 on Linux"
                )
            }
            LoadError::UnsupportedFeature { feature } => {
                write!(f, "module uses {feature}, which tzwasm does not support")
            }
            LoadError::UnknownSection { id, offset } => write!(
                f,
                "unknown section id {id} at offset {offset} (not AOT version 6 from wamrc 2.4)"
            ),
            LoadError::SectionOrder { found, offset } => write!(
                f,
                "section {found} at offset {offset} is out of order (expected TARGET_INFO, \
                 INIT_DATA, TEXT, FUNCTION, EXPORT, RELOCATION)"
            ),
            LoadError::MissingSection { missing } => {
                write!(
                    f,
                    "file ends before section {missing}: the file is incomplete"
                )
            }
            LoadError::SectionSizeMismatch {
                section,
                offset,
                left_over,
            } => write!(
                f,
                "section {section}: {left_over} unexpected bytes at offset {offset} after \
                 the last field"
            ),
            LoadError::BadString { section, offset } => write!(
                f,
                "section {section}: string at offset {offset} is not NUL-terminated UTF-8"
            ),
            LoadError::IndexOutOfRange {
                section,
                offset,
                what,
                index,
                limit,
            } => write!(
                f,
                "section {section}: {what} index {index} at offset {offset} is out of range \
                 (there are {limit})"
            ),
            LoadError::Malformed {
                section,
                offset,
                reason,
                value,
            } => write!(
                f,
                "section {section}: {reason} (value {value:#x} at offset {offset})"
            ),
            LoadError::UnsupportedRelocation { arch, r_type } => write!(
                f,
                "relocation type {r_type} is not supported for {}: wamrc 2.4 does not emit it \
                 for the default (small) or --size-level=0 (large) code models",
                arch.name()
            ),
            LoadError::OutOfMemory => f.write_str(
                "out of memory while parsing the module: give the session a larger quota",
            ),
            LoadError::BadRelocationSymbol { symbol, reason } => {
                write!(f, "relocation symbol \"{symbol}\": {reason}")
            }
        }
    }
}

impl core::error::Error for LoadError {}

impl From<crate::fallible::OutOfMemory> for LoadError {
    fn from(_: crate::fallible::OutOfMemory) -> Self {
        LoadError::OutOfMemory
    }
}

impl LoadError {
    /// A `BadRelocationSymbol` error naming `symbol` (or `OutOfMemory` if even the name
    /// cannot be copied).
    pub fn bad_symbol(symbol: &str, reason: &'static str) -> Self {
        match crate::fallible::string(symbol) {
            Ok(symbol) => LoadError::BadRelocationSymbol { symbol, reason },
            Err(e) => e.into(),
        }
    }
}
