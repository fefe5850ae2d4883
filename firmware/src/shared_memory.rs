//! Copies between normal-world shared memory and secure memory, all through
//! [`SharedRegion`]: LOAD's and RUN's copy-in (shared memory is never parsed or used in
//! place, where the normal world could change it between check and use) and the reports
//! written back.

use tzwasm_smc::shared::SharedRegion;

/// Copies `len` bytes of normal-world memory at `addr` into a fresh buffer of u64 words
/// (8-byte aligned, zero-padded): shared memory is never parsed or used in place, where the
/// normal world could change it between check and use. `None` if the pool cannot hold it.
///
/// # Safety
/// `[addr, addr + len)` must lie inside a live registration that stays mapped for the call
/// (the caller holds it pinned).
pub unsafe fn copy_in(addr: u64, len: usize) -> Option<alloc::vec::Vec<u64>> {
    let mut words = alloc::vec::Vec::new();
    words.try_reserve_exact(len.div_ceil(8)).ok()?;
    // SAFETY: the caller's contract; `words` has room for the whole range.
    unsafe { copy_in_part(addr, len, &mut words, len) }.then_some(words)
}

/// One piece of a [`copy_in`] made in several steps (LOAD's copy, which stops between
/// pieces for a pending interrupt): appends bytes `[8 * words.len(), up_to)` of the `len`
/// bytes at `addr` to `words` as u64 words, the last one zero-padded. `up_to` is a multiple
/// of 8 or `len`. False (nothing copied) if `words` lacks the capacity for the whole range
/// or the piece is not one of this range; it never allocates.
///
/// # Safety
/// As for [`copy_in`].
pub unsafe fn copy_in_part(
    addr: u64,
    len: usize,
    words: &mut alloc::vec::Vec<u64>,
    up_to: usize,
) -> bool {
    let first = words.len();
    if words.capacity() < len.div_ceil(8)
        || up_to > len
        || (up_to != len && !up_to.is_multiple_of(8))
        || first.saturating_mul(8) > up_to
    {
        return false;
    }
    // SAFETY: the caller's contract: [addr, addr + len) is mapped for the call and only
    // accessed as shared memory.
    let Some(region) = (unsafe { SharedRegion::new_bytes(addr as *mut u8, len) }) else {
        return false;
    };
    // Within the capacity reserved above: no allocation. The padding after `len` stays 0.
    words.resize(up_to.div_ceil(8), 0);
    let from = first * 8;
    // [from, up_to) lies inside both the region and the resized buffer (checked above), so
    // neither the slice nor the copy can fail here.
    bytes_of_mut(words)
        .get_mut(from..up_to)
        .is_some_and(|dst| region.read_bytes(from, dst))
}

/// All bytes of a [`copy_in`] buffer, writable.
fn bytes_of_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: any 8 bytes are a valid u64 and the buffer is 8 * len bytes long; the borrow of
    // `words` covers the returned slice.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

/// The first `len` bytes of a [`copy_in`] buffer.
pub fn bytes_of(words: &[u64], len: usize) -> &[u8] {
    let len = len.min(words.len() * 8);
    // SAFETY: any u64 is 8 initialised bytes, and `len` is within the buffer.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), len) }
}

/// Writes `bytes` to normal-world memory at `at`.
///
/// # Safety
/// `[at, at + bytes.len())` must lie inside a live registration (mapped NS RW for EL1) that
/// stays mapped for the call: the state machine pins the registration for the call (LOAD,
/// RUN) or for as long as a run is paused (RESUME, CANCEL).
pub unsafe fn write_shared(at: u64, bytes: &[u8]) {
    // SAFETY: inside the caller's range, mapped for the call, by this function's contract.
    if let Some(region) = unsafe { SharedRegion::new_bytes(at as *mut u8, bytes.len()) } {
        region.write_bytes(0, bytes);
    }
}

/// Copies `dst.len()` bytes of normal-world memory at `at` into `dst` (a small fixed-size
/// argument such as ATTEST's nonce); false if the range is not a valid region.
///
/// # Safety
/// As for [`write_shared`], for `[at, at + dst.len())`.
pub unsafe fn read_shared(at: u64, dst: &mut [u8]) -> bool {
    // SAFETY: inside the caller's range, mapped for the call, by this function's contract.
    match unsafe { SharedRegion::new_bytes(at as *mut u8, dst.len()) } {
        Some(region) => region.read_bytes(0, dst),
        None => false,
    }
}
