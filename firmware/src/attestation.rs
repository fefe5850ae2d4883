//! Attestation tokens for loaded modules: the claims gathered from the device's identity
//! ([`tzwasm_firmware::identity`]) and the module's LOAD, signed with `tzwasm-attest` into a
//! buffer on the serving CPU's stack (no allocation: the normal world and modules reach this).

use tzwasm_aot_loader::module::AotModule;
use tzwasm_attest::claims::{
    implementation_id, AotInfo, Claims, Component, Receipt, COMPONENT_FIRMWARE, COMPONENT_MODULE,
    LIFECYCLE_DEBUG, LIFECYCLE_SECURED,
};
use tzwasm_attest::cose::{sign_claims, MAX_TOKEN_LEN};
use tzwasm_firmware::identity;
use tzwasm_smc::Status;

/// The platform named by the implementation ID.
pub const PLATFORM: &str = "qemu-virt";
/// The AOT format version every loaded module has (the loader accepts no other).
const AOT_VERSION: u32 = 6;

/// What a token says about one loaded module.
pub struct ModuleEvidence<'a> {
    /// SHA-256 of the file as LOAD copied it.
    pub measurement: &'a [u8; 32],
    /// The parsed module (target info, sections).
    pub module: &'a AotModule,
    /// The session's heap quota.
    pub heap_quota: u64,
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
    ev: &ModuleEvidence<'_>,
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
            measurement: ev.measurement,
            version: None,
        },
        aot: AotInfo {
            version: AOT_VERSION,
            target: &ev.module.target.arch_name,
            features: ev.module.target.feature_flags,
            bounds_checks: bounds_checks(ev.module),
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
