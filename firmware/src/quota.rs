//! Heap quotas: the [`QuotaBook`] that reserves every session's quota out of the pool at
//! SESSION_OPEN (so the live quotas never add up to more than the pool can give sessions), and
//! the per-session [`Account`] that allocations made for the session are charged to.
//!
//! Both are lock-free counters: the allocator charges an account from whichever CPU serves
//! the session (and credits it from whichever CPU frees), and OPEN/CLOSE on any CPU reserve
//! and release quota.

use crate::handles::try_box;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

/// How much of the pool session quotas may reserve in all: the pool minus a fixed reserve
/// for the payload itself (handle tables, mapping tables, run blocks, formatting).
#[derive(Debug, Default)]
pub struct QuotaBook {
    limit: AtomicU64,
    reserved: AtomicU64,
}

impl QuotaBook {
    /// A book with nothing to give until [`QuotaBook::set_limit`].
    pub const fn new() -> Self {
        Self {
            limit: AtomicU64::new(0),
            reserved: AtomicU64::new(0),
        }
    }

    /// Sets the total sessions may reserve (once, at boot).
    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Release);
    }

    /// The total sessions may reserve.
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Acquire)
    }

    /// Bytes reserved by live sessions.
    pub fn reserved(&self) -> u64 {
        self.reserved.load(Ordering::Acquire)
    }

    /// Bytes still free to reserve.
    pub fn free(&self) -> u64 {
        self.limit().saturating_sub(self.reserved())
    }

    /// Reserves `quota`; `Err(free)` with the bytes still free if it does not fit.
    pub fn reserve(&self, quota: u64) -> Result<(), u64> {
        let limit = self.limit();
        let mut cur = self.reserved.load(Ordering::Acquire);
        loop {
            let next = match cur.checked_add(quota) {
                Some(n) if n <= limit => n,
                _ => return Err(limit.saturating_sub(cur)),
            };
            match self.reserved.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Gives back a quota [`QuotaBook::reserve`] took.
    pub fn release(&self, quota: u64) {
        let mut cur = self.reserved.load(Ordering::Acquire);
        loop {
            let next = cur.saturating_sub(quota);
            match self.reserved.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }
}

/// The counters of one [`Account`]. They live in their own pool allocation, so the pool can
/// record a pointer to them in every allocation charged to the account and credit them when
/// that allocation is freed, on any CPU, even after the session that owned them has gone
/// (see [`Account`]'s `Drop`).
#[derive(Debug)]
pub struct Charges {
    quota: u64,
    /// What the account may reach now: the quota, or more while LOAD measures a module's
    /// minimum with memory lent from the [`QuotaBook`] ([`Account::lend`]).
    limit: AtomicU64,
    used: AtomicU64,
    peak: AtomicU64,
    /// Charges refused because they would have gone over the limit.
    refused: AtomicU64,
}

impl Charges {
    const fn new(quota: u64) -> Self {
        Self {
            quota,
            limit: AtomicU64::new(quota),
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `n` bytes; false (nothing charged) if that would exceed the limit.
    pub fn try_charge(&self, n: u64) -> bool {
        let limit = self.limit.load(Ordering::Acquire);
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let next = match cur.checked_add(n) {
                Some(v) if v <= limit => v,
                _ => {
                    self.refused.fetch_add(1, Ordering::AcqRel);
                    return false;
                }
            };
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::AcqRel);
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Credits `n` bytes charged before.
    pub fn credit(&self, n: u64) {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let next = cur.saturating_sub(n);
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }
}

/// What one session may allocate and has allocated: its quota and the bytes charged to it.
///
/// The pool's allocator charges the account of the session the current CPU serves
/// (`crate::pool::Pool::charge_to`), and records the account in every allocation, so a free
/// credits it wherever and whenever it happens. The counters are therefore boxed and outlive
/// the `Account` while anything is still charged to them: dropping an account whose charge is
/// not back to zero logs it and keeps the counters allocated (a few dozen bytes) instead of
/// leaving allocations pointing at freed memory.
#[derive(Debug)]
pub struct Account {
    charges: NonNull<Charges>,
}

// SAFETY: the counters are atomics, shared by design between the CPUs that serve the session
// and the CPUs that free its allocations.
unsafe impl Send for Account {}
// SAFETY: as above.
unsafe impl Sync for Account {}

impl Account {
    /// An account with `quota` bytes, nothing charged; `None` if the pool cannot hold its
    /// counters. Made outside any session's charging, so the counters are the kernel's.
    pub fn try_new(quota: u64) -> Option<Self> {
        let charges = try_box(Charges::new(quota)).ok()?;
        Some(Self { charges })
    }

    /// The counters the pool charges and credits.
    pub fn charges(&self) -> &Charges {
        // SAFETY: allocated in try_new and freed only in Drop (and then only when nothing is
        // charged to it any more); `self` is alive.
        unsafe { self.charges.as_ref() }
    }

    /// Where the counters are (what the pool records in an allocation).
    pub fn charges_ptr(&self) -> *const Charges {
        self.charges.as_ptr()
    }

    /// The quota.
    pub fn quota(&self) -> u64 {
        self.charges().quota
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.charges().used()
    }

    /// Most bytes charged at once (since the account was made or [`Account::reset_peak`]).
    pub fn peak(&self) -> u64 {
        self.charges().peak.load(Ordering::Acquire)
    }

    /// Starts a new peak measurement at the current charge.
    pub fn reset_peak(&self) {
        self.charges().peak.store(self.used(), Ordering::Release);
    }

    /// Charges refused so far because they would have gone over the limit.
    pub fn refused(&self) -> u64 {
        self.charges().refused.load(Ordering::Acquire)
    }

    /// Bytes still free under the quota.
    pub fn free(&self) -> u64 {
        self.limit().saturating_sub(self.used())
    }

    /// What the account may reach now (the quota unless memory is lent).
    pub fn limit(&self) -> u64 {
        self.charges().limit.load(Ordering::Acquire)
    }

    /// Lets the account go `extra` bytes over its quota (memory the caller reserved from the
    /// [`QuotaBook`] first); [`Account::end_loan`] ends it.
    pub fn lend(&self, extra: u64) {
        let c = self.charges();
        c.limit
            .store(c.quota.saturating_add(extra), Ordering::Release);
    }

    /// Back to the quota.
    pub fn end_loan(&self) {
        let c = self.charges();
        c.limit.store(c.quota, Ordering::Release);
    }

    /// Charges `n` bytes; false (nothing charged) if that would exceed the limit.
    pub fn try_charge(&self, n: u64) -> bool {
        self.charges().try_charge(n)
    }

    /// Credits `n` bytes charged before.
    pub fn credit(&self, n: u64) {
        self.charges().credit(n)
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let left = self.used();
        if left != 0 {
            log::warn!(
                "session account freed with {left} bytes still charged: keeping its counters"
            );
            return;
        }
        // SAFETY: nothing is charged to the counters, so no allocation refers to them, and
        // no CPU serves the session any more (its owner is dropping it).
        drop(unsafe { alloc::boxed::Box::from_raw(self.charges.as_ptr()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_limit() {
        let book = QuotaBook::new();
        book.set_limit(1000);
        assert_eq!(book.reserve(600), Ok(()));
        assert_eq!(book.reserve(500), Err(400), "says how much is free");
        assert_eq!(book.reserve(u64::MAX), Err(400), "no overflow");
        assert_eq!(book.reserve(400), Ok(()));
        assert_eq!(book.free(), 0);
        book.release(600);
        assert_eq!(book.free(), 600);
        book.release(400);
        assert_eq!(book.reserved(), 0);
    }

    #[test]
    fn reservations_from_many_threads_add_up() {
        let book = std::sync::Arc::new(QuotaBook::new());
        book.set_limit(10_000);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = book.clone();
                std::thread::spawn(move || {
                    let mut got = 0;
                    for _ in 0..10_000 {
                        if b.reserve(7).is_ok() {
                            got += 7;
                            assert!(b.reserved() <= 10_000);
                        }
                    }
                    got
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, book.reserved());
        assert!(total <= 10_000 && total > 10_000 - 7);
    }

    #[test]
    fn accounts_refuse_beyond_the_quota() {
        let a = Account::try_new(100).unwrap();
        assert!(a.try_charge(60));
        assert!(!a.try_charge(41));
        assert!(!a.try_charge(u64::MAX));
        assert!(a.try_charge(40));
        assert_eq!(a.free(), 0);
        a.credit(100);
        assert_eq!(a.used(), 0);
        assert_eq!(a.peak(), 100);
        assert_eq!(a.refused(), 2);
    }

    #[test]
    fn a_loan_raises_the_limit_until_it_ends() {
        let a = Account::try_new(100).unwrap();
        assert!(a.try_charge(90));
        a.reset_peak();
        a.lend(50);
        assert_eq!(a.limit(), 150);
        assert!(a.try_charge(60));
        assert_eq!(a.peak(), 150);
        a.credit(60);
        a.end_loan();
        assert!(!a.try_charge(11));
        assert_eq!(a.quota(), 100);
    }

    #[test]
    fn an_account_with_charges_left_keeps_its_counters() {
        let a = Account::try_new(100).unwrap();
        assert!(a.try_charge(10));
        let p = a.charges_ptr();
        drop(a);
        // SAFETY: the counters were kept because 10 bytes are still charged.
        let c = unsafe { &*p };
        assert_eq!(c.used(), 10);
        c.credit(10);
        // SAFETY: leaked by the drop above; nothing else refers to it.
        drop(unsafe { Box::from_raw(p.cast_mut()) });
    }
}
