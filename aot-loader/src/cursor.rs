//! A bounds-checked reader over one section of an AOT file.
//!
//! WAMR reads AOT files with the file buffer's absolute addresses: every `u16` is aligned to 2
//! and every `u32` and `u64` to 4 *before* it is read (`TEMPLATE_READ` in `aot_loader.c`),
//! `u8` and byte arrays are not aligned. [`Cursor`] keeps positions as absolute offsets from
//! the start of the file, so the same rule holds whatever the buffer's own address. Every read
//! checks the section end; nothing here can panic or index out of bounds.

use alloc::string::String;

use crate::error::{LoadError, SectionKind};

/// A byte range of the file, validated against the file length when it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Absolute file offset of the first byte.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Span {
    /// The bytes of this span in `file`, or `None` if `file` is not the buffer (or a buffer
    /// at least as long as the one) it was parsed from.
    pub fn get<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.len).ok()?)?;
        file.get(start..end)
    }

    /// Absolute offset one past the last byte.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.len)
    }
}

/// A reader over `file[pos..end]` that reports errors against `section`.
#[derive(Clone)]
pub struct Cursor<'a> {
    file: &'a [u8],
    pos: usize,
    end: usize,
    section: SectionKind,
}

impl<'a> Cursor<'a> {
    /// A cursor over `file[start..end]`. Fails with `Truncated` if the range is not inside
    /// the file.
    pub fn new(
        file: &'a [u8],
        start: usize,
        end: usize,
        section: SectionKind,
    ) -> Result<Self, LoadError> {
        if start > end || end > file.len() {
            return Err(LoadError::Truncated {
                section,
                offset: clamp_u32(start),
            });
        }
        Ok(Cursor {
            file,
            pos: start,
            end,
            section,
        })
    }

    /// The section errors are reported against.
    pub fn section(&self) -> SectionKind {
        self.section
    }

    /// Absolute file offset of the next read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute file offset of the next read, as a `u32` for error messages.
    pub fn pos_u32(&self) -> u32 {
        clamp_u32(self.pos)
    }

    /// Absolute file offset one past the last readable byte.
    pub fn end(&self) -> usize {
        self.end
    }

    /// Bytes left before the end of the section.
    pub fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// True if no bytes are left.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// A `Truncated` error at the current position.
    pub fn truncated(&self) -> LoadError {
        LoadError::Truncated {
            section: self.section,
            offset: self.pos_u32(),
        }
    }

    /// A `Malformed` error at absolute offset `offset`.
    pub fn malformed(&self, offset: usize, reason: &'static str, value: u64) -> LoadError {
        LoadError::Malformed {
            section: self.section,
            offset: clamp_u32(offset),
            reason,
            value,
        }
    }

    /// An `IndexOutOfRange` error at absolute offset `offset`.
    pub fn index_error(
        &self,
        offset: usize,
        what: &'static str,
        index: u64,
        limit: u64,
    ) -> LoadError {
        LoadError::IndexOutOfRange {
            section: self.section,
            offset: clamp_u32(offset),
            what,
            index,
            limit,
        }
    }

    /// Moves to the next multiple of `align` (a power of two). Moving past the end is an
    /// error, as in WAMR, where the following read would fail its bounds check.
    pub fn align(&mut self, align: usize) -> Result<(), LoadError> {
        let mask = align.wrapping_sub(1);
        let aligned = self.pos.checked_add(mask).ok_or_else(|| self.truncated())? & !mask;
        if aligned > self.end {
            return Err(self.truncated());
        }
        self.pos = aligned;
        Ok(())
    }

