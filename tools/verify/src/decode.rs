//! Decoding a token: the COSE_Sign1 envelope with `coset`, the claims map with `ciborium`.
//!
//! This is the verifier's own reading of the formats (RFC 9052 for the envelope, RFC 9783 for
//! the PSA claims, `docs/attestation.md` for tzwasm's private claims). It shares nothing with
//! `tzwasm-attest`'s encoder but the claim-key numbers, so a bug in one shows up as a
//! disagreement with the other.
//!
//! A mandatory PSA claim that is missing, of the wrong CBOR type or outside the length the RFC
//! gives is [`Error::Malformed`]; so is a duplicate map key and anything after the claims map.
//! Claims this module does not know are kept, in order, and printed, never rejected.

use crate::Error;
use ciborium::value::Value;
use coset::{iana, Algorithm, CoseSign1, TaggedCborSerializable};
use std::collections::HashSet;
use tzwasm_attest::claims::{aot_key, component_key, key, receipt_key};

/// Largest token or receipt file the verifier reads (tzwasm's are below 2 KiB).
pub const MAX_TOKEN_FILE: usize = 1 << 20;
/// Nonce lengths RFC 9783 allows.
pub const NONCE_LENGTHS: [usize; 3] = [32, 48, 64];
/// Length of a PSA instance ID: the UEID type byte 0x01 (RAND) and 32 bytes.
pub const INSTANCE_ID_LEN: usize = 33;
/// Length of a PSA implementation ID.
pub const IMPLEMENTATION_ID_LEN: usize = 32;

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// Claims that are not known, as (key, value) pairs in token order.
pub type Unknown = Vec<(Value, Value)>;

/// One software component (RFC 9783 section 4.4.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Measurement type, e.g. "BL32", "WASM-AOT", "PRoT".
    pub kind: Option<String>,
    /// Measurement value.
    pub measurement: Vec<u8>,
    /// Version.
    pub version: Option<String>,
    /// Signer ID.
    pub signer_id: Option<Vec<u8>>,
    /// Measurement description (the hash algorithm).
    pub description: Option<String>,
    /// Entries this verifier does not know.
    pub unknown: Unknown,
}

/// tzwasm's AOT claim: what the module's file says of itself.
#[derive(Debug, Clone, PartialEq)]
pub struct AotInfo {
    /// AOT format version.
    pub version: u64,
    /// Target architecture.
    pub target: String,
    /// Feature flags of the target-info section.
    pub features: u64,
    /// "hardware" or "software".
    pub bounds_checks: String,
    /// Entries this verifier does not know.
    pub unknown: Unknown,
}

/// tzwasm's receipt claim: what a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Digest of the entry, argv and environment (`tzwasm_attest::receipt::args_digest`).
    pub args_digest: Hash,
    /// SHA-256 of stdout.
    pub stdout_digest: Hash,
    /// Bytes written to stdout.
    pub stdout_len: u64,
    /// SHA-256 of stderr.
    pub stderr_digest: Hash,
    /// Bytes written to stderr.
    pub stderr_len: u64,
    /// "exited", "trapped" or "cancelled".
    pub outcome: String,
    /// The exit code.
    pub exit_code: u64,
    /// The trap message (empty unless trapped).
    pub trap: String,
    /// SHA-256 of what the module read from stdin.
    pub stdin_digest: Hash,
    /// Bytes read from stdin.
    pub stdin_len: u64,
    /// Entries this verifier does not know.
    pub unknown: Unknown,
}

