//! The output ring: a module's stdout and stderr, streamed from the secure world (the single
//! producer) to the normal world (the single consumer) through registered shared memory.
//!
//! One shared block holds a [`RingHeader`] followed by two byte rings, one per [`Stream`]:
//!
//! ```text
//! block + 0                     RingHeader (192 bytes, three 64-byte lines)
//! block + data_offset[STDOUT]   stdout data, capacity[STDOUT] bytes (a power of two)
//! block + data_offset[STDERR]   stderr data, capacity[STDERR] bytes (a power of two)
//! ```
//!
//! Each stream has a free-running `u32` producer index (`produced[s]`, bytes ever written) and
//! consumer index (`consumed[s]`, bytes ever read). Both wrap modulo 2^32 and are compared
//! only with wrapping subtraction: `produced - consumed` is the number of unread bytes, at most
//! the capacity; byte number `i` of the stream lives at `data_offset + (i & (capacity - 1))`.
//! Capacities are powers of two no larger than 2^31, so the mask stays correct across the
//! 2^32 wrap.
//!
//! Who writes what: the normal world formats the block ([`Consumer::format`]) and afterwards
//! writes only `consumed[..]`; the secure world writes only `produced[..]` and `flags`, and the
//! data bytes it is allowed to (`[produced, consumed + capacity)` of each stream).
//!
//! Trust: each side copies the layout once when it attaches, validates it against the size of
//! the memory it was given, and never reads it again. Each side keeps its own index in its own
//! memory and never reads it back from shared memory. The other side's index is re-read
//! (Acquire) and validated on every use: the producer accepts a consumer index only in
//! `[last consumer index seen, own producer index]`, the consumer accepts a producer index only
//! in `[last producer index seen, own consumer index + capacity]`. Anything else is a
//! [`RingFault`]: the side that saw it stops (sticky) and never touches memory outside its data
//! areas nor bytes the other side still owns. The producer also sets
//! [`FLAG_CONSUMER_CORRUPT`] so the normal world can see why.
//!
//! Ordering: data bytes are written (volatile) before the Release store of the producer
//! index; the consumer's Acquire load of that index precedes its (volatile) reads of the
//! bytes, and its Release store of the consumer index follows them; the producer's Acquire
//! load of the consumer index precedes any overwrite. [`Producer::finish`] sets
//! [`FLAG_FINISHED`] with a Release store after the last producer index store.
//!
//! Memory access goes through [`SharedRegion`] (a base pointer and length checked at
//! construction): index words are `AtomicU32` accesses, data and layout words are volatile
//! accesses, every offset is bounds-checked. Nothing here panics on a value read from shared
//! memory. `normal-world/include/tzwasm_ring.h` is the same layout for C, checked against this
//! module by its tests; docs/protocol.md ("Output ring") describes the protocol.
//!
//! Both ends in one program (in tzwasm they are in different worlds):
//!
//! ```
//! use tzwasm_smc::ring::{block_size, Consumer, Producer, SharedRegion, Stream};
//!
//! #[repr(C, align(64))]
//! struct Block([u8; 192 + 64 + 64]);
//! let mut block = Block([0; 192 + 64 + 64]);
//! assert_eq!(block_size(64, 64), Some(block.0.len()));
//! // SAFETY: `block` outlives both ends and is only accessed through the region.
//! let mem = unsafe { SharedRegion::new(block.0.as_mut_ptr(), block.0.len()) }.unwrap();
//!
//! let mut consumer = Consumer::format(mem, 64, 64).unwrap(); // normal world, before RUN
//! let mut producer = Producer::attach(mem).unwrap(); // secure world, at RUN
//!
//! let line = [b'x'; 100];
//! let n = producer.write(Stream::Stdout, &line);
//! assert_eq!(n, 64); // full: the run would pause with OUTPUT_PENDING here
//! assert_eq!(producer.write(Stream::Stderr, b"warning\n"), 8);
//!
//! let mut out = Vec::new();
//! let mut err = Vec::new();
//! let drained = consumer
//!     .drain(|stream, bytes| {
//!         match stream {
//!             Stream::Stdout => out.extend_from_slice(bytes),
//!             Stream::Stderr => err.extend_from_slice(bytes),
//!         }
//!         bytes.len()
//!     })
//!     .unwrap();
//! assert_eq!((drained.bytes, drained.done), (72, false));
//!
//! // RESUME: the rest of the same write.
//! assert_eq!(producer.write(Stream::Stdout, &line[n..]), 36);
//! producer.finish();
//! let drained = consumer.drain(|_, bytes| { out.extend_from_slice(bytes); bytes.len() });
//! assert!(drained.unwrap().done);
//! assert_eq!((out.len(), &err[..]), (100, &b"warning\n"[..]));
//! ```

