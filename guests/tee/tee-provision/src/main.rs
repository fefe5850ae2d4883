//! tee-provision: issue 12's remote-provisioning example, a module that receives a secret
//! from a remote verifier and keeps it sealed (docs/attestation.md, "Remote provisioning").
//!
//! ```text
//! tee-provision keygen NONCE_HEX
//!     generates a P-256 key pair inside the module, seals the private key, and attests with
//!     the public key as user data; prints `public-key: HEX`, `token: HEX`, `sealed-key: HEX`
//! tee-provision provision SEALED_KEY_HEX ENVELOPE_HEX
//!     unseals the key, opens the verifier's envelope (tzwasm-verify encrypt), seals the
//!     secret; prints `sealed-secret: HEX` and `secret-sha256: HEX`
//! tee-provision show SEALED_SECRET_HEX
//!     unseals the secret; prints `secret-sha256: HEX`
//! ```
//!
//! Modules have no files and no stdin yet, so state travels between runs as sealed blobs the
//! normal world keeps; only this module (this measurement) on this device opens them. The
//! module never prints the private key or the secret, only the secret's SHA-256. Exit 1 with
//! one `tee-provision: COMMAND: reason` line on stderr when something does not open.

mod envelope;

use p256::SecretKey;
use sha2::{Digest as _, Sha256};
use std::process::ExitCode;
pub(crate) use tzwasm_guest::{hex, unhex};

/// What the sealed blobs hold: a tag, so that one kind cannot be passed off as the other.
const KEY_TAG: &[u8; 4] = b"TZPK";
const SECRET_TAG: &[u8; 4] = b"TZPS";

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn arg_hex(args: &[String], i: usize, what: &str) -> Result<Vec<u8>, String> {
    let text = args.get(i).ok_or_else(|| format!("no {what}"))?;
    unhex(text).ok_or_else(|| format!("{what} is not hex"))
}

/// Opens a sealed blob of this module and checks what kind it holds.
fn unseal(blob: &[u8], tag: &[u8; 4], what: &str) -> Result<Vec<u8>, String> {
    let data = tzwasm_guest::unseal(blob).map_err(|e| format!("cannot unseal the {what}: {e}"))?;
    match data.strip_prefix(tag) {
        Some(rest) => Ok(rest.to_vec()),
        None => Err(format!("the blob does not hold a {what}")),
    }
}

fn seal(tag: &[u8; 4], data: &[u8], what: &str) -> Result<Vec<u8>, String> {
    tzwasm_guest::seal(&[&tag[..], data].concat())
        .map_err(|e| format!("cannot seal the {what}: {e}"))
}

fn keygen(args: &[String]) -> Result<Vec<String>, String> {
    let nonce = arg_hex(args, 2, "nonce")?;
    let key = SecretKey::random(&mut rand_core::OsRng);
    let public = envelope::point(&key.public_key());
    let sealed = seal(KEY_TAG, &key.to_bytes(), "key")?;
    let token = tzwasm_guest::attest(&nonce, &public).map_err(|e| format!("cannot attest: {e}"))?;
    Ok(vec![
        format!("public-key: {}", hex(&public)),
        format!("token: {}", hex(&token)),
        format!("sealed-key: {}", hex(&sealed)),
    ])
}

fn provision(args: &[String]) -> Result<Vec<String>, String> {
    let sealed_key = arg_hex(args, 2, "sealed key")?;
    let env = arg_hex(args, 3, "envelope")?;
    let key = unseal(&sealed_key, KEY_TAG, "key")?;
    let key = SecretKey::from_slice(&key).map_err(|_| "the sealed key is not a P-256 key")?;
    let secret =
        envelope::open(&key, &env).map_err(|e| format!("cannot decrypt the envelope: {e}"))?;
    let sealed = seal(SECRET_TAG, &secret, "secret")?;
    Ok(vec![
        format!("sealed-secret: {}", hex(&sealed)),
        format!("secret-sha256: {}", hex(&sha256(&secret))),
    ])
}

fn show(args: &[String]) -> Result<Vec<String>, String> {
    let blob = arg_hex(args, 2, "sealed secret")?;
    let secret = unseal(&blob, SECRET_TAG, "secret")?;
    Ok(vec![format!("secret-sha256: {}", hex(&sha256(&secret)))])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("");
    let result = match cmd {
        "keygen" => keygen(&args),
        "provision" => provision(&args),
        "show" => show(&args),
        _ => {
            eprintln!(
                "usage: tee-provision keygen NONCE_HEX | provision SEALED_KEY_HEX ENVELOPE_HEX | show SEALED_SECRET_HEX"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("tee-provision: {cmd}: {why}");
            ExitCode::FAILURE
        }
    }
}
