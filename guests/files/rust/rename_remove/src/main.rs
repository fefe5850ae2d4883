//! fs::rename (files, directories, over existing files) and fs::remove_file.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    c.expect(
        show_unit("rename a.txt -> z.txt", fs::rename(p("a.txt"), p("z.txt"))).is_some(),
        "rename",
    );
    c.expect(!p("a.txt").exists(), "a.txt gone");
    c.expect(
        show_unit(
            "rename b.txt over z.txt",
            fs::rename(p("b.txt"), p("z.txt")),
        )
        .is_some(),
        "over",
    );
    cat(&p("z.txt"));
    c.expect(
        show_unit("rename sub -> sub2", fs::rename(p("sub"), p("sub2"))).is_some(),
        "dir",
    );
    cat(&p("sub2/c.txt"));
    show_unit("rename missing", fs::rename(p("missing"), p("m")));
    show_unit(
        "rename into itself",
        fs::rename(p("sub2"), p("sub2/deep/x")),
    );
    c.expect(
        show_unit("remove_file z.txt", fs::remove_file(p("z.txt"))).is_some(),
        "remove",
    );
    show_unit("remove_file z.txt again", fs::remove_file(p("z.txt")));
    show_unit("remove_file sub2", fs::remove_file(p("sub2")));
    c.expect(
        show_unit("remove_file link_out", fs::remove_file(p("link_out"))).is_some(),
        "link",
    );
    list_tree(&base());
    c.exit()
}
