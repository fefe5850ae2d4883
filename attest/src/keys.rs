//! The key hierarchy: the device secret, and everything derived from it.
//!
//! ```text
//! device secret (32 bytes, secure flash)
//!   └─ PRK = HKDF-Extract(salt = "tzwasm device key hierarchy v1", secret)
//!        ├─ "tzwasm attestation key v1" || n  → P-256 scalar (first n in 0.. that is valid)
//!        │     └─ instance ID = 0x01 || SHA-256(SEC1 uncompressed public key)
//!        └─ "tzwasm sealing root v1"          → 32-byte sealing root
//!              └─ per module: see [`crate::seal`]
//! ```
//!
//! Each purpose has its own label, so no derived key can be computed from another. The raw
//! secret is only needed for [`DeviceKeys::derive`]; the secure world zeroes its copy right
//! after (both [`DeviceSecret`] and [`DeviceKeys`] zero themselves on drop).

use crate::Error;
use hkdf::Hkdf;
use p256::ecdsa::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of the device secret, bytes.
pub const DEVICE_SECRET_LEN: usize = 32;
/// HKDF-Extract salt: names this hierarchy and its version.
pub const HKDF_SALT: &[u8] = b"tzwasm device key hierarchy v1";
/// HKDF-Expand label of the attestation key (followed by one counter byte).
pub const LABEL_ATTESTATION: &[u8] = b"tzwasm attestation key v1";
/// HKDF-Expand label of the sealing root.
pub const LABEL_SEALING: &[u8] = b"tzwasm sealing root v1";
/// How many counter values [`DeviceKeys::derive`] tries for a valid P-256 scalar.
pub const KEY_ATTEMPTS: u8 = 16;
/// Length of the PSA instance ID: the type byte 0x01 (RAND, RFC 9711's UEID) and a SHA-256.
pub const INSTANCE_ID_LEN: usize = 33;
/// Length of a SEC1 uncompressed P-256 public key (0x04 || x || y).
pub const PUBLIC_KEY_LEN: usize = 65;

/// The raw device secret. Zeroed when dropped; never printed (no `Debug`).
pub struct DeviceSecret([u8; DEVICE_SECRET_LEN]);

impl DeviceSecret {
    /// Wraps the secret's bytes (the caller zeroes its own copy).
    pub const fn new(bytes: [u8; DEVICE_SECRET_LEN]) -> Self {
        DeviceSecret(bytes)
    }

    /// Whether every byte is equal (all zero or all 0xff: an unprovisioned or erased flash).
    pub fn is_blank(&self) -> bool {
        let first = self.0[0];
        self.0.iter().all(|&b| b == first)
    }
}

impl Zeroize for DeviceSecret {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for DeviceSecret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for DeviceSecret {}

/// The keys derived from one device secret. Zeroed when dropped.
pub struct DeviceKeys {
    attestation: SigningKey,
    public: [u8; PUBLIC_KEY_LEN],
    instance_id: [u8; INSTANCE_ID_LEN],
    sealing_root: Zeroizing<[u8; 32]>,
}

impl DeviceKeys {
    /// Derives every key from the device secret (see the module docs).
    pub fn derive(secret: &DeviceSecret) -> Result<Self, Error> {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), &secret.0);
        let attestation = derive_signing_key(&hkdf)?;
        let mut sealing_root = Zeroizing::new([0u8; 32]);
        hkdf.expand(LABEL_SEALING, sealing_root.as_mut())
            .map_err(|_| Error::KeyDerivation)?;
        let public = public_key_bytes(attestation.verifying_key())?;
        let instance_id = instance_id_of(&public);
        Ok(DeviceKeys {
            attestation,
            public,
            instance_id,
            sealing_root,
        })
    }

    /// The attestation key's public half, SEC1 uncompressed (the endorsement a verifier trusts).
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.public
    }

    /// The attestation key's public half as a `p256` key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.attestation.verifying_key()
    }

    /// The PSA instance ID: 0x01 || SHA-256 of [`Self::public_key`].
    pub fn instance_id(&self) -> &[u8; INSTANCE_ID_LEN] {
        &self.instance_id
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.attestation
    }

    pub(crate) fn sealing_root(&self) -> &[u8; 32] {
        &self.sealing_root
    }
}

