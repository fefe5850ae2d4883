//! `tzwasm-verify`: checks tzwasm's PSA attestation tokens (RFC 9783) and signed run receipts,
//! and any other PSA token signed with ES256.
//!
//! It is a second, independent implementation of the formats `tzwasm-attest` writes: the
//! COSE_Sign1 envelope is parsed by `coset`, the claims by `ciborium`, the signature checked by
//! `p256`. From `tzwasm-attest` it takes only the claim-key numbers and the args digest.
//!
//! - [`decode`]: envelope and claims, typed; malformed input is an error, never a panic;
//! - [`report`]: the claims as `name: value` lines;
//! - [`verify_token`], [`verify_receipt`]: the checks, in order: envelope, algorithm,
//!   signature, claims, nonce, firmware, module, user data; then for a receipt: receipt
//!   present, stdout, stderr, args;
//! - [`provision`]: the secret envelope of remote provisioning (`encrypt`), to the public key a
//!   module bound into its token;
//! - [`cli`]: the command line (`src/main.rs` only maps its result to an exit code).
//!
//! `docs/verify.md` documents the tool.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cli;
pub mod decode;
pub mod provision;
pub mod report;

use decode::{Claims, Envelope, Hash};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use tzwasm_attest::claims::{COMPONENT_FIRMWARE, COMPONENT_MODULE};

/// A check that compares a claim with what the verifier expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The verifier's nonce.
    Nonce,
    /// The firmware (BL32) measurement.
    Firmware,
    /// The module (WASM-AOT) measurement.
    Module,
    /// The module's user data.
    UserData,
    /// The receipt's stdout digest and length.
    Stdout,
    /// The receipt's stderr digest and length.
    Stderr,
    /// The receipt's stdin digest and length.
    Stdin,
    /// The receipt's args digest.
    Args,
    /// How the run ended (exit code).
    Exit,
}

impl Check {
    /// The failure reason of this check.
    pub const fn reason(self) -> &'static str {
        match self {
            Check::Nonce => "nonce mismatch",
            Check::Firmware => "firmware measurement mismatch",
            Check::Module => "module hash mismatch",
            Check::UserData => "user data mismatch",
            Check::Stdout => "stdout hash mismatch",
            Check::Stderr => "stderr hash mismatch",
            Check::Stdin => "stdin hash mismatch",
            Check::Args => "args digest mismatch",
            Check::Exit => "exit mismatch",
        }
    }

    /// What a success of this check is called in the `verified:` line.
    pub const fn name(self) -> &'static str {
        match self {
            Check::Nonce => "nonce",
            Check::Firmware => "firmware",
            Check::Module => "module",
            Check::UserData => "user data",
            Check::Stdout => "stdout",
            Check::Stderr => "stderr",
            Check::Stdin => "stdin",
            Check::Args => "args",
            Check::Exit => "exit",
        }
    }
}

/// Why a token or receipt was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not a COSE_Sign1 with a well-formed PSA claims map.
    Malformed(String),
    /// The protected header names another algorithm than ES256 (or none).
    Algorithm(String),
    /// The signature does not verify with the key.
    Signature,
    /// A claim differs from what was expected: which check, and the two values.
    Mismatch(Check, String),
    /// A receipt was asked for and the token has no receipt claim.
    NotAReceipt,
    /// The key file is not a P-256 key.
    Key(String),
    /// A file could not be read.
    Io(String),
    /// A file could not be written (`encrypt --out`).
    Write(String),
    /// `encrypt`: the token names no usable recipient key (not the module's token, no user
    /// data, or user data that is not a P-256 public key).
    Recipient(String),
    /// `encrypt`: the secret is empty or too large.
    Secret(String),
    /// A provisioning envelope does not open (or could not be made).
    Envelope(String),
}

impl Error {
    /// The fixed reason (the start of the message).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "malformed token",
            Error::Algorithm(_) => "algorithm not ES256",
            Error::Signature => "signature does not verify",
            Error::Mismatch(check, _) => check.reason(),
            Error::NotAReceipt => "not a receipt",
            Error::Key(_) => "bad key",
            Error::Io(_) => "cannot read",
            Error::Write(_) => "cannot write",
            Error::Recipient(_) => "no recipient key",
            Error::Secret(_) => "bad secret",
            Error::Envelope(_) => "cannot decrypt",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Signature | Error::NotAReceipt => f.write_str(self.reason()),
            Error::Malformed(d)
            | Error::Algorithm(d)
            | Error::Mismatch(_, d)
            | Error::Key(d)
            | Error::Io(d)
            | Error::Write(d)
            | Error::Recipient(d)
            | Error::Secret(d)
            | Error::Envelope(d) => write!(f, "{}: {d}", self.reason()),
        }
    }
}