use core::fmt;

pub use crate::shared::SharedRegion;

/// `"TZWR"` read as a little-endian `u32`: the first word of a formatted block.
pub const MAGIC: u32 = u32::from_le_bytes(*b"TZWR");
/// Layout version. Any change to [`RingHeader`] or the rules here increments it; both sides
/// reject every other version.
pub const VERSION: u32 = 1;
/// Size of [`RingHeader`]: the data areas start here.
pub const HEADER_SIZE: usize = 192;
/// Required alignment of the block (a cache line; the header keeps the layout, producer and
/// consumer words on separate 64-byte lines).
pub const ALIGN: usize = 64;
/// Largest capacity of one stream's ring (2^31 bytes).
pub const MAX_CAPACITY: u32 = 1 << 31;
/// Number of streams in a block.
pub const STREAMS: usize = 2;

/// `flags` bit: the producer has finished; after this no index changes again.
pub const FLAG_FINISHED: u32 = 1 << 0;
/// `flags` bit: the producer saw an invalid consumer index and stopped writing.
pub const FLAG_CONSUMER_CORRUPT: u32 = 1 << 1;

/// The header at the start of a ring block, exactly as it is in shared memory (native byte
/// order, which is little-endian on every tzwasm target).
///
/// This type documents the layout and gives the offsets (`core::mem::offset_of!`); the code
/// never creates a reference to shared memory of this type, it accesses each word through
/// [`SharedRegion`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingHeader {
    /// [`MAGIC`]. Written by the normal world (format), last, with a Release store.
    pub magic: u32,
    /// [`VERSION`].
    pub version: u32,
    /// [`HEADER_SIZE`].
    pub header_size: u32,
    /// 0, reserved.
    pub reserved0: u32,
    /// Bytes in each stream's data area, indexed by [`Stream::index`]: a power of two,
    /// `1..=MAX_CAPACITY`.
    pub capacity: [u32; STREAMS],
    /// Offset of each stream's data area from the start of the block:
    /// `data_offset[0] == header_size`, `data_offset[1] == data_offset[0] + capacity[0]`.
    pub data_offset: [u32; STREAMS],
    /// 0, reserved (pads the layout words to one 64-byte line).
    pub reserved1: [u32; 8],
    /// Free-running producer index of each stream (bytes ever written). Secure world only.
    pub produced: [u32; STREAMS],
    /// [`FLAG_FINISHED`], [`FLAG_CONSUMER_CORRUPT`]; other bits 0. Secure world only.
    pub flags: u32,
    /// 0, reserved (pads the producer words to one 64-byte line).
    pub reserved2: [u32; 13],
    /// Free-running consumer index of each stream (bytes ever read). Normal world only.
    pub consumed: [u32; STREAMS],
    /// 0, reserved (pads the consumer words to one 64-byte line).
    pub reserved3: [u32; 14],
}

const _: () = assert!(core::mem::size_of::<RingHeader>() == HEADER_SIZE);
const _: () = assert!(HEADER_SIZE.is_multiple_of(ALIGN));