/// Every claim of a PSA token, tzwasm's private ones included.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// EAT profile.
    pub profile: Option<String>,
    /// PSA client ID.
    pub client_id: i32,
    /// PSA security lifecycle.
    pub lifecycle: u16,
    /// PSA implementation ID.
    pub implementation_id: Vec<u8>,
    /// PSA instance ID (UEID).
    pub instance_id: Vec<u8>,
    /// The verifier's nonce.
    pub nonce: Vec<u8>,
    /// EAT boot seed.
    pub boot_seed: Option<Vec<u8>>,
    /// PSA certification reference.
    pub certification_reference: Option<String>,
    /// PSA verification service indicator.
    pub verification_service: Option<String>,
    /// The software components.
    pub components: Vec<Component>,
    /// tzwasm: the AOT file's own description.
    pub aot: Option<AotInfo>,
    /// tzwasm: the session's heap quota.
    pub heap_quota: Option<u64>,
    /// tzwasm: data the module bound in.
    pub user_data: Option<Vec<u8>>,
    /// tzwasm: the run receipt.
    pub receipt: Option<Receipt>,
    /// Claims this verifier does not know.
    pub unknown: Unknown,
}

/// A decoded envelope: the parsed COSE_Sign1 and its (attached) payload.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The message as `coset` parsed it.
    pub message: CoseSign1,
    /// The payload: the claims' CBOR.
    pub payload: Vec<u8>,
}

fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}

/// Parses a tagged COSE_Sign1 (tag 18) with an attached payload and no critical headers this
/// verifier would have to understand.
pub fn envelope(bytes: &[u8]) -> Result<Envelope, Error> {
    if bytes.len() > MAX_TOKEN_FILE {
        return Err(malformed(format!(
            "{} bytes, more than a token can be ({MAX_TOKEN_FILE})",
            bytes.len()
        )));
    }
    let message = CoseSign1::from_tagged_slice(bytes)
        .map_err(|e| malformed(format!("not a tagged COSE_Sign1: {e}")))?;
    if !message.protected.header.crit.is_empty() {
        return Err(malformed(
            "critical header parameters this verifier does not know",
        ));
    }
    let payload = message
        .payload
        .clone()
        .ok_or_else(|| malformed("detached payload"))?;
    Ok(Envelope { message, payload })
}

/// The algorithm the protected header names, checked to be ES256.
pub fn check_algorithm(message: &CoseSign1) -> Result<(), Error> {
    match &message.protected.header.alg {
        Some(Algorithm::Assigned(iana::Algorithm::ES256)) => Ok(()),
        Some(other) => Err(Error::Algorithm(algorithm_name(other))),
        None => Err(Error::Algorithm("none in the protected header".into())),
    }
}

/// A readable name of a COSE algorithm.
pub fn algorithm_name(alg: &Algorithm) -> String {
    match alg {
        Algorithm::Assigned(a) => format!("{a:?} ({})", *a as i64),
        Algorithm::PrivateUse(n) => format!("private {n}"),
        Algorithm::Text(t) => format!("{t:?}"),
    }
}

/// The entries of one CBOR map, taken out one key at a time.
struct Fields {
    entries: Vec<(Value, Value)>,
    what: &'static str,
}

impl Fields {
    /// Checks that no key appears twice (RFC 8949 section 5.6: such a map is invalid).
    fn new(value: Value, what: &'static str) -> Result<Self, Error> {
        let Value::Map(entries) = value else {
            return Err(malformed(format!("{what} is not a map")));
        };
        let mut seen = HashSet::with_capacity(entries.len());
        for (k, _) in &entries {
            let mut encoded = Vec::new();
            ciborium::ser::into_writer(k, &mut encoded)
                .map_err(|e| malformed(format!("{what}: key cannot be re-encoded: {e}")))?;
            if !seen.insert(encoded) {
                return Err(malformed(format!(
                    "{what}: key {} appears twice",
                    crate::report::diag(k)
                )));
            }
        }
        Ok(Fields { entries, what })
    }

    /// Removes and returns the value of integer key `k`.
    fn take(&mut self, k: i64) -> Option<Value> {
        let at = self
            .entries
            .iter()
            .position(|(key, _)| key.as_integer() == Some(k.into()))?;
        Some(self.entries.remove(at).1)
    }

