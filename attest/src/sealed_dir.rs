//! The sealed directory's cryptography (`tzwasm run --sealed-dir`, docs/files.md): how a
//! module's files are stored so that the normal world holds only ciphertext, names included,
//! and only the same module on the same device reads them back.
//!
//! The directory key of a module is `HKDF-Expand(sealing root, "tzwasm sealed dir v1" ||
//! module SHA-256)`; two subkeys come from it, one for names, one for contents.
//!
//! - **Names** are encrypted deterministically (SIV style), so a lookup needs no listing:
//!   `siv = HMAC-SHA256(name key, "siv" || name)[..16]`, `ct = XChaCha20(name key, siv || 0^8,
//!   name)`, and the host file is named `hex(siv || ct)`. Decoding recomputes the SIV from the
//!   decrypted name: any other host name (another module's, a changed one) does not decode.
//! - **Contents**: `"TZD1" || nonce (24) || XChaCha20-Poly1305(content key, nonce, data) ||
//!   tag (16)`, with AAD `"TZD1" || siv`: a blob opens only under the name it was sealed for,
//!   so swapped, changed, truncated or extended files fail ([`Error::Unseal`]).
//!
//! Rollback (an older copy of a file given back) is not detected: docs/threat-model.md.

use crate::claims::Sha256Hash;
use crate::{DeviceKeys, Error};
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::XChaCha20;
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Key, KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF-Expand label of a module's directory key (followed by the module's SHA-256).
pub const LABEL_DIR_KEY: &[u8] = b"tzwasm sealed dir v1";
/// First four bytes of every sealed file.
pub const MAGIC: [u8; 4] = *b"TZD1";
/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;
/// Tag length of Poly1305.
pub const TAG_LEN: usize = 16;
/// Bytes of a sealed file beyond its data.
pub const OVERHEAD: usize = MAGIC.len() + NONCE_LEN + TAG_LEN;
/// Bytes of a name's SIV.
pub const SIV_LEN: usize = 16;
/// The longest name (so that the host name, `2 * (16 + len)` hex digits, fits in 255 bytes).
pub const MAX_NAME: usize = 100;
/// The longest host name.
pub const MAX_HOST_NAME: usize = 2 * (SIV_LEN + MAX_NAME);

/// A module's keys for its sealed directory on this device.
pub struct DirKey {
    names: Zeroizing<[u8; 32]>,
    contents: Zeroizing<[u8; 32]>,
}

impl DirKey {
    /// The directory key of `module` on the device of `keys`.
    pub fn derive(keys: &DeviceKeys, module: &Sha256Hash) -> Result<Self, Error> {
        let hkdf =
            Hkdf::<Sha256>::from_prk(keys.sealing_root()).map_err(|_| Error::KeyDerivation)?;
        let mut names = Zeroizing::new([0u8; 32]);
        let mut contents = Zeroizing::new([0u8; 32]);
        hkdf.expand_multi_info(&[LABEL_DIR_KEY, module, b" names"], names.as_mut())
            .map_err(|_| Error::KeyDerivation)?;
        hkdf.expand_multi_info(&[LABEL_DIR_KEY, module, b" contents"], contents.as_mut())
            .map_err(|_| Error::KeyDerivation)?;
        Ok(DirKey { names, contents })
    }

