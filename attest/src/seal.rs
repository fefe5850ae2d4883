//! Sealing: data a module encrypts so that only the same module on the same device can read it
//! back.
//!
//! The key of a module is `HKDF-Expand(sealing root, "tzwasm seal key v1" || module SHA-256)`
//! (the sealing root comes from the device secret, [`crate::keys`]), so another module or
//! another device derives another key. The cipher is XChaCha20-Poly1305: its 192-bit nonce can
//! be drawn at random for every blob (from the secure world's DRBG) with no counter to keep.
//!
//! ```text
//! blob = "TZS1" (4) || nonce (24) || ciphertext (len of data) || tag (16)
//! AAD  = "TZS1"
//! ```
//!
//! A blob that was changed, truncated, extended or sealed by another module or device fails
//! with [`Error::Unseal`], and nothing of its plaintext is returned. Nothing prevents rollback
//! (giving back an older blob of the same module): see docs/threat-model.md.

use crate::claims::Sha256Hash;
use crate::{DeviceKeys, Error};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// First four bytes of every blob: the format and its version.
pub const MAGIC: [u8; 4] = *b"TZS1";
/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Tag length of Poly1305.
pub const TAG_LEN: usize = 16;
/// Bytes a blob has beyond its data.
pub const OVERHEAD: usize = MAGIC.len() + NONCE_LEN + TAG_LEN;
/// HKDF-Expand label of a module's sealing key (followed by the module's SHA-256).
pub const LABEL_SEAL_KEY: &[u8] = b"tzwasm seal key v1";

/// The sealing key of one module on this device.
fn module_key(keys: &DeviceKeys, module: &Sha256Hash) -> Result<Zeroizing<[u8; 32]>, Error> {
    let hkdf = Hkdf::<Sha256>::from_prk(keys.sealing_root()).map_err(|_| Error::KeyDerivation)?;
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand_multi_info(&[LABEL_SEAL_KEY, module], key.as_mut())
        .map_err(|_| Error::KeyDerivation)?;
    Ok(key)
}

/// Seals `data` for `module` into `out` (at least `data.len() + OVERHEAD` bytes) with a fresh
/// random `nonce`; returns the blob's length.
pub fn seal(
    keys: &DeviceKeys,
    module: &Sha256Hash,
    nonce: &[u8; NONCE_LEN],
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let total = data
        .len()
        .checked_add(OVERHEAD)
        .ok_or(Error::InvalidInput)?;
    let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
    out.get_mut(HEADER_LEN..HEADER_LEN + data.len())
        .ok_or(Error::BufferTooSmall)?
        .copy_from_slice(data);
    seal_in_place(keys, module, nonce, out)?;
    Ok(total)
}

/// Bytes of a blob before its ciphertext: the magic and the nonce.
pub const HEADER_LEN: usize = MAGIC.len() + NONCE_LEN;

/// Seals in place: `blob` is the whole blob (`data length + OVERHEAD` bytes) with the data
/// already at `blob[HEADER_LEN..len - TAG_LEN]`; writes the header, encrypts, writes the tag.
/// For callers that cannot hold a second copy (the module's `tzwasm.seal`, in its memory).
pub fn seal_in_place(
    keys: &DeviceKeys,
    module: &Sha256Hash,
    nonce: &[u8; NONCE_LEN],
    blob: &mut [u8],
) -> Result<(), Error> {
    let data_len = data_len(blob.len()).ok_or(Error::BufferTooSmall)?;
    let (head, rest) = blob.split_at_mut(HEADER_LEN);
    let (body, tag_out) = rest.split_at_mut(data_len);
    let (magic, nonce_out) = head.split_at_mut(MAGIC.len());
    magic.copy_from_slice(&MAGIC);
    nonce_out.copy_from_slice(nonce);
    let key = module_key(keys, module)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(nonce), &MAGIC, body)
        .map_err(|_| Error::InvalidInput)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// The length of the data inside a blob of `blob_len` bytes, if it can be a blob at all.
pub fn data_len(blob_len: usize) -> Option<usize> {
    blob_len.checked_sub(OVERHEAD)
}

/// Opens a blob sealed for `module` on this device into `out` (at least
/// [`data_len`]`(blob.len())` bytes); returns the data's length. On any failure `out` holds no
/// plaintext (what was decrypted into it is zeroed).
pub fn unseal(
    keys: &DeviceKeys,
    module: &Sha256Hash,
    blob: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let len = data_len(blob.len()).ok_or(Error::Unseal)?;
    let (head, rest) = blob.split_at(HEADER_LEN);
    let (body, tag) = rest.split_at(len);
    let out = out.get_mut(..len).ok_or(Error::BufferTooSmall)?;
    out.copy_from_slice(body);
    let head: &[u8; HEADER_LEN] = head.try_into().map_err(|_| Error::Unseal)?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Unseal)?;
    unseal_in_place(keys, module, head, tag, out)?;
    Ok(len)
}