/// Offset of `magic`.
pub const OFF_MAGIC: usize = core::mem::offset_of!(RingHeader, magic);
/// Offset of `version`.
pub const OFF_VERSION: usize = core::mem::offset_of!(RingHeader, version);
/// Offset of `header_size`.
pub const OFF_HEADER_SIZE: usize = core::mem::offset_of!(RingHeader, header_size);
/// Offset of `capacity[0]`.
pub const OFF_CAPACITY: usize = core::mem::offset_of!(RingHeader, capacity);
/// Offset of `data_offset[0]`.
pub const OFF_DATA_OFFSET: usize = core::mem::offset_of!(RingHeader, data_offset);
/// Offset of `produced[0]` (start of the producer's line).
pub const OFF_PRODUCED: usize = core::mem::offset_of!(RingHeader, produced);
/// Offset of `flags`.
pub const OFF_FLAGS: usize = core::mem::offset_of!(RingHeader, flags);
/// Offset of `consumed[0]` (start of the consumer's line).
pub const OFF_CONSUMED: usize = core::mem::offset_of!(RingHeader, consumed);

const _: () = assert!(OFF_PRODUCED.is_multiple_of(ALIGN) && OFF_CONSUMED.is_multiple_of(ALIGN));

/// One of the two output streams of a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output (WASI fd 1).
    Stdout = 0,
    /// Standard error (WASI fd 2).
    Stderr = 1,
}

impl Stream {
    /// Both streams, in index order.
    pub const ALL: [Stream; STREAMS] = [Stream::Stdout, Stream::Stderr];

    /// Index into the per-stream arrays of [`RingHeader`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The stream a WASI file descriptor writes to (1 and 2), or `None`.
    pub const fn from_fd(fd: u32) -> Option<Stream> {
        match fd {
            1 => Some(Stream::Stdout),
            2 => Some(Stream::Stderr),
            _ => None,
        }
    }

    /// This stream's element of a per-stream array, by a match on the two streams: the
    /// index is a constant and cannot be out of range.
    pub fn of<T>(self, a: &[T; STREAMS]) -> &T {
        let [stdout, stderr] = a;
        match self {
            Stream::Stdout => stdout,
            Stream::Stderr => stderr,
        }
    }

    /// As [`Stream::of`], writable.
    pub fn of_mut<T>(self, a: &mut [T; STREAMS]) -> &mut T {
        let [stdout, stderr] = a;
        match self {
            Stream::Stdout => stdout,
            Stream::Stderr => stderr,
        }
    }

    /// `"stdout"` or `"stderr"`.
    pub const fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Why a block cannot be used as a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The base address is not a multiple of [`ALIGN`] (or is null).
    Misaligned,
    /// The region wraps the address space or is larger than `isize::MAX`.
    Wraps,
    /// The region is too small for the header, or for the data areas the header describes.
    TooSmall {
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        len: usize,
    },
    /// `magic` is not [`MAGIC`].
    BadMagic(u32),
    /// `version` is not [`VERSION`].
    BadVersion(u32),
    /// `header_size` is not [`HEADER_SIZE`].
    BadHeaderSize(u32),
    /// A capacity is zero, not a power of two, or above [`MAX_CAPACITY`].
    BadCapacity {
        /// The stream.
        stream: Stream,
        /// The value found (or asked for).
        value: u32,
    },
    /// A data offset is not where the rules put it.
    BadDataOffset {
        /// The stream.
        stream: Stream,
        /// The value found.
        value: u32,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::Misaligned => write!(f, "ring block not {ALIGN}-byte aligned"),
            LayoutError::Wraps => write!(f, "ring block wraps the address space"),
            LayoutError::TooSmall { needed, len } => {
                write!(f, "ring block of {len} bytes, {needed} needed")
            }
            LayoutError::BadMagic(v) => write!(f, "ring magic {v:#010x}, expected {MAGIC:#010x}"),
            LayoutError::BadVersion(v) => write!(f, "ring version {v}, expected {VERSION}"),
            LayoutError::BadHeaderSize(v) => {
                write!(f, "ring header size {v}, expected {HEADER_SIZE}")
            }
            LayoutError::BadCapacity { stream, value } => write!(
                f,
                "{} capacity {value:#x} is not a power of two in 1..=2^31",
                stream.name()
            ),
            LayoutError::BadDataOffset { stream, value } => {
                write!(
                    f,
                    "{} data offset {value:#x} is not the expected one",
                    stream.name()
                )
            }
        }
    }
}

