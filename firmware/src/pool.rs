//! The static pool: a linker-reserved region of secure DRAM managed by linked_list_allocator,
//! with the usage figures GET_INFO reports (size, bytes in use, high-water mark), the
//! charging of allocations to session accounts, and (test builds) allocation fault injection.
//!
//! Allocation failure is an ordinary error: [`Pool::try_alloc`] returns `None`, and as the
//! global allocator the pool returns null, which fallible collection APIs (`try_reserve`) turn
//! into an error value. Payload code never uses the panicking allocation paths on sizes that
//! come from the normal world.
//!
//! Charging. Each CPU has a "current account" slot, set by a [`Charging`] guard
//! ([`Pool::charge_to`]) for as long as the CPU serves a call of a session. Every allocation
//! through the global allocator is charged to the current account (none: the kernel's
//! reserve) and carries a small header in front of it naming that account's [`Charges`], so
//! its free credits the same account on whichever CPU and in whichever call it happens (a
//! reallocation stays with the account of the original). A charge that would go over the
//! account's quota fails the allocation (null), exactly like an exhausted pool. Page
//! allocations the payload maps for a module or an address space ([`Pool::try_alloc_for`],
//! page-aligned, so without a header) name their [`Owner`] explicitly and give it back on
//! [`Pool::free_for`].
//!
//! What a charge costs is what the allocator takes for the block: header included, rounded
//! up as linked_list_allocator rounds (at least 16 bytes, multiples of 8).

use crate::layout::MAX_CPUS;
use crate::quota::{Account, Charges};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
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

/// Who an allocation is charged to: a session's account, or nobody (the kernel's reserve).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner(*const Charges);

// SAFETY: an Owner is a pointer to atomic counters that stay allocated while anything is
// charged to them (see quota::Account); it may be recorded and used on any CPU.
unsafe impl Send for Owner {}
// SAFETY: as above.
unsafe impl Sync for Owner {}

impl Owner {
    /// The kernel: charged to no account.
    pub const KERNEL: Owner = Owner(core::ptr::null());

    /// The owner that charges `account`.
    pub fn of(account: &Account) -> Owner {
        Owner(account.charges_ptr())
    }

    /// True for the kernel.
    pub fn is_kernel(self) -> bool {
        self.0.is_null()
    }

    fn charges(&self) -> Option<&Charges> {
        // SAFETY: a non-null Owner comes from a live Account (a Charging guard, or
        // `Owner::of`) or from an allocation still charged to it; the counters stay allocated
        // while anything is charged to them or a CPU serves the account's session.
        unsafe { self.0.as_ref() }
    }

    fn charge(self, n: u64) -> bool {
        self.charges().is_none_or(|c| c.try_charge(n))
    }

    fn credit(self, n: u64) {
        if let Some(c) = self.charges() {
            c.credit(n);
        }
    }
}

/// How the pool finds the index of the CPU it runs on (MPIDR on the target, a fake on the
/// host). Indexes at or above `MAX_CPUS` charge the kernel.
pub type CpuIndex = fn() -> usize;

/// A lock-protected heap with usage statistics and per-CPU charging.
pub struct Pool {
    inner: Mutex<Inner>,
    cpu: CpuIndex,
    current: [AtomicPtr<Charges>; MAX_CPUS],
    /// Fault injection: 0 disarmed, n: the n-th allocation from now fails.
    fail_in: AtomicU64,
    /// Allocations failed by injection since boot.
    injected: AtomicU64,
}

/// Sets the current CPU's account for as long as it lives; restores the previous one after.
pub struct Charging<'p> {
    pool: &'p Pool,
    cpu: usize,
    previous: *mut Charges,
}

impl Drop for Charging<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.pool.current.get(self.cpu) {
            slot.store(self.previous, Ordering::Relaxed);
        }
    }
}

/// The header in front of an allocation of `layout`: `(outer layout, header bytes)`. The
/// header keeps the block's alignment and holds the owner in its last word.
fn framed(layout: Layout) -> Option<(Layout, usize)> {
    let header = layout.align().max(16);
    let size = layout.size().checked_add(header)?;
    Some((Layout::from_size_align(size, header).ok()?, header))
}

/// The bytes linked_list_allocator takes for a block of `layout` (its minimum block and its
/// rounding), what an allocation is charged.
pub fn cost(layout: Layout) -> u64 {
    let size = layout.size().max(16);
    size.div_ceil(8).saturating_mul(8) as u64
}