/// Opens in place: `data` holds the blob's ciphertext (copied out of it by the caller) and is
/// decrypted where it is; `head` and `tag` are the blob's first [`HEADER_LEN`] and last
/// [`TAG_LEN`] bytes. On failure `data` is zeroed and no plaintext is left.
pub fn unseal_in_place(
    keys: &DeviceKeys,
    module: &Sha256Hash,
    head: &[u8; HEADER_LEN],
    tag: &[u8; TAG_LEN],
    data: &mut [u8],
) -> Result<(), Error> {
    let (magic, nonce) = head.split_at(MAGIC.len());
    if magic != MAGIC {
        data.fill(0);
        return Err(Error::Unseal);
    }
    let key = module_key(keys, module)?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    match cipher.decrypt_in_place_detached(
        XNonce::from_slice(nonce),
        &MAGIC,
        data,
        Tag::from_slice(tag),
    ) {
        Ok(()) => Ok(()),
        Err(_) => {
            data.fill(0);
            Err(Error::Unseal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceSecret;

    fn keys(b: u8) -> DeviceKeys {
        DeviceKeys::derive(&DeviceSecret::new([b; 32])).unwrap()
    }

    #[test]
    fn round_trip_and_isolation() {
        let (dev, other_dev) = (keys(1), keys(2));
        let (m, other_m) = ([0xaa; 32], [0xab; 32]);
        let data = b"the provisioned secret";
        let mut blob = [0u8; 128];
        let n = seal(&dev, &m, &[7; NONCE_LEN], data, &mut blob).unwrap();
        assert_eq!(n, data.len() + OVERHEAD);
        assert_eq!(&blob[..4], b"TZS1");
        assert!(
            !blob[..n].windows(data.len()).any(|w| w == data),
            "plaintext in blob"
        );
        let mut out = [0u8; 128];
        assert_eq!(unseal(&dev, &m, &blob[..n], &mut out), Ok(data.len()));
        assert_eq!(&out[..data.len()], data);
        assert_eq!(
            unseal(&dev, &other_m, &blob[..n], &mut out),
            Err(Error::Unseal)
        );
        assert_eq!(
            unseal(&other_dev, &m, &blob[..n], &mut out),
            Err(Error::Unseal)
        );
        assert!(
            out.iter().all(|&b| b == 0),
            "plaintext left after a failed unseal"
        );
    }

    #[test]
    fn every_change_is_refused() {
        let dev = keys(3);
        let m = [0x11; 32];
        let mut blob = [0u8; 64];
        let n = seal(&dev, &m, &[9; NONCE_LEN], b"counter=41", &mut blob).unwrap();
        let mut out = [0u8; 64];
        for i in 0..n {
            for bit in 0..8 {
                let mut bad = blob;
                bad[i] ^= 1 << bit;
                assert_eq!(
                    unseal(&dev, &m, &bad[..n], &mut out),
                    Err(Error::Unseal),
                    "byte {i}"
                );
            }
        }
        for len in 0..n {
            assert_eq!(
                unseal(&dev, &m, &blob[..len], &mut out),
                Err(Error::Unseal),
                "len {len}"
            );
        }
        let mut longer = [0u8; 65];
        longer[..n].copy_from_slice(&blob[..n]);
        assert_eq!(
            unseal(&dev, &m, &longer[..n + 1], &mut out),
            Err(Error::Unseal)
        );
    }

    #[test]
    fn empty_data_and_short_buffers() {
        let dev = keys(4);
        let m = [0; 32];
        let mut blob = [0u8; OVERHEAD];
        assert_eq!(
            seal(&dev, &m, &[0; NONCE_LEN], b"", &mut blob),
            Ok(OVERHEAD)
        );
        assert_eq!(unseal(&dev, &m, &blob, &mut []), Ok(0));
        assert_eq!(
            seal(&dev, &m, &[0; NONCE_LEN], b"x", &mut blob),
            Err(Error::BufferTooSmall)
        );
        let mut big = [0u8; 64];
        let n = seal(&dev, &m, &[0; NONCE_LEN], b"abc", &mut big).unwrap();
        assert_eq!(
            unseal(&dev, &m, &big[..n], &mut [0u8; 2]),
            Err(Error::BufferTooSmall)
        );
    }
}
