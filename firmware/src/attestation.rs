//! Attestation tokens and run receipts for loaded modules: the claims gathered from the
//! device's identity ([`tzwasm_firmware::identity`]), the module's LOAD and (for a receipt,
//! [`RunReceipt`]) its run, signed with `tzwasm-attest` into a buffer on the serving CPU's
//! stack (no allocation: the normal world and modules reach this).

use tzwasm_aot_loader::module::AotModule;
use tzwasm_aot_loader::wasi::Errno;
use tzwasm_attest::claims::{
    implementation_id, AotInfo, Claims, Component, Outcome, Receipt, Sha256Hash,
    COMPONENT_FIRMWARE, COMPONENT_MODULE, LIFECYCLE_DEBUG, LIFECYCLE_SECURED,
};
use tzwasm_attest::cose::{sign_claims, MAX_TOKEN_LEN};
use tzwasm_attest::receipt::{args_digest, StreamDigest};
use tzwasm_firmware::identity;
use tzwasm_smc::session::{RunBlock, RunReport};
use tzwasm_smc::Status;

/// The platform named by the implementation ID.
pub const PLATFORM: &str = "qemu-virt";
/// The AOT format version every loaded module has (the loader accepts no other).
const AOT_VERSION: u32 = 6;

/// Longest target name a token carries (wamrc writes e.g. "aarch64v8").
const MAX_TARGET: usize = 32;

/// What a token says about one loaded module, copied out of its LOAD (no allocation, no
/// borrow of the module).
#[derive(Clone, Copy)]
pub struct ModuleEvidence {
    /// SHA-256 of the file as LOAD copied it.
    pub measurement: [u8; 32],
    target: [u8; MAX_TARGET],
    target_len: usize,
    features: u64,
    bounds_checks: &'static str,
    /// The session's heap quota.
    pub heap_quota: u64,
}

impl ModuleEvidence {
    /// The facts of `module`, measured as `measurement`, in a session of `heap_quota`.
    pub fn new(measurement: [u8; 32], module: &AotModule, heap_quota: u64) -> Self {
        let name = module.target.arch_name.as_bytes();
        // The parser accepts only the aarch64 names (ASCII, short); a longer one is cut at a
        // character boundary of its ASCII prefix.
        let target_len = name.len().min(MAX_TARGET);
        let mut target = [0u8; MAX_TARGET];
        if let (Some(dst), Some(src)) = (target.get_mut(..target_len), name.get(..target_len)) {
            dst.copy_from_slice(src);
        }
        ModuleEvidence {
            measurement,
            target,
            target_len,
            features: module.target.feature_flags,
            bounds_checks: bounds_checks(module),
            heap_quota,
        }
    }

    fn target(&self) -> &str {
        let bytes = self.target.get(..self.target_len).unwrap_or_default();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

/// Bounds-check mode the code was compiled for, as far as the file shows it: wamrc emits the
/// `.aot_stack_sizes` table only with stack bounds checks, which follow `--bounds-checks`
/// unless given separately (docs/attestation.md).
pub fn bounds_checks(module: &AotModule) -> &'static str {
    if module
        .data_sections
        .iter()
        .any(|s| s.name == ".aot_stack_sizes")
    {
        "software"
    } else {
        "hardware"
    }
}

/// A signed token: its bytes are `bytes[..len]`.
pub struct Token {
    /// The buffer.
    pub bytes: [u8; MAX_TOKEN_LEN],
    /// Bytes used.
    pub len: usize,
}

impl Token {
    /// The token.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Signs a token for `ev` with `nonce` (32, 48 or 64 bytes). NOT_SUPPORTED without a device
/// identity; INVALID_PARAMETER for a nonce or user data the format refuses.
pub fn sign(
    ev: &ModuleEvidence,
    nonce: &[u8],
    client_id: i32,
    user_data: Option<&[u8]>,
    receipt: Option<Receipt<'_>>,
) -> Result<Token, Status> {
    let id = identity::get().ok_or(Status::NotSupported)?;
    let implementation = implementation_id(PLATFORM);
    let claims = Claims {
        nonce,
        instance_id: id.keys.instance_id(),
        implementation_id: &implementation,
        client_id,
        lifecycle: if cfg!(feature = "test-hooks") {
            LIFECYCLE_DEBUG
        } else {
            LIFECYCLE_SECURED
        },
        firmware: Component {
            kind: COMPONENT_FIRMWARE,
            measurement: &id.firmware,
            version: Some(env!("CARGO_PKG_VERSION")),
        },
        module: Component {
            kind: COMPONENT_MODULE,
            measurement: &ev.measurement,
            version: None,
        },
        aot: AotInfo {
            version: AOT_VERSION,
            target: ev.target(),
            features: ev.features,
            bounds_checks: ev.bounds_checks,
        },
        heap_quota: ev.heap_quota,
        user_data,
        receipt,
    };
    let mut token = Token {
        bytes: [0; MAX_TOKEN_LEN],
        len: 0,
    };
    token.len = sign_claims(&id.keys, &claims, &mut token.bytes).map_err(|e| match e {
        tzwasm_attest::Error::InvalidInput => Status::InvalidParameter,
        _ => Status::Internal,
    })?;
    Ok(token)
}

/// What a run with a receipt keeps until RECEIPT signs it: the nonce and the args digest from
/// its RUN block, and once it ended, the output digests and how it ended (no output, no
/// allocation beyond this record, which RUN charges to the session).
pub struct RunReceipt {
    nonce: [u8; 64],
    nonce_len: usize,
    args_digest: Sha256Hash,
    end: Option<RunEnd>,
}

/// The end of a run, for its receipt.
struct RunEnd {
    /// stdout, stderr, stdin.
    streams: [(Sha256Hash, u64); 3],
    report: RunReport,
}

impl RunReceipt {
    /// The record of a run started from `block`, if the block asked for a receipt.
    pub fn of(block: &RunBlock<'_>) -> Option<Self> {
        let wanted = block.receipt_nonce()?;
        let mut nonce = [0u8; 64];
        nonce.get_mut(..wanted.len())?.copy_from_slice(wanted);
        Some(RunReceipt {
            nonce,
            nonce_len: wanted.len(),
            args_digest: args_digest(
                block.entry_bytes(),
                ExactArgs(block.args()),
                ExactArgs(block.env()),
            ),
            end: None,
        })
    }