impl std::error::Error for Error {}

/// What the claims must say; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The nonce the verifier sent.
    pub nonce: Option<Vec<u8>>,
    /// The firmware measurement (SHA-256 of `build/bl32.bin`).
    pub firmware: Option<Hash>,
    /// The module measurement (SHA-256 of the .aot file).
    pub module: Option<Hash>,
    /// The user data the module should have bound in.
    pub user_data: Option<Vec<u8>>,
}

/// A stream's expected SHA-256 and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamExpect {
    /// SHA-256 of the bytes.
    pub digest: Hash,
    /// How many bytes.
    pub len: u64,
}

impl StreamExpect {
    /// The digest and length of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        StreamExpect {
            digest: Sha256::digest(bytes).into(),
            len: bytes.len() as u64,
        }
    }

    /// The digest and length of everything `r` yields.
    pub fn of_reader(mut r: impl std::io::Read) -> std::io::Result<Self> {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut len = 0u64;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(buf.get(..n).unwrap_or_default());
            len = len.saturating_add(n as u64);
        }
        Ok(StreamExpect {
            digest: h.finalize().into(),
            len,
        })
    }
}

/// What a receipt must say; `None` is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectReceipt {
    /// The expected stdout.
    pub stdout: Option<StreamExpect>,
    /// The expected stdin (what the module read).
    pub stdin: Option<StreamExpect>,
    /// The expected stderr.
    pub stderr: Option<StreamExpect>,
    /// The expected args digest ([`args_digest`]).
    pub args_digest: Option<Hash>,
    /// The run must have exited with this code (outcome `"exited"`).
    pub exit_code: Option<u64>,
}

/// The args digest of a run: `entry` ("" for `_start`), the full argv (program name first) and
/// the environment as `KEY=VALUE` strings.
pub fn args_digest(entry: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Hash {
    tzwasm_attest::receipt::args_digest(
        entry,
        argv.iter().map(Vec::as_slice),
        env.iter().map(Vec::as_slice),
    )
}

/// A token that passed every check asked for.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The envelope.
    pub envelope: Envelope,
    /// Its claims.
    pub claims: Claims,
    /// The checks that passed, in order (the signature first).
    pub checked: Vec<&'static str>,
}

impl Verified {
    /// The `verified: ...` line.
    pub fn summary(&self) -> String {
        format!("verified: {}", self.checked.join(", "))
    }

    /// Everything the tool prints on success: header, claims, the `verified:` line.
    pub fn report(&self) -> String {
        format!(
            "{}{}{}\n",
            report::format_header(&self.envelope),
            report::format_claims(&self.claims),
            self.summary()
        )
    }
}

/// The SHA-256 of `bytes` (a module's or firmware image's measurement).
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Reads a P-256 public key: PEM SubjectPublicKeyInfo ("PUBLIC KEY"), or a PEM private key
/// (SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY") whose public half is taken, or a raw SEC1
/// point (65 bytes uncompressed or 33 compressed).
pub fn load_key(file: &[u8]) -> Result<VerifyingKey, Error> {
    use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
    if let Ok(text) = std::str::from_utf8(file) {
        if text.contains("-----BEGIN") {
            let key = p256::PublicKey::from_public_key_pem(text)
                .or_else(|_| p256::SecretKey::from_sec1_pem(text).map(|k| k.public_key()))
                .or_else(|_| p256::SecretKey::from_pkcs8_pem(text).map(|k| k.public_key()))
                .map_err(|_| Error::Key("not a P-256 public or private key in PEM".into()))?;
            return Ok(VerifyingKey::from(&key));
        }
    }
    if let Ok(key) = p256::PublicKey::from_public_key_der(file) {
        return Ok(VerifyingKey::from(&key));
    }
    VerifyingKey::from_sec1_bytes(file)
        .map_err(|_| Error::Key("neither PEM, DER nor a SEC1 P-256 point".into()))
}

/// Decodes a token without checking its signature (`tzwasm-verify show`).
pub fn decode_unverified(token: &[u8]) -> Result<(Envelope, Claims), Error> {
    let envelope = decode::envelope(token)?;
    let claims = decode::claims(&envelope.payload)?;
    Ok((envelope, claims))
}

