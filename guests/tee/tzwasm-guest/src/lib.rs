//! Safe bindings of the `tzwasm` import module for WebAssembly guests of the tzwasm secure
//! world (wasm32-wasip1). docs/attestation.md describes the functions; C guests use
//! `guests/include/tzwasm.h`.
//!
//! ```no_run
//! let token = tzwasm_guest::attest(&[7u8; 32], b"my public key").unwrap();
//! let blob = tzwasm_guest::seal(b"secret").unwrap();
//! assert_eq!(tzwasm_guest::unseal(&blob).unwrap(), b"secret");
//! # let _ = token;
//! ```
//!
//! On any other target the functions exist too (so code using them builds and tests on a
//! host) and return [`Error::NotSupported`].

use core::fmt;

/// Lower-case hex of `bytes`: the examples pass blobs, keys and tokens on the command line.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of an even-length hex string (either case), `None` if it is not one.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Most user data a token can bind.
pub const MAX_USER_DATA: usize = 256;
/// A buffer of this size holds any token.
pub const MAX_TOKEN: usize = 2048;
/// Most data one `seal` takes.
pub const MAX_SEAL_DATA: usize = 64 << 10;
/// A blob is this much longer than its data.
pub const SEAL_OVERHEAD: usize = 44;

/// Why a call failed (the WASI errno the secure world returned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A length outside the limits, or overlapping buffers (EINVAL).
    Invalid,
    /// A buffer outside the module's memory (EFAULT; cannot happen through these bindings).
    Fault,
    /// The device has no identity: no provisioned device secret (ENOTSUP).
    NotSupported,
    /// The blob was changed or truncated, or belongs to another module or device (EBADMSG).
    BadBlob,
    /// Another errno.
    Other(i32),
}

impl Error {
    fn from_errno(e: i32) -> Error {
        match e {
            28 => Error::Invalid,
            21 => Error::Fault,
            58 => Error::NotSupported,
            9 => Error::BadBlob,
            other => Error::Other(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid => f.write_str("invalid length or overlapping buffers"),
            Error::Fault => f.write_str("buffer outside the module's memory"),
            Error::NotSupported => f.write_str("the device has no identity (no device secret)"),
            Error::BadBlob => {
                f.write_str("sealed blob is corrupt or belongs to another module or device")
            }
            Error::Other(e) => write!(f, "errno {e}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(target_family = "wasm")]
mod raw {
    #[link(wasm_import_module = "tzwasm")]
    extern "C" {
        pub fn attest(
            nonce: *const u8,
            nonce_len: u32,
            user_data: *const u8,
            user_data_len: u32,
            token: *mut u8,
            token_cap: u32,
            token_len: *mut u32,
        ) -> i32;
        pub fn seal(data: *const u8, data_len: u32, blob: *mut u8, cap: u32, len: *mut u32) -> i32;
        pub fn unseal(
            blob: *const u8,
            blob_len: u32,
            data: *mut u8,
            cap: u32,
            len: *mut u32,
        ) -> i32;
    }
}

fn len32(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::Invalid)
}

/// A PSA attestation token for this module, binding `nonce` (32, 48 or 64 bytes) and
/// `user_data` (at most 256 bytes).
pub fn attest(nonce: &[u8], user_data: &[u8]) -> Result<Vec<u8>, Error> {
    let mut token = vec![0u8; MAX_TOKEN];
    let mut len = 0u32;
    let (nl, ul, cap) = (
        len32(nonce.len())?,
        len32(user_data.len())?,
        len32(token.len())?,
    );
    #[cfg(target_family = "wasm")]
    // SAFETY: every pointer is valid for its length, the output buffer and the length are
    // distinct live allocations, and the secure world writes only inside them.
    let e = unsafe {
        raw::attest(
            nonce.as_ptr(),
            nl,
            user_data.as_ptr(),
            ul,
            token.as_mut_ptr(),
            cap,
            &mut len,
        )
    };
    #[cfg(not(target_family = "wasm"))]
    let e = {
        let _ = (nl, ul, cap);
        58
    };
    finish(e, token, len)
}

/// Seals `data` (at most 64 KiB) so that only this module on this device can open it.
pub fn seal(data: &[u8]) -> Result<Vec<u8>, Error> {
    let mut blob = vec![0u8; data.len() + SEAL_OVERHEAD];
    let mut len = 0u32;
    let (dl, cap) = (len32(data.len())?, len32(blob.len())?);
    #[cfg(target_family = "wasm")]
    // SAFETY: as in `attest`.
    let e = unsafe { raw::seal(data.as_ptr(), dl, blob.as_mut_ptr(), cap, &mut len) };
    #[cfg(not(target_family = "wasm"))]
    let e = {
        let _ = (dl, cap);
        58
    };
    finish(e, blob, len)
}

/// Opens a blob [`seal`] made.
pub fn unseal(blob: &[u8]) -> Result<Vec<u8>, Error> {
    let mut data = vec![0u8; blob.len().saturating_sub(SEAL_OVERHEAD)];
    let mut len = 0u32;
    let (bl, cap) = (len32(blob.len())?, len32(data.len())?);
    #[cfg(target_family = "wasm")]
    // SAFETY: as in `attest`.
    let e = unsafe { raw::unseal(blob.as_ptr(), bl, data.as_mut_ptr(), cap, &mut len) };
    #[cfg(not(target_family = "wasm"))]
    let e = {
        let _ = (bl, cap);
        58
    };
    finish(e, data, len)
}

fn finish(errno: i32, mut buf: Vec<u8>, len: u32) -> Result<Vec<u8>, Error> {
    if errno != 0 {
        return Err(Error::from_errno(errno));
    }
    buf.truncate(len as usize);
    Ok(buf)
}
