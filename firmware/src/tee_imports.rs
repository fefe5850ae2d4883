//! The `tzwasm` import module: what a module calls to attest itself and to seal data.
//!
//! ```text
//! (import "tzwasm" "attest" (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
//!     nonce, nonce_len, user_data, user_data_len, token, token_cap, token_len_out
//! (import "tzwasm" "seal"   (func (param i32 i32 i32 i32 i32) (result i32)))
//!     data, data_len, blob, blob_cap, blob_len_out
//! (import "tzwasm" "unseal" (func (param i32 i32 i32 i32 i32) (result i32)))
//!     blob, blob_len, data, data_cap, data_len_out
//! ```
//!
//! Every function returns a WASI errno (0 on success) and writes the length of what it
//! produced as a little-endian u32 at `*_len_out`. The checks, in order, before anything is
//! written:
//! 1. lengths: a nonce of 32, 48 or 64 bytes, user data of at most 256 bytes, data of at most
//!    [`MAX_SEAL_DATA`] bytes to seal, a blob of at most that plus the overhead to open
//!    (`INVAL`); a blob shorter than the overhead cannot be one (`BADMSG`);
//! 2. every range against the module's memory with checked arithmetic, the 4-byte length
//!    output included (`FAULT`);
//! 3. no output range overlapping an input or the length output (`INVAL`);
//! 4. the output's capacity: too small writes the length needed to `*_len_out` and returns
//!    `NOBUFS`, so the module can retry with a larger buffer;
//! 5. the action: `NOTSUP` when the device has no identity; `unseal` of a blob that was
//!    changed, truncated or sealed by another module or device returns `BADMSG`, and its data
//!    buffer is zeroed (no plaintext is ever returned from a bad blob).
//!
//! Sealing works in the module's memory in place (data copied into the blob buffer, then
//! encrypted there; the ciphertext copied into the data buffer, then decrypted there), so
//! nothing is allocated. The crypto is behind [`TeeServices`]: the firmware's implementation
//! uses the device identity and the module's measurement; the host tests use a fake.

use tzwasm_aot_loader::module::{FuncType, ValType};
use tzwasm_aot_loader::wasi::{Errno, GuestMemory};
use tzwasm_attest::claims::MAX_USER_DATA;
use tzwasm_attest::cose::MAX_TOKEN_LEN;
use tzwasm_attest::seal::{HEADER_LEN, OVERHEAD, TAG_LEN};

/// The import module's name.
pub const MODULE: &str = "tzwasm";
/// Most bytes one `seal` call takes (one bounded piece of work with interrupts masked: about
/// 2 ms of XChaCha20-Poly1305 under QEMU TCG).
pub const MAX_SEAL_DATA: u32 = 64 << 10;
/// Bytes of the length output.
const LEN_OUT: u32 = 4;

/// The functions of the `tzwasm` import module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeeFunc {
    /// `attest`.
    Attest,
    /// `seal`.
    Seal,
    /// `unseal`.
    Unseal,
}

impl TeeFunc {
    /// All of them, with their names.
    pub const ALL: [(TeeFunc, &'static str); 3] = [
        (TeeFunc::Attest, "attest"),
        (TeeFunc::Seal, "seal"),
        (TeeFunc::Unseal, "unseal"),
    ];

    /// Number of i32 parameters.
    pub const fn params(self) -> usize {
        match self {
            TeeFunc::Attest => 7,
            TeeFunc::Seal | TeeFunc::Unseal => 5,
        }
    }

    /// A stable id for the platform's import table.
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// The function of an id.
    pub fn from_id(id: u32) -> Option<TeeFunc> {
        Self::ALL.iter().map(|&(f, _)| f).find(|f| f.id() == id)
    }
}

/// The function an import names, if it is one of this module's with the right type (a
/// mismatched type is left unresolved, so calling it traps like any unlinked import).
pub fn lookup(module: &str, name: &str, ty: &FuncType) -> Option<TeeFunc> {
    if module != MODULE {
        return None;
    }
    let func = TeeFunc::ALL.iter().find(|(_, n)| *n == name)?.0;
    let all_i32 = ty.params.len() == func.params() && ty.params.iter().all(|t| *t == ValType::I32);
    (all_i32 && ty.results.as_slice() == [ValType::I32]).then_some(func)
}

/// The secure world's side of the functions: signing and the sealing key.
pub trait TeeServices {
    /// Signs a token for this module with `nonce` and `user_data` (checked lengths) into
    /// `out`; its length. `NOTSUP` without a device identity.
    fn attest(
        &mut self,
        nonce: &[u8],
        user_data: &[u8],
        out: &mut [u8; MAX_TOKEN_LEN],
    ) -> Result<usize, Errno>;
    /// Seals in place (`tzwasm_attest::seal::seal_in_place`) with a fresh random nonce.
    fn seal_in_place(&mut self, blob: &mut [u8]) -> Result<(), Errno>;
    /// Opens in place (`tzwasm_attest::seal::unseal_in_place`); `BADMSG` for a bad blob,
    /// with `data` zeroed.
    fn unseal_in_place(
        &mut self,
        head: &[u8; HEADER_LEN],
        tag: &[u8; TAG_LEN],
        data: &mut [u8],
    ) -> Result<(), Errno>;
}

/// One call: `args` are the wasm arguments (i32s zero-extended); the errno to return.
pub fn call(
    func: TeeFunc,
    svc: &mut dyn TeeServices,
    mem: &mut GuestMemory<'_>,
    args: &[u64],
) -> Errno {
    let mut a = [0u32; 7];
    for (slot, v) in a.iter_mut().zip(args) {
        // i32 arguments: the low 32 bits.
        *slot = *v as u32;
    }
    let result = match func {
        TeeFunc::Attest => attest(svc, mem, a),
        TeeFunc::Seal => seal(svc, mem, a),
        TeeFunc::Unseal => unseal(svc, mem, a),
    };
    result.err().unwrap_or(Errno::SUCCESS)
}

/// A range of the module's memory, checked.
#[derive(Clone, Copy)]
struct Range {
    at: u32,
    len: u32,
}

impl Range {
    fn new(mem: &GuestMemory<'_>, at: u32, len: u32) -> Result<Self, Errno> {
        mem.check(at, len)?;
        Ok(Range { at, len })
    }

