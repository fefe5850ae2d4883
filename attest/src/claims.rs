//! The claims of a tzwasm attestation token and run receipt, and their CBOR encoding.
//!
//! The token is a PSA attestation token (RFC 9783): the PSA claims with their registered keys,
//! plus tzwasm's own claims under private-use keys (below -65536, RFC 8392 section 9.1), which
//! a PSA verifier that does not know them ignores. `docs/attestation.md` has the table.
//!
//! Encoding writes one CBOR map with definite lengths, in a fixed order, into a buffer the
//! caller owns (no allocation).

use crate::Error;
use minicbor::encode::write::{Cursor, EndOfSlice};
use minicbor::Encoder;

/// Registered claim keys (EAT, RFC 9711; PSA, RFC 9783) and tzwasm's private ones.
pub mod key {
    /// EAT nonce: the verifier's challenge.
    pub const NONCE: i64 = 10;
    /// EAT UEID: the PSA instance ID.
    pub const INSTANCE_ID: i64 = 256;
    /// EAT profile.
    pub const PROFILE: i64 = 265;
    /// EAT boot seed (read by the verifier when present; tzwasm does not emit it).
    pub const BOOT_SEED: i64 = 268;
    /// PSA client ID: who asked for the token.
    pub const CLIENT_ID: i64 = 2394;
    /// PSA security lifecycle.
    pub const LIFECYCLE: i64 = 2395;
    /// PSA implementation ID.
    pub const IMPLEMENTATION_ID: i64 = 2396;
    /// PSA certification reference (read when present; tzwasm does not emit it).
    pub const CERTIFICATION_REFERENCE: i64 = 2398;
    /// PSA software components.
    pub const SOFTWARE_COMPONENTS: i64 = 2399;
    /// PSA verification service indicator (read when present; tzwasm does not emit it).
    pub const VERIFICATION_SERVICE: i64 = 2400;
    /// tzwasm: what the AOT file says of itself (a map, [`super::aot_key`]).
    pub const TZWASM_AOT: i64 = -70001;
    /// tzwasm: the session's heap quota, bytes.
    pub const TZWASM_HEAP_QUOTA: i64 = -70002;
    /// tzwasm: data the module bound into the token (`tzwasm.attest`'s `user_data`).
    pub const TZWASM_USER_DATA: i64 = -70003;
    /// tzwasm: a run receipt (a map, [`super::receipt_key`]).
    pub const TZWASM_RECEIPT: i64 = -70004;
}

/// Keys inside a software component (RFC 9783 section 4.4.1).
pub mod component_key {
    /// Measurement type (text).
    pub const MEASUREMENT_TYPE: i64 = 1;
    /// Measurement value (the hash).
    pub const MEASUREMENT_VALUE: i64 = 2;
    /// Version (text).
    pub const VERSION: i64 = 4;
    /// Signer ID (hash of the signing authority's key).
    pub const SIGNER_ID: i64 = 5;
    /// Measurement description: the hash algorithm.
    pub const MEASUREMENT_DESC: i64 = 6;
}

/// Keys inside the [`key::TZWASM_AOT`] map.
pub mod aot_key {
    /// AOT file format version (uint).
    pub const VERSION: i64 = 1;
    /// Target architecture from the file's target-info section (text).
    pub const TARGET: i64 = 2;
    /// Feature flags from the target-info section (uint).
    pub const FEATURES: i64 = 3;
    /// Bounds-check mode the code was compiled for: "hardware" or "software".
    pub const BOUNDS_CHECKS: i64 = 4;
}