/// The other side broke the index rules; the side that noticed stops for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingFault {
    /// (Seen by the producer.) The consumer index is behind the last one seen or ahead of the
    /// producer index.
    ConsumerIndex {
        /// The stream.
        stream: Stream,
        /// The value read from shared memory.
        seen: u32,
        /// The last valid consumer index.
        last: u32,
        /// The producer's own index.
        produced: u32,
    },
    /// (Seen by the consumer.) The producer index is behind the last one seen or more than
    /// one capacity ahead of the consumer index.
    ProducerIndex {
        /// The stream.
        stream: Stream,
        /// The value read from shared memory.
        seen: u32,
        /// The last valid producer index.
        last: u32,
        /// The consumer's own index.
        consumed: u32,
    },
    /// An access fell outside the region (an internal invariant failed; nothing was accessed).
    OutOfBounds,
}

impl fmt::Display for RingFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RingFault::ConsumerIndex {
                stream,
                seen,
                last,
                produced,
            } => write!(
                f,
                "{} consumer index {seen:#x} outside [{last:#x}, {produced:#x}]",
                stream.name()
            ),
            RingFault::ProducerIndex {
                stream,
                seen,
                last,
                consumed,
            } => write!(
                f,
                "{} producer index {seen:#x} behind {last:#x} or more than a capacity past \
                 {consumed:#x}",
                stream.name()
            ),
            RingFault::OutOfBounds => write!(f, "ring access out of bounds"),
        }
    }
}

/// Bytes a block needs for the given capacities (header included), or `None` if a capacity
/// is invalid.
pub const fn block_size(stdout_capacity: u32, stderr_capacity: u32) -> Option<usize> {
    if !capacity_ok(stdout_capacity) || !capacity_ok(stderr_capacity) {
        return None;
    }
    // At most 192 + 2^31 + 2^31: fits u64, and usize on every 64-bit target; checked for 32.
    let total = HEADER_SIZE as u64 + stdout_capacity as u64 + stderr_capacity as u64;
    if total > usize::MAX as u64 {
        return None;
    }
    Some(total as usize)
}

const fn capacity_ok(c: u32) -> bool {
    c.is_power_of_two() && c <= MAX_CAPACITY
}

// ---------------------------------------------------------------------------------------------
// Layout

/// The validated layout of a block: each side's private copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Capacity of each stream (powers of two).
    pub capacity: [u32; STREAMS],
    /// Offset of each stream's data area from the block start.
    pub data_offset: [u32; STREAMS],
}

impl Layout {
    /// The layout [`Consumer::format`] writes for these capacities, checked against `len`.
    pub fn new(
        stdout_capacity: u32,
        stderr_capacity: u32,
        len: usize,
    ) -> Result<Self, LayoutError> {
        let capacity = [stdout_capacity, stderr_capacity];
        for stream in Stream::ALL {
            let value = *stream.of(&capacity);
            if !capacity_ok(value) {
                return Err(LayoutError::BadCapacity { stream, value });
            }
        }
        // HEADER_SIZE + capacity[0] <= 192 + 2^31 < 2^32: fits u32 without overflow.
        let data_offset = [HEADER_SIZE as u32, HEADER_SIZE as u32 + stdout_capacity];
        let needed = HEADER_SIZE as u64 + u64::from(stdout_capacity) + u64::from(stderr_capacity);
        if needed > len as u64 {
            return Err(LayoutError::TooSmall { needed, len });
        }
        Ok(Layout {
            capacity,
            data_offset,
        })
    }

