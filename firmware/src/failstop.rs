//! Fail-stop state: the record of the secure world's first panic or unexpected S-EL1 exception.
//!
//! After such a failure nothing in the secure world can be trusted (a lock may be held for ever,
//! a table may be half updated), so the payload stops serving instead of hanging: the first
//! failure claims the [`FailRecord`] once, writes a short message into its fixed buffer and
//! marks it complete; from the claim on, [`FailRecord::has_failed`] is true and the dispatcher
//! answers every call FAILED (docs/protocol.md, "Fail-stop"). GET_INFO FAILURE reads the message
//! through [`FailRecord::chunk`].
//!
//! Everything here is lock-free and allocation-free, because it runs in a panic handler or an
//! exception handler that may have interrupted anything, including the allocator or a lock
//! holder: one atomic claim, plain byte stores by the one claimer, one release store.

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use tzwasm_smc::info::{FAILURE_CHUNK, FAILURE_MESSAGE_MAX};

/// No failure.
const RUNNING: u8 = 0;
/// A failure claimed the record and is writing its message.
const RECORDING: u8 = 1;
/// The message is complete.
const FAILED: u8 = 2;

/// The fail-stop record: a state, the message length and a fixed message buffer.
pub struct FailRecord {
    state: AtomicU8,
    len: AtomicUsize,
    buf: UnsafeCell<[u8; FAILURE_MESSAGE_MAX]>,
}

// SAFETY: `buf` is written only through the one `Recorder` that won the RUNNING -> RECORDING
// claim, and only before its release store of FAILED; it is read only after an acquire load
// has seen FAILED, after which nobody writes it again. The other fields are atomics.
unsafe impl Sync for FailRecord {}

impl Default for FailRecord {
    fn default() -> Self {
        Self::new()
    }
}

impl FailRecord {
    /// A record with no failure.
    pub const fn new() -> Self {
        FailRecord {
            state: AtomicU8::new(RUNNING),
            len: AtomicUsize::new(0),
            buf: UnsafeCell::new([0; FAILURE_MESSAGE_MAX]),
        }
    }

    /// True once a failure has claimed the record (its message may still be being written).
    pub fn has_failed(&self) -> bool {
        self.state.load(Ordering::Acquire) != RUNNING
    }

    /// Claims the record for the first failure; `None` if another failure already did.
    pub fn claim(&self) -> Option<Recorder<'_>> {
        self.state
            .compare_exchange(RUNNING, RECORDING, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(Recorder {
            record: self,
            len: 0,
            full: false,
        })
    }

    /// The complete message; empty before a failure and while it is being written.
    pub fn message(&self) -> &[u8] {
        if self.state.load(Ordering::Acquire) != FAILED {
            return &[];
        }
        let len = self.len.load(Ordering::Relaxed).min(FAILURE_MESSAGE_MAX);
        // SAFETY: the state is FAILED (acquire), so the claimer's writes are visible and no
        // one writes the buffer any more (see the `Sync` impl).
        let buf = unsafe { &*self.buf.get() };
        buf.get(..len).unwrap_or(&[])
    }

    /// The message as text (the recorder writes whole UTF-8 characters only).
    pub fn message_str(&self) -> &str {
        core::str::from_utf8(self.message()).unwrap_or("(message not UTF-8)")
    }

    /// GET_INFO FAILURE: the 24 message bytes from `offset`, zero past the end; `None` for an
    /// offset at or beyond [`FAILURE_MESSAGE_MAX`] (untrusted `x2`).
    pub fn chunk(&self, offset: u64) -> Option<[u8; FAILURE_CHUNK]> {
        let offset = usize::try_from(offset)
            .ok()
            .filter(|&o| o < FAILURE_MESSAGE_MAX)?;
        let msg = self.message();
        let mut out = [0u8; FAILURE_CHUNK];
        if let Some(rest) = msg.get(offset..) {
            for (o, b) in out.iter_mut().zip(rest) {
                *o = *b;
            }
        }
        Some(out)
    }
}

/// Writes the message of the failure that claimed the record (`fmt::Write`), truncating at
/// [`FAILURE_MESSAGE_MAX`] bytes on a character boundary. Control characters (NUL included:
/// the protocol's message has no zero byte) become spaces. Dropping it completes the record.
pub struct Recorder<'a> {
    record: &'a FailRecord,
    len: usize,
    /// A character did not fit: everything after it is dropped.
    full: bool,
}

