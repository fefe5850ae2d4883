//! std::fs basics: write, read, read_to_string, metadata (len, is_file, is_dir), exists.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    c.expect(
        show_unit(
            "write new.txt",
            fs::write(p("new.txt"), "written by rust\n"),
        )
        .is_some(),
        "write",
    );
    let s = show("read_to_string new.txt", fs::read_to_string(p("new.txt")));
    c.expect(s.as_deref() == Some("written by rust\n"), "read back");
    let b = show(
        "read data.bin len",
        fs::read(p("data.bin")).map(|v| v.len()),
    );
    c.expect(b == Some(256), "data.bin is 256 bytes");
    for name in [
        "a.txt",
        "sub",
        "sub/deep/d.txt",
        "missing",
        "link_in",
        "link_dir",
    ] {
        match fs::metadata(p(name)) {
            Ok(m) => println!(
                "metadata {name}: file {} dir {} len {}",
                m.is_file(),
                m.is_dir(),
                if m.is_file() { m.len() } else { 0 }
            ),
            Err(e) => println!("metadata {name}: Err({:?})", e.kind()),
        }
    }
    println!(
        "exists a.txt {} missing {}",
        p("a.txt").exists(),
        p("missing").exists()
    );
    show(
        "read_to_string data.bin (not UTF-8)",
        fs::read_to_string(p("data.bin")).map(|s| s.len()),
    );
    show("read a directory", fs::read(p("sub")).map(|v| v.len()));
    show_unit("write into a missing dir", fs::write(p("nodir/x.txt"), "x"));
    list_tree(&base());
    c.exit()
}
