//! tzwasm's root of trust, as the secure world uses it: everything that turns the 32-byte device
//! secret into evidence a remote party can check.
//!
//! This crate owns:
//! - [`keys`]: the key hierarchy. One HKDF-SHA256 extraction of the device secret, one label per
//!   purpose: the attestation key (ECDSA P-256), the instance ID, the sealing root;
//! - [`claims`]: the PSA attestation token's claims (RFC 9783, a profile of EAT, RFC 9711) and
//!   tzwasm's private claims, encoded as CBOR with `minicbor` into a caller's buffer;
//! - [`cose`]: the COSE_Sign1 envelope (RFC 9052) signed with ES256;
//! - [`seal`]: sealing (XChaCha20-Poly1305 under a key bound to the device and the module);
//! - [`receipt`]: the running output hashes and the args digest of a signed run receipt.
//!
//! Nothing here allocates: the secure world calls it on paths a module or the normal world
//! reaches, where every allocation must be fallible and charged to a session. Encoding writes
//! into a buffer the caller owns and fails with [`Error::BufferTooSmall`] when it does not fit.
//! The verifier (`tools/verify`) decodes with `coset` and `ciborium` instead, a second,
//! independent implementation of the same formats; the host tests here check this crate's
//! output with those crates too. `docs/attestation.md` is the reference for the formats.
//!
//! The crypto is RustCrypto's (`p256`, `hkdf`, `hmac`, `sha2`, `chacha20poly1305`); nothing
//! here implements a primitive.
#![cfg_attr(not(test), no_std)]
// Nothing reachable from a module or the normal world may panic: no unwrap, expect, panic or
// unchecked indexing outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod claims;
pub mod cose;
pub mod keys;
pub mod receipt;
pub mod seal;
pub mod sealed_dir;

pub use keys::{DeviceKeys, DeviceSecret, DEVICE_SECRET_LEN};

/// Why an operation of this crate failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The output does not fit the buffer the caller gave.
    BufferTooSmall,
    /// An input is outside what the format allows (e.g. a nonce that is not 32, 48 or 64
    /// bytes, user data above [`claims::MAX_USER_DATA`]).
    InvalidInput,
    /// HKDF gave no valid P-256 scalar in [`keys::KEY_ATTEMPTS`] tries (probability about
    /// 2^-512: a broken secret or a broken build, not bad luck).
    KeyDerivation,
    /// A signing operation failed.
    Signature,
    /// A sealed blob is malformed, was changed, or was sealed by another module or device.
    Unseal,
}

impl Error {
    /// A short, stable description for reports.
    pub const fn description(self) -> &'static str {
        match self {
            Error::BufferTooSmall => "output buffer too small",
            Error::InvalidInput => "input outside what the format allows",
            Error::KeyDerivation => "key derivation failed",
            Error::Signature => "signing failed",
            Error::Unseal => "sealed blob is corrupt or belongs to another module or device",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.description())
    }
}
