//! Host tests of the output ring: layout, round trips, wrap-around, back-pressure, 10 MiB
//! streams (one thread and two), hostile indices on both sides with guard bytes, the C header
//! and the docs.

use super::*;
use std::collections::BTreeMap;
use std::vec::Vec;

/// Guard bytes before and after the block in every test buffer.
const GUARD: usize = 256;
/// Fill pattern of fresh test memory (guards and data areas).
const FILL: u8 = 0xA5;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A test buffer: `GUARD` bytes, the block, `GUARD` bytes, all filled with `FILL`. After
/// construction the Vec is only accessed through the raw pointer taken once.
struct TestMem {
    ptr: *mut u8,
    block_len: usize,
    total: usize,
    _keep: Vec<Line>,
}

impl TestMem {
    fn new(block_len: usize) -> Self {
        let total = GUARD + block_len + GUARD;
        let mut keep = vec![Line([FILL; 64]); total.div_ceil(64)];
        let ptr = keep.as_mut_ptr().cast::<u8>();
        TestMem {
            ptr,
            block_len,
            total,
            _keep: keep,
        }
    }

    /// Memory for a ring with these capacities.
    fn for_caps(out: u32, err: u32) -> Self {
        Self::new(block_size(out, err).unwrap())
    }

    fn block(&self) -> SharedRegion<'_> {
        // SAFETY: ptr + GUARD .. + block_len is inside the live allocation, 64-aligned (GUARD
        // is a multiple of 64); the Vec is never accessed through a reference meanwhile.
        unsafe { SharedRegion::new(self.ptr.add(GUARD), self.block_len).unwrap() }
    }

    fn whole(&self) -> SharedRegion<'_> {
        // SAFETY: the whole live allocation, 64-aligned; only raw accesses meanwhile.
        unsafe { SharedRegion::new(self.ptr, self.total).unwrap() }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut v = vec![0; self.total];
        assert!(self.whole().read_bytes(0, &mut v));
        v
    }

    /// Sets a header word (as a hostile or buggy other side would).
    fn poke(&self, off: usize, v: u32) {
        assert!(self.block().write_u32(off, v));
    }

    fn peek(&self, off: usize) -> u32 {
        self.block().read_u32(off).unwrap()
    }
}

/// Byte ranges of the block (offsets from the block start) the ring may change after format:
/// the index words, the flags and the data areas of `streams`.
fn allowed(layout: &Layout, streams: &[Stream]) -> Vec<(usize, usize)> {
    let mut v = vec![
        (OFF_PRODUCED, OFF_PRODUCED + 8),
        (OFF_FLAGS, OFF_FLAGS + 4),
        (OFF_CONSUMED, OFF_CONSUMED + 8),
    ];
    for &s in streams {
        let d = layout.data_offset[s.index()] as usize;
        v.push((d, d + layout.capacity[s.index()] as usize));
    }
    v
}

/// Every byte of `mem` outside `allowed` (guards, layout words, reserved words, other data
/// areas) is as in `before`.
fn check_untouched(mem: &TestMem, before: &[u8], allowed: &[(usize, usize)]) {
    let now = mem.snapshot();
    for (i, (&a, &b)) in before.iter().zip(&now).enumerate() {
        let in_block = i.checked_sub(GUARD).filter(|&o| o < mem.block_len);
        let ok = in_block.is_some_and(|o| allowed.iter().any(|&(s, e)| o >= s && o < e));
        if !ok {
            assert_eq!(a, b, "byte {i} (block offset {in_block:?}) changed");
        }
    }
}