    /// Reads the layout words of `mem` once and validates them: magic (read first, Acquire),
    /// version, header size, capacities, data offsets, and that everything fits in `mem`.
    pub fn read(mem: &SharedRegion<'_>) -> Result<Self, LayoutError> {
        let too_small = LayoutError::TooSmall {
            needed: HEADER_SIZE as u64,
            len: mem.len(),
        };
        if mem.len() < HEADER_SIZE {
            return Err(too_small);
        }
        let word = |off| mem.read_u32(off).ok_or(too_small);
        let magic = mem.load_acquire_u32(OFF_MAGIC).ok_or(too_small)?;
        if magic != MAGIC {
            return Err(LayoutError::BadMagic(magic));
        }
        let version = word(OFF_VERSION)?;
        if version != VERSION {
            return Err(LayoutError::BadVersion(version));
        }
        let header_size = word(OFF_HEADER_SIZE)?;
        if header_size as usize != HEADER_SIZE {
            return Err(LayoutError::BadHeaderSize(header_size));
        }
        let cap = [word(OFF_CAPACITY)?, word(OFF_CAPACITY + 4)?];
        let layout = Layout::new(cap[0], cap[1], mem.len())?;
        for stream in Stream::ALL {
            let value = word(OFF_DATA_OFFSET + 4 * stream.index())?;
            if value != *stream.of(&layout.data_offset) {
                return Err(LayoutError::BadDataOffset { stream, value });
            }
        }
        Ok(layout)
    }

    /// Offset of the data area of `stream`.
    fn data(&self, stream: Stream) -> usize {
        *stream.of(&self.data_offset) as usize
    }

    /// Capacity of `stream`.
    fn cap(&self, stream: Stream) -> u32 {
        *stream.of(&self.capacity)
    }
}

// ---------------------------------------------------------------------------------------------
// Producer (secure world)

/// The secure world's end: writes stdout/stderr bytes into the ring.
///
/// It owns its copy of the layout and of both producer indices (never read back from shared
/// memory) and re-reads and validates the consumer index on every call.
#[derive(Debug)]
pub struct Producer<'a> {
    mem: SharedRegion<'a>,
    layout: Layout,
    /// Own producer index per stream.
    produced: [u32; STREAMS],
    /// Last valid consumer index seen per stream (`produced - consumed <= capacity`).
    consumed: [u32; STREAMS],
    /// Own copy of the flags word.
    flags: u32,
    fault: Option<RingFault>,
}

impl<'a> Producer<'a> {
    /// Attaches to a block the normal world formatted: copies and validates the layout
    /// ([`Layout::read`]), then starts both producer indices at 0 and clears `flags`
    /// (both stored to shared memory). The consumer indices must then be 0 too; any other
    /// value is a fault on the first write.
    pub fn attach(mem: SharedRegion<'a>) -> Result<Self, LayoutError> {
        let layout = Layout::read(&mem)?;
        let mut p = Producer {
            mem,
            layout,
            produced: [0; STREAMS],
            consumed: [0; STREAMS],
            flags: 0,
            fault: None,
        };
        for stream in Stream::ALL {
            p.publish(OFF_PRODUCED + 4 * stream.index(), 0);
        }
        p.publish(OFF_FLAGS, 0);
        Ok(p)
    }

    /// The layout this producer copied at attach.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The fault that stopped this producer, if any. After a fault every write returns 0:
    /// the secure world must end the run with an error rather than wait for a drain.
    pub fn fault(&self) -> Option<RingFault> {
        self.fault
    }

