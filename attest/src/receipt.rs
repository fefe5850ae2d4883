//! What a run receipt binds, computed as the run goes: the digest of the run's entry,
//! arguments and environment, and a running SHA-256 over each output stream.
//!
//! The args digest has one canonical form, which the secure world computes from the run block
//! it validated and the verifier from the command line it expects (every length a u32 LE):
//!
//! ```text
//! SHA-256( "tzwasm args v1"
//!          || len(entry) || entry
//!          || argc || (len(arg) || arg)*      ; the program name first
//!          || envc || (len(env) || env)* )    ; "KEY=VALUE"
//! ```

use crate::claims::Sha256Hash;
use sha2::{Digest, Sha256};

/// Domain separator of the args digest.
pub const ARGS_DOMAIN: &[u8] = b"tzwasm args v1";

/// Computes the args digest of a run (see the module docs). Lengths above `u32::MAX` cannot
/// occur (a run block is at most 64 KiB) and are saturated.
pub fn args_digest<'a, A, E>(entry: &[u8], args: A, env: E) -> Sha256Hash
where
    A: ExactSizeIterator<Item = &'a [u8]>,
    E: ExactSizeIterator<Item = &'a [u8]>,
{
    let mut h = Sha256::new();
    h.update(ARGS_DOMAIN);
    put(&mut h, entry);
    h.update(len32(args.len()));
    for a in args {
        put(&mut h, a);
    }
    h.update(len32(env.len()));
    for e in env {
        put(&mut h, e);
    }
    h.finalize().into()
}

fn len32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update(len32(bytes.len()));
    h.update(bytes);
}

/// A running hash of one output stream and how many bytes went through it.
#[derive(Clone, Default)]
pub struct StreamDigest {
    hash: Sha256,
    len: u64,
}

impl StreamDigest {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes the module wrote (exactly those the ring accepted, in order).
    pub fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.len = self.len.saturating_add(bytes.len() as u64);
    }

    /// Bytes so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 of every byte so far (the stream can go on).
    pub fn digest(&self) -> Sha256Hash {
        self.hash.clone().finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_digest_is_sha256_of_the_concatenation() {
        let mut s = StreamDigest::new();
        s.update(b"hello ");
        s.update(b"");
        s.update(b"world\n");
        assert_eq!(s.len(), 12);
        assert_eq!(
            s.digest(),
            <[u8; 32]>::from(Sha256::digest(b"hello world\n"))
        );
        assert_eq!(
            StreamDigest::new().digest(),
            <[u8; 32]>::from(Sha256::digest(b""))
        );
    }

    #[test]
    fn args_digest_separates_fields() {
        let d = |entry: &[u8], args: &[&[u8]], env: &[&[u8]]| {
            args_digest(entry, args.iter().copied(), env.iter().copied())
        };
        let base = d(b"", &[b"m.aot", b"a"], &[b"K=V"]);
        assert_eq!(base, d(b"", &[b"m.aot", b"a"], &[b"K=V"]));
        assert_ne!(base, d(b"", &[b"m.aot", b"aK=V"], &[]));
        assert_ne!(base, d(b"", &[b"m.aot"], &[b"a", b"K=V"]));
        assert_ne!(base, d(b"m.aot", &[b"a"], &[b"K=V"]));
        // Pinned against Python: hashlib.sha256(b"tzwasm args v1" + ...).hexdigest().
        let hex: String = base.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, KNOWN);
    }

    const KNOWN: &str = "fd3d96c1ea63e58b79ffb5232097e4c7e0ab40f36f2fe35d942dadb8c7bbd6dd";
}