/// xorshift64*: deterministic test randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Drains everything into per-stream vectors; returns bytes drained.
fn drain_all(c: &mut Consumer<'_>, out: &mut [Vec<u8>; 2]) -> Drained {
    c.drain(|s, b| {
        out[s.index()].extend_from_slice(b);
        b.len()
    })
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Layout

#[test]
fn header_layout_is_the_documented_one() {
    assert_eq!(core::mem::size_of::<RingHeader>(), 192);
    assert_eq!(core::mem::align_of::<RingHeader>(), 4);
    assert_eq!(
        [
            OFF_MAGIC,
            OFF_VERSION,
            OFF_HEADER_SIZE,
            OFF_CAPACITY,
            OFF_DATA_OFFSET
        ],
        [0, 4, 8, 16, 24]
    );
    assert_eq!([OFF_PRODUCED, OFF_FLAGS, OFF_CONSUMED], [64, 72, 128]);
    assert_eq!(MAGIC.to_le_bytes(), *b"TZWR");
    assert_eq!(MAGIC, 0x5257_5A54);
    assert_eq!(Stream::from_fd(1), Some(Stream::Stdout));
    assert_eq!(Stream::from_fd(2), Some(Stream::Stderr));
    assert_eq!(Stream::from_fd(0), None);
    assert_eq!(Stream::from_fd(3), None);
}

#[test]
fn capacities_must_be_powers_of_two_up_to_2_31() {
    assert_eq!(block_size(4096, 1024), Some(192 + 4096 + 1024));
    assert_eq!(block_size(1, 1), Some(194));
    assert_eq!(block_size(1 << 31, 1 << 31), Some(192 + (1usize << 32)));
    for bad in [0, 3, 4097, u32::MAX, (1 << 31) + 1] {
        assert_eq!(block_size(bad, 16), None, "{bad}");
        assert_eq!(block_size(16, bad), None, "{bad}");
        let m = TestMem::new(8192);
        assert_eq!(
            Consumer::format(m.block(), bad, 16).unwrap_err(),
            LayoutError::BadCapacity {
                stream: Stream::Stdout,
                value: bad
            }
        );
        assert_eq!(
            Consumer::format(m.block(), 16, bad).unwrap_err(),
            LayoutError::BadCapacity {
                stream: Stream::Stderr,
                value: bad
            }
        );
    }
    let m = TestMem::new(192 + 4096 + 1023);
    assert_eq!(
        Consumer::format(m.block(), 4096, 1024).unwrap_err(),
        LayoutError::TooSmall {
            needed: 192 + 4096 + 1024,
            len: 192 + 4096 + 1023
        }
    );
}

#[test]
fn format_writes_the_header_and_both_sides_accept_it() {
    let m = TestMem::for_caps(4096, 1024);
    let c = Consumer::format(m.block(), 4096, 1024).unwrap();
    let want = Layout {
        capacity: [4096, 1024],
        data_offset: [192, 192 + 4096],
    };
    assert_eq!(c.layout(), want);
    assert_eq!(m.peek(OFF_MAGIC), MAGIC);
    assert_eq!(m.peek(OFF_VERSION), 1);
    assert_eq!(m.peek(OFF_HEADER_SIZE), 192);
    assert_eq!(
        [m.peek(16), m.peek(20), m.peek(24), m.peek(28)],
        [4096, 1024, 192, 4288]
    );
    for off in (0..HEADER_SIZE).step_by(4) {
        if !(0..32).contains(&off) {
            assert_eq!(m.peek(off), 0, "word at {off}");
        }
    }
    // Data areas are not touched by format.
    let snap = m.snapshot();
    assert!(snap[GUARD + 192..GUARD + 192 + 4096 + 1024]
        .iter()
        .all(|&b| b == FILL));
    let p = Producer::attach(m.block()).unwrap();
    assert_eq!(p.layout(), want);
    let c2 = Consumer::attach(m.block()).unwrap();
    assert_eq!(c2.layout(), want);
}

#[test]
fn attach_rejects_every_bad_layout_word() {
    let cases: [(usize, u32, LayoutError); 9] = [
        (OFF_MAGIC, 0, LayoutError::BadMagic(0)),
        (
            OFF_MAGIC,
            MAGIC.swap_bytes(),
            LayoutError::BadMagic(MAGIC.swap_bytes()),
        ),
        (OFF_VERSION, 2, LayoutError::BadVersion(2)),
        (OFF_VERSION, 0, LayoutError::BadVersion(0)),
        (OFF_HEADER_SIZE, 256, LayoutError::BadHeaderSize(256)),
        (
            OFF_CAPACITY,
            3000,
            LayoutError::BadCapacity {
                stream: Stream::Stdout,
                value: 3000,
            },
        ),
        (
            OFF_CAPACITY + 4,
            1 << 20,
            LayoutError::TooSmall {
                needed: 192 + 4096 + (1 << 20),
                len: 192 + 4096 + 1024,
            },
        ),
        (
            OFF_DATA_OFFSET,
            0,
            LayoutError::BadDataOffset {
                stream: Stream::Stdout,
                value: 0,
            },
        ),
        (
            OFF_DATA_OFFSET + 4,
            0xFFFF_FF00,
            LayoutError::BadDataOffset {
                stream: Stream::Stderr,
                value: 0xFFFF_FF00,
            },
        ),
    ];
    for (off, value, err) in cases {
        let m = TestMem::for_caps(4096, 1024);
        Consumer::format(m.block(), 4096, 1024).unwrap();
        m.poke(off, value);
        assert_eq!(
            Producer::attach(m.block()).unwrap_err(),
            err,
            "word {off} = {value:#x}"
        );
        assert_eq!(Consumer::attach(m.block()).unwrap_err(), err);
        assert!(!err.to_string().is_empty());
    }
    // A block shorter than a header, and a region that is not 64-aligned.
    let m = TestMem::new(4096);
    // SAFETY: inside the live allocation; only raw accesses.
    let short = unsafe { SharedRegion::new(m.ptr.add(GUARD), 191) }.unwrap();
    assert_eq!(
        Producer::attach(short).unwrap_err(),
        LayoutError::TooSmall {
            needed: 192,
            len: 191
        }
    );
    for delta in [1, 4, 8, 32] {
        // SAFETY: as above.
        let r = unsafe { SharedRegion::new(m.ptr.add(GUARD + delta), 1024) };
        assert_eq!(r.unwrap_err(), LayoutError::Misaligned);
    }
    // SAFETY: null is rejected before any access.
    let null = unsafe { SharedRegion::new(core::ptr::null_mut(), 64) };
    assert_eq!(null.unwrap_err(), LayoutError::Misaligned);
    // SAFETY: rejected before any access.
    let wrap = unsafe { SharedRegion::new((usize::MAX & !63) as *mut u8, 128) };
    assert_eq!(wrap.unwrap_err(), LayoutError::Wraps);
}

#[test]
fn region_accessors_refuse_out_of_bounds_and_unaligned() {
    let m = TestMem::new(256);
    let r = m.block();
    assert_eq!(r.len(), 256);
    assert!(!r.is_empty());
    assert_eq!(r.read_u32(254), None);
    assert_eq!(r.read_u32(2), None);
    assert_eq!(r.read_u32(usize::MAX - 1), None);
    assert_eq!(r.load_acquire_u32(256), None);
    assert!(!r.write_u32(256, 1));
    assert!(!r.store_release_u32(usize::MAX - 3, 1));
    assert!(!r.write_bytes(250, &[0; 7]));
    assert!(!r.write_bytes(usize::MAX, &[0; 2]));
    assert!(!r.read_bytes(1, &mut [0; 256]));
    assert!(r.write_bytes(249, &[1; 7]));
    check_untouched(&m, &TestMem::new(256).snapshot(), &[(249, 256)]);
}

#[test]
fn producer_never_rereads_the_layout() {
    let m = TestMem::for_caps(64, 64);
    let mut c = Consumer::format(m.block(), 64, 64).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let before = m.snapshot();
    // The normal world rewrites the layout after attach: huge capacity, offsets far away.
    m.poke(OFF_CAPACITY, MAX_CAPACITY);
    m.poke(OFF_DATA_OFFSET, 0x1000_0000);
    m.poke(OFF_CAPACITY + 4, 1);
    m.poke(OFF_DATA_OFFSET + 4, 0);
    m.poke(OFF_HEADER_SIZE, 0);
    let mut rng = Rng(7);
    let data = rng.bytes(1000);
    let mut out = [Vec::new(), Vec::new()];
    let mut sent = 0;
    while sent < data.len() {
        sent += p.write(Stream::Stdout, &data[sent..]);
        drain_all(&mut c, &mut out);
    }
    assert_eq!(out[0], data);
    let mut allowed = allowed(&c.layout(), &[Stream::Stdout]);
    allowed.push((OFF_CAPACITY, OFF_DATA_OFFSET + 8));
    allowed.push((OFF_HEADER_SIZE, OFF_HEADER_SIZE + 4));
    check_untouched(&m, &before, &allowed);
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn round_trips_of_random_sizes_wrap_around() {
    let mut rng = Rng(0x1234_5678);
    for (cap_out, cap_err) in [
        (1, 1),
        (2, 8),
        (16, 16),
        (64, 4096),
        (4096, 64),
        (1024, 1024),
    ] {
        for start in [0, u32::MAX - 3000, 0x8000_0000 - 17] {
            let m = TestMem::for_caps(cap_out, cap_err);
            let mut c = Consumer::format(m.block(), cap_out, cap_err).unwrap();
            let mut p = Producer::attach(m.block()).unwrap();
            p.start_at(start);
            c.start_at(start);
            let before = m.snapshot();
            let want = [rng.bytes(20_000), rng.bytes(7_000)];
            let mut sent = [0usize; 2];
            let mut got = [Vec::new(), Vec::new()];
            while got[0].len() < want[0].len() || got[1].len() < want[1].len() {
                // A few writes of random sizes to random streams.
                for _ in 0..rng.below(4) {
                    let s = Stream::ALL[rng.below(2) as usize];
                    let i = s.index();
                    let n = (rng.below(3 * u64::from(cap_out.max(cap_err))) as usize)
                        .min(want[i].len() - sent[i]);
                    let took = p.write(s, &want[i][sent[i]..sent[i] + n]);
                    assert!(took <= n);
                    sent[i] += took;
                }
                // A drain whose sink takes a random part of each chunk.
                let limit = rng.below(600) as usize;
                let r = c
                    .drain(|s, b| {
                        let k = b.len().min(limit);
                        got[s.index()].extend_from_slice(&b[..k]);
                        k
                    })
                    .unwrap();
                assert!(!r.done);
                assert_eq!(p.fault(), None);
            }
            assert_eq!(got, want, "caps {cap_out}/{cap_err} start {start:#x}");
            assert_eq!(p.produced(Stream::Stdout), start.wrapping_add(20_000));
            assert_eq!(c.consumed(Stream::Stderr), start.wrapping_add(7_000));
            check_untouched(&m, &before, &allowed(&c.layout(), &Stream::ALL));
        }
    }
}

#[test]
fn an_exactly_full_ring_accepts_nothing_more_until_drained() {
    let m = TestMem::for_caps(256, 16);
    let mut c = Consumer::format(m.block(), 256, 16).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let before = m.snapshot();
    let data: Vec<u8> = (0..=255).collect();
    assert_eq!(p.space(Stream::Stdout), 256);
    assert_eq!(p.write(Stream::Stdout, &data), 256);
    assert_eq!(p.space(Stream::Stdout), 0);
    assert_eq!(p.write(Stream::Stdout, b"x"), 0);
    // The other stream is independent.
    assert_eq!(p.write(Stream::Stderr, &[9; 16]), 16);
    assert_eq!(p.write(Stream::Stderr, &[9; 16]), 0);
    assert_eq!(c.available(Stream::Stdout), Ok(256));
    let mut out = [Vec::new(), Vec::new()];
    assert_eq!(
        drain_all(&mut c, &mut out),
        Drained {
            bytes: 272,
            done: false
        }
    );
    assert_eq!(out[0], data);
    assert_eq!(out[1], [9; 16]);
    // Full again, starting in the middle of the area.
    assert_eq!(p.write(Stream::Stdout, &data[..100]), 100);
    assert!(c.drain(|_, b| b.len().min(60)).is_ok());
    assert_eq!(p.write(Stream::Stdout, &data), 216);
    assert_eq!(p.space(Stream::Stdout), 0);
    assert_eq!(p.fault(), None);
    check_untouched(&m, &before, &allowed(&c.layout(), &Stream::ALL));
}

/// The OUTPUT_PENDING / RESUME flow: the run pauses whenever a write is short, the normal
/// world drains, the run resumes with the rest of the same write.
#[test]
fn a_producer_with_no_space_resumes_after_a_drain() {
    let m = TestMem::for_caps(1024, 1024);
    let mut c = Consumer::format(m.block(), 1024, 1024).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let msg = Rng(3).bytes(10_000);
    let mut out = [Vec::new(), Vec::new()];
    let (mut pending, mut rest) = (0, &msg[..]);
    loop {
        let n = p.write(Stream::Stdout, rest);
        rest = &rest[n..];
        if rest.is_empty() {
            break;
        }
        // OUTPUT_PENDING: a second try without a drain gets nothing.
        assert_eq!(p.write(Stream::Stdout, rest), 0);
        pending += 1;
        drain_all(&mut c, &mut out);
        // RESUME.
    }
    p.finish();
    assert!(p.is_finished());
    assert_eq!(p.write(Stream::Stdout, b"late"), 0);
    assert_eq!(
        drain_all(&mut c, &mut out),
        Drained {
            bytes: 10_000 - 9 * 1024,
            done: true
        }
    );
    assert_eq!(pending, 9);
    assert_eq!(out[0], msg);
    assert_eq!(c.flags(), FLAG_FINISHED);
}

// ---------------------------------------------------------------------------------------------
// 10 MiB through a 4 KiB ring

const TEN_MIB: usize = 10 << 20;

/// The byte at position `i` of a test stream (not periodic with any power of two).
fn pattern(stream: Stream, i: usize) -> u8 {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 >> 13);
    (x >> 24) as u8 ^ (stream.index() as u8 * 0x5A)
}

#[test]
fn ten_mib_through_4_kib_alternating_in_one_thread() {
    let m = TestMem::for_caps(4096, 4096);
    let mut c = Consumer::format(m.block(), 4096, 4096).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let before = m.snapshot();
    let src: [Vec<u8>; 2] = Stream::ALL.map(|s| (0..TEN_MIB).map(|i| pattern(s, i)).collect());
    let mut sent = [0usize; 2];
    let mut got = [0usize; 2];
    let mut rng = Rng(99);
    let mut pauses = 0;
    while got != [TEN_MIB; 2] {
        for s in Stream::ALL {
            let i = s.index();
            // Write sizes up to 6000 (some larger than the ring).
            let n = (rng.below(6000) as usize + 1).min(TEN_MIB - sent[i]);
            let took = p.write(s, &src[i][sent[i]..sent[i] + n]);
            pauses += usize::from(took < n);
            sent[i] += took;
        }
        c.drain(|s, b| {
            let i = s.index();
            assert_eq!(
                b,
                &src[i][got[i]..got[i] + b.len()],
                "{} at {}",
                s.name(),
                got[i]
            );
            got[i] += b.len();
            b.len()
        })
        .unwrap();
    }
    p.finish();
    assert!(c.drain(|_, _| unreachable!()).unwrap().done);
    assert!(pauses > 0);
    check_untouched(&m, &before, &allowed(&c.layout(), &Stream::ALL));
}

#[test]
fn ten_mib_through_4_kib_with_two_threads() {
    let m = TestMem::for_caps(4096, 4096);
    let mut c = Consumer::format(m.block(), 4096, 4096).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let before = m.snapshot();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut rng = Rng(5);
            let mut sent = [0usize; 2];
            let mut buf = vec![0u8; 5000];
            let mut spins = 0u64;
            while sent != [TEN_MIB; 2] {
                let s = Stream::ALL[rng.below(2) as usize];
                let i = s.index();
                let n = (rng.below(5000) as usize + 1).min(TEN_MIB - sent[i]);
                for (k, b) in buf[..n].iter_mut().enumerate() {
                    *b = pattern(s, sent[i] + k);
                }
                let mut off = 0;
                while off < n {
                    let took = p.write(s, &buf[off..n]);
                    if took == 0 {
                        spins += 1;
                        std::thread::yield_now();
                    }
                    off += took;
                }
                sent[i] += n;
                assert_eq!(p.fault(), None);
            }
            p.finish();
            spins
        });
        let mut got = [0usize; 2];
        loop {
            let r = c
                .drain(|s, b| {
                    let i = s.index();
                    for (k, &byte) in b.iter().enumerate() {
                        assert_eq!(
                            byte,
                            pattern(s, got[i] + k),
                            "{} at {}",
                            s.name(),
                            got[i] + k
                        );
                    }
                    got[i] += b.len();
                    b.len()
                })
                .unwrap();
            if r.done {
                break;
            }
            if r.bytes == 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(got, [TEN_MIB; 2]);
    });
    check_untouched(
        &m,
        &before,
        &allowed(&Layout::read(&m.block()).unwrap(), &Stream::ALL),
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile indices

/// A producer that has written `w` bytes of `s` while the consumer drained `d`, then finds
/// `hostile` in the consumer index: it must accept nothing, write nothing, flag the fault,
/// and the real consumer must still get exactly the accepted bytes in order.
fn hostile_consumer_case(
    cap: u32,
    start: u32,
    w: usize,
    d: usize,
    hostile: impl Fn(u32, u32) -> u32,
) {
    let m = TestMem::for_caps(cap, cap);
    let mut c = Consumer::format(m.block(), cap, cap).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    p.start_at(start);
    c.start_at(start);
    let before = m.snapshot();
    let data = Rng(u64::from(start) ^ w as u64 ^ 1).bytes(w);
    assert_eq!(p.write(Stream::Stdout, &data), w);
    let mut got = Vec::new();
    c.drain(|_, b| {
        let k = b.len().min(d - got.len());
        got.extend_from_slice(&b[..k]);
        k
    })
    .unwrap();
    assert_eq!(got.len(), d);
    // The producer sees the consumer's progress (as its next write would).
    assert_eq!(p.space(Stream::Stdout), cap as usize - (w - d));
    let produced = p.produced(Stream::Stdout);
    let consumed = c.consumed(Stream::Stdout);
    let bad = hostile(consumed, produced);
    m.poke(OFF_CONSUMED, bad);
    let data_before = m.snapshot();
    assert_eq!(
        p.write(Stream::Stdout, &[0xEE; 5000]),
        0,
        "hostile {bad:#x}"
    );
    assert_eq!(p.space(Stream::Stdout), 0);
    assert_eq!(p.write(Stream::Stderr, b"also stopped"), 0);
    let fault = p.fault().expect("fault recorded");
    assert!(matches!(fault, RingFault::ConsumerIndex { seen, .. } if seen == bad));
    assert!(!fault.to_string().is_empty());
    assert_eq!(m.peek(OFF_FLAGS), FLAG_CONSUMER_CORRUPT);
    assert_eq!(m.peek(OFF_PRODUCED), produced);
    // Nothing at all changed except the flags word.
    check_untouched(&m, &data_before, &[(OFF_FLAGS, OFF_FLAGS + 4)]);
    check_untouched(&m, &before, &allowed(&c.layout(), &[Stream::Stdout]));
    // The real consumer (own index) still drains every accepted byte, in order.
    let mut out = [Vec::new(), Vec::new()];
    drain_all(&mut c, &mut out);
    got.extend_from_slice(&out[0]);
    assert_eq!(got, data);
    assert!(out[1].is_empty());
}

#[test]
fn hostile_consumer_indices_are_faults_and_never_cause_writes() {
    for cap in [16u32, 4096] {
        let c = cap as usize;
        for start in [0, u32::MAX - 5, 0x8000_0000, 12345] {
            for (w, d) in [
                (0, 0),
                (c, 0),
                (c, c),
                (c / 2, c / 4),
                (c / 2, 0),
                (c - 1, 1),
            ] {
                // Ahead of the producer by 1, by a capacity, by a lot.
                hostile_consumer_case(cap, start, w, d, |_, p| p.wrapping_add(1));
                hostile_consumer_case(cap, start, w, d, |_, p| p.wrapping_add(cap));
                hostile_consumer_case(cap, start, w, d, |_, p| p.wrapping_add(0x7FFF_FFFF));
                // Behind what the consumer already released (moving backwards).
                hostile_consumer_case(cap, start, w, d, |c, _| c.wrapping_sub(1));
                hostile_consumer_case(cap, start, w, d, |c, _| c.wrapping_sub(cap));
                // "One capacity behind the producer" is a classic bug: it claims free space
                // that holds unread bytes.
                if w < c {
                    hostile_consumer_case(cap, start, w, d, |_, p| p.wrapping_sub(cap));
                }
                // Huge and garbage values (skipped when they happen to be valid).
                for g in [u32::MAX, 0x8000_0000, 0xDEAD_BEEF, start ^ 0x5555_5555] {
                    let cons = start.wrapping_add(d as u32);
                    let prod = start.wrapping_add(w as u32);
                    if g.wrapping_sub(cons) > prod.wrapping_sub(cons) {
                        hostile_consumer_case(cap, start, w, d, move |_, _| g);
                    }
                }
            }
        }
    }
}

/// A consumer index that is valid but lies (claims bytes it never read, or releases bytes
/// randomly) can only make the consumer lose its own data; the producer still writes only in
/// its data area.
#[test]
fn random_consumer_indices_never_move_writes_outside_the_data_area() {
    let mut rng = Rng(0xC0FFEE);
    for round in 0..300 {
        let cap = 1u32 << rng.below(9);
        let m = TestMem::for_caps(cap, cap);
        Consumer::format(m.block(), cap, cap).unwrap();
        let mut p = Producer::attach(m.block()).unwrap();
        let before = m.snapshot();
        let layout = Layout::read(&m.block()).unwrap();
        let mut faulted = false;
        for _ in 0..50 {
            let s = Stream::ALL[rng.below(2) as usize];
            let off = OFF_CONSUMED + 4 * s.index();
            let prod = p.produced(s);
            let cur = m.peek(off);
            let v = match rng.below(4) {
                0 => rng.next() as u32,
                1 => cur.wrapping_add(rng.below(u64::from(prod.wrapping_sub(cur)) + 1) as u32),
                2 => prod,
                _ => cur,
            };
            m.poke(off, v);
            let was_valid = v.wrapping_sub(cur) <= prod.wrapping_sub(cur);
            // Non-empty: an empty write does not look at the consumer index.
            let len = 1 + rng.below(u64::from(cap) * 2) as usize;
            let n = p.write(s, &rng.bytes(len));
            if !faulted && !was_valid {
                assert_eq!(n, 0, "round {round}: garbage {v:#x} accepted");
                faulted = true;
            }
            assert_eq!(p.fault().is_some(), faulted, "round {round}");
            assert!(prod.wrapping_add(n as u32).wrapping_sub(v) <= cap || faulted);
        }
        check_untouched(&m, &before, &allowed(&layout, &Stream::ALL));
    }
}

#[test]
fn hostile_producer_indices_are_faults_for_the_consumer() {
    /// (name, hostile producer index from (own consumed, last produced, capacity)).
    type Case = (&'static str, fn(u32, u32, u32) -> u32);
    let cases: [Case; 5] = [
        ("more than a capacity ahead", |c, _, cap| {
            c.wrapping_add(cap + 1)
        }),
        ("huge", |_, _, _| u32::MAX / 2 + 7),
        ("behind the consumer", |c, _, _| c.wrapping_sub(1)),
        ("behind the last seen", |_, p, _| p.wrapping_sub(1)),
        ("garbage", |c, _, _| c ^ 0xF0F0_0000),
    ];
    for (name, f) in cases {
        let m = TestMem::for_caps(64, 64);
        let mut c = Consumer::format(m.block(), 64, 64).unwrap();
        let mut p = Producer::attach(m.block()).unwrap();
        let before = m.snapshot();
        assert_eq!(p.write(Stream::Stderr, &[1; 40]), 40);
        let mut got = Vec::new();
        c.drain(|_, b| {
            got.extend_from_slice(&b[..10]);
            10
        })
        .unwrap();
        let consumed = c.consumed(Stream::Stderr);
        let bad = f(consumed, p.produced(Stream::Stderr), 64);
        m.poke(OFF_PRODUCED + 4, bad);
        let err = c.drain(|_, _| panic!("{name}: sink called")).unwrap_err();
        assert!(
            matches!(err, RingFault::ProducerIndex { seen, .. } if seen == bad),
            "{name}"
        );
        assert_eq!(c.available(Stream::Stdout), Err(err), "sticky");
        assert_eq!(c.fault(), Some(err));
        assert_eq!(
            m.peek(OFF_CONSUMED + 4),
            consumed,
            "{name}: consumer index moved"
        );
        assert!(!err.to_string().is_empty());
        let mut allowed = allowed(&c.layout(), &[Stream::Stderr]);
        allowed.retain(|&(s, _)| s != OFF_CONSUMED);
        allowed.push((OFF_CONSUMED + 4, OFF_CONSUMED + 8));
        check_untouched(&m, &before, &allowed);
    }
}

#[test]
fn the_first_write_checks_the_initial_consumer_index() {
    let m = TestMem::for_caps(64, 64);
    Consumer::format(m.block(), 64, 64).unwrap();
    m.poke(OFF_CONSUMED + 4, 32);
    let mut p = Producer::attach(m.block()).unwrap();
    assert_eq!(p.write(Stream::Stdout, b"fine"), 4);
    assert_eq!(p.write(Stream::Stderr, b"not fine"), 0);
    assert!(matches!(
        p.fault(),
        Some(RingFault::ConsumerIndex {
            stream: Stream::Stderr,
            seen: 32,
            last: 0,
            produced: 0
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Streams and flags

#[test]
fn stdout_and_stderr_stay_separate() {
    let m = TestMem::for_caps(32, 128);
    let mut c = Consumer::format(m.block(), 32, 128).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    let mut out = [Vec::new(), Vec::new()];
    let mut want = [Vec::new(), Vec::new()];
    let mut calls = Vec::new();
    for k in 0..200u32 {
        let s = if k % 3 == 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let line = format!("{} line {k}\n", s.name());
        let mut rest = line.as_bytes();
        while !rest.is_empty() {
            let n = p.write(s, rest);
            rest = &rest[n..];
            if !rest.is_empty() {
                c.drain(|s, b| {
                    calls.push(s);
                    out[s.index()].extend_from_slice(b);
                    b.len()
                })
                .unwrap();
            }
        }
        want[s.index()].extend_from_slice(line.as_bytes());
    }
    p.finish();
    assert!(drain_all(&mut c, &mut out).done);
    assert_eq!(out, want);
    assert!(String::from_utf8(out[0].clone())
        .unwrap()
        .lines()
        .all(|l| l.starts_with("stdout")));
    assert!(String::from_utf8(out[1].clone())
        .unwrap()
        .lines()
        .all(|l| l.starts_with("stderr")));
    assert!(calls.contains(&Stream::Stderr) && calls.contains(&Stream::Stdout));
}

#[test]
fn drained_is_done_only_after_finish_and_an_empty_ring() {
    let m = TestMem::for_caps(16, 16);
    let mut c = Consumer::format(m.block(), 16, 16).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    assert_eq!(
        c.drain(|_, b| b.len()).unwrap(),
        Drained {
            bytes: 0,
            done: false
        }
    );
    p.write(Stream::Stdout, b"abc");
    p.finish();
    // A sink that refuses: not done, bytes stay.
    assert_eq!(
        c.drain(|_, _| 0).unwrap(),
        Drained {
            bytes: 0,
            done: false
        }
    );
    // A sink claiming more than it was given takes exactly what it was given.
    assert_eq!(
        c.drain(|_, _| usize::MAX).unwrap(),
        Drained {
            bytes: 3,
            done: true
        }
    );
    assert_eq!(c.consumed(Stream::Stdout), 3);
    // Attach picks up the current indices.
    let mut c2 = Consumer::attach(m.block()).unwrap();
    assert_eq!(c2.consumed(Stream::Stdout), 3);
    assert_eq!(
        c2.drain(|_, _| unreachable!()).unwrap(),
        Drained {
            bytes: 0,
            done: true
        }
    );
}

// ---------------------------------------------------------------------------------------------
// The C header agrees with this module

const C_HEADER: &str = include_str!("../../../normal-world/include/tzwasm_ring.h");

/// `#define TZWASM_RING_* value` lines of the header.
fn c_defines() -> BTreeMap<&'static str, u64> {
    let mut map = BTreeMap::new();
    for line in C_HEADER.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        if !name.starts_with("TZWASM_RING_") {
            continue;
        }
        let v = value.trim_end_matches('u');
        let v = match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => v.parse(),
        };
        assert!(
            map.insert(name, v.unwrap_or_else(|_| panic!("{line}")))
                .is_none(),
            "{name} twice"
        );
    }
    map
}

/// The fields of `struct tzwasm_ring_header`: (name, element count).
fn c_fields() -> Vec<(&'static str, usize)> {
    let body = C_HEADER
        .split("struct tzwasm_ring_header {")
        .nth(1)
        .and_then(|rest| rest.split("};").next())
        .expect("struct in header");
    body.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("uint32_t "))
        .map(|l| {
            let decl = l["uint32_t ".len()..].trim_end_matches(';');
            match decl.split_once('[') {
                Some((name, n)) => (name, n.trim_end_matches(']').parse().unwrap()),
                None => (decl, 1),
            }
        })
        .collect()
}

/// (field, offset, element count) of the Rust header, in declaration order.
fn rust_fields() -> [(&'static str, usize, usize); 12] {
    use core::mem::offset_of;
    [
        ("magic", offset_of!(RingHeader, magic), 1),
        ("version", offset_of!(RingHeader, version), 1),
        ("header_size", offset_of!(RingHeader, header_size), 1),
        ("reserved0", offset_of!(RingHeader, reserved0), 1),
        ("capacity", offset_of!(RingHeader, capacity), STREAMS),
        ("data_offset", offset_of!(RingHeader, data_offset), STREAMS),
        ("reserved1", offset_of!(RingHeader, reserved1), 8),
        ("produced", offset_of!(RingHeader, produced), STREAMS),
        ("flags", offset_of!(RingHeader, flags), 1),
        ("reserved2", offset_of!(RingHeader, reserved2), 13),
        ("consumed", offset_of!(RingHeader, consumed), STREAMS),
        ("reserved3", offset_of!(RingHeader, reserved3), 14),
    ]
}

#[test]
fn c_header_defines_match_the_rust_definition() {
    let defs = c_defines();
    let mut want: BTreeMap<String, u64> = [
        ("MAGIC", u64::from(MAGIC)),
        ("VERSION", u64::from(VERSION)),
        ("HEADER_SIZE", HEADER_SIZE as u64),
        ("ALIGN", ALIGN as u64),
        ("MAX_CAPACITY", u64::from(MAX_CAPACITY)),
        ("STREAMS", STREAMS as u64),
        ("STDOUT", Stream::Stdout.index() as u64),
        ("STDERR", Stream::Stderr.index() as u64),
        ("FLAG_FINISHED", u64::from(FLAG_FINISHED)),
        ("FLAG_CONSUMER_CORRUPT", u64::from(FLAG_CONSUMER_CORRUPT)),
    ]
    .into_iter()
    .map(|(k, v)| (format!("TZWASM_RING_{k}"), v))
    .collect();
    for (name, off, _) in rust_fields() {
        want.insert(
            format!("TZWASM_RING_OFF_{}", name.to_uppercase()),
            off as u64,
        );
    }
    let got: BTreeMap<String, u64> = defs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(got, want, "normal-world/include/tzwasm_ring.h #defines");
}

#[test]
fn c_header_struct_matches_the_rust_definition() {
    let c = c_fields();
    let rust: Vec<(&str, usize)> = rust_fields().iter().map(|&(n, _, k)| (n, k)).collect();
    assert_eq!(c, rust, "struct tzwasm_ring_header fields");
    // Consecutive u32 fields: offsets follow from the counts, as in the Rust struct.
    let mut off = 0;
    for (name, rust_off, count) in rust_fields() {
        assert_eq!(off, rust_off, "{name}");
        off += 4 * count;
        let assert_line =
            format!("offsetof(struct tzwasm_ring_header, {name}) == TZWASM_RING_OFF_");
        assert!(
            C_HEADER.contains(&assert_line),
            "no _Static_assert for {name}"
        );
    }
    assert_eq!(off, HEADER_SIZE);
    assert!(C_HEADER.contains("sizeof(struct tzwasm_ring_header) == TZWASM_RING_HEADER_SIZE"));
}

/// Compiles the header with the host C compiler (its `_Static_assert`s check the struct
/// against the defines) and runs a C consumer, written as in the header's comment, on a block
/// the Rust producer filled. Skipped when no `cc` is installed.
#[test]
fn c_header_compiles_and_a_c_consumer_reads_a_rust_ring() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("tzwasm-ring-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../normal-world/include");
    let src = dir.join("consumer.c");
    std::fs::write(&src, C_CONSUMER).unwrap();
    let exe = dir.join("consumer");
    let status = Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-O2",
            "-I",
            include,
        ])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status();
    let Ok(status) = status else {
        eprintln!("no C compiler: skipped");
        return;
    };
    assert!(status.success(), "cc failed on tzwasm_ring.h");

    // A ring with wrapped indices and data in both streams.
    let m = TestMem::for_caps(64, 32);
    let mut c = Consumer::format(m.block(), 64, 32).unwrap();
    let mut p = Producer::attach(m.block()).unwrap();
    p.start_at(u32::MAX - 20);
    c.start_at(u32::MAX - 20);
    let junk: Vec<u8> = (0..50).collect();
    assert_eq!(p.write(Stream::Stdout, &junk), 50);
    assert_eq!(p.write(Stream::Stderr, &junk[..30]), 30);
    assert_eq!(c.drain(|_, b| b.len()).unwrap().bytes, 80);
    assert_eq!(
        p.write(Stream::Stdout, b"hello from the secure world, on stdout\n"),
        39
    );
    assert_eq!(p.write(Stream::Stderr, b"and on stderr!\n"), 15);
    p.finish();
    let snap = m.snapshot();
    let image = dir.join("ring.bin");
    std::fs::write(&image, &snap[GUARD..GUARD + m.block_len]).unwrap();
    let out = Command::new(&exe).arg(&image).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello from the secure world, on stdout\n");
    assert_eq!(out.stderr, b"and on stderr!\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A complete C consumer: reads a ring image, validates the layout, drains both streams to
/// fds 1 and 2 (the loop of the header comment), exits 0 if the producer had finished.
const C_CONSUMER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tzwasm_ring.h"

int main(int argc, char **argv)
{
	static _Alignas(64) unsigned char base[1 << 16];
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
	size_t len = f ? fread(base, 1, sizeof(base), f) : 0;
	struct tzwasm_ring_header *h = (struct tzwasm_ring_header *)base;
	uint32_t cap[2], off[2], cons[2];
	unsigned s;

	if (len < TZWASM_RING_HEADER_SIZE || h->magic != TZWASM_RING_MAGIC ||
	    h->version != TZWASM_RING_VERSION || h->header_size != TZWASM_RING_HEADER_SIZE)
		return 2;
	for (s = 0; s < TZWASM_RING_STREAMS; s++) {
		cap[s] = h->capacity[s];
		off[s] = h->data_offset[s];
		cons[s] = __atomic_load_n(&h->consumed[s], __ATOMIC_ACQUIRE);
		if (cap[s] == 0 || (cap[s] & (cap[s] - 1)) || (uint64_t)off[s] + cap[s] > len)
			return 3;
	}
	uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);
	for (s = 0; s < TZWASM_RING_STREAMS; s++) {
		FILE *out = s == TZWASM_RING_STDOUT ? stdout : stderr;
		uint32_t prod = __atomic_load_n(&h->produced[s], __ATOMIC_ACQUIRE);
		uint32_t avail = prod - cons[s];
		if (avail > cap[s])
			return 4;
		while (avail) {
			uint32_t pos = cons[s] & (cap[s] - 1);
			uint32_t n = avail < cap[s] - pos ? avail : cap[s] - pos;
			fwrite(base + off[s] + pos, 1, n, out);
			cons[s] += n;
			avail -= n;
			__atomic_store_n(&h->consumed[s], cons[s], __ATOMIC_RELEASE);
		}
	}
	return (flags & TZWASM_RING_FLAG_FINISHED) ? 0 : 5;
}
"#;

// ---------------------------------------------------------------------------------------------
// docs/protocol.md describes this layout

const PROTOCOL_MD: &str = include_str!("../../../docs/protocol.md");

#[test]
fn doc_section_lists_every_header_field_at_its_offset() {
    let section = PROTOCOL_MD
        .split("\n## Output ring")
        .nth(1)
        .expect("docs/protocol.md has a section \"## Output ring\"");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<Vec<&str>> = section
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    for (name, off, count) in rust_fields() {
        let cell = if count == 1 {
            format!("`{name}`")
        } else {
            format!("`{name}[{count}]`")
        };
        let hex = format!("`0x{off:02X}`");
        assert!(
            rows.iter()
                .any(|r| r.len() > 2 && r[1] == hex && r[2] == cell),
            "Output ring table has no row `| {hex} | {cell} |`"
        );
    }
    for text in [
        format!("`0x{MAGIC:08X}`"),
        format!("version {VERSION}"),
        format!("{HEADER_SIZE} bytes"),
    ] {
        assert!(
            section.contains(&text),
            "Output ring section does not say {text}"
        );
    }
}
