//! The device's identity as the secure world holds it after boot: the keys derived from the
//! device secret and the firmware measurement. Set once, on the cold-boot CPU, before the
//! first SMC is served; read by ATTEST, receipts and the module's `tzwasm` imports.
//!
//! The raw device secret never lives here: boot reads it from secure flash, derives
//! [`DeviceKeys`] and zeroes its copy ([`install`]). A device without a provisioned secret
//! (a blank page) has no identity, and every call that needs one answers NOT_SUPPORTED.
//!
//! An image built without the `attestation` feature never has one: [`install`] does not exist
//! there and [`get`] is always `None`, so the link drops the key derivation, signing and
//! sealing code (`make size` reports both images).

use spin::Once;
use tzwasm_attest::DeviceKeys;
#[cfg(feature = "attestation")]
use tzwasm_attest::DeviceSecret;

/// What boot establishes.
pub struct Identity {
    /// Keys derived from the device secret.
    pub keys: DeviceKeys,
    /// SHA-256 of the BL32 image as loaded.
    pub firmware: [u8; 32],
}

#[cfg(feature = "attestation")]
static IDENTITY: Once<Identity> = Once::new();

/// The firmware measurement, recorded at boot whether or not the device has a secret.
static MEASUREMENT: Once<[u8; 32]> = Once::new();

/// Records the firmware measurement (the first call wins; boot makes exactly one).
pub fn record_measurement(digest: [u8; 32]) {
    MEASUREMENT.call_once(|| digest);
}

/// The firmware measurement boot recorded; zeros before that.
pub fn measurement() -> [u8; 32] {
    MEASUREMENT.get().copied().unwrap_or([0; 32])
}

/// Why [`install`] refused.
#[cfg(feature = "attestation")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// The secret is blank (all bytes equal): the device was never provisioned.
    Blank,
    /// Key derivation failed.
    Derivation,
    /// An identity is already installed.
    AlreadySet,
}

/// Derives the keys from `secret` (consumed and zeroed) and records them with the firmware
/// measurement. Once per boot.
#[cfg(feature = "attestation")]
pub fn install(secret: DeviceSecret, firmware: [u8; 32]) -> Result<(), InstallError> {
    if IDENTITY.is_completed() {
        return Err(InstallError::AlreadySet);
    }
    if secret.is_blank() {
        return Err(InstallError::Blank);
    }
    let keys = DeviceKeys::derive(&secret).map_err(|_| InstallError::Derivation)?;
    drop(secret);
    IDENTITY.call_once(|| Identity { keys, firmware });
    Ok(())
}

/// The identity, once boot installed one.
#[cfg(feature = "attestation")]
pub fn get() -> Option<&'static Identity> {
    IDENTITY.get()
}

/// No identity: this image is built without attestation.
#[cfg(not(feature = "attestation"))]
pub fn get() -> Option<&'static Identity> {
    None
}
