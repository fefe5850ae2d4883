//! Symlinks from std: read_link, symlink_metadata, following links with read/metadata,
//! read_dir's file_type of links; the seed's links point inside, up, absolute, to a dir.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    for name in ["link_in", "link_out", "link_abs", "link_dir", "a.txt"] {
        show(&format!("read_link {name}"), fs::read_link(p(name)));
        show(
            &format!("symlink_metadata {name} is_symlink"),
            fs::symlink_metadata(p(name)).map(|m| m.file_type().is_symlink()),
        );
        show(
            &format!("metadata {name} is_file"),
            fs::metadata(p(name)).map(|m| m.is_file()),
        );
        show(
            &format!("read_to_string {name}"),
            fs::read_to_string(p(name)),
        );
    }
    let mut v: Vec<(String, bool, bool)> = fs::read_dir(base())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                t.is_symlink(),
                t.is_dir(),
            )
        })
        .collect();
    v.sort();
    for (n, l, d) in v {
        println!("entry {n}: symlink {l} dir {d}");
    }
    show(
        "read_dir link_dir",
        fs::read_dir(p("link_dir")).map(|r| {
            let mut n: Vec<_> = r
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        }),
    );
    show_unit(
        "write through link_in",
        fs::write(p("link_in"), "via rust link\n"),
    );
    cat(&p("a.txt"));
    show_unit("remove_file link_dir", fs::remove_file(p("link_dir")));
    show(
        "sub still there",
        fs::metadata(p("sub")).map(|m| m.is_dir()),
    );
    std::process::exit(0)
}