    fn siv(&self, name: &[u8]) -> Result<[u8; SIV_LEN], Error> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.names.as_ref())
            .map_err(|_| Error::KeyDerivation)?;
        mac.update(b"siv");
        mac.update(name);
        let full = mac.finalize().into_bytes();
        let (siv, _) = full
            .split_first_chunk::<SIV_LEN>()
            .ok_or(Error::KeyDerivation)?;
        Ok(*siv)
    }

    fn name_stream(&self, siv: &[u8; SIV_LEN], buf: &mut [u8]) {
        let mut nonce = [0u8; NONCE_LEN];
        if let Some((head, _)) = nonce.split_first_chunk_mut::<SIV_LEN>() {
            *head = *siv;
        }
        let mut c = XChaCha20::new(self.names.as_ref().into(), (&nonce).into());
        c.apply_keystream(buf);
    }

    /// The host file name of `name` (1 to [`MAX_NAME`] bytes) as lowercase hex into `out`
    /// (at least [`MAX_HOST_NAME`] bytes); its length.
    pub fn encode_name(&self, name: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(Error::InvalidInput);
        }
        let siv = self.siv(name)?;
        let mut raw = [0u8; SIV_LEN + MAX_NAME];
        let (head, rest) = raw
            .split_first_chunk_mut::<SIV_LEN>()
            .ok_or(Error::InvalidInput)?;
        *head = siv;
        let body = rest.get_mut(..name.len()).ok_or(Error::InvalidInput)?;
        body.copy_from_slice(name);
        self.name_stream(&siv, body);
        let raw = raw.get(..SIV_LEN + name.len()).ok_or(Error::InvalidInput)?;
        let out = out.get_mut(..2 * raw.len()).ok_or(Error::BufferTooSmall)?;
        for (pair, b) in out.chunks_exact_mut(2).zip(raw) {
            if let [hi, lo] = pair {
                *hi = hex_digit(b >> 4);
                *lo = hex_digit(b & 15);
            }
        }
        Ok(out.len())
    }

    /// The name a host file name encodes for this module, into `out` (at least [`MAX_NAME`]
    /// bytes); `None` for anything else (not hex, too short or long, another key's).
    pub fn decode_name(&self, host: &[u8], out: &mut [u8]) -> Option<usize> {
        if !host.len().is_multiple_of(2) || host.len() <= 2 * SIV_LEN || host.len() > MAX_HOST_NAME
        {
            return None;
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut raw = [0u8; SIV_LEN + MAX_NAME];
        let n = host.len() / 2;
        for (slot, pair) in raw.iter_mut().zip(host.chunks_exact(2)) {
            let [hi, lo] = pair else { return None };
            *slot = (digit(*hi)? << 4) | digit(*lo)?;
        }
        let (siv, body) = raw.get_mut(..n)?.split_first_chunk_mut::<SIV_LEN>()?;
        let siv = *siv;
        self.name_stream(&siv, body);
        if self.siv(body).ok()? != siv {
            return None;
        }
        let out = out.get_mut(..body.len())?;
        out.copy_from_slice(body);
        Some(out.len())
    }

    /// Seals `data` as the file `name` with `nonce` (fresh and random for every write) into
    /// `out` (at least `data.len() + OVERHEAD` bytes); the blob's length.
    pub fn seal_file(
        &self,
        name: &[u8],
        nonce: &[u8; NONCE_LEN],
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let total = data
            .len()
            .checked_add(OVERHEAD)
            .ok_or(Error::InvalidInput)?;
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let aad = self.aad(name)?;
        let (magic_out, rest) = out
            .split_first_chunk_mut::<4>()
            .ok_or(Error::BufferTooSmall)?;
        *magic_out = MAGIC;
        let (nonce_out, rest) = rest
            .split_first_chunk_mut::<NONCE_LEN>()
            .ok_or(Error::BufferTooSmall)?;
        *nonce_out = *nonce;
        let (body, tag_out) = rest
            .split_at_mut_checked(data.len())
            .ok_or(Error::BufferTooSmall)?;
        body.copy_from_slice(data);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.contents.as_ref()));
        let tag = cipher
            .encrypt_in_place_detached(XNonce::from_slice(nonce), &aad, body)
            .map_err(|_| Error::InvalidInput)?;
        tag_out.copy_from_slice(&tag);
        Ok(total)
    }

    /// Opens the blob of file `name` into `out` (at least `blob.len() - OVERHEAD` bytes);
    /// the data's length. [`Error::Unseal`] for a blob that is not this module's `name` on
    /// this device, changed or cut; then `out` holds no plaintext.
    pub fn open_file(&self, name: &[u8], blob: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let len = blob.len().checked_sub(OVERHEAD).ok_or(Error::Unseal)?;
        let (magic, rest) = blob.split_first_chunk::<4>().ok_or(Error::Unseal)?;
        let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>().ok_or(Error::Unseal)?;
        let (body, tag) = rest.split_at_checked(len).ok_or(Error::Unseal)?;
        if *magic != MAGIC {
            return Err(Error::Unseal);
        }
        let aad = self.aad(name)?;
        let out = out.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        out.copy_from_slice(body);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(self.contents.as_ref()));
        match cipher.decrypt_in_place_detached(
            XNonce::from_slice(nonce.as_slice()),
            &aad,
            out,
            Tag::from_slice(tag),
        ) {
            Ok(()) => Ok(len),
            Err(_) => {
                out.fill(0);
                Err(Error::Unseal)
            }
        }
    }

    fn aad(&self, name: &[u8]) -> Result<[u8; 4 + SIV_LEN], Error> {
        let mut aad = [0u8; 4 + SIV_LEN];
        let (m, siv) = aad
            .split_first_chunk_mut::<4>()
            .ok_or(Error::InvalidInput)?;
        *m = MAGIC;
        siv.copy_from_slice(&self.siv(name)?);
        Ok(aad)
    }
}

