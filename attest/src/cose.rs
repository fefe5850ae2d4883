//! The COSE_Sign1 envelope (RFC 9052 section 4.2) of tokens and receipts, signed with ES256
//! (ECDSA P-256 with SHA-256, RFC 9053 section 2.1).
//!
//! ```text
//! 18([ h'A10126'            ; protected header: { 1 (alg): -7 (ES256) }
//!      {},                  ; no unprotected header
//!      h'<claims>',         ; the payload: the claims map (crate::claims)
//!      h'<r || s>' ])       ; 64-byte signature over the Sig_structure
//! Sig_structure = [ "Signature1", h'A10126', h'', h'<claims>' ]
//! ```
//!
//! The Sig_structure is never built: its encoding is fed to SHA-256 piece by piece, and the
//! signature is RFC 6979 deterministic, so signing needs no randomness.

use crate::claims::Claims;
use crate::{DeviceKeys, Error};
use minicbor::data::Tag;
use minicbor::encode::write::Cursor;
use minicbor::Encoder;
use p256::ecdsa::signature::DigestSigner;
use p256::ecdsa::Signature;
use sha2::{Digest, Sha256};

/// The protected header: `{ 1: -7 }`, algorithm ES256.
pub const PROTECTED_ES256: [u8; 3] = [0xa1, 0x01, 0x26];
/// CBOR tag of a COSE_Sign1 message.
pub const COSE_SIGN1_TAG: u64 = 18;
/// Context string of a COSE_Sign1 Sig_structure.
pub const SIGNATURE1_CONTEXT: &str = "Signature1";
/// Length of an ES256 signature (r || s).
pub const SIGNATURE_LEN: usize = 64;
/// Largest claims payload this crate encodes.
pub const MAX_PAYLOAD: usize = 1536;
/// A buffer of this size holds any token or receipt this crate produces.
pub const MAX_TOKEN_LEN: usize = 2048;

/// Encodes `claims`, signs them with the device's attestation key and writes the COSE_Sign1
/// message into `out`; returns its length.
pub fn sign_claims(keys: &DeviceKeys, claims: &Claims<'_>, out: &mut [u8]) -> Result<usize, Error> {
    let mut payload = [0u8; MAX_PAYLOAD];
    let len = claims.encode(&mut payload)?;
    let payload = payload.get(..len).ok_or(Error::BufferTooSmall)?;
    sign_payload(keys, payload, out)
}

/// Signs an encoded payload and writes the COSE_Sign1 message into `out`.
pub fn sign_payload(keys: &DeviceKeys, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let digest = sig_structure_digest(payload)?;
    let signature: Signature = keys
        .signing_key()
        .try_sign_digest(digest)
        .map_err(|_| Error::Signature)?;
    let signature = signature.to_bytes();
    let mut e = Encoder::new(Cursor::new(out));
    let written: Result<(), minicbor::encode::Error<_>> = (|| {
        e.tag(Tag::new(COSE_SIGN1_TAG))?.array(4)?;
        e.bytes(&PROTECTED_ES256)?.map(0)?;
        e.bytes(payload)?.bytes(&signature)?;
        Ok(())
    })();
    written.map_err(|_| Error::BufferTooSmall)?;
    Ok(e.writer().position())
}

/// SHA-256 state holding the encoding of `["Signature1", h'A10126', h'', payload]`.
fn sig_structure_digest(payload: &[u8]) -> Result<Sha256, Error> {
    // Everything before the payload's bytes: array header, context, protected, empty aad and
    // the payload's byte-string header (at most 9 bytes).
    let mut prefix = [0u8; 32];
    let mut e = Encoder::new(Cursor::new(&mut prefix[..]));
    let written: Result<(), minicbor::encode::Error<_>> = (|| {
        e.array(4)?
            .str(SIGNATURE1_CONTEXT)?
            .bytes(&PROTECTED_ES256)?
            .bytes(&[])?;
        Ok(())
    })();
    written.map_err(|_| Error::BufferTooSmall)?;
    let mut at = e.writer().position();
    let header = byte_string_header(payload.len() as u64);
    let (head, head_len) = header;
    let room = prefix
        .get_mut(at..at + head_len)
        .ok_or(Error::BufferTooSmall)?;
    room.copy_from_slice(head.get(..head_len).ok_or(Error::BufferTooSmall)?);
    at += head_len;
    let mut hash = Sha256::new();
    hash.update(prefix.get(..at).ok_or(Error::BufferTooSmall)?);
    hash.update(payload);
    Ok(hash)
}

