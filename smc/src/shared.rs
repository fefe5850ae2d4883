//! Memory shared with the other world: [`SharedRegion`], the one accessor through which
//! both worlds read and write it (the output ring, and in the secure world the file
//! copy-in, the run block and the reports).
//!
//! A region is a base pointer and a length checked once, at construction; every access is
//! bounds-checked and volatile (bytes, layout words) or atomic (the ring's index words),
//! because the other world may change any byte at any time. Nothing here panics on an
//! offset or length.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::ring::{LayoutError, ALIGN};

/// A block of memory shared with the other world: a base pointer and a length, checked once
/// at construction. Every access is bounds-checked and volatile (bytes, layout words) or
/// atomic (index words); the contents may change at any time.
#[derive(Clone, Copy, Debug)]
pub struct SharedRegion<'a> {
    base: NonNull<u8>,
    len: usize,
    _memory: PhantomData<&'a UnsafeCell<[u8]>>,
}

// SAFETY: a SharedRegion holds no thread-affine state; its accesses are volatile or atomic, and
// the contract of `SharedRegion::new` covers their use from several threads.
unsafe impl Send for SharedRegion<'_> {}

impl<'a> SharedRegion<'a> {
    /// A region of `len` bytes at `base`.
    ///
    /// Checks: `base` non-null and [`ALIGN`]-aligned; `base + len` does not wrap and `len`
    /// is at most `isize::MAX`.
    ///
    /// There is deliberately no safe constructor from a slice: a region is `Copy` and `Send`,
    /// so what may run concurrently is part of this contract.
    ///
    /// # Safety
    /// For `'a`, `[base, base + len)` must be valid for volatile reads and writes of bytes,
    /// `u32`s and `u64`s and for atomic `u32` accesses, and must not be accessed through Rust
    /// references. Within this program, copies of the region used on different threads must
    /// only access the same bytes concurrently through the atomic index words (a [`Producer`]
    /// and a [`Consumer`] of one ring, each used by one thread, satisfy this). Another agent
    /// outside the program (the other world) may read and write any byte at any time; the
    /// ring code tolerates any value it writes.
    pub unsafe fn new(base: *mut u8, len: usize) -> Result<Self, LayoutError> {
        let Some(base) = NonNull::new(base) else {
            return Err(LayoutError::Misaligned);
        };
        if !(base.as_ptr() as usize).is_multiple_of(ALIGN) {
            return Err(LayoutError::Misaligned);
        }
        if len > isize::MAX as usize || (base.as_ptr() as usize).checked_add(len).is_none() {
            return Err(LayoutError::Wraps);
        }
        Ok(SharedRegion {
            base,
            len,
            _memory: PhantomData,
        })
    }

    /// A region of `len` bytes at `base` for byte copies ([`Self::read_bytes`],
    /// [`Self::write_bytes`]): a file, a run block or a report inside a registration. `base`
    /// may have any alignment (word accessors check the alignment of the address they use);
    /// `None` if it is null or `base + len` wraps.
    ///
    /// # Safety
    /// As for [`Self::new`].
    pub unsafe fn new_bytes(base: *mut u8, len: usize) -> Option<Self> {
        let base = NonNull::new(base)?;
        if len > isize::MAX as usize || (base.as_ptr() as usize).checked_add(len).is_none() {
            return None;
        }
        Some(SharedRegion {
            base,
            len,
            _memory: PhantomData,
        })
    }

    /// The part `[off, off + len)` of this region, under the same contract; `None` if it is
    /// not inside or does not start [`ALIGN`]-aligned.
    pub fn sub(&self, off: usize, len: usize) -> Option<SharedRegion<'a>> {
        if !self.range_ok(off, len) || !off.is_multiple_of(ALIGN) {
            return None;
        }
        // SAFETY: off + len <= self.len was checked, so the result stays inside this region.
        let base = unsafe { self.base.add(off) };
        Some(SharedRegion {
            base,
            len,
            _memory: PhantomData,
        })
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pointer to the `u32` at `off`, if its address is 4-aligned and the word is inside.
    fn word(&self, off: usize) -> Option<*mut u32> {
        if !(self.base.as_ptr() as usize)
            .wrapping_add(off)
            .is_multiple_of(4)
            || off.checked_add(4)? > self.len
        {
            return None;
        }
        // SAFETY: off + 4 <= len, so the result stays inside the region (no wrap: checked at
        // construction).
        Some(unsafe { self.base.as_ptr().add(off) }.cast::<u32>())
    }

    /// Atomic `u32` at `off` (4-aligned, inside).
    fn atomic(&self, off: usize) -> Option<&AtomicU32> {
        let p = self.word(off)?;
        // SAFETY: p is in bounds and 4-aligned (checked by `word`); the
        // constructor's contract allows atomic access for 'a and no Rust reference of another
        // type aliases it.
        Some(unsafe { AtomicU32::from_ptr(p) })
    }

    /// Volatile read of the `u32` at `off`.
    pub fn read_u32(&self, off: usize) -> Option<u32> {
        let p = self.word(off)?;
        // SAFETY: in bounds and aligned (see `word`); valid for volatile reads by contract.
        Some(unsafe { p.read_volatile() })
    }