    /// Whether [`finish`](Self::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.flags & FLAG_FINISHED != 0
    }

    /// Own producer index of `stream` (bytes accepted so far, modulo 2^32).
    pub fn produced(&self, stream: Stream) -> u32 {
        *stream.of(&self.produced)
    }

    /// Release store of a producer-owned word. Offsets come from constants inside the header,
    /// which `Layout::read` proved is inside the region; a failure is recorded as a fault.
    fn publish(&mut self, off: usize, value: u32) {
        if !self.mem.store_release_u32(off, value) {
            self.fault.get_or_insert(RingFault::OutOfBounds);
        }
    }

    /// Re-reads (Acquire) and validates the consumer index of `stream`, then returns the free
    /// space. 0 after a fault or finish.
    pub fn space(&mut self, stream: Stream) -> usize {
        if self.fault.is_some() || self.is_finished() {
            return 0;
        }
        let i = stream.index();
        let produced = *stream.of(&self.produced);
        let last = *stream.of(&self.consumed);
        let Some(seen) = self.mem.load_acquire_u32(OFF_CONSUMED + 4 * i) else {
            self.fault = Some(RingFault::OutOfBounds);
            return 0;
        };
        // Valid iff seen is in [last, produced] on the wrapping number line:
        // seen - last <= produced - last (both wrapping; produced - last <= capacity).
        if seen.wrapping_sub(last) > produced.wrapping_sub(last) {
            self.fault = Some(RingFault::ConsumerIndex {
                stream,
                seen,
                last,
                produced,
            });
            self.flags |= FLAG_CONSUMER_CORRUPT;
            self.publish(OFF_FLAGS, self.flags);
            return 0;
        }
        *stream.of_mut(&mut self.consumed) = seen;
        // used = produced - seen <= produced - last <= capacity, so no underflow.
        let used = produced.wrapping_sub(seen);
        self.layout.cap(stream).saturating_sub(used) as usize
    }

    /// Writes as many of `bytes` as fit into `stream` and returns how many: all of them, or
    /// fewer (possibly 0) when the ring is full, after a fault, or after finish. Bytes
    /// accepted are never dropped; the caller keeps the rest and, on a short write, pauses the
    /// run (OUTPUT_PENDING) and offers the rest again after RESUME.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> usize {
        if bytes.is_empty() {
            return 0;
        }
        let free = self.space(stream);
        let n = free.min(bytes.len());
        if n == 0 {
            return 0;
        }
        let i = stream.index();
        let cap = self.layout.cap(stream) as usize;
        let data = self.layout.data(stream);
        // cap is a power of two, so the mask is the position inside the data area.
        let pos = (*stream.of(&self.produced) as usize) & cap.wrapping_sub(1);
        // n <= free <= cap and pos < cap: the first piece ends at most at the area's end, the
        // second starts at its beginning and is shorter than pos.
        let first = n.min(cap.saturating_sub(pos));
        let ok = match (
            bytes.get(..first),
            bytes.get(first..n),
            data.checked_add(pos),
        ) {
            (Some(head), Some(tail), Some(at_pos)) => {
                self.mem.write_bytes(at_pos, head) && self.mem.write_bytes(data, tail)
            }
            _ => false,
        };
        if !ok {
            self.fault = Some(RingFault::OutOfBounds);
            return 0;
        }
        // n <= cap <= 2^31 fits u32; the index is free-running (wrapping).
        let produced = stream.of(&self.produced).wrapping_add(n as u32);
        *stream.of_mut(&mut self.produced) = produced;
        self.publish(OFF_PRODUCED + 4 * i, produced);
        if self.fault.is_some() {
            return 0;
        }
        n
    }

    /// Marks the output complete: sets [`FLAG_FINISHED`] (Release, after every producer index
    /// store). Later writes return 0.
    pub fn finish(&mut self) {
        self.flags |= FLAG_FINISHED;
        self.publish(OFF_FLAGS, self.flags);
    }
}

// ---------------------------------------------------------------------------------------------
// Consumer (normal world)

/// Result of one [`Consumer::drain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Drained {
    /// Bytes handed to the sink and consumed.
    pub bytes: usize,
    /// The producer had finished before this drain began and both rings are now empty:
    /// nothing more will arrive.
    pub done: bool,
}

/// Bytes copied out of shared memory per sink call.
pub const DRAIN_CHUNK: usize = 512;

