//! Attempts to leave the granted directory with std::fs: "..", absolute paths, links
//! pointing out, creating outside; then lists what is left inside. Exit code 0 only if
//! every attempt failed.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    let reads = [
        "../outside.txt",
        "sub/../../outside.txt",
        "link_out",
        "link_abs",
    ];
    for r in reads {
        let got = show(&format!("read {r}"), fs::read_to_string(p(r)));
        c.expect(got.is_none(), r);
    }
    for a in ["/outside.txt", "/etc/passwd", "outside.txt"] {
        let got = show(&format!("read {a}"), fs::read_to_string(a));
        c.expect(got.is_none(), a);
    }
    c.expect(
        show_unit("write ../made.txt", fs::write(p("../made.txt"), "x")).is_none(),
        "write up",
    );
    c.expect(
        show_unit("create_dir_all ../../d", fs::create_dir_all(p("../../d"))).is_none(),
        "mkdir up",
    );
    c.expect(
        show_unit(
            "rename a.txt -> ../a.txt",
            fs::rename(p("a.txt"), p("../a.txt")),
        )
        .is_none(),
        "rename up",
    );
    c.expect(
        show_unit("write link_out", fs::write(p("link_out"), "x")).is_none(),
        "write via link",
    );
    c.expect(
        show_unit("remove_dir_all ..", fs::remove_dir_all(p(".."))).is_none(),
        "rm up",
    );
    list_tree(&base());
    c.exit()
}
