//! Check results: one console line per check (`[PASS] name` / `[FAIL] name: detail`, and
//! `[SKIP] name: reason` for checks this firmware build cannot serve, not counted) and the
//! running pass/fail counts of the CPU that owns the [`Report`].

use core::fmt;

/// Pass/fail counts of one CPU's checks, with the prefix its lines carry (e.g. `cpu1: `).
pub struct Report {
    prefix: &'static str,
    /// Checks that passed.
    pub passed: u32,
    /// Checks that failed.
    pub failed: u32,
}

impl Report {
    /// An empty report whose lines start with `prefix`.
    pub const fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            passed: 0,
            failed: 0,
        }
    }

    /// Records and prints a passed check.
    pub fn pass(&mut self, name: &str) {
        self.passed = self.passed.saturating_add(1);
        crate::println!("[PASS] {}{}", self.prefix, name);
    }

    /// Records and prints a failed check.
    pub fn fail(&mut self, name: &str, detail: fmt::Arguments<'_>) {
        self.failed = self.failed.saturating_add(1);
        crate::println!("[FAIL] {}{}: {}", self.prefix, name, detail);
    }

    /// Prints a check that cannot run against this firmware (not counted).
    pub fn skip(&self, name: &str, reason: &str) {
        crate::println!("[SKIP] {}{}: {}", self.prefix, name, reason);
    }

    /// Records `name` as passed when `ok`, else as failed with `detail`.
    pub fn check(&mut self, name: &str, ok: bool, detail: fmt::Arguments<'_>) {
        if ok {
            self.pass(name);
        } else {
            self.fail(name, detail);
        }
    }

    /// Records `name` from a result: `Err` carries the failure detail.
    pub fn result<E: fmt::Display>(&mut self, name: &str, result: Result<(), E>) {
        match result {
            Ok(()) => self.pass(name),
            Err(e) => self.fail(name, format_args!("{e}")),
        }
    }
}
