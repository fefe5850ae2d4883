//! Helpers of the integration tests: tzwasm tokens and receipts made with `tzwasm-attest`, the
//! RFC 9783 vectors, scratch files.
#![allow(dead_code)]

use ciborium::value::Value;
use tzwasm_attest::claims::{
    AotInfo, Claims, Component, Outcome, Receipt, CLIENT_MODULE, CLIENT_NORMAL_WORLD,
    COMPONENT_FIRMWARE, COMPONENT_MODULE, LIFECYCLE_SECURED,
};
use tzwasm_attest::cose::{sign_claims, sign_payload, MAX_TOKEN_LEN};
use tzwasm_attest::receipt::StreamDigest;
use tzwasm_attest::{DeviceKeys, DeviceSecret};
use tzwasm_verify::decode::Hash;

pub const RFC_TOKEN: &[u8] = include_bytes!("../../../../attest/testdata/rfc9783/psa-sign1.cbor");
pub const RFC_KEY: &[u8] = include_bytes!("../../../../attest/testdata/rfc9783/tfm-es-iak.pem");
pub const RFC_NONCE: [u8; 32] = [0x01; 32];

pub fn rfc_path(name: &str) -> String {
    format!(
        "{}/../../attest/testdata/rfc9783/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

pub const FIRMWARE: Hash = [0xf1; 32];
pub const INSTANCE: [u8; 33] = [0x01; 33];
pub const IMPL: Hash = [0x1d; 32];
pub const NONCE: [u8; 32] = [0x5a; 32];
/// Stands in for a module's .aot file (its bytes are what is measured).
pub const MODULE_FILE: &[u8] = b"\0aot fake module bytes for the verifier's tests";
pub const OTHER_MODULE_FILE: &[u8] = b"\0aot another module";
pub const ENTRY: &[u8] = b"";
pub const ARGV: [&[u8]; 3] = [b"m.aot", b"--flag", b"value"];
pub const ENV: [&[u8]; 1] = [b"HOME=/root"];

pub fn keys() -> DeviceKeys {
    DeviceKeys::derive(&DeviceSecret::new([0x42; 32])).unwrap()
}

pub fn other_keys() -> DeviceKeys {
    DeviceKeys::derive(&DeviceSecret::new([0x43; 32])).unwrap()
}

pub fn sha256(b: &[u8]) -> Hash {
    tzwasm_verify::sha256(b)
}

/// The run a receipt describes: stdout in chunks, stderr.
pub struct Run {
    pub stdout_chunks: Vec<Vec<u8>>,
    pub stderr: Vec<u8>,
}

impl Run {
    pub fn sample() -> Self {
        let stdout_chunks = (0..64u32)
            .map(|n| {
                (0..4096u32)
                    .map(|i| (n.wrapping_mul(31).wrapping_add(i) % 251) as u8)
                    .collect()
            })
            .collect();
        Run {
            stdout_chunks,
            stderr: b"warning: this is stderr\n".to_vec(),
        }
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.stdout_chunks.concat()
    }
}

fn module_hash() -> &'static Hash {
    static H: std::sync::OnceLock<Hash> = std::sync::OnceLock::new();
    H.get_or_init(|| sha256(MODULE_FILE))
}

fn claims<'a>(nonce: &'a [u8], receipt: Option<Receipt<'a>>) -> Claims<'a> {
    Claims {
        nonce,
        instance_id: &INSTANCE,
        implementation_id: &IMPL,
        client_id: CLIENT_NORMAL_WORLD,
        lifecycle: LIFECYCLE_SECURED,
        firmware: Component {
            kind: COMPONENT_FIRMWARE,
            measurement: &FIRMWARE,
            version: Some("0.1.0"),
        },
        module: Component {
            kind: COMPONENT_MODULE,
            measurement: module_hash(),
            version: None,
        },
        aot: AotInfo {
            version: 6,
            target: "aarch64",
            features: 0x4,
            bounds_checks: "hardware",
        },
        heap_quota: 1 << 20,
        user_data: None,
        receipt,
    }
}

/// A token as `tzwasm attest` makes it, with optional user data.
pub fn token_with(keys: &DeviceKeys, user_data: Option<&[u8]>) -> Vec<u8> {
    let mut c = claims(&NONCE, None);
    c.user_data = user_data;
    let mut out = vec![0u8; MAX_TOKEN_LEN];
    let n = sign_claims(keys, &c, &mut out).unwrap();
    out.truncate(n);
    out
}

/// A token as the module's own `tzwasm.attest` makes it (client ID 1), binding `user_data`.
pub fn module_token(user_data: Option<&[u8]>) -> Vec<u8> {
    let mut c = claims(&NONCE, None);
    c.client_id = CLIENT_MODULE;
    c.user_data = user_data;
    let mut out = vec![0u8; MAX_TOKEN_LEN];
    let n = sign_claims(&keys(), &c, &mut out).unwrap();
    out.truncate(n);
    out
}

pub fn token() -> Vec<u8> {
    token_with(&keys(), None)
}

/// A receipt of `run`, as `tzwasm run --receipt` makes it.
pub fn receipt(run: &Run, outcome: Outcome<'_>) -> Vec<u8> {
    let mut out = StreamDigest::new();
    for c in &run.stdout_chunks {
        out.update(c);
    }
    let mut err = StreamDigest::new();
    err.update(&run.stderr);
    let args =
        tzwasm_attest::receipt::args_digest(ENTRY, ARGV.iter().copied(), ENV.iter().copied());
    let (od, ed) = (out.digest(), err.digest());
    let r = Receipt {
        args_digest: &args,
        stdout: (&od, out.len()),
        stderr: (&ed, err.len()),
        outcome,
    };
    let c = claims(&NONCE, Some(r));
    let mut buf = vec![0u8; MAX_TOKEN_LEN];
    let n = sign_claims(&keys(), &c, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// The claims map of a tzwasm token, as a ciborium value to edit.
pub fn claims_value() -> Vec<(Value, Value)> {
    let c = claims(&NONCE, None);
    let mut buf = vec![0u8; 2048];
    let n = c.encode(&mut buf).unwrap();
    let v: Value = ciborium::de::from_reader(&buf[..n]).unwrap();
    v.into_map().unwrap()
}

/// Signs a hand-made claims map (any CBOR value) with the device key.
pub fn sign_value(v: &Value) -> Vec<u8> {
    let mut payload = Vec::new();
    ciborium::ser::into_writer(v, &mut payload).unwrap();
    sign_bytes(&payload)
}

/// Signs any payload bytes with the device key.
pub fn sign_bytes(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + 128];
    let n = sign_payload(&keys(), payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The device's public key as a PEM SubjectPublicKeyInfo.
pub fn public_pem(keys: &DeviceKeys) -> String {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    p256::PublicKey::from(keys.verifying_key())
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("verify-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
