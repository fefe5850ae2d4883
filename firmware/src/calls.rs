//! The calls outside the session machine's own: SHM_REGISTER and SHM_UNREGISTER (handed to
//! [`crate::session::MACHINE`] with the platform's normal-world DRAM), and the test-hooks
//! calls TEST_SHM and TEST_RUN.

use crate::platform::ns_dram;
use tzwasm_smc::args::{ShmHandle, ShmRegisterArgs};
use tzwasm_smc::shared::SharedRegion;
use tzwasm_smc::Status;

/// SHM_REGISTER: check, record, then map the range NS=1, never executable, at VA == PA.
pub fn shm_register(args: ShmRegisterArgs) -> Result<ShmHandle, Status> {
    crate::session::MACHINE.shm_register(args, &ns_dram())
}

/// SHM_UNREGISTER: unmap (with TLB invalidation) and forget. BUSY while a call on another CPU
/// or a paused run uses it.
pub fn shm_unregister(handle: ShmHandle) -> Result<(), Status> {
    crate::session::MACHINE.shm_unregister(handle)
}

/// TEST_SHM (test builds): hashes `len` bytes at `offset` of a registration, then inverts them
/// in place. Offsets are checked against the registry's own record of the range.
pub fn shm_test(handle: ShmHandle, offset: u64, len: u64) -> Result<u64, Status> {
    if !cfg!(feature = "test-hooks") {
        return Err(Status::NotSupported);
    }
    crate::session::MACHINE
        .with_shm(handle, |range| shm_test_in(range, offset, len))
        .ok_or(Status::NoSuchHandle)?
}

fn shm_test_in(
    range: tzwasm_firmware::shm::ShmRange,
    offset: u64,
    len: u64,
) -> Result<u64, Status> {
    let end = offset.checked_add(len).ok_or(Status::BadAddress)?;
    if end > range.size {
        return Err(Status::BadAddress);
    }
    // SAFETY: [base + offset, + len) lies inside a live registration, which stays mapped
    // (NS, EL1 RW) while it is pinned (with_shm); it is only accessed as shared memory.
    let region = unsafe { SharedRegion::new_bytes((range.base + offset) as *mut u8, len as usize) }
        .ok_or(Status::BadAddress)?;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut buf = [0u8; 256];
    let mut at = 0;
    while at < region.len() {
        let n = (region.len() - at).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        if !region.read_bytes(at, chunk) {
            return Err(Status::BadAddress);
        }
        for b in chunk.iter_mut() {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
            *b = !*b;
        }
        if !region.write_bytes(at, chunk) {
            return Err(Status::BadAddress);
        }
        at += n;
    }
    Ok(hash)
}

/// Largest module TEST_RUN accepts (the pool also bounds it).
#[cfg(feature = "test-hooks")]
const MAX_MODULE: u64 = 4 << 20;

/// TEST_RUN (test builds): copies an AOT file out of shared memory into secure memory (never
/// parsed in place: the normal world could change it underneath), then runs it at S-EL0.
#[cfg(feature = "test-hooks")]
pub fn test_run(handle: ShmHandle, offset: u64, len: u64) -> tzwasm_smc::Regs4 {
    use crate::runner::{run_command, Outcome};
    use crate::shared_memory::{bytes_of, copy_in};
    let st = |s: Status| [s.to_raw(), 0, 0, 0];
    let copy = crate::session::MACHINE.with_shm(handle, |range| {
        match offset.checked_add(len) {
            Some(end) if end <= range.size && len > 0 && len <= MAX_MODULE => {}
            _ => return Err(Status::BadAddress),
        }
        // SAFETY: [base + offset, + len) lies inside the live registration, checked above;
        // it is pinned (mapped) for the closure.
        unsafe { copy_in(range.base + offset, len as usize) }.ok_or(Status::OutOfMemory)
    });
    let copy = match copy {
        None => return st(Status::NoSuchHandle),
        Some(Err(s)) => return st(s),
        Some(Ok(words)) => words,
    };
    let bytes = bytes_of(&copy, len as usize);
    let (outcome, written) = run_command(bytes);
    match outcome {
        Outcome::Exit(code) => [
            Status::Success.to_raw(),
            u64::from(code),
            written[0],
            written[1],
        ],
        Outcome::Trap(id, msg) => {
            // (TEST_RUN has no ring: output went to the log.)
            log::info!("TEST_RUN: trap: {msg}");
            [
                Status::Trapped.to_raw(),
                id.map_or(u64::MAX, u64::from),
                0,
                0,
            ]
        }
        Outcome::LoadError(msg) => {
            log::warn!("TEST_RUN: {msg}");
            st(Status::BadModule)
        }
    }
}
