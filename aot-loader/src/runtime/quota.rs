//! The per-instance heap quota: every allocation made for a module (code image, module data
//! block with instance and tables, native stack, committed linear memory) is charged here
//! first; exceeding the limit is a clean error that says how much was needed.

use core::fmt;

/// Bytes charged against a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    limit: u64,
    used: u64,
}

/// An allocation the quota does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaError {
    /// What was being allocated.
    pub what: &'static str,
    /// Bytes requested.
    pub requested: u64,
    /// Bytes already in use.
    pub used: u64,
    /// The limit.
    pub limit: u64,
}

impl QuotaError {
    /// Total bytes the instance would need.
    pub fn needed(&self) -> u64 {
        self.used.saturating_add(self.requested)
    }
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "heap quota exceeded: {} needs {} bytes, {} of {} already in use (at least {} needed)",
            self.what,
            self.requested,
            self.used,
            self.limit,
            self.needed()
        )
    }
}

impl Quota {
    /// A quota of `limit` bytes, nothing used.
    pub const fn new(limit: u64) -> Self {
        Quota { limit, used: 0 }
    }

    /// Charges `bytes` for `what`, or says how much was needed.
    pub fn charge(&mut self, what: &'static str, bytes: u64) -> Result<(), QuotaError> {
        match self.used.checked_add(bytes) {
            Some(n) if n <= self.limit => {
                self.used = n;
                Ok(())
            }
            _ => Err(QuotaError {
                what,
                requested: bytes,
                used: self.used,
                limit: self.limit,
            }),
        }
    }

    /// Returns `bytes` (saturating at zero).
    pub fn release(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_reports_the_need() {
        let mut q = Quota::new(100);
        q.charge("code", 60).unwrap();
        q.charge("data", 40).unwrap();
        let e = q.charge("stack", 1).unwrap_err();
        assert_eq!(e.needed(), 101);
        assert_eq!(
            alloc::format!("{e}"),
            "heap quota exceeded: stack needs 1 bytes, 100 of 100 already in use (at least 101 needed)"
        );
        q.release(40);
        assert_eq!(q.used(), 60);
        assert!(q.charge("huge", u64::MAX).is_err());
        assert_eq!(q.used(), 60);
    }
}