    /// Takes the next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], LoadError> {
        let stop = self.pos.checked_add(len).ok_or_else(|| self.truncated())?;
        if stop > self.end {
            return Err(self.truncated());
        }
        let out = self
            .file
            .get(self.pos..stop)
            .ok_or_else(|| self.truncated())?;
        self.pos = stop;
        Ok(out)
    }

    /// Takes the next `len` bytes as a [`Span`] of the file.
    pub fn span(&mut self, len: usize) -> Result<Span, LoadError> {
        let offset = self.pos_u32();
        let taken = self.bytes(len)?;
        let len = u32::try_from(taken.len()).map_err(|_| self.truncated())?;
        Ok(Span { offset, len })
    }

    /// Skips `len` bytes.
    pub fn skip(&mut self, len: usize) -> Result<(), LoadError> {
        self.bytes(len).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads a `u8` (no alignment).
    pub fn u8(&mut self) -> Result<u8, LoadError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// Aligns to 2, reads a little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, LoadError> {
        self.align(2)?;
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Aligns to 4, reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, LoadError> {
        self.align(4)?;
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Aligns to 4 (not 8: WAMR reads a `u64` as two `u32` halves), reads a little-endian
    /// `u64`.
    pub fn u64(&mut self) -> Result<u64, LoadError> {
        self.align(4)?;
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a `u32` count and checks that `count * min_record_size` bytes are left, so a
    /// hostile count cannot make the caller allocate more than the file could describe.
    pub fn count(&mut self, what: &'static str, min_record_size: usize) -> Result<u32, LoadError> {
        let at = self.pos;
        let count = self.u32()?;
        self.check_count(at, what, count, min_record_size)?;
        Ok(count)
    }

    /// Checks that `count` records of at least `min_record_size` bytes fit in what is left.
    pub fn check_count(
        &self,
        at: usize,
        what: &'static str,
        count: u32,
        min_record_size: usize,
    ) -> Result<(), LoadError> {
        let need = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(min_record_size));
        match need {
            Some(n) if n <= self.remaining() => Ok(()),
            _ => Err(LoadError::CountTooLarge {
                section: self.section,
                offset: clamp_u32(at),
                what,
                count,
            }),
        }
    }

    /// Reads a WAMR string: aligned `u16` length including the trailing NUL, then that many
    /// bytes. Length 0 is the empty string. The bytes must end in NUL, contain no other NUL,
    /// and be UTF-8. Returns the text (without the NUL) as a span of the file.
    pub fn str_span(&mut self) -> Result<Span, LoadError> {
        self.align(2)?;
        let at = self.pos;
        let len = usize::from(self.u16()?);
        let text_at = self.pos;
        let raw = self.bytes(len)?;
        let bad = || LoadError::BadString {
            section: self.section,
            offset: clamp_u32(at),
        };
        let text = match raw.split_last() {
            None => &[][..],
            Some((0, text)) => text,
            Some(_) => return Err(bad()),
        };
        if text.contains(&0) {
            return Err(bad());
        }
        core::str::from_utf8(text).map_err(|_| bad())?;
        Ok(Span {
            offset: clamp_u32(text_at),
            // At most u16::MAX.
            len: u32::try_from(text.len()).map_err(|_| bad())?,
        })
    }

    /// [`Self::str_span`] as text borrowed from the file.
    pub fn str(&mut self) -> Result<&'a str, LoadError> {
        let span = self.str_span()?;
        let bytes = span.get(self.file).ok_or_else(|| self.truncated())?;
        core::str::from_utf8(bytes).map_err(|_| self.truncated())
    }

    /// [`Self::str`] copied into a `String` (fallibly: `OutOfMemory` if the pool is full).
    pub fn string(&mut self) -> Result<String, LoadError> {
        let s = self.str()?;
        Ok(crate::fallible::string(s)?)
    }
}

