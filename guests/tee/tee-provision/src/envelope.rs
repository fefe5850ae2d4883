//! The module's side of the TZP1 envelope (docs/attestation.md, "Remote provisioning"): opens
//! a secret the verifier (`tzwasm-verify encrypt`) encrypted to this module's P-256 key.
//!
//! ```text
//! envelope = "TZP1" || E (65, SEC1 uncompressed) || ciphertext || tag (16)
//! okm      = HKDF-SHA256(salt = "tzwasm provision v1", IKM = x(ECDH(r, E)),
//!                        info = "TZP1" || E || R, L = 44);  key = okm[..32], nonce = okm[32..]
//! AAD      = "TZP1" || E
//! ```
//!
//! The verifier's implementation is tools/verify/src/provision.rs; both are tested against the
//! vector in tools/verify/testdata/provision-v1.txt (made with Python's cryptography package).

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

const MAGIC: &[u8; 4] = b"TZP1";
const SALT: &[u8] = b"tzwasm provision v1";
const HEADER_LEN: usize = MAGIC.len() + 65;
const TAG_LEN: usize = 16;

/// Why an envelope does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Too short, another magic, or an ephemeral key that is not a P-256 point.
    Format,
    /// The tag does not verify: the envelope was changed, or it is for another key.
    Auth,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenError::Format => "not a TZP1 envelope",
            OpenError::Auth => "authentication failed (changed, or not for this key)",
        })
    }
}

/// The SEC1 uncompressed encoding (65 bytes) of `key`.
pub fn point(key: &PublicKey) -> Vec<u8> {
    key.to_encoded_point(false).as_bytes().to_vec()
}

/// Opens `envelope` with this module's private key.
pub fn open(key: &SecretKey, envelope: &[u8]) -> Result<Vec<u8>, OpenError> {
    if envelope.len() <= HEADER_LEN + TAG_LEN {
        return Err(OpenError::Format);
    }
    let (header, sealed) = envelope.split_at(HEADER_LEN);
    let (magic, e) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(OpenError::Format);
    }
    let ephemeral = PublicKey::from_sec1_bytes(e).map_err(|_| OpenError::Format)?;
    let shared = p256::ecdh::diffie_hellman(key.to_nonzero_scalar(), ephemeral.as_affine());
    let info = [&MAGIC[..], e, &point(&key.public_key())].concat();
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::new(Some(SALT), shared.raw_secret_bytes())
        .expand(&info, &mut okm)
        .map_err(|_| OpenError::Format)?;
    let (k, nonce) = okm.split_at(32);
    let cipher = ChaCha20Poly1305::new_from_slice(k).map_err(|_| OpenError::Format)?;
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: sealed,
                aad: header,
            },
        )
        .map_err(|_| OpenError::Auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = include_str!("../../../../tools/verify/testdata/provision-v1.txt");

    fn field(name: &str) -> Vec<u8> {
        let value = VECTOR
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap();
        crate::unhex(value.trim()).unwrap()
    }

    #[test]
    fn opens_the_shared_vector() {
        let key = SecretKey::from_slice(&field("recipient secret")).unwrap();
        assert_eq!(point(&key.public_key()), field("recipient public"));
        let secret = open(&key, &field("envelope")).unwrap();
        assert_eq!(secret, field("secret"));
        assert_eq!(
            crate::hex(&crate::sha256(&secret)),
            crate::hex(&field("secret sha256"))
        );
    }

    #[test]
    fn refuses_changes_and_other_keys() {
        let key = SecretKey::from_slice(&field("recipient secret")).unwrap();
        let envelope = field("envelope");
        for i in 0..envelope.len() {
            let mut bad = envelope.clone();
            bad[i] ^= 0x01;
            let e = open(&key, &bad).unwrap_err();
            // A changed header may be a format error; past it, only the tag can tell.
            assert!(i < HEADER_LEN || e == OpenError::Auth, "byte {i}: {e:?}");
        }
        assert_eq!(
            open(&key, &envelope[..HEADER_LEN + TAG_LEN]),
            Err(OpenError::Format)
        );
        let other = SecretKey::from_slice(&[0x11; 32]).unwrap();
        assert_eq!(open(&other, &envelope), Err(OpenError::Auth));
    }
}