/// The normal world's end: formats the block and drains both streams into a sink.
///
/// It owns its copy of the layout and of both consumer indices (never read back from shared
/// memory) and re-reads and validates the producer index on every drain.
#[derive(Debug)]
pub struct Consumer<'a> {
    mem: SharedRegion<'a>,
    layout: Layout,
    /// Own consumer index per stream.
    consumed: [u32; STREAMS],
    /// Last valid producer index seen per stream.
    produced: [u32; STREAMS],
    fault: Option<RingFault>,
}

impl<'a> Consumer<'a> {
    /// Formats `mem` as an empty ring with these capacities (powers of two, at most
    /// [`MAX_CAPACITY`]; [`block_size`] gives the bytes needed) and returns its consumer.
    /// The whole header is zeroed first and `magic` is stored last (Release). Call it before
    /// passing the block to RUN, and again before reusing the block for another run.
    pub fn format(
        mem: SharedRegion<'a>,
        stdout_capacity: u32,
        stderr_capacity: u32,
    ) -> Result<Self, LayoutError> {
        let layout = Layout::new(stdout_capacity, stderr_capacity, mem.len())?;
        let mut ok = mem.store_release_u32(OFF_MAGIC, 0);
        for off in (4..HEADER_SIZE).step_by(4) {
            ok &= mem.write_u32(off, 0);
        }
        ok &= mem.write_u32(OFF_VERSION, VERSION);
        ok &= mem.write_u32(OFF_HEADER_SIZE, HEADER_SIZE as u32);
        for stream in Stream::ALL {
            let i = stream.index();
            ok &= mem.write_u32(OFF_CAPACITY + 4 * i, *stream.of(&layout.capacity));
            ok &= mem.write_u32(OFF_DATA_OFFSET + 4 * i, *stream.of(&layout.data_offset));
        }
        ok &= mem.store_release_u32(OFF_MAGIC, MAGIC);
        if !ok {
            // Unreachable: Layout::new proved HEADER_SIZE <= len.
            return Err(LayoutError::TooSmall {
                needed: HEADER_SIZE as u64,
                len: mem.len(),
            });
        }
        Ok(Consumer {
            mem,
            layout,
            consumed: [0; STREAMS],
            produced: [0; STREAMS],
            fault: None,
        })
    }

    /// Attaches to a block already formatted (by another party): validates the layout and
    /// takes the current consumer indices, read once, as its own.
    pub fn attach(mem: SharedRegion<'a>) -> Result<Self, LayoutError> {
        let layout = Layout::read(&mem)?;
        let mut consumed = [0; STREAMS];
        for stream in Stream::ALL {
            let off = OFF_CONSUMED + 4 * stream.index();
            *stream.of_mut(&mut consumed) =
                mem.load_acquire_u32(off).ok_or(LayoutError::TooSmall {
                    needed: HEADER_SIZE as u64,
                    len: mem.len(),
                })?;
        }
        Ok(Consumer {
            mem,
            layout,
            consumed,
            produced: consumed,
            fault: None,
        })
    }

    /// The layout this consumer copied.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The fault that stopped this consumer, if any.
    pub fn fault(&self) -> Option<RingFault> {
        self.fault
    }

    /// Own consumer index of `stream` (bytes consumed so far, modulo 2^32).
    pub fn consumed(&self, stream: Stream) -> u32 {
        *stream.of(&self.consumed)
    }

    /// The producer's `flags` word (Acquire; the producer owns it, unknown bits are ignored by
    /// the helpers).
    pub fn flags(&self) -> u32 {
        self.mem.load_acquire_u32(OFF_FLAGS).unwrap_or(0)
    }