    /// Volatile write of the `u32` at `off`; `false` (nothing written) if out of bounds.
    pub fn write_u32(&self, off: usize, value: u32) -> bool {
        let Some(p) = self.word(off) else {
            return false;
        };
        // SAFETY: in bounds and aligned (see `word`); valid for volatile writes by contract.
        unsafe { p.write_volatile(value) };
        true
    }

    /// Atomic load with Acquire ordering of the `u32` at `off`.
    pub fn load_acquire_u32(&self, off: usize) -> Option<u32> {
        Some(self.atomic(off)?.load(Ordering::Acquire))
    }

    /// Atomic store with Release ordering of the `u32` at `off`; `false` if out of bounds.
    pub fn store_release_u32(&self, off: usize, value: u32) -> bool {
        let Some(a) = self.atomic(off) else {
            return false;
        };
        a.store(value, Ordering::Release);
        true
    }

    /// Whether `[off, off + n)` is inside the region.
    fn range_ok(&self, off: usize, n: usize) -> bool {
        matches!(off.checked_add(n), Some(end) if end <= self.len)
    }

    /// Volatile copy of `src` to `[off, off + src.len())`; `false` (nothing written) if that
    /// range is not inside the region.
    pub fn write_bytes(&self, off: usize, src: &[u8]) -> bool {
        if !self.range_ok(off, src.len()) {
            return false;
        }
        // SAFETY: off + src.len() <= len was checked.
        let dst = unsafe { self.base.as_ptr().add(off) };
        // Bytes up to an 8-aligned destination, then whole words, then the tail.
        let head = ((dst as usize).wrapping_neg() % 8).min(src.len());
        let (first, rest) = src.split_at_checked(head).unwrap_or((src, &[]));
        for (k, &b) in first.iter().enumerate() {
            // SAFETY: k < head <= src.len(), so dst + k is inside the checked range.
            unsafe { dst.add(k).write_volatile(b) };
        }
        let words = rest.chunks_exact(8);
        let tail = words.remainder();
        for (w, chunk) in words.enumerate() {
            if let Ok(bytes) = <[u8; 8]>::try_from(chunk) {
                // SAFETY: dst + head is 8-aligned and word w ends at head + 8 * (w + 1) <=
                // src.len(), inside the checked range.
                unsafe {
                    dst.add(head + 8 * w)
                        .cast::<u64>()
                        .write_volatile(u64::from_ne_bytes(bytes))
                };
            }
        }
        let tail_at = src.len() - tail.len();
        for (k, &b) in tail.iter().enumerate() {
            // SAFETY: tail_at + k < src.len(), inside the checked range.
            unsafe { dst.add(tail_at + k).write_volatile(b) };
        }
        true
    }

    /// Volatile copy of `[off, off + dst.len())` into `dst`; `false` (nothing read) if that
    /// range is not inside the region.
    pub fn read_bytes(&self, off: usize, dst: &mut [u8]) -> bool {
        if !self.range_ok(off, dst.len()) {
            return false;
        }
        // SAFETY: off + dst.len() <= len was checked.
        let src = unsafe { self.base.as_ptr().add(off) }.cast_const();
        let n = dst.len();
        let head = ((src as usize).wrapping_neg() % 8).min(n);
        let (first, rest) = dst.split_at_mut(head);
        for (k, b) in first.iter_mut().enumerate() {
            // SAFETY: k < head <= n, so src + k is inside the checked range.
            *b = unsafe { src.add(k).read_volatile() };
        }
        let mut words = rest.chunks_exact_mut(8);
        for (w, chunk) in words.by_ref().enumerate() {
            // SAFETY: src + head is 8-aligned and word w ends at head + 8 * (w + 1) <= n,
            // inside the checked range.
            let v = unsafe { src.add(head + 8 * w).cast::<u64>().read_volatile() };
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        let tail = words.into_remainder();
        let tail_at = n - tail.len();
        for (k, b) in tail.iter_mut().enumerate() {
            // SAFETY: tail_at + k < n, inside the checked range.
            *b = unsafe { src.add(tail_at + k).read_volatile() };
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_region_may_start_anywhere_and_checks_its_bounds() {
        let mut block = [0u64; 8];
        let base = block.as_mut_ptr().cast::<u8>();
        // SAFETY: `block` outlives the region and is only accessed through it until the end.
        let r = unsafe { SharedRegion::new_bytes(base.wrapping_add(3), 40) }.unwrap();
        assert!(r.write_bytes(0, b"hello, shared world"));
        let mut back = [0u8; 19];
        assert!(r.read_bytes(0, &mut back));
        assert_eq!(&back, b"hello, shared world");
        // Out of bounds: nothing read or written.
        assert!(!r.write_bytes(30, &[1; 11]));
        assert!(!r.read_bytes(usize::MAX, &mut [0; 2]));
        // Word accessors check the alignment of the address, not of the offset.
        assert_eq!(r.read_u32(0), None);
        assert!(r.read_u32(1).is_some());
        assert!(!r.store_release_u32(4, 1));
        assert!(r.store_release_u32(5, 7));
        assert_eq!(r.load_acquire_u32(5), Some(7));
        // SAFETY: never accessed.
        assert!(unsafe { SharedRegion::new_bytes(core::ptr::null_mut(), 1) }.is_none());
        // SAFETY: never accessed.
        assert!(unsafe { SharedRegion::new_bytes(usize::MAX as *mut u8, 2) }.is_none());
    }
}