/// The CBOR header of a byte string of `len` bytes (major type 2): bytes and their count.
fn byte_string_header(len: u64) -> ([u8; 9], usize) {
    let mut h = [0u8; 9];
    let be = len.to_be_bytes();
    let n = match len {
        0..=23 => {
            h[0] = 0x40 | len as u8;
            1
        }
        24..=0xff => {
            h[0] = 0x58;
            h[1] = be[7];
            2
        }
        0x100..=0xffff => {
            h[0] = 0x59;
            h[1..3].copy_from_slice(&be[6..8]);
            3
        }
        0x1_0000..=0xffff_ffff => {
            h[0] = 0x5a;
            h[1..5].copy_from_slice(&be[4..8]);
            5
        }
        _ => {
            h[0] = 0x5b;
            h[1..9].copy_from_slice(&be);
            9
        }
    };
    (h, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::tests::sample;
    use crate::DeviceSecret;
    use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
    use p256::ecdsa::signature::Verifier;

    fn keys() -> DeviceKeys {
        DeviceKeys::derive(&DeviceSecret::new([0x42; 32])).unwrap()
    }

    /// coset parses the envelope and its Sig_structure is what we hashed; p256 verifies.
    #[test]
    fn coset_verifies_our_token() {
        let keys = keys();
        let nonce = [5u8; 32];
        let mut out = [0u8; MAX_TOKEN_LEN];
        let n = sign_claims(&keys, &sample(&nonce, None), &mut out).unwrap();
        let msg = CoseSign1::from_tagged_slice(&out[..n]).unwrap();
        assert_eq!(
            msg.protected.header.alg,
            Some(coset::Algorithm::Assigned(coset::iana::Algorithm::ES256))
        );
        let vk = keys.verifying_key();
        msg.verify_signature(b"", |sig, data| {
            let sig = Signature::from_slice(sig).map_err(|e| e.to_string())?;
            vk.verify(data, &sig).map_err(|e| e.to_string())
        })
        .unwrap();
        // Deterministic signatures: the same claims sign to the same bytes.
        let mut again = [0u8; MAX_TOKEN_LEN];
        let m = sign_claims(&keys, &sample(&nonce, None), &mut again).unwrap();
        assert_eq!(out[..n], again[..m]);
        // Another device's key does not verify it.
        let other = DeviceKeys::derive(&DeviceSecret::new([0x43; 32])).unwrap();
        let ovk = other.verifying_key();
        assert!(msg
            .verify_signature(b"", |sig, data| {
                let sig = Signature::from_slice(sig).map_err(|e| e.to_string())?;
                ovk.verify(data, &sig).map_err(|e| e.to_string())
            })
            .is_err());
        let _ = CoseSign1::from_slice(&out[1..n]).unwrap();
    }

    /// RFC 9783's example token (attest/testdata/rfc9783, see its README): its signature
    /// verifies over the Sig_structure digest this module computes, with the RFC's example key;
    /// the same check fails with any single byte of the payload changed.
    #[test]
    fn rfc9783_example_verifies_over_our_sig_structure() {
        use p256::ecdsa::signature::DigestVerifier;
        use p256::pkcs8::DecodePrivateKey as _;
        let token = include_bytes!("../testdata/rfc9783/psa-sign1.cbor");
        let pem = include_str!("../testdata/rfc9783/tfm-es-iak.pem");
        let sk = p256::SecretKey::from_sec1_pem(pem)
            .or_else(|_| p256::SecretKey::from_pkcs8_pem(pem))
            .unwrap();
        let vk = p256::ecdsa::VerifyingKey::from(&p256::ecdsa::SigningKey::from(sk));
        let msg = CoseSign1::from_tagged_slice(token).unwrap();
        let payload = msg.payload.clone().unwrap();
        let sig = Signature::from_slice(&msg.signature).unwrap();
        vk.verify_digest(sig_structure_digest(&payload).unwrap(), &sig)
            .unwrap();
        for i in 0..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0x01;
            assert!(vk
                .verify_digest(sig_structure_digest(&bad).unwrap(), &sig)
                .is_err());
        }
    }

    #[test]
    fn header_lengths_match_minicbor() {
        for len in [0u64, 1, 23, 24, 255, 256, 1535, 65535, 65536] {
            let (h, n) = byte_string_header(len);
            let payload = vec![0u8; len as usize];
            let mut buf = vec![0u8; len as usize + 16];
            let mut e = Encoder::new(Cursor::new(&mut buf[..]));
            e.bytes(&payload).unwrap();
            assert_eq!(&buf[..n], &h[..n], "len {len}");
        }
    }

    #[test]
    fn short_buffers_fail_cleanly() {
        let keys = keys();
        let nonce = [5u8; 48];
        let mut out = [0u8; MAX_TOKEN_LEN];
        let n = sign_claims(&keys, &sample(&nonce, None), &mut out).unwrap();
        for short in [0, 1, 10, n - 1] {
            let mut small = vec![0u8; short];
            assert_eq!(
                sign_claims(&keys, &sample(&nonce, None), &mut small),
                Err(Error::BufferTooSmall)
            );
        }
    }
}