    /// Re-reads (Acquire) and validates the producer index of `stream`; returns the bytes
    /// available.
    pub fn available(&mut self, stream: Stream) -> Result<usize, RingFault> {
        if let Some(f) = self.fault {
            return Err(f);
        }
        let i = stream.index();
        let consumed = *stream.of(&self.consumed);
        let last = *stream.of(&self.produced);
        let Some(seen) = self.mem.load_acquire_u32(OFF_PRODUCED + 4 * i) else {
            self.fault = Some(RingFault::OutOfBounds);
            return Err(RingFault::OutOfBounds);
        };
        // Valid iff last - consumed <= seen - consumed <= capacity (wrapping).
        let avail = seen.wrapping_sub(consumed);
        if avail < last.wrapping_sub(consumed) || avail > self.layout.cap(stream) {
            let f = RingFault::ProducerIndex {
                stream,
                seen,
                last,
                consumed,
            };
            self.fault = Some(f);
            return Err(f);
        }
        *stream.of_mut(&mut self.produced) = seen;
        Ok(avail as usize)
    }

    /// Drains both streams (stdout first) into `sink`, in chunks of at most [`DRAIN_CHUNK`]
    /// bytes. `sink(stream, bytes)` returns how many of `bytes` it took (more than
    /// `bytes.len()` counts as all); a short take stops the drain, and the rest stays in the
    /// ring for the next drain. The consumer index is stored (Release) after each chunk.
    pub fn drain<F>(&mut self, mut sink: F) -> Result<Drained, RingFault>
    where
        F: FnMut(Stream, &[u8]) -> usize,
    {
        let finished = self.flags() & FLAG_FINISHED != 0;
        let mut buf = [0u8; DRAIN_CHUNK];
        let mut bytes = 0usize;
        for stream in Stream::ALL {
            let i = stream.index();
            let mut avail = self.available(stream)?;
            let cap = self.layout.cap(stream) as usize;
            let data = self.layout.data(stream);
            while avail > 0 {
                let pos = (*stream.of(&self.consumed) as usize) & cap.wrapping_sub(1);
                let n = avail.min(cap.saturating_sub(pos)).min(DRAIN_CHUNK);
                let read = match (buf.get_mut(..n), data.checked_add(pos)) {
                    (Some(chunk), Some(at_pos)) => self.mem.read_bytes(at_pos, chunk),
                    _ => false,
                };
                let chunk = match buf.get(..n) {
                    Some(chunk) if read => chunk,
                    _ => {
                        self.fault = Some(RingFault::OutOfBounds);
                        return Err(RingFault::OutOfBounds);
                    }
                };
                let took = sink(stream, chunk).min(n);
                // took <= n <= cap <= 2^31 fits u32; free-running index.
                let consumed = stream.of(&self.consumed).wrapping_add(took as u32);
                *stream.of_mut(&mut self.consumed) = consumed;
                if took > 0 && !self.mem.store_release_u32(OFF_CONSUMED + 4 * i, consumed) {
                    self.fault = Some(RingFault::OutOfBounds);
                    return Err(RingFault::OutOfBounds);
                }
                bytes += took;
                avail -= took;
                if took < n {
                    return Ok(Drained { bytes, done: false });
                }
            }
        }
        // Both rings were emptied up to indices read after the flags: if the producer had
        // finished then, nothing more will come.
        Ok(Drained {
            bytes,
            done: finished,
        })
    }
}

#[cfg(test)]
impl Producer<'_> {
    /// Test only: start both streams at index `v` (to exercise the 2^32 wrap).
    fn start_at(&mut self, v: u32) {
        self.produced = [v; STREAMS];
        self.consumed = [v; STREAMS];
        for stream in Stream::ALL {
            self.publish(OFF_PRODUCED + 4 * stream.index(), v);
        }
    }
}

#[cfg(test)]
impl Consumer<'_> {
    /// Test only: start both streams at index `v` (to exercise the 2^32 wrap).
    fn start_at(&mut self, v: u32) {
        self.consumed = [v; STREAMS];
        self.produced = [v; STREAMS];
        for stream in Stream::ALL {
            self.mem
                .store_release_u32(OFF_CONSUMED + 4 * stream.index(), v);
        }
    }
}

#[cfg(test)]
mod tests;