    /// Like [`Fields::take`], the key being mandatory.
    fn need(&mut self, k: i64, name: &str) -> Result<Value, Error> {
        self.take(k)
            .ok_or_else(|| malformed(format!("{}: {name} ({k}) missing", self.what)))
    }
}

fn bytes(v: Value, name: &str) -> Result<Vec<u8>, Error> {
    match v {
        Value::Bytes(b) => Ok(b),
        other => Err(wrong_type(name, "a byte string", &other)),
    }
}

fn text(v: Value, name: &str) -> Result<String, Error> {
    match v {
        Value::Text(t) => Ok(t),
        other => Err(wrong_type(name, "a text string", &other)),
    }
}

fn integer(v: &Value, name: &str) -> Result<i128, Error> {
    match v {
        Value::Integer(i) => Ok(i128::from(*i)),
        other => Err(wrong_type(name, "an integer", other)),
    }
}

fn uint(v: Value, name: &str) -> Result<u64, Error> {
    let i = integer(&v, name)?;
    u64::try_from(i).map_err(|_| malformed(format!("{name} is {i}, not an unsigned integer")))
}

fn hash(v: Value, name: &str) -> Result<Hash, Error> {
    let b = bytes(v, name)?;
    let len = b.len();
    Hash::try_from(b).map_err(|_| malformed(format!("{name} is {len} bytes, not 32")))
}

fn wrong_type(name: &str, want: &str, got: &Value) -> Error {
    malformed(format!(
        "{name} is not {want}: {}",
        crate::report::diag_short(got)
    ))
}

fn opt<T>(v: Option<Value>, f: impl FnOnce(Value) -> Result<T, Error>) -> Result<Option<T>, Error> {
    v.map(f).transpose()
}

/// Decodes the claims map: exactly one CBOR item, a map.
pub fn claims(payload: &[u8]) -> Result<Claims, Error> {
    let mut rest = payload;
    let value: Value = ciborium::de::from_reader(&mut rest)
        .map_err(|e| malformed(format!("claims are not CBOR: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the claims map",
            rest.len()
        )));
    }
    let mut m = Fields::new(value, "claims")?;

    let nonce = bytes(m.need(key::NONCE, "nonce")?, "nonce")?;
    if !NONCE_LENGTHS.contains(&nonce.len()) {
        return Err(malformed(format!(
            "nonce is {} bytes, not 32, 48 or 64",
            nonce.len()
        )));
    }
    let instance_id = bytes(m.need(key::INSTANCE_ID, "instance ID")?, "instance ID")?;
    if instance_id.len() != INSTANCE_ID_LEN || instance_id.first() != Some(&0x01) {
        return Err(malformed(format!(
            "instance ID is not 0x01 and 32 bytes ({} bytes)",
            instance_id.len()
        )));
    }
    let implementation_id = bytes(
        m.need(key::IMPLEMENTATION_ID, "implementation ID")?,
        "implementation ID",
    )?;
    if implementation_id.len() != IMPLEMENTATION_ID_LEN {
        return Err(malformed(format!(
            "implementation ID is {} bytes, not 32",
            implementation_id.len()
        )));
    }
    let client = m.need(key::CLIENT_ID, "client ID")?;
    let client = integer(&client, "client ID")?;
    let client_id = i32::try_from(client)
        .map_err(|_| malformed(format!("client ID {client} is outside int32")))?;
    let lifecycle = uint(
        m.need(key::LIFECYCLE, "security lifecycle")?,
        "security lifecycle",
    )?;
    let lifecycle = u16::try_from(lifecycle)
        .map_err(|_| malformed(format!("security lifecycle {lifecycle} is above 0xffff")))?;
    let components = match m.need(key::SOFTWARE_COMPONENTS, "software components")? {
        Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .map(component)
            .collect::<Result<Vec<_>, _>>()?,
        Value::Array(_) => return Err(malformed("software components are empty")),
        other => return Err(wrong_type("software components", "an array", &other)),
    };
    let profile = opt(m.take(key::PROFILE), |v| text(v, "profile"))?;
    let boot_seed = opt(m.take(key::BOOT_SEED), |v| bytes(v, "boot seed"))?;
    let certification_reference = opt(m.take(key::CERTIFICATION_REFERENCE), |v| {
        text(v, "certification reference")
    })?;
    let verification_service = opt(m.take(key::VERIFICATION_SERVICE), |v| {
        text(v, "verification service")
    })?;
    let aot = opt(m.take(key::TZWASM_AOT), aot)?;
    let heap_quota = opt(m.take(key::TZWASM_HEAP_QUOTA), |v| uint(v, "heap quota"))?;
    let user_data = opt(m.take(key::TZWASM_USER_DATA), |v| bytes(v, "user data"))?;
    let receipt = opt(m.take(key::TZWASM_RECEIPT), receipt)?;
    Ok(Claims {
        profile,
        client_id,
        lifecycle,
        implementation_id,
        instance_id,
        nonce,
        boot_seed,
        certification_reference,
        verification_service,
        components,
        aot,
        heap_quota,
        user_data,
        receipt,
        unknown: m.entries,
    })
}

