//! Error kinds and WASI errnos of failing std::fs calls.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    show("open missing", fs::File::open(p("missing")).map(|_| ()));
    show("create_dir existing", fs::create_dir(p("sub")));
    show("remove_dir non-empty", fs::remove_dir(p("sub")));
    show("read_dir of a file", fs::read_dir(p("a.txt")).map(|_| ()));
    show(
        "open a file as a dir path",
        fs::File::open(p("a.txt/x")).map(|_| ()),
    );
    show("write a directory", fs::write(p("sub"), "x"));
    show("remove_file a directory", fs::remove_file(p("sub")));
    show("rename dir onto file", fs::rename(p("sub"), p("a.txt")));
    show(
        "rename file onto non-empty dir",
        fs::rename(p("a.txt"), p("sub")),
    );
    show(
        "metadata link_out (escapes)",
        fs::metadata(p("link_out")).map(|_| ()),
    );
    show(
        "symlink_metadata link_out",
        fs::symlink_metadata(p("link_out")).map(|m| m.file_type().is_symlink()),
    );
    show("canonicalize a.txt", fs::canonicalize(p("a.txt")));
    show("open ..", fs::File::open(p("../outside.txt")).map(|_| ()));
    show(
        "open absolute /etc/passwd",
        fs::File::open("/etc/passwd").map(|_| ()),
    );
    show(
        "open relative outside.txt",
        fs::File::open("outside.txt").map(|_| ()),
    );
    show("set_current_dir", std::env::set_current_dir(p("sub")));
    show("current_dir", std::env::current_dir());
    std::process::exit(0)
}
