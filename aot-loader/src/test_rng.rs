//! The crate's randomised tests' one generator: xorshift64 (shifts 13, 7, 17), deterministic
//! from its seed, so a failing case repeats on every run, and no dependency.

/// A xorshift64 state; the seed must not be zero.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
