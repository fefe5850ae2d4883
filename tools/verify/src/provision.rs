//! Remote provisioning (`tzwasm-verify encrypt`): a secret encrypted to the P-256 public key a
//! module generated inside the secure world and bound into its own token as user data.
//!
//! The envelope, version 1 (`docs/attestation.md`, "Remote provisioning"):
//!
//! ```text
//! envelope = "TZP1" (4) || E (65: the ephemeral public key, SEC1 uncompressed)
//!            || ciphertext (as long as the secret) || tag (16)
//! Z        = x-coordinate of ECDH(e, R)            (32 bytes; R the module's key)
//! okm      = HKDF-SHA256(salt = "tzwasm provision v1", IKM = Z,
//!                        info = "TZP1" || E || R, L = 44)
//! key      = okm[0..32], nonce = okm[32..44]       (ChaCha20-Poly1305)
//! AAD      = "TZP1" || E
//! ```
//!
//! Every envelope has a fresh ephemeral key, so every key and nonce is used once. Binding both
//! public keys into the HKDF info ties the envelope to the one recipient key.
//!
//! [`decrypt`] is the recipient's side as a reference: the module (`guests/tee/tee-provision`)
//! has its own implementation of it, and both are held to the same test vector
//! (`tools/verify/testdata/provision-v1.txt`).

use crate::decode::Claims;
use crate::Error;
use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use tzwasm_attest::claims::CLIENT_MODULE;

/// The envelope's first four bytes: format and version.
pub const MAGIC: [u8; 4] = *b"TZP1";
/// The HKDF salt (a label of this protocol and version).
pub const SALT: &[u8] = b"tzwasm provision v1";
/// Length of a SEC1 uncompressed P-256 point (0x04 || x || y).
pub const POINT_LEN: usize = 65;
/// The header: magic and ephemeral public key (the AAD).
pub const HEADER_LEN: usize = MAGIC.len() + POINT_LEN;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// An envelope is this much longer than its secret.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The largest secret: the module gets the envelope as a hex argument, and its run block (all
/// arguments) is at most 64 KiB; 16 KiB leaves room for the sealed key next to it.
pub const MAX_SECRET: usize = 16 << 10;

/// The module's public key from a verified token's claims: the token must come from the module
/// itself (client ID 1, `tzwasm.attest`), and its user data must be a P-256 point in SEC1
/// uncompressed form (65 bytes, on the curve, not the identity).
pub fn recipient(claims: &Claims) -> Result<PublicKey, Error> {
    if claims.client_id != CLIENT_MODULE {
        return Err(Error::Recipient(format!(
            "the token was not asked for by the module (client id {}, the module's is {CLIENT_MODULE})",
            claims.client_id
        )));
    }
    let Some(data) = &claims.user_data else {
        return Err(Error::Recipient(
            "the token has no user data (the module bound no public key)".into(),
        ));
    };
    if data.len() != POINT_LEN || data.first() != Some(&0x04) {
        return Err(Error::Recipient(format!(
            "the user data is not a P-256 public key: {} bytes, want {POINT_LEN} (SEC1 uncompressed, 04 || x || y)",
            data.len()
        )));
    }
    PublicKey::from_sec1_bytes(data).map_err(|_| {
        Error::Recipient("the user data is not a P-256 public key: not a point on the curve".into())
    })
}

/// The 65-byte SEC1 uncompressed encoding of `key`.
pub fn point(key: &PublicKey) -> [u8; POINT_LEN] {
    let mut out = [0u8; POINT_LEN];
    out.copy_from_slice(key.to_encoded_point(false).as_bytes());
    out
}

/// Key and nonce for one envelope.
fn cipher(
    shared: &p256::ecdh::SharedSecret,
    ephemeral: &[u8; POINT_LEN],
    recipient: &[u8; POINT_LEN],
) -> Result<(ChaCha20Poly1305, [u8; 12]), Error> {
    let mut info = Vec::with_capacity(MAGIC.len() + 2 * POINT_LEN);
    info.extend_from_slice(&MAGIC);
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(recipient);
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::new(Some(SALT), shared.raw_secret_bytes())
        .expand(&info, &mut okm)
        .map_err(|_| Error::Envelope("HKDF output length".into()))?;
    let (key, nonce) = okm.split_at(32);
    let cipher =
        ChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::Envelope("key length".into()))?;
    let mut n = [0u8; 12];
    n.copy_from_slice(nonce);
    Ok((cipher, n))
}

fn check_secret(secret: &[u8]) -> Result<(), Error> {
    if secret.is_empty() {
        return Err(Error::Secret("the secret is empty".into()));
    }
    if secret.len() > MAX_SECRET {
        return Err(Error::Secret(format!(
            "{} bytes, at most {MAX_SECRET}",
            secret.len()
        )));
    }
    Ok(())
}