/// Keys inside the [`key::TZWASM_RECEIPT`] map.
pub mod receipt_key {
    /// SHA-256 of the run's entry, arguments and environment ([`crate::receipt::args_digest`]).
    pub const ARGS_DIGEST: i64 = 1;
    /// SHA-256 of every byte the module wrote to stdout, in order.
    pub const STDOUT_DIGEST: i64 = 2;
    /// Bytes written to stdout.
    pub const STDOUT_LEN: i64 = 3;
    /// SHA-256 of every byte the module wrote to stderr, in order.
    pub const STDERR_DIGEST: i64 = 4;
    /// Bytes written to stderr.
    pub const STDERR_LEN: i64 = 5;
    /// How the run ended: "exited", "trapped" or "cancelled".
    pub const OUTCOME: i64 = 6;
    /// Exit code (uint; 0 unless "exited").
    pub const EXIT_CODE: i64 = 7;
    /// The trap's message as the run report gives it (text; empty unless "trapped").
    pub const TRAP: i64 = 8;
    /// SHA-256 of every byte the module read from stdin, in order.
    pub const STDIN_DIGEST: i64 = 9;
    /// Bytes read from stdin.
    pub const STDIN_LEN: i64 = 10;
}

/// EAT profile of a PSA token (RFC 9783 section 4.3.1).
pub const PSA_PROFILE: &str = "tag:psacertified.org,2023:psa#tfm";
/// PSA lifecycle "secured" (0x3000): a release build.
pub const LIFECYCLE_SECURED: u16 = 0x3000;
/// PSA lifecycle "non-PSA-RoT debug" (0x4000): a build that serves the test-only calls.
pub const LIFECYCLE_DEBUG: u16 = 0x4000;
/// Client ID of a token the normal world asked for (PSA: negative for non-secure callers).
pub const CLIENT_NORMAL_WORLD: i32 = -1;
/// Client ID of a token the module itself asked for (`tzwasm.attest`).
pub const CLIENT_MODULE: i32 = 1;
/// Measurement type of the firmware component.
pub const COMPONENT_FIRMWARE: &str = "BL32";
/// Measurement type of the module component.
pub const COMPONENT_MODULE: &str = "WASM-AOT";
/// Measurement description of every component: the hash algorithm (RFC 9783's example names).
pub const MEASUREMENT_DESC_SHA256: &str = "sha-256";
/// Signer ID of a component that nothing signs (tzwasm verifies no signatures at boot or LOAD;
/// the measurement is the identity).
pub const UNSIGNED: [u8; 32] = [0; 32];
/// Nonce lengths PSA allows (RFC 9783 section 4.1.1).
pub const NONCE_LENGTHS: [usize; 3] = [32, 48, 64];
/// Most user data a module may bind into a token.
pub const MAX_USER_DATA: usize = 256;

/// A SHA-256 value.
pub type Sha256Hash = [u8; 32];

/// One measured software component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component<'a> {
    /// Its measurement type ([`COMPONENT_FIRMWARE`], [`COMPONENT_MODULE`]).
    pub kind: &'a str,
    /// SHA-256 of its bytes.
    pub measurement: &'a Sha256Hash,
    /// Its version (text), if it has one.
    pub version: Option<&'a str>,
}

/// What the AOT file says of itself, as the loader read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AotInfo<'a> {
    /// AOT format version.
    pub version: u32,
    /// Target architecture.
    pub target: &'a str,
    /// Feature flags of the target-info section.
    pub features: u64,
    /// "hardware" or "software".
    pub bounds_checks: &'a str,
}

