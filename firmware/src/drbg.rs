//! The secure world's random numbers for WASI `random_get`: a hash DRBG (SHA-256 in counter
//! mode with a key that is replaced after every request, so earlier output cannot be
//! recomputed from a later state), seeded at cold boot from every source the platform has.
//!
//! Trust level (docs/threat-model.md): the output is only as unpredictable as the seed. On a
//! CPU with FEAT_RNG the seed includes RNDR, a hardware source the normal world cannot see. On
//! QEMU's cortex-a57 there is none: the seed is QEMU's `/chosen` `rng-seed` (host entropy, but
//! in the DTB the normal world can read later) plus counter-timing jitter, which makes the
//! output unpredictable to a module but not necessarily to a privileged normal world.

use sha2::{Digest, Sha256};

/// A SHA-256 hash DRBG.
pub struct Drbg {
    key: [u8; 32],
    counter: u64,
    seeded: bool,
}

impl Drbg {
    /// An unseeded generator (it still works, from a fixed key: callers should seed first).
    pub const fn new() -> Self {
        Self {
            key: [0; 32],
            counter: 0,
            seeded: false,
        }
    }

    /// Mixes `input` into the key (any number of times, any length).
    pub fn reseed(&mut self, input: &[u8]) {
        let mut h = Sha256::new();
        h.update(b"tzwasm drbg reseed");
        h.update(self.key);
        h.update((input.len() as u64).to_le_bytes());
        h.update(input);
        self.key = h.finalize().into();
        self.seeded = true;
    }

    /// True once something was mixed in.
    pub fn is_seeded(&self) -> bool {
        self.seeded
    }

    fn block(&self, domain: u8) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(self.counter.to_le_bytes());
        h.update([domain]);
        h.finalize().into()
    }

    /// Fills `out`, then replaces the key.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let b = self.block(1);
            for (o, v) in chunk.iter_mut().zip(b) {
                *o = v;
            }
            self.counter = self.counter.wrapping_add(1);
        }
        self.key = self.block(2);
        self.counter = self.counter.wrapping_add(1);
    }
}

impl Default for Drbg {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let (mut a, mut b, mut c) = (Drbg::new(), Drbg::new(), Drbg::new());
        a.reseed(b"seed");
        b.reseed(b"seed");
        c.reseed(b"seee");
        let (mut x, mut y, mut z) = ([0u8; 100], [0u8; 100], [0u8; 100]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert!(a.is_seeded());
    }

    #[test]
    fn never_repeats_and_forgets_old_keys() {
        let mut d = Drbg::new();
        d.reseed(&[1, 2, 3]);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let mut out = [0u8; 32];
            let before = d.key;
            d.fill(&mut out);
            assert_ne!(d.key, before, "key replaced after every request");
            assert!(seen.insert(out), "no repeated block");
        }
        // Odd lengths fill completely.
        let mut odd = [0u8; 33];
        d.fill(&mut odd);
        assert!(odd.iter().any(|&b| b != 0));
    }
}