impl fmt::Write for Recorder<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.full {
                break;
            }
            let c = if c.is_control() { ' ' } else { c };
            let mut utf8 = [0u8; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            let Some(end) = self
                .len
                .checked_add(bytes.len())
                .filter(|&e| e <= FAILURE_MESSAGE_MAX)
            else {
                // Full: the rest is dropped, not an error (the report on the console is whole).
                self.full = true;
                break;
            };
            // SAFETY: this recorder holds the claim, so it is the only writer, and nobody
            // reads the buffer before the state becomes FAILED (see the `Sync` impl).
            let buf = unsafe { &mut *self.record.buf.get() };
            let Some(room) = buf.get_mut(self.len..end) else {
                self.full = true;
                break;
            };
            room.copy_from_slice(bytes);
            self.len = end;
        }
        Ok(())
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        self.record.len.store(self.len, Ordering::Relaxed);
        self.record.state.store(FAILED, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn no_failure_means_no_message() {
        let r = FailRecord::new();
        assert!(!r.has_failed());
        assert_eq!(r.message(), b"");
        assert_eq!(r.chunk(0), Some([0; FAILURE_CHUNK]));
        assert_eq!(r.chunk(FAILURE_MESSAGE_MAX as u64), None);
        assert_eq!(r.chunk(u64::MAX), None);
    }

    #[test]
    fn the_first_failure_records_once() {
        let r = FailRecord::new();
        let mut w = r.claim().expect("first claim");
        assert!(r.has_failed(), "failed from the claim on");
        assert!(r.claim().is_none(), "only one claim");
        let cpu = 1;
        write!(w, "panic on CPU {cpu}: oops").unwrap();
        assert_eq!(r.message(), b"", "not readable until complete");
        drop(w);
        assert_eq!(r.message_str(), "panic on CPU 1: oops");
        assert!(r.claim().is_none());
        assert_eq!(r.message_str(), "panic on CPU 1: oops");
    }

    #[test]
    fn control_characters_become_spaces() {
        let r = FailRecord::new();
        let mut w = r.claim().unwrap();
        w.write_str("panicked at x.rs:1:2:\nboom\0!\t").unwrap();
        drop(w);
        assert_eq!(r.message_str(), "panicked at x.rs:1:2: boom ! ");
        assert!(!r.message().contains(&0));
    }

    #[test]
    fn long_messages_are_truncated_on_a_character_boundary() {
        let r = FailRecord::new();
        let mut w = r.claim().unwrap();
        // 191 ASCII bytes, then a 2-byte character that does not fit, then more.
        w.write_str(&"a".repeat(FAILURE_MESSAGE_MAX - 1)).unwrap();
        w.write_str("\u{e9}bcdef").unwrap();
        w.write_str("b").unwrap();
        drop(w);
        assert_eq!(r.message().len(), FAILURE_MESSAGE_MAX - 1);
        assert!(r.message().iter().all(|&b| b == b'a'));

        let r = FailRecord::new();
        let mut w = r.claim().unwrap();
        for _ in 0..100 {
            w.write_str("0123456789").unwrap();
        }
        drop(w);
        assert_eq!(r.message().len(), FAILURE_MESSAGE_MAX);
    }

    #[test]
    fn chunks_cover_the_message_then_zeros() {
        let r = FailRecord::new();
        let text = "CPU 1: synchronous exception in S-EL1: EC 0x00 (unknown reason)";
        let mut w = r.claim().unwrap();
        w.write_str(text).unwrap();
        drop(w);
        let mut read = Vec::new();
        for off in (0..FAILURE_MESSAGE_MAX).step_by(FAILURE_CHUNK) {
            read.extend_from_slice(&r.chunk(off as u64).unwrap());
        }
        assert_eq!(&read[..text.len()], text.as_bytes());
        assert!(read[text.len()..].iter().all(|&b| b == 0));
        // An unaligned offset works too.
        assert_eq!(&r.chunk(4).unwrap()[..4], b"1: s");
        assert_eq!(
            r.chunk(FAILURE_MESSAGE_MAX as u64 - 1),
            Some([0; FAILURE_CHUNK])
        );
    }
}