/// `v` as `u32`, saturating (error messages only).
pub fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(b: &[u8]) -> Cursor<'_> {
        Cursor::new(b, 0, b.len(), SectionKind::InitData).unwrap()
    }

    #[test]
    fn reads_are_aligned_from_file_start() {
        let b = [
            0xaa, 0, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0, 2, 0, 0, 0,
        ];
        let mut c = cur(&b);
        assert_eq!(c.u8().unwrap(), 0xaa);
        assert_eq!(c.u16().unwrap(), 0x1234); // skips one pad byte
        assert_eq!(c.pos(), 4);
        assert_eq!(c.u32().unwrap(), 0x1234_5678);
        assert_eq!(c.u64().unwrap(), 0x0000_0002_0000_0001);
        assert!(c.is_empty());
    }

    #[test]
    fn cursor_starting_mid_file_aligns_absolutely() {
        let b = [0u8, 0, 0, 0, 0, 0, 9, 0, 7, 0, 0, 0];
        let mut c = Cursor::new(&b, 5, b.len(), SectionKind::Text).unwrap();
        assert_eq!(c.u16().unwrap(), 9); // offset 6, not 5
        assert_eq!(c.u32().unwrap(), 7); // offset 8
    }

    #[test]
    fn u64_is_aligned_to_4_only() {
        let b = [0u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        let mut c = Cursor::new(&b, 1, b.len(), SectionKind::Text).unwrap();
        assert_eq!(c.u64().unwrap(), 1);
    }

    #[test]
    fn truncation_reports_offset() {
        let b = [1u8, 2, 3];
        let mut c = cur(&b);
        assert_eq!(
            c.u32(),
            Err(LoadError::Truncated {
                section: SectionKind::InitData,
                offset: 0
            })
        );
        let mut c = cur(&b);
        c.u8().unwrap();
        // aligning to 4 goes past the end
        assert!(matches!(
            c.u32(),
            Err(LoadError::Truncated { offset: 1, .. })
        ));
        let e = cur(&b).bytes(4).unwrap_err();
        assert_eq!(e.to_string(), "section INIT_DATA truncated at offset 0");
    }

    #[test]
    fn section_end_is_respected_even_inside_the_file() {
        let b = [0u8; 16];
        let mut c = Cursor::new(&b, 0, 6, SectionKind::Export).unwrap();
        c.u32().unwrap();
        assert!(c.u32().is_err());
        assert!(Cursor::new(&b, 8, 17, SectionKind::Export).is_err());
        assert!(Cursor::new(&b, 9, 8, SectionKind::Export).is_err());
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let b = [0u8; 8];
        let mut c = cur(&b);
        assert!(c.bytes(usize::MAX).is_err());
        assert!(c.skip(usize::MAX - 1).is_err());
        assert_eq!(c.pos(), 0);
    }

    #[test]
    fn counts_are_checked_against_remaining_bytes() {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(cur(&b).count("thing", 4).unwrap(), 2);
        assert!(matches!(
            cur(&b).count("thing", 5),
            Err(LoadError::CountTooLarge { count: 2, .. })
        ));
        b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(cur(&b).count("thing", usize::MAX).is_err());
        assert!(cur(&b).count("thing", 0).is_ok());
    }

    #[test]
    fn strings() {
        // "ab\0", then "" (len 0), then len 2 without NUL
        let b = [3u8, 0, b'a', b'b', 0, 0, 0, 0, 2, 0, b'x', b'y'];
        let mut c = cur(&b);
        assert_eq!(c.string().unwrap(), "ab");
        assert_eq!(c.pos(), 5);
        assert_eq!(c.string().unwrap(), ""); // aligned to 6
        assert_eq!(c.pos(), 8);
        assert!(matches!(
            c.string(),
            Err(LoadError::BadString { offset: 8, .. })
        ));
        // interior NUL
        let b = [3u8, 0, b'a', 0, 0];
        assert!(cur(&b).string().is_err());
        // invalid UTF-8
        let b = [2u8, 0, 0xff, 0];
        assert!(cur(&b).string().is_err());
        // length past the end
        let b = [9u8, 0, b'a', 0];
        assert!(matches!(cur(&b).string(), Err(LoadError::Truncated { .. })));
    }

    #[test]
    fn spans() {
        let b = [0u8, 1, 2, 3, 4];
        let mut c = cur(&b);
        c.skip(1).unwrap();
        let s = c.span(3).unwrap();
        assert_eq!(s, Span { offset: 1, len: 3 });
        assert_eq!(s.get(&b), Some(&b[1..4]));
        assert_eq!(s.get(&b[..2]), None);
        assert_eq!(
            Span {
                offset: u32::MAX,
                len: u32::MAX
            }
            .get(&b),
            None
        );
    }
}
