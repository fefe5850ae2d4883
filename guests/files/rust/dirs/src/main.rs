//! Directories: create_dir, create_dir_all, read_dir (sorted), remove_dir, remove_dir_all.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    c.expect(
        show_unit("create_dir one", fs::create_dir(p("one"))).is_some(),
        "create_dir",
    );
    show_unit("create_dir one again", fs::create_dir(p("one")));
    c.expect(
        show_unit("create_dir_all x/y/z", fs::create_dir_all(p("x/y/z"))).is_some(),
        "all",
    );
    c.expect(
        show_unit("create_dir_all x/y/z again", fs::create_dir_all(p("x/y/z"))).is_some(),
        "all again",
    );
    show_unit(
        "create_dir_all over a file",
        fs::create_dir_all(p("a.txt/q")),
    );
    for i in 0..5 {
        fs::write(p(&format!("x/y/f{i}.txt")), format!("{i}\n")).unwrap();
    }
    let mut names: Vec<String> = fs::read_dir(p("x/y"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            format!(
                "{}{}",
                e.file_name().to_string_lossy(),
                if t.is_dir() { "/" } else { "" }
            )
        })
        .collect();
    names.sort();
    println!("read_dir x/y: {names:?}");
    c.expect(names.len() == 6, "6 entries");
    show_unit("remove_dir x (not empty)", fs::remove_dir(p("x")));
    c.expect(
        show_unit("remove_dir x/y/z", fs::remove_dir(p("x/y/z"))).is_some(),
        "remove_dir",
    );
    c.expect(
        show_unit("remove_dir_all x", fs::remove_dir_all(p("x"))).is_some(),
        "remove_dir_all",
    );
    show_unit("remove_dir_all x again", fs::remove_dir_all(p("x")));
    show_unit("remove_dir a.txt", fs::remove_dir(p("a.txt")));
    show("read_dir a.txt", fs::read_dir(p("a.txt")).map(|_| ()));
    list_tree(&base());
    c.exit()
}
