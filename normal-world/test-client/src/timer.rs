//! Time from the generic timer (CNTVCT_EL0 / CNTFRQ_EL0): deadlines for waits and the
//! tick-to-nanosecond arithmetic of the timing report.

use crate::arch;

/// A point in the future on the virtual counter.
#[derive(Clone, Copy)]
pub struct Deadline(u64);

impl Deadline {
    /// `ms` milliseconds from now.
    pub fn after_ms(ms: u64) -> Self {
        let ticks = arch::counter_frequency().saturating_mul(ms) / 1000;
        Self(arch::counter().saturating_add(ticks))
    }

    /// Whether the deadline has passed.
    pub fn expired(self) -> bool {
        arch::counter() >= self.0
    }
}

/// Nanoseconds per call for `ticks` spent over `calls` calls at `freq` ticks per second;
/// `None` when `calls` or `freq` is zero or the result does not fit.
pub fn ns_per_call(ticks: u64, calls: u64, freq: u64) -> Option<u64> {
    let denom = u128::from(calls).checked_mul(u128::from(freq))?;
    if denom == 0 {
        return None;
    }
    let ns = u128::from(ticks).checked_mul(1_000_000_000)? / denom;
    u64::try_from(ns).ok()
}

/// `a / b` in hundredths, rounded to nearest; `None` when `b` is zero.
pub fn ratio_hundredths(a: u64, b: u64) -> Option<u64> {
    if b == 0 {
        return None;
    }
    let r = (u128::from(a) * 100 + u128::from(b) / 2) / u128::from(b);
    u64::try_from(r).ok()
}