    /// The run ended with `report`, its streams hashed as `digests` (stdout, stderr).
    /// `digests` are stdout, stderr and stdin.
    pub fn end(&mut self, report: &RunReport, digests: Option<&[StreamDigest; 3]>) {
        let d = |s: Option<&StreamDigest>| s.map_or(([0; 32], 0), |s| (s.digest(), s.len()));
        let streams = match digests {
            Some([out, err, input]) => [d(Some(out)), d(Some(err)), d(Some(input))],
            None => [d(None), d(None), d(None)],
        };
        self.end = Some(RunEnd {
            streams,
            report: *report,
        });
    }

    /// Signs the receipt (client ID -1: asked by the normal world); BAD_STATE before the run
    /// ended.
    pub fn sign(&self, ev: &ModuleEvidence) -> Result<Token, Status> {
        let end = self.end.as_ref().ok_or(Status::BadState)?;
        let r = &end.report;
        let outcome = match Status::from_raw(r.status as i64 as u64) {
            Some(Status::Success) => Outcome::Exited(r.exit_code),
            Some(Status::Trapped) => Outcome::Trapped(r.message()),
            Some(Status::Cancelled) => Outcome::Cancelled,
            _ => Outcome::Failed(r.message()),
        };
        let [out, err, input] = &end.streams;
        let receipt = Receipt {
            args_digest: &self.args_digest,
            stdout: (&out.0, out.1),
            stderr: (&err.0, err.1),
            stdin: (&input.0, input.1),
            outcome,
        };
        let nonce = self.nonce.get(..self.nonce_len).unwrap_or_default();
        sign(
            ev,
            nonce,
            tzwasm_attest::claims::CLIENT_NORMAL_WORLD,
            None,
            Some(receipt),
        )
    }
}

/// A RUN block's strings with their count, as [`args_digest`] takes them.
struct ExactArgs<I>(I);

impl<'a, I: Iterator<Item = &'a [u8]> + Clone> Iterator for ExactArgs<I> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.clone().count();
        (n, Some(n))
    }
}

impl<'a, I: Iterator<Item = &'a [u8]> + Clone> ExactSizeIterator for ExactArgs<I> {}

/// The `tzwasm` import module's services for one instance ([`tzwasm_firmware::tee_imports`]):
/// tokens with client ID 1 (asked by the module), sealing under the module's measurement with
/// nonces from the payload's DRBG.
pub struct ModuleServices<'a> {
    /// The instance's evidence.
    pub evidence: &'a ModuleEvidence,
}

impl tzwasm_firmware::tee_imports::TeeServices for ModuleServices<'_> {
    fn attest(
        &mut self,
        nonce: &[u8],
        user_data: &[u8],
        out: &mut [u8; MAX_TOKEN_LEN],
    ) -> Result<usize, Errno> {
        let token = sign(
            self.evidence,
            nonce,
            tzwasm_attest::claims::CLIENT_MODULE,
            Some(user_data),
            None,
        )
        .map_err(|s| match s {
            Status::NotSupported => Errno::NOTSUP,
            _ => Errno::INVAL,
        })?;
        out.copy_from_slice(&token.bytes);
        Ok(token.len)
    }

    fn seal_in_place(&mut self, blob: &mut [u8]) -> Result<(), Errno> {
        let id = identity::get().ok_or(Errno::NOTSUP)?;
        let mut nonce = [0u8; tzwasm_attest::seal::NONCE_LEN];
        crate::platform::random(&mut nonce);
        tzwasm_attest::seal::seal_in_place(&id.keys, &self.evidence.measurement, &nonce, blob)
            .map_err(|_| Errno::INVAL)
    }

    fn unseal_in_place(
        &mut self,
        head: &[u8; tzwasm_attest::seal::HEADER_LEN],
        tag: &[u8; tzwasm_attest::seal::TAG_LEN],
        data: &mut [u8],
    ) -> Result<(), Errno> {
        let Some(id) = identity::get() else {
            data.fill(0);
            return Err(Errno::NOTSUP);
        };
        tzwasm_attest::seal::unseal_in_place(&id.keys, &self.evidence.measurement, head, tag, data)
            .map_err(|_| Errno::BADMSG)
    }
}
