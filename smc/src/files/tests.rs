//! The file channel on a plain buffer: what one side writes the other reads back, and every
//! hostile length, op, sequence number and errno is refused.

use super::*;

#[repr(C, align(64))]
struct Block([u8; 8192]);

fn region(b: &mut Block) -> SharedRegion<'_> {
    // SAFETY: the block outlives the region's uses in each test, single-threaded.
    unsafe { SharedRegion::new(b.0.as_mut_ptr(), b.0.len()) }.unwrap()
}

#[test]
fn request_and_reply_round_trip() {
    let mut b = Block([0; 8192]);
    let mem = region(&mut b);
    let pre = [
        Preopen {
            handle: 7,
            name: b"data",
            sealed: false,
        },
        Preopen {
            handle: 9,
            name: b"/tmp/x",
            sealed: false,
        },
    ];
    let tool = Channel::format(mem, &pre).unwrap();
    assert_eq!(tool.capacity(), 8192 - HEADER_SIZE);
    let secure = Channel::attach(mem).unwrap();
    let mut buf = vec![0u8; secure.capacity()];
    let mut seen = Vec::new();
    let n = secure
        .read_preopens(&mut buf, |p| seen.push((p.handle, p.name.to_vec())))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(seen, vec![(7, b"data".to_vec()), (9, b"/tmp/x".to_vec())]);

    let req = Request {
        seq: 42,
        op: FileOp::Rename,
        args: [7, 9, 0, 0, 0, 6],
        path: b"a.txt",
        path2: b"sub/b.txt",
        data: b"",
    };
    assert!(secure.write_request(&req));
    let mut tbuf = vec![0u8; tool.capacity()];
    assert_eq!(tool.read_request(&mut tbuf).unwrap(), req);

    assert!(tool.write_reply(&Reply {
        seq: 42,
        errno: 44,
        values: [1, 2, 3, 4],
        data: b"filestat",
    }));
    let r = secure.read_reply(42, 64, &mut buf).unwrap();
    assert_eq!(
        (r.errno, r.values, r.data),
        (44, [1, 2, 3, 4], &b"filestat"[..])
    );
}

#[test]
fn hostile_replies_are_refused() {
    let mut b = Block([0; 8192]);
    let mem = region(&mut b);
    let tool = Channel::format(mem, &[]).unwrap();
    let secure = Channel::attach(mem).unwrap();
    let mut buf = vec![0u8; 8192];
    let reply = |seq, errno, data: &'static [u8]| Reply {
        seq,
        errno,
        values: [0; 4],
        data,
    };
    assert!(tool.write_reply(&reply(5, 0, b"0123456789")));
    assert_eq!(
        secure.read_reply(6, 64, &mut buf),
        Err(ChannelError::Sequence)
    );
    assert_eq!(
        secure.read_reply(5, 9, &mut buf),
        Err(ChannelError::Length),
        "more data than asked for"
    );
    assert!(secure.read_reply(5, 10, &mut buf[..10]).is_ok());
    assert_eq!(
        secure.read_reply(5, 10, &mut buf[..9]),
        Err(ChannelError::Length)
    );
    assert!(tool.write_reply(&reply(5, 77, b"")));
    assert_eq!(secure.read_reply(5, 0, &mut buf), Err(ChannelError::Errno));
    // A data length beyond the area, written by hand.
    assert!(tool.write_reply(&reply(5, 0, b"")));
    assert!(mem.write_u32(OFF_REPLY + 12, u32::MAX));
    assert_eq!(
        secure.read_reply(5, usize::MAX, &mut buf),
        Err(ChannelError::Length)
    );
}

#[test]
fn hostile_requests_and_layouts_are_refused() {
    let mut b = Block([0; 8192]);
    let mem = region(&mut b);
    assert_eq!(
        Channel::attach(mem).err(),
        Some(ChannelError::Layout),
        "not formatted"
    );
    let tool = Channel::format(mem, &[]).unwrap();
    let mut buf = vec![0u8; 8192];
    assert!(mem.write_u32(OFF_REQUEST + 8, 99));
    assert_eq!(tool.read_request(&mut buf), Err(ChannelError::Op));
    assert!(mem.write_u32(OFF_REQUEST + 8, FileOp::Read as u32));
    for (field, v) in [(12, u32::MAX), (16, 9000), (20, 8000)] {
        let mut m2 = [0u32; 3];
        m2[(field - 12) / 4] = v;
        for (i, w) in m2.iter().enumerate() {
            assert!(mem.write_u32(OFF_REQUEST + 12 + 4 * i, *w));
        }
        assert_eq!(
            tool.read_request(&mut buf),
            Err(ChannelError::Length),
            "{field}"
        );
    }
    // A capacity word beyond the block.
    assert!(mem.write_u32(OFF_CAPACITY, 1 << 20));
    assert_eq!(Channel::attach(mem).err(), Some(ChannelError::Layout));
    // Preopens: too many, an empty name.
    let many = [Preopen {
        handle: 1,
        name: b"d",
        sealed: false,
    }; MAX_PREOPENS + 1];
    assert_eq!(
        Channel::format(mem, &many).err(),
        Some(ChannelError::Preopens)
    );
    let empty = [Preopen {
        handle: 1,
        name: b"",
        sealed: false,
    }];
    assert_eq!(
        Channel::format(mem, &empty).err(),
        Some(ChannelError::Preopens)
    );
    // "/sealed" is the sealed directory's name, and the sealed directory has no other.
    for (name, sealed) in [(&b"/sealed"[..], false), (b"data", true)] {
        let p = [Preopen {
            handle: 1,
            name,
            sealed,
        }];
        assert_eq!(Channel::format(mem, &p).err(), Some(ChannelError::Preopens));
    }
    let sealed = [Preopen {
        handle: 4,
        name: b"/sealed",
        sealed: true,
    }];
    let ch = Channel::format(mem, &sealed).unwrap();
    let mut buf = [0u8; 8192];
    let mut seen = Vec::new();
    ch.read_preopens(&mut buf, |p| seen.push((p.handle, p.sealed)))
        .unwrap();
    assert_eq!(seen, [(4, true)]);
    // The flag cleared behind the secure world's back (or set on another name): refused.
    assert!(mem.write_u32(HEADER_SIZE + 4, 0));
    assert_eq!(
        ch.read_preopens(&mut buf, |_| {}).err(),
        Some(ChannelError::Preopens)
    );
    assert!(mem.write_u32(HEADER_SIZE + 4, 2));
    assert_eq!(
        ch.read_preopens(&mut buf, |_| {}).err(),
        Some(ChannelError::Preopens)
    );
    let ok = Channel::format(mem, &[]).unwrap();
    assert!(mem.write_u32(OFF_PREOPENS, MAX_PREOPENS as u32 + 1));
    assert_eq!(
        ok.read_preopens(&mut buf, |_| {}),
        Err(ChannelError::Preopens)
    );
    assert!(mem.write_u32(OFF_PREOPENS, 1));
    assert!(mem.write_u32(HEADER_SIZE + 4, 5000));
    assert_eq!(
        ok.read_preopens(&mut buf, |_| {}),
        Err(ChannelError::Preopens)
    );
}

#[test]
fn ops_round_trip_their_numbers() {
    for (i, op) in FileOp::ALL.into_iter().enumerate() {
        assert_eq!(op as u32, i as u32 + 1);
        assert_eq!(FileOp::from_raw(op as u32), Some(op));
    }
    assert_eq!(FileOp::from_raw(0), None);
    assert_eq!(FileOp::from_raw(26), None);
}