/// How a run ended, for a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// `proc_exit` or a return from `_start`/the export, with the exit code.
    Exited(u32),
    /// A trap, with the run report's message.
    Trapped(&'a str),
    /// The normal world cancelled the run.
    Cancelled,
    /// The secure world ended the run itself (e.g. its pool ran out), with the run report's
    /// message.
    Failed(&'a str),
}

/// The run a receipt describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt<'a> {
    /// [`crate::receipt::args_digest`] of the run's entry, arguments and environment.
    pub args_digest: &'a Sha256Hash,
    /// SHA-256 of stdout and its length.
    pub stdout: (&'a Sha256Hash, u64),
    /// SHA-256 of stderr and its length.
    pub stderr: (&'a Sha256Hash, u64),
    /// SHA-256 of what the module read from stdin, and its length.
    pub stdin: (&'a Sha256Hash, u64),
    /// How it ended.
    pub outcome: Outcome<'a>,
}

/// Every claim of a tzwasm token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims<'a> {
    /// The verifier's nonce: 32, 48 or 64 bytes.
    pub nonce: &'a [u8],
    /// The device's instance ID ([`crate::DeviceKeys::instance_id`]).
    pub instance_id: &'a [u8; 33],
    /// The implementation ID ([`implementation_id`]).
    pub implementation_id: &'a Sha256Hash,
    /// Who asked ([`CLIENT_NORMAL_WORLD`], [`CLIENT_MODULE`]).
    pub client_id: i32,
    /// The lifecycle state ([`LIFECYCLE_SECURED`] or [`LIFECYCLE_DEBUG`]).
    pub lifecycle: u16,
    /// The firmware component.
    pub firmware: Component<'a>,
    /// The module component.
    pub module: Component<'a>,
    /// What the AOT file says of itself.
    pub aot: AotInfo<'a>,
    /// The session's heap quota.
    pub heap_quota: u64,
    /// Data the module bound in, at most [`MAX_USER_DATA`] bytes.
    pub user_data: Option<&'a [u8]>,
    /// The run, for a receipt.
    pub receipt: Option<Receipt<'a>>,
}

/// The implementation ID of tzwasm's secure world on a given platform: SHA-256 of
/// `"tzwasm BL32 " || platform`. It names the implementation, not the build (the firmware
/// measurement does that).
pub fn implementation_id(platform: &str) -> Sha256Hash {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tzwasm BL32 ");
    h.update(platform.as_bytes());
    h.finalize().into()
}

type Enc<'b> = Encoder<Cursor<&'b mut [u8]>>;
type EncResult = Result<(), minicbor::encode::Error<EndOfSlice>>;

impl Claims<'_> {
    /// Checks what the format bounds: nonce length, user-data size.
    pub fn check(&self) -> Result<(), Error> {
        if !NONCE_LENGTHS.contains(&self.nonce.len()) {
            return Err(Error::InvalidInput);
        }
        if self.user_data.is_some_and(|d| d.len() > MAX_USER_DATA) {
            return Err(Error::InvalidInput);
        }
        Ok(())
    }

    /// Encodes the claims map into `out`; returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.check()?;
        let mut e = Encoder::new(Cursor::new(out));
        self.encode_map(&mut e).map_err(|_| Error::BufferTooSmall)?;
        Ok(e.writer().position())
    }

    fn encode_map(&self, e: &mut Enc<'_>) -> EncResult {
        let entries = 9 + u64::from(self.user_data.is_some()) + u64::from(self.receipt.is_some());
        e.map(entries)?;
        e.i64(key::PROFILE)?.str(PSA_PROFILE)?;
        e.i64(key::CLIENT_ID)?.i64(self.client_id.into())?;
        e.i64(key::LIFECYCLE)?.u32(self.lifecycle.into())?;
        e.i64(key::IMPLEMENTATION_ID)?
            .bytes(self.implementation_id)?;
        e.i64(key::INSTANCE_ID)?.bytes(self.instance_id)?;
        e.i64(key::NONCE)?.bytes(self.nonce)?;
        e.i64(key::SOFTWARE_COMPONENTS)?.array(2)?;
        encode_component(e, &self.firmware)?;
        encode_component(e, &self.module)?;
        e.i64(key::TZWASM_AOT)?.map(4)?;
        e.i64(aot_key::VERSION)?.u32(self.aot.version)?;
        e.i64(aot_key::TARGET)?.str(self.aot.target)?;
        e.i64(aot_key::FEATURES)?.u64(self.aot.features)?;
        e.i64(aot_key::BOUNDS_CHECKS)?.str(self.aot.bounds_checks)?;
        e.i64(key::TZWASM_HEAP_QUOTA)?.u64(self.heap_quota)?;
        if let Some(data) = self.user_data {
            e.i64(key::TZWASM_USER_DATA)?.bytes(data)?;
        }
        if let Some(r) = &self.receipt {
            encode_receipt(e, r)?;
        }
        Ok(())
    }
}

