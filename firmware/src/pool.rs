//! The static pool: a linker-reserved region of secure DRAM managed by linked_list_allocator,
//! with the usage figures GET_INFO reports (size, bytes in use, high-water mark).
//!
//! Allocation failure is an ordinary error: [`Pool::try_alloc`] returns `None`, and as the
//! global allocator the pool returns null, which fallible collection APIs (`try_reserve`) turn
//! into an error value. Payload code never uses the panicking allocation paths on sizes that
//! come from the normal world.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap;
use spin::Mutex;

/// Pool usage, as reported by GET_INFO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes managed by the pool.
    pub size: usize,
    /// Bytes currently allocated.
    pub used: usize,
    /// Highest `used` since boot.
    pub high_water: usize,
}

struct Inner {
    heap: Heap,
    high_water: usize,
}

/// A lock-protected heap with usage statistics.
pub struct Pool {
    inner: Mutex<Inner>,
}

impl Pool {
    /// An empty pool; [`Pool::init`] gives it memory.
    pub const fn empty() -> Self {
        Self {
            inner: Mutex::new(Inner {
                heap: Heap::empty(),
                high_water: 0,
            }),
        }
    }

    /// Hands the pool its memory.
    ///
    /// # Safety
    /// `start..start+size` must be valid, writable, unused by anything else for the rest of
    /// the program, and this must be called once.
    pub unsafe fn init(&self, start: *mut u8, size: usize) {
        // SAFETY: the caller guarantees the region is ours alone and valid.
        unsafe { self.inner.lock().heap.init(start, size) };
    }

    /// Allocates, or returns `None` if the pool cannot satisfy the request.
    pub fn try_alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let mut inner = self.inner.lock();
        let ptr = inner.heap.allocate_first_fit(layout).ok()?;
        inner.high_water = inner.high_water.max(inner.heap.used());
        Some(ptr)
    }

    /// Returns memory to the pool.
    ///
    /// # Safety
    /// `ptr` must come from [`Pool::try_alloc`] on this pool with the same `layout`.
    pub unsafe fn free(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.inner.lock().heap.deallocate(ptr, layout) };
    }

    /// Current usage.
    pub fn stats(&self) -> PoolStats {
        let inner = self.inner.lock();
        PoolStats {
            size: inner.heap.size(),
            used: inner.heap.used(),
            high_water: inner.high_water,
        }
    }
}

// SAFETY: allocation is delegated to linked_list_allocator under a lock; null on failure, as
// GlobalAlloc requires.
unsafe impl GlobalAlloc for Pool {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.try_alloc(layout)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: ptr came from alloc with this layout.
            unsafe { self.free(ptr, layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_with(bytes: &mut [u8]) -> Pool {
        let pool = Pool::empty();
        // SAFETY: the test buffer outlives the pool and is used by nothing else.
        unsafe { pool.init(bytes.as_mut_ptr(), bytes.len()) };
        pool
    }

    #[test]
    fn stats_track_usage_and_high_water() {
        let mut mem = vec![0u8; 64 * 1024];
        let pool = pool_with(&mut mem);
        let base = pool.stats();
        assert_eq!(base.size, 64 * 1024);
        assert_eq!(base.used, 0);

        let l = Layout::from_size_align(4096, 16).unwrap();
        let a = pool.try_alloc(l).expect("fits");
        let b = pool.try_alloc(l).expect("fits");
        assert!(pool.stats().used >= 8192);
        // SAFETY: a and b came from this pool with layout l.
        unsafe {
            pool.free(a, l);
            pool.free(b, l);
        }
        let after = pool.stats();
        assert_eq!(after.used, 0);
        assert!(after.high_water >= 8192);
    }

    #[test]
    fn exhaustion_is_an_error_not_a_panic() {
        let mut mem = vec![0u8; 16 * 1024];
        let pool = pool_with(&mut mem);
        let huge = Layout::from_size_align(1 << 30, 8).unwrap();
        assert!(pool.try_alloc(huge).is_none());
        // SAFETY: GlobalAlloc::alloc is safe to call with a non-zero-size layout.
        let p = unsafe { GlobalAlloc::alloc(&pool, huge) };
        assert!(p.is_null());
        assert_eq!(pool.stats().used, 0, "a failed allocation leaves no trace");
        assert!(pool.try_alloc(Layout::new::<u64>()).is_some());
    }
}
