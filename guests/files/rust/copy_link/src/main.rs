//! fs::copy, fs::hard_link, and copying a file onto itself.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    c.expect(
        show(
            "copy a.txt -> a-copy.txt",
            fs::copy(p("a.txt"), p("a-copy.txt")),
        ) == Some(6),
        "copy",
    );
    show(
        "copy data.bin -> sub/deep/data.bin",
        fs::copy(p("data.bin"), p("sub/deep/data.bin")),
    );
    show("copy missing", fs::copy(p("missing"), p("x")));
    show("copy a dir", fs::copy(p("sub"), p("subcopy")));
    show_unit(
        "hard_link b.txt -> b-hard.txt",
        fs::hard_link(p("b.txt"), p("b-hard.txt")),
    );
    fs::write(p("b.txt"), "changed\n").unwrap();
    cat(&p("b-hard.txt"));
    show_unit(
        "hard_link onto existing",
        fs::hard_link(p("b.txt"), p("a.txt")),
    );
    c.expect(
        fs::read(p("sub/deep/data.bin"))
            .map(|v| v == fs::read(p("data.bin")).unwrap())
            .unwrap_or(false),
        "equal copy",
    );
    list_tree(&base());
    c.exit()
}
