//! The device page: the 4 KiB block of secure-only flash (bank 0, offset
//! [`DEVICE_PAGE_PA`]) that carries the device secret, and its parser. Boot reads the page
//! once on the cold-boot CPU, hands the secret to [`crate::identity::install`] and zeroes its
//! copies; nothing else ever maps the page.
//!
//! Layout (written by `mk/device.mk`): bytes 0..8 the magic [`MAGIC`], a little-endian u32
//! version ([`VERSION`]), a little-endian u32 secret length (32), then the secret; the rest of
//! the page is zero. Only the first [`HEADER_LEN`] + 32 bytes are read.

use tzwasm_attest::{DeviceSecret, DEVICE_SECRET_LEN};

/// Physical address of the page: flash bank 0 (secure-only on QEMU virt), the last 4 KiB of
/// TF-A's BL1 area (the FIP starts at 0x40000).
pub const DEVICE_PAGE_PA: u64 = 0x3_F000;
/// The magic at offset 0.
pub const MAGIC: [u8; 8] = *b"TZWDEVS1";
/// The only layout version.
pub const VERSION: u32 = 1;
/// Magic, version and length.
pub const HEADER_LEN: usize = 16;
/// How many bytes of the page boot copies out: the header and the secret.
pub const READ_LEN: usize = HEADER_LEN + DEVICE_SECRET_LEN;

/// Why a page holds no usable secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// No magic: an erased (0xff) or zero page, i.e. a device never provisioned.
    NoMagic,
    /// A version this firmware does not know.
    Version(u32),
    /// A secret length other than 32.
    Length(u32),
}

impl PageError {
    /// A short description for the boot log (never contains page bytes beyond the header).
    pub const fn description(self) -> &'static str {
        match self {
            PageError::NoMagic => "no device page",
            PageError::Version(_) => "unknown device page version",
            PageError::Length(_) => "bad device secret length",
        }
    }
}

fn le32(b: &[u8; READ_LEN], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(src) = b.get(at..at + 4) {
        w.copy_from_slice(src);
    }
    u32::from_le_bytes(w)
}

/// Checks the header of the page's first [`READ_LEN`] bytes and returns the secret. The caller
/// zeroes `page` afterwards; the returned secret zeroes itself when dropped.
pub fn parse(page: &[u8; READ_LEN]) -> Result<DeviceSecret, PageError> {
    if page.get(..8) != Some(&MAGIC[..]) {
        return Err(PageError::NoMagic);
    }
    let version = le32(page, 8);
    if version != VERSION {
        return Err(PageError::Version(version));
    }
    let len = le32(page, 12);
    if len as usize != DEVICE_SECRET_LEN {
        return Err(PageError::Length(len));
    }
    let mut secret = [0u8; DEVICE_SECRET_LEN];
    if let Some(src) = page.get(HEADER_LEN..READ_LEN) {
        secret.copy_from_slice(src);
    }
    let out = DeviceSecret::new(secret);
    zero(&mut secret);
    Ok(out)
}

/// Overwrites `bytes` with zeros in a way the compiler cannot drop as a dead store.
pub fn zero(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference to one byte.
        unsafe { core::ptr::write_volatile(b, 0) };
    }
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tzwasm_attest::DeviceKeys;

    fn page(secret: [u8; 32]) -> [u8; READ_LEN] {
        let mut p = [0u8; READ_LEN];
        p[..8].copy_from_slice(b"TZWDEVS1");
        p[8..12].copy_from_slice(&1u32.to_le_bytes());
        p[12..16].copy_from_slice(&32u32.to_le_bytes());
        p[16..].copy_from_slice(&secret);
        p
    }

    #[test]
    fn parses_the_make_layout() {
        let secret: [u8; 32] = core::array::from_fn(|i| i as u8 * 7 + 1);
        let got = parse(&page(secret)).unwrap();
        let want = DeviceSecret::new(secret);
        assert_eq!(
            DeviceKeys::derive(&got).unwrap().public_key(),
            DeviceKeys::derive(&want).unwrap().public_key()
        );
    }

    #[test]
    fn blank_pages_have_no_magic() {
        assert_eq!(parse(&[0xff; READ_LEN]).err(), Some(PageError::NoMagic));
        assert_eq!(parse(&[0; READ_LEN]).err(), Some(PageError::NoMagic));
    }

    #[test]
    fn header_fields_are_checked() {
        let mut p = page([3; 32]);
        p[8] = 2;
        assert_eq!(parse(&p).err(), Some(PageError::Version(2)));
        let mut p = page([3; 32]);
        p[12] = 16;
        assert_eq!(parse(&p).err(), Some(PageError::Length(16)));
        let mut p = page([3; 32]);
        p[7] = b'2';
        assert_eq!(parse(&p).err(), Some(PageError::NoMagic));
    }

    #[test]
    fn zero_clears() {
        let mut b = [0xa5u8; 40];
        zero(&mut b);
        assert_eq!(b, [0; 40]);
    }
}
