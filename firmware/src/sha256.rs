//! SHA-256 (FIPS 180-4) over a pluggable block function, for LOAD's measurement: on a CPU
//! with FEAT_SHA256 the payload hashes with the SHA256H/SHA256H2/SHA256SU0/SHA256SU1
//! instructions (arch/sha256.S), elsewhere and on the host with `sha2`'s portable
//! compression ([`soft_blocks`]). The `sha2` crate picks its backend when it is compiled and
//! cannot use the instructions on this soft-float target, so the padding and buffering that
//! wrap the block function live here.
//!
//! Owns [`K`], the 64 round constants, computed at compile time from their definition (the
//! first 32 bits of the fractional parts of the cube roots of the first 64 primes) rather
//! than typed in; the assembly takes them by address.

use sha2::digest::generic_array::GenericArray;

/// Compresses whole 64-byte blocks of `data` (its length is a multiple of 64) into `state`.
pub type Blocks = fn(state: &mut [u32; 8], data: &[u8]);

/// The initial hash value H(0).
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The round constants K(0)..K(63).
pub static K: [u32; 64] = round_constants();

/// `floor(cbrt(p) * 2^32) mod 2^32` for the first 64 primes `p`: the largest `x` with
/// `x^3 <= p * 2^96`, by bisection in 128-bit integers.
// Evaluated by the compiler only (K's initialiser): an index out of range would fail the
// build, never run.
#[allow(clippy::indexing_slicing)]
const fn round_constants() -> [u32; 64] {
    let mut k = [0u32; 64];
    let (mut n, mut p) = (0, 2u128);
    while n < 64 {
        let mut d = 2;
        let mut prime = true;
        while d * d <= p {
            if p % d == 0 {
                prime = false;
            }
            d += 1;
        }
        if prime {
            let target = p << 96;
            let (mut lo, mut hi) = (0u128, 1u128 << 36);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if mid * mid * mid <= target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            k[n] = lo as u32;
            n += 1;
        }
        p += 1;
    }
    k
}

/// `sha2`'s portable compression, one block at a time.
pub fn soft_blocks(state: &mut [u32; 8], data: &[u8]) {
    for block in data.chunks_exact(64) {
        sha2::compress256(
            state,
            core::slice::from_ref(GenericArray::from_slice(block)),
        );
    }
}

/// A running SHA-256.
pub struct Sha256 {
    state: [u32; 8],
    buf: [u8; 64],
    buffered: usize,
    total: u64,
    blocks: Blocks,
}

impl Sha256 {
    /// An empty hash compressing with `blocks`.
    pub fn new(blocks: Blocks) -> Sha256 {
        Sha256 {
            state: H0,
            buf: [0; 64],
            buffered: 0,
            total: 0,
            blocks,
        }
    }

    /// Hashes `data` next.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buffered > 0 {
            let free = self.buf.get_mut(self.buffered..).unwrap_or_default();
            let n = free.len().min(data.len());
            let (head, rest) = data.split_at(n);
            if let Some(dst) = free.get_mut(..n) {
                dst.copy_from_slice(head);
            }
            self.buffered += n;
            data = rest;
            if self.buffered < 64 {
                return;
            }
            (self.blocks)(&mut self.state, &self.buf);
            self.buffered = 0;
        }
        let whole = data.len() / 64 * 64;
        let (body, tail) = data.split_at(whole);
        if !body.is_empty() {
            (self.blocks)(&mut self.state, body);
        }
        if let Some(dst) = self.buf.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.buffered = tail.len();
    }

    /// The digest: the data, a 1 bit, zeros up to 56 bytes past a block boundary, and the
    /// length in bits as a big-endian u64.
    pub fn finalize(mut self) -> [u8; 32] {
        let bits = self.total.wrapping_mul(8);
        let n = 1 + (119 - self.buffered) % 64;
        let mut tail = [0u8; 72];
        let [first, ..] = &mut tail;
        *first = 0x80;
        if let Some(dst) = tail.get_mut(n..n + 8) {
            dst.copy_from_slice(&bits.to_be_bytes());
        }
        self.update(tail.get(..n + 8).unwrap_or_default());
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// FIPS 180-4's compression written out, with [`K`]: checks the constants the assembly
    /// uses (the portable path never reads them).
    fn reference_blocks(state: &mut [u32; 8], data: &[u8]) {
        for block in data.chunks_exact(64) {
            let mut w = [0u32; 64];
            for (t, c) in block.chunks_exact(4).enumerate() {
                w[t] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            }
            for t in 16..64 {
                let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
                let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
                w[t] = w[t - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[t - 7])
                    .wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
            for t in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = h
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[t])
                    .wrapping_add(w[t]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                (h, g, f, e, d, c, b, a) =
                    (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
            }
            for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
                *s = s.wrapping_add(v);
            }
        }
    }

    #[test]
    fn constants_are_fips_180_4s() {
        assert_eq!(K[0], 0x428a_2f98);
        assert_eq!(K[1], 0x7137_4491);
        assert_eq!(K[63], 0xc671_78f2);
    }

    #[test]
    fn matches_sha2_for_every_length_and_split() {
        let data: std::vec::Vec<u8> = (0..600u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in 0..data.len() {
            let input = &data[..len];
            let want: [u8; 32] = sha2::Sha256::digest(input).into();
            for blocks in [soft_blocks as Blocks, reference_blocks] {
                let mut h = Sha256::new(blocks);
                h.update(input);
                assert_eq!(h.finalize(), want, "len {len}");
                // In uneven pieces, as LOAD's chunks and any caller's may come.
                let mut h = Sha256::new(blocks);
                let (a, rest) = input.split_at(len / 3);
                let (b, c) = rest.split_at(rest.len() / 2);
                for piece in [a, b, c] {
                    h.update(piece);
                }
                assert_eq!(h.finalize(), want, "len {len} in pieces");
            }
        }
    }
}