fn component(v: Value) -> Result<Component, Error> {
    let mut m = Fields::new(v, "software component")?;
    let measurement = bytes(
        m.need(component_key::MEASUREMENT_VALUE, "measurement value")?,
        "measurement value",
    )?;
    Ok(Component {
        kind: opt(m.take(component_key::MEASUREMENT_TYPE), |v| {
            text(v, "measurement type")
        })?,
        measurement,
        version: opt(m.take(component_key::VERSION), |v| text(v, "version"))?,
        signer_id: opt(m.take(component_key::SIGNER_ID), |v| bytes(v, "signer ID"))?,
        description: opt(m.take(component_key::MEASUREMENT_DESC), |v| {
            text(v, "measurement description")
        })?,
        unknown: m.entries,
    })
}

fn aot(v: Value) -> Result<AotInfo, Error> {
    let mut m = Fields::new(v, "tzwasm AOT claim")?;
    Ok(AotInfo {
        version: uint(m.need(aot_key::VERSION, "AOT version")?, "AOT version")?,
        target: text(m.need(aot_key::TARGET, "AOT target")?, "AOT target")?,
        features: uint(m.need(aot_key::FEATURES, "AOT features")?, "AOT features")?,
        bounds_checks: text(
            m.need(aot_key::BOUNDS_CHECKS, "bounds checks")?,
            "bounds checks",
        )?,
        unknown: m.entries,
    })
}

fn receipt(v: Value) -> Result<Receipt, Error> {
    let mut m = Fields::new(v, "tzwasm receipt claim")?;
    Ok(Receipt {
        args_digest: hash(
            m.need(receipt_key::ARGS_DIGEST, "args digest")?,
            "args digest",
        )?,
        stdout_digest: hash(
            m.need(receipt_key::STDOUT_DIGEST, "stdout digest")?,
            "stdout digest",
        )?,
        stdout_len: uint(
            m.need(receipt_key::STDOUT_LEN, "stdout length")?,
            "stdout length",
        )?,
        stderr_digest: hash(
            m.need(receipt_key::STDERR_DIGEST, "stderr digest")?,
            "stderr digest",
        )?,
        stderr_len: uint(
            m.need(receipt_key::STDERR_LEN, "stderr length")?,
            "stderr length",
        )?,
        outcome: text(m.need(receipt_key::OUTCOME, "outcome")?, "outcome")?,
        exit_code: uint(m.need(receipt_key::EXIT_CODE, "exit code")?, "exit code")?,
        trap: text(m.need(receipt_key::TRAP, "trap")?, "trap")?,
        stdin_digest: hash(
            m.need(receipt_key::STDIN_DIGEST, "stdin digest")?,
            "stdin digest",
        )?,
        stdin_len: uint(
            m.need(receipt_key::STDIN_LEN, "stdin length")?,
            "stdin length",
        )?,
        unknown: m.entries,
    })
}