    fn end(self) -> u64 {
        u64::from(self.at) + u64::from(self.len)
    }

    fn overlaps(self, other: Range) -> bool {
        self.len != 0
            && other.len != 0
            && u64::from(self.at) < other.end()
            && u64::from(other.at) < self.end()
    }
}

/// Step 3: no output overlapping an input or the length output.
fn disjoint(output: Range, others: &[Range]) -> Result<(), Errno> {
    if others.iter().any(|r| r.overlaps(output)) {
        return Err(Errno::INVAL);
    }
    Ok(())
}

/// Step 4: room for `needed` bytes, or the length needed and `NOBUFS`.
fn room(mem: &mut GuestMemory<'_>, out: Range, len_out: Range, needed: u32) -> Result<(), Errno> {
    if out.len < needed {
        mem.write_u32(len_out.at, needed)?;
        return Err(Errno::NOBUFS);
    }
    Ok(())
}

fn attest(svc: &mut dyn TeeServices, mem: &mut GuestMemory<'_>, a: [u32; 7]) -> Result<(), Errno> {
    let [nonce, nonce_len, user, user_len, token, token_cap, len_out] = a;
    if !matches!(nonce_len, 32 | 48 | 64) || user_len as usize > MAX_USER_DATA {
        return Err(Errno::INVAL);
    }
    let nonce = Range::new(mem, nonce, nonce_len)?;
    let user = Range::new(mem, user, user_len)?;
    let token = Range::new(mem, token, token_cap)?;
    let len_out = Range::new(mem, len_out, LEN_OUT)?;
    disjoint(token, &[nonce, user, len_out])?;
    disjoint(len_out, &[nonce, user])?;
    let mut nonce_copy = [0u8; 64];
    let nonce_copy = nonce_copy
        .get_mut(..nonce.len as usize)
        .ok_or(Errno::INVAL)?;
    nonce_copy.copy_from_slice(mem.slice(nonce.at, nonce.len)?);
    let mut user_copy = [0u8; MAX_USER_DATA];
    let user_copy = user_copy.get_mut(..user.len as usize).ok_or(Errno::INVAL)?;
    user_copy.copy_from_slice(mem.slice(user.at, user.len)?);
    let mut signed = [0u8; MAX_TOKEN_LEN];
    let n = svc.attest(nonce_copy, user_copy, &mut signed)?;
    let n32 = u32::try_from(n).map_err(|_| Errno::INVAL)?;
    room(mem, token, len_out, n32)?;
    mem.write_bytes(token.at, signed.get(..n).ok_or(Errno::INVAL)?)?;
    mem.write_u32(len_out.at, n32)
}

fn seal(svc: &mut dyn TeeServices, mem: &mut GuestMemory<'_>, a: [u32; 7]) -> Result<(), Errno> {
    let [data, data_len, blob, blob_cap, len_out, ..] = a;
    if data_len > MAX_SEAL_DATA {
        return Err(Errno::INVAL);
    }
    let data = Range::new(mem, data, data_len)?;
    let blob = Range::new(mem, blob, blob_cap)?;
    let len_out = Range::new(mem, len_out, LEN_OUT)?;
    disjoint(blob, &[data, len_out])?;
    disjoint(len_out, &[data])?;
    // No overflow: data_len <= MAX_SEAL_DATA.
    let total = data_len + OVERHEAD as u32;
    room(mem, blob, len_out, total)?;
    mem.copy_within(data.at, blob.at + HEADER_LEN as u32, data_len)?;
    svc.seal_in_place(mem.slice_mut(blob.at, total)?)?;
    mem.write_u32(len_out.at, total)
}

fn unseal(svc: &mut dyn TeeServices, mem: &mut GuestMemory<'_>, a: [u32; 7]) -> Result<(), Errno> {
    let [blob, blob_len, data, data_cap, len_out, ..] = a;
    if blob_len > MAX_SEAL_DATA + OVERHEAD as u32 {
        return Err(Errno::INVAL);
    }
    let Some(plain_len) = blob_len.checked_sub(OVERHEAD as u32) else {
        return Err(Errno::BADMSG);
    };
    let blob = Range::new(mem, blob, blob_len)?;
    let data = Range::new(mem, data, data_cap)?;
    let len_out = Range::new(mem, len_out, LEN_OUT)?;
    disjoint(data, &[blob, len_out])?;
    disjoint(len_out, &[blob])?;
    room(mem, data, len_out, plain_len)?;
    let head: [u8; HEADER_LEN] = mem.read_array(blob.at)?;
    let tag: [u8; TAG_LEN] = mem.read_array(blob.at + HEADER_LEN as u32 + plain_len)?;
    mem.copy_within(blob.at + HEADER_LEN as u32, data.at, plain_len)?;
    svc.unseal_in_place(&head, &tag, mem.slice_mut(data.at, plain_len)?)?;
    mem.write_u32(len_out.at, plain_len)
}

#[cfg(test)]
mod tests;