/// What the global allocator charges for an allocation of `layout` (header included).
pub fn charged_size(layout: Layout) -> u64 {
    framed(layout).map_or(u64::MAX, |(outer, _)| cost(outer))
}

impl Pool {
    /// An empty pool; [`Pool::init`] gives it memory. `cpu` tells it which CPU it runs on.
    pub const fn empty(cpu: CpuIndex) -> Self {
        Self {
            inner: Mutex::new(Inner {
                heap: Heap::empty(),
                high_water: 0,
            }),
            cpu,
            current: [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS],
            fail_in: AtomicU64::new(0),
            injected: AtomicU64::new(0),
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

    /// Charges what this CPU allocates to `account` until the guard is dropped (each engine
    /// call of a session runs under one).
    pub fn charge_to(&self, account: &Account) -> Charging<'_> {
        let cpu = (self.cpu)();
        let previous = self.current.get(cpu).map_or(core::ptr::null_mut(), |slot| {
            slot.swap(account.charges_ptr().cast_mut(), Ordering::Relaxed)
        });
        Charging {
            pool: self,
            cpu,
            previous,
        }
    }

    /// Who an allocation made now on this CPU is charged to.
    pub fn owner_now(&self) -> Owner {
        self.current
            .get((self.cpu)())
            .map_or(Owner::KERNEL, |slot| Owner(slot.load(Ordering::Relaxed)))
    }

    /// Fault injection: the `n`-th allocation from now fails (every kind: global allocator,
    /// pages, kernel), once; 0 disarms. Returns how many allocations the previous arming
    /// still had to go (0: it fired, or nothing was armed).
    pub fn fail_nth(&self, n: u64) -> u64 {
        self.fail_in.swap(n, Ordering::AcqRel)
    }

    /// Allocations failed by injection since boot.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Acquire)
    }