impl ZeroizeOnDrop for DeviceKeys {}

fn derive_signing_key(hkdf: &Hkdf<Sha256>) -> Result<SigningKey, Error> {
    for counter in 0..KEY_ATTEMPTS {
        let mut scalar = Zeroizing::new([0u8; 32]);
        hkdf.expand_multi_info(&[LABEL_ATTESTATION, &[counter]], scalar.as_mut())
            .map_err(|_| Error::KeyDerivation)?;
        // Rejection sampling: a zero scalar or one at or above the group order is refused.
        if let Ok(key) = SigningKey::from_bytes(scalar.as_ref().into()) {
            return Ok(key);
        }
    }
    Err(Error::KeyDerivation)
}

/// SEC1 uncompressed encoding of a P-256 public key.
pub fn public_key_bytes(key: &VerifyingKey) -> Result<[u8; PUBLIC_KEY_LEN], Error> {
    let point = key.to_encoded_point(false);
    point
        .as_bytes()
        .try_into()
        .map_err(|_| Error::KeyDerivation)
}

/// The PSA instance ID of a device with this SEC1 uncompressed public key.
pub fn instance_id_of(public: &[u8; PUBLIC_KEY_LEN]) -> [u8; INSTANCE_ID_LEN] {
    let mut id = [0u8; INSTANCE_ID_LEN];
    let (kind, hash) = id.split_at_mut(1);
    kind.fill(0x01);
    hash.copy_from_slice(&Sha256::digest(public));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_deterministic_and_secret_dependent() {
        let a = DeviceKeys::derive(&DeviceSecret::new([7; 32])).unwrap();
        let b = DeviceKeys::derive(&DeviceSecret::new([7; 32])).unwrap();
        let c = DeviceKeys::derive(&DeviceSecret::new([8; 32])).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.sealing_root(), b.sealing_root());
        assert_ne!(a.public_key(), c.public_key());
        assert_ne!(a.sealing_root(), c.sealing_root());
        assert_eq!(a.public_key()[0], 0x04);
        assert_eq!(a.instance_id()[0], 0x01);
        assert_eq!(
            &a.instance_id()[1..],
            Sha256::digest(a.public_key()).as_slice()
        );
    }

    #[test]
    fn purposes_get_different_keys() {
        let keys = DeviceKeys::derive(&DeviceSecret::new([1; 32])).unwrap();
        let scalar = keys.signing_key().to_bytes();
        assert_ne!(scalar.as_slice(), keys.sealing_root().as_slice());
    }

    /// Pins the hierarchy: a change of label or salt would silently re-key every device. The
    /// expected value was computed independently of this crate, with a Python script using
    /// `hmac`/`hashlib` for HKDF (RFC 5869) and a textbook affine P-256 scalar multiplication.
    #[test]
    fn known_answer() {
        let mut secret = [0u8; 32];
        for (i, b) in secret.iter_mut().enumerate() {
            *b = i as u8;
        }
        let keys = DeviceKeys::derive(&DeviceSecret::new(secret)).unwrap();
        let hex: String = keys
            .instance_id()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, KNOWN_INSTANCE_ID);
    }

    const KNOWN_INSTANCE_ID: &str =
        "01790995b1de726731d02a1f2d74f3d5325800c964bbeff92db1464424c728d277";

    #[test]
    fn blank_secrets_are_recognised() {
        assert!(DeviceSecret::new([0; 32]).is_blank());
        assert!(DeviceSecret::new([0xff; 32]).is_blank());
        let mut s = [0u8; 32];
        s[31] = 1;
        assert!(!DeviceSecret::new(s).is_blank());
    }
}