/// Encrypts `secret` (1 to [`MAX_SECRET`] bytes) to `recipient` with a fresh ephemeral key
/// from the operating system's random numbers.
pub fn encrypt(recipient: &PublicKey, secret: &[u8]) -> Result<Vec<u8>, Error> {
    let ephemeral = SecretKey::random(&mut rand_core::OsRng);
    encrypt_with(&ephemeral, recipient, secret)
}

/// [`encrypt`] with a given ephemeral key (for test vectors; never reuse one).
pub fn encrypt_with(
    ephemeral: &SecretKey,
    recipient: &PublicKey,
    secret: &[u8],
) -> Result<Vec<u8>, Error> {
    check_secret(secret)?;
    let e = point(&ephemeral.public_key());
    let r = point(recipient);
    let shared = p256::ecdh::diffie_hellman(ephemeral.to_nonzero_scalar(), recipient.as_affine());
    let (cipher, nonce) = cipher(&shared, &e, &r)?;
    let mut out = Vec::with_capacity(OVERHEAD + secret.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&e);
    let sealed = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: secret,
                aad: &out,
            },
        )
        .map_err(|_| Error::Envelope("encryption failed".into()))?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens an envelope with the recipient's private key (what the module does).
pub fn decrypt(recipient: &SecretKey, envelope: &[u8]) -> Result<Vec<u8>, Error> {
    if envelope.len() <= OVERHEAD {
        return Err(Error::Envelope(format!(
            "{} bytes, shorter than the {} of an envelope with a secret",
            envelope.len(),
            OVERHEAD + 1
        )));
    }
    let (header, sealed) = envelope.split_at(HEADER_LEN);
    let (magic, e) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(Error::Envelope("not a TZP1 envelope".into()));
    }
    let ephemeral = PublicKey::from_sec1_bytes(e)
        .map_err(|_| Error::Envelope("the ephemeral key is not a P-256 point".into()))?;
    let mut e_bytes = [0u8; POINT_LEN];
    e_bytes.copy_from_slice(e);
    let r = point(&recipient.public_key());
    let shared = p256::ecdh::diffie_hellman(recipient.to_nonzero_scalar(), ephemeral.as_affine());
    let (cipher, nonce) = cipher(&shared, &e_bytes, &r)?;
    cipher
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: sealed,
                aad: header,
            },
        )
        .map_err(|_| Error::Envelope("authentication failed (changed, or not for this key)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{hex, unhex};

    /// The shared test vector (the guest's tests read the same file).
    const VECTOR: &str = include_str!("../testdata/provision-v1.txt");

    fn field(name: &str) -> Vec<u8> {
        let line = VECTOR
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in the vector"));
        unhex(line.trim()).unwrap()
    }

    fn key(name: &str) -> SecretKey {
        SecretKey::from_slice(&field(name)).unwrap()
    }

    #[test]
    fn vector_encrypts_and_decrypts() {
        let (r, e) = (key("recipient secret"), key("ephemeral secret"));
        assert_eq!(point(&r.public_key()).to_vec(), field("recipient public"));
        let envelope = encrypt_with(&e, &r.public_key(), &field("secret")).unwrap();
        assert_eq!(hex(&envelope), hex(&field("envelope")));
        assert_eq!(decrypt(&r, &envelope).unwrap(), field("secret"));
    }

    #[test]
    fn round_trip_with_random_ephemeral_keys() {
        let r = SecretKey::random(&mut rand_core::OsRng);
        for len in [1, 32, 1000, MAX_SECRET] {
            let secret: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let a = encrypt(&r.public_key(), &secret).unwrap();
            let b = encrypt(&r.public_key(), &secret).unwrap();
            assert_eq!(a.len(), secret.len() + OVERHEAD);
            assert_ne!(a, b, "a fresh ephemeral key each time");
            assert_eq!(decrypt(&r, &a).unwrap(), secret);
            assert_eq!(decrypt(&r, &b).unwrap(), secret);
        }
    }

    #[test]
    fn every_changed_byte_and_other_keys_fail() {
        let r = key("recipient secret");
        let envelope = field("envelope");
        for i in 0..envelope.len() {
            for bit in [0x01, 0x80] {
                let mut bad = envelope.clone();
                bad[i] ^= bit;
                assert!(
                    matches!(decrypt(&r, &bad), Err(Error::Envelope(_))),
                    "byte {i} bit {bit:#x}"
                );
            }
        }
        for cut in [0, 1, OVERHEAD, envelope.len() - 1] {
            assert!(decrypt(&r, &envelope[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = envelope.clone();
        longer.push(0);
        assert!(decrypt(&r, &longer).is_err());
        let other = SecretKey::random(&mut rand_core::OsRng);
        let e = decrypt(&other, &envelope).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot decrypt: authentication failed (changed, or not for this key)"
        );
    }

    #[test]
    fn secret_sizes() {
        let r = key("recipient secret").public_key();
        assert!(matches!(encrypt(&r, b""), Err(Error::Secret(_))));
        assert!(matches!(
            encrypt(&r, &vec![0; MAX_SECRET + 1]),
            Err(Error::Secret(_))
        ));
    }
}