    /// True if injection fails this allocation.
    fn inject(&self) -> bool {
        let mut cur = self.fail_in.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                return false;
            }
            match self.fail_in.compare_exchange_weak(
                cur,
                cur - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) if cur == 1 => {
                    self.injected.fetch_add(1, Ordering::AcqRel);
                    return true;
                }
                Ok(_) => return false,
                Err(now) => cur = now,
            }
        }
    }

    /// Allocates for the kernel (charged to nobody), or returns `None` if the pool cannot
    /// satisfy the request.
    pub fn try_alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        if self.inject() {
            return None;
        }
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

    /// Allocates charged to `owner` (no header: the caller keeps the owner for
    /// [`Pool::free_for`]); `None` if the owner's quota or the pool cannot hold it.
    pub fn try_alloc_for(&self, layout: Layout, owner: Owner) -> Option<NonNull<u8>> {
        let n = cost(layout);
        if !owner.charge(n) {
            return None;
        }
        let p = self.try_alloc(layout);
        if p.is_none() {
            owner.credit(n);
        }
        p
    }

    /// Frees an allocation of [`Pool::try_alloc_for`] and credits its owner.
    ///
    /// # Safety
    /// `ptr` must come from `try_alloc_for` on this pool with the same `layout` and `owner`.
    pub unsafe fn free_for(&self, ptr: NonNull<u8>, layout: Layout, owner: Owner) {
        // SAFETY: forwarded caller contract (try_alloc_for allocates with try_alloc).
        unsafe { self.free(ptr, layout) };
        owner.credit(cost(layout));
    }

    /// A global-allocator allocation charged to `owner`, with its header.
    fn alloc_owned(&self, layout: Layout, owner: Owner) -> *mut u8 {
        let Some((outer, header)) = framed(layout) else {
            return core::ptr::null_mut();
        };
        let Some(base) = self.try_alloc_for(outer, owner) else {
            return core::ptr::null_mut();
        };
        // SAFETY: `header` < outer.size(), so the user block starts inside the allocation,
        // aligned to `header` (a multiple of the caller's alignment, at least 16); the owner
        // word is the last 8 bytes of the header, inside the allocation and 8-aligned.
        unsafe {
            let user = base.as_ptr().add(header);
            user.sub(8).cast::<Owner>().write(owner);
            user
        }
    }

    /// The owner recorded in the header of a global-allocator block.
    ///
    /// # Safety
    /// `ptr` must be a live block returned by this pool's global allocator.
    unsafe fn owner_of(ptr: *mut u8) -> Owner {
        // SAFETY: alloc_owned wrote the owner in the 8 bytes before every block it returned.
        unsafe { ptr.sub(8).cast::<Owner>().read() }
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

// SAFETY: allocation is delegated to linked_list_allocator under a lock with a header in
// front of each block (the returned pointer keeps the requested alignment, the block the
// requested size); null on failure, as GlobalAlloc requires.
unsafe impl GlobalAlloc for Pool {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_owned(layout, self.owner_now())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (Some(base), Some((outer, header))) = (NonNull::new(ptr), framed(layout)) else {
            return;
        };
        // SAFETY: GlobalAlloc's contract: ptr came from alloc (alloc_owned) with this
        // layout, so its header is `header` bytes before it and names its owner.
        unsafe {
            let owner = Self::owner_of(ptr);
            let block = NonNull::new_unchecked(base.as_ptr().sub(header));
            self.free_for(block, outer, owner);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The new block is charged to the old one's owner, wherever the growth happens.
        // SAFETY: GlobalAlloc's contract: ptr is a live block of this allocator.
        let owner = unsafe { Self::owner_of(ptr) };
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new = self.alloc_owned(new_layout, owner);
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the copy stays inside both.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    std::thread_local! {
        /// The fake CPU index of the test thread.
        static CPU: Cell<usize> = const { Cell::new(0) };
    }

    fn fake_cpu() -> usize {
        CPU.with(Cell::get)
    }

    fn pool_with(bytes: &mut [u8]) -> Pool {
        let pool = Pool::empty(fake_cpu);
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

    #[test]
    fn allocations_are_charged_to_the_current_account_and_credited_on_free() {
        let mut mem = vec![0u8; 256 * 1024];
        let pool = pool_with(&mut mem);
        let a = Account::try_new(4096).unwrap();
        let l = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: a non-zero size.
        let kernel = unsafe { pool.alloc(l) };
        assert!(!kernel.is_null());
        assert_eq!(a.used(), 0, "outside a guard: the kernel's");
        let g = pool.charge_to(&a);
        // SAFETY: a non-zero size.
        let p = unsafe { pool.alloc(l) };
        assert!(!p.is_null());
        assert_eq!(a.used(), charged_size(l));
        assert_eq!(charged_size(l), 1016, "16-byte header, 8-byte rounding");
        drop(g);
        assert_eq!(pool.owner_now(), Owner::KERNEL);
        // Freed outside the guard (another call, another CPU): still credits the account.
        CPU.with(|c| c.set(1));
        // SAFETY: allocated above with l.
        unsafe { pool.dealloc(p, l) };
        assert_eq!(a.used(), 0);
        // SAFETY: allocated above with l.
        unsafe { pool.dealloc(kernel, l) };
        CPU.with(|c| c.set(0));
        assert_eq!(pool.stats().used, 0);
    }

    #[test]
    fn over_the_quota_is_null_and_leaves_no_trace() {
        let mut mem = vec![0u8; 256 * 1024];
        let pool = pool_with(&mut mem);
        let a = Account::try_new(3000).unwrap();
        let _g = pool.charge_to(&a);
        let l = Layout::from_size_align(1000, 8).unwrap();
        let blocks: Vec<*mut u8> = (0..2)
            .map(|_| {
                // SAFETY: a non-zero size.
                unsafe { pool.alloc(l) }
            })
            .collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        let before = pool.stats().used;
        assert!(
            // SAFETY: a non-zero size.
            unsafe { pool.alloc(l) }.is_null(),
            "a third one is over 3000"
        );
        assert_eq!(pool.stats().used, before);
        assert_eq!(a.used(), 2 * charged_size(l));
        assert_eq!(a.refused(), 1);
        for p in blocks {
            // SAFETY: allocated above with l.
            unsafe { pool.dealloc(p, l) };
        }
        assert_eq!(a.used(), 0);
    }

    #[test]
    fn alignment_is_kept_and_realloc_stays_with_the_owner() {
        let mut mem = vec![0u8; 256 * 1024];
        let pool = pool_with(&mut mem);
        let a = Account::try_new(64 * 1024).unwrap();
        let b = Account::try_new(64 * 1024).unwrap();
        let l = Layout::from_size_align(100, 256).unwrap();
        let g = pool.charge_to(&a);
        // SAFETY: non-zero size; freed below with its final layout.
        let p = unsafe { pool.alloc(l) };
        assert_eq!(p as usize % 256, 0);
        // SAFETY: p is a live block of 100 bytes.
        unsafe { p.write_bytes(0xAB, 100) };
        drop(g);
        let _g = pool.charge_to(&b);
        // SAFETY: p is live with layout l.
        let q = unsafe { pool.realloc(p, l, 5000) };
        assert!(!q.is_null());
        assert_eq!(q as usize % 256, 0);
        // SAFETY: q holds at least the 100 copied bytes.
        assert!(unsafe { core::slice::from_raw_parts(q, 100) }
            .iter()
            .all(|&x| x == 0xAB));
        assert_eq!(b.used(), 0, "the growth is charged to the block's owner");
        let l2 = Layout::from_size_align(5000, 256).unwrap();
        assert_eq!(a.used(), charged_size(l2));
        // SAFETY: q is live with layout l2.
        unsafe { pool.dealloc(q, l2) };
        assert_eq!(a.used(), 0);
    }

    #[test]
    fn pages_for_an_owner_are_charged_without_a_header() {
        let mut mem = vec![0u8; 256 * 1024];
        let pool = pool_with(&mut mem);
        let a = Account::try_new(3 * 4096).unwrap();
        let page = Layout::from_size_align(4096, 4096).unwrap();
        let o = Owner::of(&a);
        let p1 = pool.try_alloc_for(page, o).expect("fits");
        let p2 = pool.try_alloc_for(page, o).expect("fits");
        let p3 = pool.try_alloc_for(page, o).expect("fits");
        assert_eq!(p1.as_ptr() as usize % 4096, 0);
        assert!(
            pool.try_alloc_for(page, o).is_none(),
            "the quota is 3 pages"
        );
        assert_eq!(a.used(), 3 * 4096);
        for p in [p1, p2, p3] {
            // SAFETY: allocated above for `o` with `page`.
            unsafe { pool.free_for(p, page, o) };
        }
        assert_eq!(a.used(), 0);
        assert_eq!(pool.stats().used, 0);
    }

    #[test]
    fn guards_nest_and_cpus_are_separate() {
        let mut mem = vec![0u8; 64 * 1024];
        let pool = pool_with(&mut mem);
        let a = Account::try_new(1 << 20).unwrap();
        let b = Account::try_new(1 << 20).unwrap();
        let ga = pool.charge_to(&a);
        {
            let _gb = pool.charge_to(&b);
            assert_eq!(pool.owner_now(), Owner::of(&b));
            CPU.with(|c| c.set(1));
            assert_eq!(pool.owner_now(), Owner::KERNEL, "CPU 1 serves nobody");
            CPU.with(|c| c.set(MAX_CPUS + 3));
            assert_eq!(
                pool.owner_now(),
                Owner::KERNEL,
                "unknown CPUs charge the kernel"
            );
            CPU.with(|c| c.set(0));
        }
        assert_eq!(pool.owner_now(), Owner::of(&a));
        drop(ga);
        assert_eq!(pool.owner_now(), Owner::KERNEL);
    }

    #[test]
    fn injected_failure_hits_exactly_the_nth_allocation_once() {
        let mut mem = vec![0u8; 64 * 1024];
        let pool = pool_with(&mut mem);
        let l = Layout::from_size_align(64, 8).unwrap();
        assert_eq!(pool.fail_nth(3), 0);
        let r: Vec<bool> = (0..5).map(|_| pool.try_alloc(l).is_some()).collect();
        assert_eq!(r, [true, true, false, true, true]);
        assert_eq!(pool.injected(), 1);
        assert_eq!(pool.fail_nth(10), 0, "it fired");
        assert!(pool.try_alloc(l).is_some());
        assert_eq!(pool.fail_nth(0), 9, "9 to go when disarmed");
        let a = Account::try_new(1 << 20).unwrap();
        pool.fail_nth(1);
        let _g = pool.charge_to(&a);
        // SAFETY: non-zero size.
        assert!(unsafe { pool.alloc(l) }.is_null());
        assert_eq!(a.used(), 0, "a failed charged allocation is credited back");
    }
}