fn hex_digit(n: u8) -> u8 {
    if n < 10 {
        b'0' + n
    } else {
        b'a' + (n - 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(module: u8) -> DirKey {
        let keys = DeviceKeys::derive(&crate::DeviceSecret::new([7u8; 32])).unwrap();
        DirKey::derive(&keys, &[module; 32]).unwrap()
    }

    #[test]
    fn names_round_trip_and_hide_the_name() {
        let k = key(1);
        let mut host = [0u8; MAX_HOST_NAME];
        let n = k.encode_name(b"counter.txt", &mut host).unwrap();
        assert_eq!(n, 2 * (SIV_LEN + 11));
        let host = &host[..n];
        assert!(host.iter().all(|c| c.is_ascii_hexdigit()));
        assert!(!host.windows(7).any(|w| w == b"counter"));
        let mut again = [0u8; MAX_HOST_NAME];
        assert_eq!(
            k.encode_name(b"counter.txt", &mut again),
            Ok(n),
            "deterministic"
        );
        assert_eq!(&again[..n], host);
        let mut name = [0u8; MAX_NAME];
        assert_eq!(k.decode_name(host, &mut name), Some(11));
        assert_eq!(&name[..11], b"counter.txt");
        // Another module's key, a changed digit, junk: nothing decodes.
        assert_eq!(key(2).decode_name(host, &mut name), None);
        let mut bad = host.to_vec();
        bad[40] = if bad[40] == b'0' { b'1' } else { b'0' };
        assert_eq!(k.decode_name(&bad, &mut name), None);
        for junk in [&b"."[..], b"..", b"counter.txt", b"tmp-0123", &[b'a'; 300]] {
            assert_eq!(k.decode_name(junk, &mut name), None);
        }
        assert!(k.encode_name(b"", &mut again).is_err());
        assert!(k.encode_name(&[b'x'; MAX_NAME + 1], &mut again).is_err());
        assert!(k
            .encode_name(&[b'x'; MAX_NAME], &mut [0u8; MAX_HOST_NAME])
            .is_ok());
    }

    #[test]
    fn another_device_reads_nothing() {
        let other = DeviceKeys::derive(&crate::DeviceSecret::new([8u8; 32])).unwrap();
        let theirs = DirKey::derive(&other, &[1; 32]).unwrap();
        let k = key(1);
        let mut host = [0u8; MAX_HOST_NAME];
        let n = k.encode_name(b"counter.txt", &mut host).unwrap();
        let mut name = [0u8; MAX_NAME];
        assert_eq!(theirs.decode_name(&host[..n], &mut name), None);
        let mut blob = [0u8; 64];
        let len = k
            .seal_file(b"counter.txt", &[1; NONCE_LEN], b"7\n", &mut blob)
            .unwrap();
        let mut out = [0u8; 16];
        assert_eq!(
            theirs.open_file(b"counter.txt", &blob[..len], &mut out),
            Err(Error::Unseal)
        );
    }

    #[test]
    fn contents_open_only_under_their_name_key_and_bytes() {
        let k = key(1);
        let nonce = [9u8; NONCE_LEN];
        let mut blob = [0u8; 64];
        let n = k.seal_file(b"a.txt", &nonce, b"41\n", &mut blob).unwrap();
        assert_eq!(n, 3 + OVERHEAD);
        let blob = &blob[..n];
        let mut out = [0u8; 16];
        assert_eq!(k.open_file(b"a.txt", blob, &mut out), Ok(3));
        assert_eq!(&out[..3], b"41\n");
        assert_eq!(
            k.open_file(b"b.txt", blob, &mut out),
            Err(Error::Unseal),
            "swapped"
        );
        assert_eq!(
            key(2).open_file(b"a.txt", blob, &mut out),
            Err(Error::Unseal)
        );
        for i in 0..blob.len() {
            let mut b = blob.to_vec();
            b[i] ^= 1;
            assert_eq!(
                k.open_file(b"a.txt", &b, &mut out),
                Err(Error::Unseal),
                "byte {i}"
            );
        }
        assert_eq!(
            k.open_file(b"a.txt", &blob[..n - 1], &mut out),
            Err(Error::Unseal)
        );
        let mut longer = blob.to_vec();
        longer.push(0);
        assert_eq!(k.open_file(b"a.txt", &longer, &mut out), Err(Error::Unseal));
        assert_eq!(k.open_file(b"a.txt", &[], &mut out), Err(Error::Unseal));
        // An empty file is a blob too.
        let mut e = [0u8; OVERHEAD];
        assert_eq!(k.seal_file(b"e", &nonce, b"", &mut e), Ok(OVERHEAD));
        assert_eq!(k.open_file(b"e", &e, &mut out), Ok(0));
    }
}
