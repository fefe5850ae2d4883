//! OpenOptions (append, create_new, truncate, read+write), Seek (Start, Current, End),
//! set_len, stream_position.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

fn main() {
    let mut c = Checks::default();
    for i in 0..3 {
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(p("log.txt"))
            .unwrap();
        writeln!(f, "line {i}").unwrap();
    }
    cat(&p("log.txt"));
    show(
        "create_new log.txt",
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p("log.txt"))
            .map(|_| ()),
    );
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(p("data.bin"))
        .unwrap();
    let mut b = [0u8; 4];
    show("seek Start(16)", f.seek(SeekFrom::Start(16)));
    f.read_exact(&mut b).unwrap();
    println!("bytes at 16: {b:?}");
    show("seek Current(-2)", f.seek(SeekFrom::Current(-2)));
    f.write_all(b"XY").unwrap();
    show("stream_position", f.stream_position());
    show("seek End(-1)", f.seek(SeekFrom::End(-1)));
    f.read_exact(&mut b[..1]).unwrap();
    println!("last byte {}", b[0]);
    show("seek Current(-1000)", f.seek(SeekFrom::Current(-1000)));
    show("seek End(10) then write", f.seek(SeekFrom::End(10)));
    f.write_all(b"!").unwrap();
    show("len", f.metadata().map(|m| m.len()));
    show_unit("set_len 20", f.set_len(20));
    show("len", f.metadata().map(|m| m.len()));
    drop(f);
    let d = fs::read(p("data.bin")).unwrap();
    println!("data.bin now {:?}", d);
    c.expect(d.len() == 20 && &d[18..20] == b"XY", "XY written at 18");
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(p("b.txt"))
        .unwrap();
    f.write_all(b"truncated").unwrap();
    drop(f);
    cat(&p("b.txt"));
    let mut f = OpenOptions::new().append(true).open(p("b.txt")).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"+tail").unwrap();
    drop(f);
    cat(&p("b.txt"));
    show(
        "open read-only then write",
        fs::File::open(p("a.txt")).and_then(|mut f| f.write(b"x")),
    );
    c.exit()
}
