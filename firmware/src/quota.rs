//! Heap quotas: the [`QuotaBook`] that reserves every session's quota out of the pool at
//! SESSION_OPEN (so the live quotas never add up to more than the pool can give sessions), and
//! the per-session [`Account`] that allocations made for the session are charged to.
//!
//! Both are lock-free counters: the allocator charges an account from whichever CPU serves
//! the session, and OPEN/CLOSE on any CPU reserve and release quota.

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

/// What one session may allocate and has allocated.
#[derive(Debug)]
pub struct Account {
    quota: u64,
    used: AtomicU64,
    peak: AtomicU64,
}

impl Account {
    /// An account with `quota` bytes, nothing charged.
    pub const fn new(quota: u64) -> Self {
        Self {
            quota,
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// The quota.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Most bytes charged at once.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }

    /// Bytes still free under the quota.
    pub fn free(&self) -> u64 {
        self.quota.saturating_sub(self.used())
    }

    /// Charges `n` bytes; false (nothing charged) if that would exceed the quota.
    pub fn try_charge(&self, n: u64) -> bool {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let next = match cur.checked_add(n) {
                Some(v) if v <= self.quota => v,
                _ => return false,
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
        let a = Account::new(100);
        assert!(a.try_charge(60));
        assert!(!a.try_charge(41));
        assert!(!a.try_charge(u64::MAX));
        assert!(a.try_charge(40));
        assert_eq!(a.free(), 0);
        a.credit(100);
        assert_eq!(a.used(), 0);
        assert_eq!(a.peak(), 100);
    }
}
