//! `tzwasm-provision`: the host side of the QEMU device's root of trust.
//!
//! - `export SECRET OUT`: derives the attestation key from the 32-byte device secret (the file
//!   `mk/device.mk` writes into the device page) with `tzwasm_attest::DeviceKeys::derive`, the
//!   same derivation the secure world runs at boot, and writes its public key as a PEM
//!   SubjectPublicKeyInfo: the endorsement a verifier trusts. The secret is never printed.
//! - `measure BL32`: prints the hex SHA-256 of a BL32 image, the firmware measurement the
//!   secure world reports for it (GET_INFO MEASUREMENT).

use p256::pkcs8::{EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use std::process::ExitCode;
use tzwasm_attest::{DeviceKeys, DeviceSecret, DEVICE_SECRET_LEN};

/// The PEM endorsement for a device secret.
fn endorsement(secret: &[u8]) -> Result<String, String> {
    let bytes: [u8; DEVICE_SECRET_LEN] = secret
        .try_into()
        .map_err(|_| format!("the device secret must be {DEVICE_SECRET_LEN} bytes"))?;
    let secret = DeviceSecret::new(bytes);
    let keys = DeviceKeys::derive(&secret).map_err(|e| format!("key derivation: {e}"))?;
    keys.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("PEM encoding: {e}"))
}

/// Lowercase hex SHA-256, as `sha256sum` prints it.
fn measure(image: &[u8]) -> String {
    Sha256::digest(image)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd, secret, out] if cmd == "export" => {
            let bytes = std::fs::read(secret).map_err(|e| format!("{secret}: {e}"))?;
            let pem = endorsement(&bytes)?;
            std::fs::write(out, pem).map_err(|e| format!("{out}: {e}"))
        }
        [cmd, image] if cmd == "measure" => {
            let bytes = std::fs::read(image).map_err(|e| format!("{image}: {e}"))?;
            println!("{}", measure(&bytes));
            Ok(())
        }
        _ => Err("usage: tzwasm-provision export SECRET OUT.pub | measure BL32.bin".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tzwasm-provision: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::DecodePublicKey;

    #[test]
    fn endorsement_is_the_derived_public_key() {
        let secret = [0x5au8; 32];
        let pem = endorsement(&secret).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let key = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).unwrap();
        let keys = DeviceKeys::derive(&DeviceSecret::new(secret)).unwrap();
        assert_eq!(
            key.to_encoded_point(false).as_bytes(),
            &keys.public_key()[..]
        );
        assert!(!pem.contains("5a5a5a5a"));
    }

    #[test]
    fn wrong_length_is_refused() {
        assert!(endorsement(&[1; 31]).is_err());
        assert!(endorsement(&[1; 33]).is_err());
    }

    #[test]
    fn measure_is_sha256_hex() {
        assert_eq!(
            measure(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