fn encode_component(e: &mut Enc<'_>, c: &Component<'_>) -> EncResult {
    e.map(4 + u64::from(c.version.is_some()))?;
    e.i64(component_key::MEASUREMENT_TYPE)?.str(c.kind)?;
    e.i64(component_key::MEASUREMENT_VALUE)?
        .bytes(c.measurement)?;
    if let Some(v) = c.version {
        e.i64(component_key::VERSION)?.str(v)?;
    }
    e.i64(component_key::SIGNER_ID)?.bytes(&UNSIGNED)?;
    e.i64(component_key::MEASUREMENT_DESC)?
        .str(MEASUREMENT_DESC_SHA256)?;
    Ok(())
}

fn encode_receipt(e: &mut Enc<'_>, r: &Receipt<'_>) -> EncResult {
    let (outcome, code, trap) = match r.outcome {
        Outcome::Exited(code) => ("exited", code, ""),
        Outcome::Trapped(message) => ("trapped", 0, message),
        Outcome::Cancelled => ("cancelled", 0, ""),
        Outcome::Failed(message) => ("failed", 0, message),
    };
    e.i64(key::TZWASM_RECEIPT)?.map(10)?;
    e.i64(receipt_key::ARGS_DIGEST)?.bytes(r.args_digest)?;
    e.i64(receipt_key::STDOUT_DIGEST)?.bytes(r.stdout.0)?;
    e.i64(receipt_key::STDOUT_LEN)?.u64(r.stdout.1)?;
    e.i64(receipt_key::STDERR_DIGEST)?.bytes(r.stderr.0)?;
    e.i64(receipt_key::STDERR_LEN)?.u64(r.stderr.1)?;
    e.i64(receipt_key::OUTCOME)?.str(outcome)?;
    e.i64(receipt_key::EXIT_CODE)?.u32(code)?;
    e.i64(receipt_key::TRAP)?.str(trap)?;
    e.i64(receipt_key::STDIN_DIGEST)?.bytes(r.stdin.0)?;
    e.i64(receipt_key::STDIN_LEN)?.u64(r.stdin.1)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ciborium::value::Value;

    pub(crate) const FW: Sha256Hash = [0xf1; 32];
    pub(crate) const MODULE: Sha256Hash = [0xa0; 32];
    pub(crate) const INSTANCE: [u8; 33] = [0x01; 33];
    pub(crate) const IMPL: Sha256Hash = [0x1d; 32];

    pub(crate) fn sample<'a>(nonce: &'a [u8], receipt: Option<Receipt<'a>>) -> Claims<'a> {
        Claims {
            nonce,
            instance_id: &INSTANCE,
            implementation_id: &IMPL,
            client_id: CLIENT_NORMAL_WORLD,
            lifecycle: LIFECYCLE_SECURED,
            firmware: Component {
                kind: COMPONENT_FIRMWARE,
                measurement: &FW,
                version: Some("0.1.0"),
            },
            module: Component {
                kind: COMPONENT_MODULE,
                measurement: &MODULE,
                version: None,
            },
            aot: AotInfo {
                version: 6,
                target: "aarch64",
                features: 0,
                bounds_checks: "hardware",
            },
            heap_quota: 1 << 20,
            user_data: None,
            receipt,
        }
    }

    fn get(map: &[(Value, Value)], k: i64) -> &Value {
        map.iter()
            .find(|(key, _)| key.as_integer() == Some(k.into()))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("claim {k} missing"))
    }

    #[test]
    fn ciborium_reads_what_we_write() {
        let nonce = [9u8; 32];
        let mut buf = [0u8; 1024];
        let n = sample(&nonce, None).encode(&mut buf).unwrap();
        let v: Value = ciborium::de::from_reader(&buf[..n]).unwrap();
        let map = v.as_map().unwrap();
        assert_eq!(map.len(), 9);
        assert_eq!(get(map, key::NONCE).as_bytes().unwrap(), &nonce);
        assert_eq!(get(map, key::PROFILE).as_text().unwrap(), PSA_PROFILE);
        assert_eq!(get(map, key::CLIENT_ID).as_integer().unwrap(), (-1).into());
        assert_eq!(
            get(map, key::LIFECYCLE).as_integer().unwrap(),
            0x3000.into()
        );
        let sw = get(map, key::SOFTWARE_COMPONENTS).as_array().unwrap();
        assert_eq!(sw.len(), 2);
        let m = sw[1].as_map().unwrap();
        assert_eq!(
            get(m, component_key::MEASUREMENT_TYPE).as_text().unwrap(),
            "WASM-AOT"
        );
        assert_eq!(
            get(m, component_key::MEASUREMENT_VALUE).as_bytes().unwrap(),
            &MODULE
        );
        let aot = get(map, key::TZWASM_AOT).as_map().unwrap();
        assert_eq!(
            get(aot, aot_key::BOUNDS_CHECKS).as_text().unwrap(),
            "hardware"
        );
        assert_eq!(
            get(map, key::TZWASM_HEAP_QUOTA).as_integer().unwrap(),
            (1 << 20).into()
        );
    }

    #[test]
    fn receipt_and_user_data_are_encoded() {
        let nonce = [9u8; 64];
        let (args, out, err) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let r = Receipt {
            args_digest: &args,
            stdout: (&out, 10),
            stderr: (&err, 0),
            stdin: (&err, 3),
            outcome: Outcome::Trapped("integer divide by zero"),
        };
        let mut claims = sample(&nonce, Some(r));
        claims.user_data = Some(b"key");
        let mut buf = [0u8; 1024];
        let n = claims.encode(&mut buf).unwrap();
        let v: Value = ciborium::de::from_reader(&buf[..n]).unwrap();
        let map = v.as_map().unwrap();
        assert_eq!(map.len(), 11);
        assert_eq!(get(map, key::TZWASM_USER_DATA).as_bytes().unwrap(), b"key");
        let rc = get(map, key::TZWASM_RECEIPT).as_map().unwrap();
        assert_eq!(get(rc, receipt_key::OUTCOME).as_text().unwrap(), "trapped");
        assert_eq!(
            get(rc, receipt_key::TRAP).as_text().unwrap(),
            "integer divide by zero"
        );
        assert_eq!(
            get(rc, receipt_key::STDOUT_LEN).as_integer().unwrap(),
            10.into()
        );
    }

    #[test]
    fn bounds_are_checked() {
        let mut buf = [0u8; 1024];
        for len in [0, 16, 31, 33, 65] {
            let nonce = vec![0u8; len];
            assert_eq!(
                sample(&nonce, None).encode(&mut buf),
                Err(Error::InvalidInput)
            );
        }
        let nonce = [0u8; 48];
        let big = [0u8; MAX_USER_DATA + 1];
        let mut c = sample(&nonce, None);
        c.user_data = Some(&big);
        assert_eq!(c.encode(&mut buf), Err(Error::InvalidInput));
        c.user_data = Some(&big[..MAX_USER_DATA]);
        assert!(c.encode(&mut buf).is_ok());
        // Every buffer shorter than the encoding fails cleanly.
        let n = sample(&nonce, None).encode(&mut buf).unwrap();
        for short in 0..n {
            let mut small = vec![0u8; short];
            assert_eq!(
                sample(&nonce, None).encode(&mut small),
                Err(Error::BufferTooSmall)
            );
        }
    }
}
