//! [`GuestMemory`]: checked access to a module's linear memory from WASI functions.
//!
//! Every access names a wasm address (an unsigned 32-bit offset) and a length; the range is
//! checked with checked arithmetic against the memory size the runtime recorded itself, never
//! against anything module code can write. Out of range is [`Errno::FAULT`]. Values are little
//! endian and may be unaligned, as in wasm.

use core::marker::PhantomData;

use super::Errno;

/// A module's linear memory for the duration of one WASI call.
///
/// `base` and `size` come from the runtime's own records (never from the wasm instance, whose
/// fields module code can overwrite); the lifetime ties the view to the call that made it.
pub struct GuestMemory<'a> {
    base: *mut u8,
    size: usize,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'a> GuestMemory<'a> {
    /// A view of `size` bytes at `base`.
    ///
    /// # Safety
    ///
    /// `base..base + size` is the module's linear memory, mapped readable and writable, not
    /// accessed through any other pointer or reference for `'a` (module code is suspended
    /// while a WASI function runs). `base` may be null only if `size` is 0.
    pub unsafe fn new(base: *mut u8, size: usize) -> Self {
        GuestMemory {
            base,
            size,
            _memory: PhantomData,
        }
    }

    /// A view of a byte slice (tests, and callers that own the memory as a slice).
    pub fn from_slice(memory: &'a mut [u8]) -> Self {
        GuestMemory {
            base: memory.as_mut_ptr(),
            size: memory.len(),
            _memory: PhantomData,
        }
    }

    /// The memory size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The offset range `addr..addr + len` if it lies inside the memory, else `FAULT`.
    pub fn check(&self, addr: u32, len: u32) -> Result<core::ops::Range<usize>, Errno> {
        let start = usize::try_from(addr).map_err(|_| Errno::FAULT)?;
        let len = usize::try_from(len).map_err(|_| Errno::FAULT)?;
        let end = start.checked_add(len).ok_or(Errno::FAULT)?;
        if end > self.size {
            return Err(Errno::FAULT);
        }
        Ok(start..end)
    }

    /// Checks a range whose length is a count of fixed-size records (iovecs, events, ...),
    /// computing `count * record_size` with checked arithmetic.
    pub fn check_array(&self, addr: u32, count: u32, record_size: u32) -> Result<(), Errno> {
        let len = count.checked_mul(record_size).ok_or(Errno::FAULT)?;
        self.check(addr, len).map(|_| ())
    }

    /// The bytes `addr..addr + len`.
    pub fn slice(&self, addr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.check(addr, len)?;
        if range.is_empty() {
            return Ok(&[]);
        }
        // SAFETY: `range` is inside `0..size` (checked above) and non-empty, so `base` is the
        // non-null start of the memory `new`'s contract describes; `&self` keeps any mutable
        // view made through this value from overlapping the returned slice's lifetime.
        Ok(unsafe { core::slice::from_raw_parts(self.base.add(range.start), range.len()) })
    }

    /// The bytes `addr..addr + len`, writable.
    pub fn slice_mut(&mut self, addr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.check(addr, len)?;
        if range.is_empty() {
            return Ok(&mut []);
        }
        // SAFETY: as in `slice`; `&mut self` makes this the only view for its lifetime.
        Ok(unsafe { core::slice::from_raw_parts_mut(self.base.add(range.start), range.len()) })
    }

    /// Copies `len` bytes from `src` to `dst` inside the memory (the ranges may overlap, as
    /// `memmove`); `FAULT` if either range leaves it.
    pub fn copy_within(&mut self, src: u32, dst: u32, len: u32) -> Result<(), Errno> {
        let from = self.check(src, len)?;
        let to = self.check(dst, len)?;
        if from.is_empty() {
            return Ok(());
        }
        // SAFETY: both ranges lie inside `0..size` (checked above) and are non-empty, so
        // `base` is the memory `new`'s contract describes; `ptr::copy` allows overlap, and
        // `&mut self` makes this the only access meanwhile.
        unsafe {
            core::ptr::copy(
                self.base.add(from.start),
                self.base.add(to.start),
                from.len(),
            )
        };
        Ok(())
    }

    /// `N` bytes at `addr`.
    pub fn read_array<const N: usize>(&self, addr: u32) -> Result<[u8; N], Errno> {
        let len = u32::try_from(N).map_err(|_| Errno::FAULT)?;
        let mut out = [0u8; N];
        out.copy_from_slice(self.slice(addr, len)?);
        Ok(out)
    }

    /// Copies `bytes` to `addr`.
    pub fn write_bytes(&mut self, addr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(bytes.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(addr, len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// The byte at `addr`.
    pub fn read_u8(&self, addr: u32) -> Result<u8, Errno> {
        Ok(self.read_array::<1>(addr)?[0])
    }

    /// The little-endian `u16` at `addr`.
    pub fn read_u16(&self, addr: u32) -> Result<u16, Errno> {
        self.read_array(addr).map(u16::from_le_bytes)
    }

    /// The little-endian `u32` at `addr`.
    pub fn read_u32(&self, addr: u32) -> Result<u32, Errno> {
        self.read_array(addr).map(u32::from_le_bytes)
    }

    /// The little-endian `u64` at `addr`.
    pub fn read_u64(&self, addr: u32) -> Result<u64, Errno> {
        self.read_array(addr).map(u64::from_le_bytes)
    }

    /// Stores a byte at `addr`.
    pub fn write_u8(&mut self, addr: u32, value: u8) -> Result<(), Errno> {
        self.write_bytes(addr, &[value])
    }

    /// Stores a little-endian `u16` at `addr`.
    pub fn write_u16(&mut self, addr: u32, value: u16) -> Result<(), Errno> {
        self.write_bytes(addr, &value.to_le_bytes())
    }

    /// Stores a little-endian `u32` at `addr`.
    pub fn write_u32(&mut self, addr: u32, value: u32) -> Result<(), Errno> {
        self.write_bytes(addr, &value.to_le_bytes())
    }

    /// Stores a little-endian `u64` at `addr`.
    pub fn write_u64(&mut self, addr: u32, value: u64) -> Result<(), Errno> {
        self.write_bytes(addr, &value.to_le_bytes())
    }

    /// The `index`th `(buf, buf_len)` record of an iovec/ciovec array at `iovs` (8 bytes each:
    /// `buf: u32` at 0, `buf_len: u32` at 4), with its buffer range checked.
    pub fn iovec(&self, iovs: u32, index: u32) -> Result<(u32, u32), Errno> {
        let at = index
            .checked_mul(IOVEC_SIZE)
            .and_then(|off| iovs.checked_add(off))
            .ok_or(Errno::FAULT)?;
        let buf = self.read_u32(at)?;
        let buf_len = self.read_u32(at.checked_add(4).ok_or(Errno::FAULT)?)?;
        self.check(buf, buf_len)?;
        Ok((buf, buf_len))
    }
}

/// Size of a preview1 `iovec` / `ciovec` in wasm32 memory.
pub const IOVEC_SIZE: u32 = 8;