/// Checks a token: envelope, ES256, signature with `key`, claims, then each expectation.
pub fn verify_token(token: &[u8], key: &VerifyingKey, expect: &Expect) -> Result<Verified, Error> {
    let envelope = decode::envelope(token)?;
    decode::check_algorithm(&envelope.message)?;
    envelope.message.verify_signature(b"", |sig, data| {
        let sig = Signature::from_slice(sig).map_err(|_| Error::Signature)?;
        key.verify(data, &sig).map_err(|_| Error::Signature)
    })?;
    let claims = decode::claims(&envelope.payload)?;
    let mut checked = vec!["signature (ES256)"];

    if let Some(nonce) = &expect.nonce {
        if claims.nonce != *nonce {
            return Err(differs(Check::Nonce, &claims.nonce, nonce));
        }
        checked.push(Check::Nonce.name());
    }
    if let Some(fw) = &expect.firmware {
        component_is(&claims, COMPONENT_FIRMWARE, Check::Firmware, fw)?;
        checked.push(Check::Firmware.name());
    }
    if let Some(module) = &expect.module {
        component_is(&claims, COMPONENT_MODULE, Check::Module, module)?;
        checked.push(Check::Module.name());
    }
    if let Some(data) = &expect.user_data {
        match &claims.user_data {
            Some(got) if got == data => {}
            Some(got) => return Err(differs(Check::UserData, got, data)),
            None => {
                return Err(Error::Mismatch(
                    Check::UserData,
                    "the token has no user data".into(),
                ))
            }
        }
        checked.push(Check::UserData.name());
    }
    Ok(Verified {
        envelope,
        claims,
        checked,
    })
}

/// Checks a receipt: everything [`verify_token`] checks, then that it is a receipt, then its
/// output digests and lengths and its args digest.
pub fn verify_receipt(
    receipt: &[u8],
    key: &VerifyingKey,
    expect: &Expect,
    run: &ExpectReceipt,
) -> Result<Verified, Error> {
    let mut verified = verify_token(receipt, key, expect)?;
    let r = verified.claims.receipt.as_ref().ok_or(Error::NotAReceipt)?;
    verified.checked.push("receipt");
    let streams = [
        (Check::Stdout, &run.stdout, &r.stdout_digest, r.stdout_len),
        (Check::Stderr, &run.stderr, &r.stderr_digest, r.stderr_len),
        (Check::Stdin, &run.stdin, &r.stdin_digest, r.stdin_len),
    ];
    for (check, want, digest, len) in streams {
        let Some(want) = want else { continue };
        if len != want.len {
            return Err(Error::Mismatch(
                check,
                format!("the receipt says {len} bytes, the file has {}", want.len),
            ));
        }
        if *digest != want.digest {
            return Err(differs(check, digest, &want.digest));
        }
        verified.checked.push(check.name());
    }
    if let Some(want) = &run.args_digest {
        if r.args_digest != *want {
            return Err(differs(Check::Args, &r.args_digest, want));
        }
        verified.checked.push(Check::Args.name());
    }
    if let Some(code) = run.exit_code {
        if r.outcome != "exited" || r.exit_code != code {
            return Err(Error::Mismatch(
                Check::Exit,
                format!(
                    "the receipt says {} with exit code {}, expected exited with {code}",
                    r.outcome, r.exit_code
                ),
            ));
        }
        verified.checked.push(Check::Exit.name());
    }
    Ok(verified)
}

fn differs(check: Check, got: &[u8], want: &[u8]) -> Error {
    Error::Mismatch(
        check,
        format!(
            "the token has {}, expected {}",
            report::hex(got),
            report::hex(want)
        ),
    )
}

/// The one component of measurement type `kind` must have measurement `want`.
fn component_is(claims: &Claims, kind: &str, check: Check, want: &Hash) -> Result<(), Error> {
    let mut found = claims
        .components
        .iter()
        .filter(|c| c.kind.as_deref() == Some(kind));
    match (found.next(), found.next()) {
        (Some(c), None) if c.measurement == want.as_slice() => Ok(()),
        (Some(c), None) => Err(differs(check, &c.measurement, want)),
        (None, _) => Err(Error::Mismatch(
            check,
            format!("the token has no {kind} software component"),
        )),
        (Some(_), Some(_)) => Err(Error::Mismatch(
            check,
            format!("the token has more than one {kind} software component"),
        )),
    }
}
