//! File::set_times / set_modified (fd_filestat_set_times) and reading back the times it set.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs::{self, File, FileTimes};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn secs(t: std::io::Result<SystemTime>) -> String {
    match t {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
            Err(_) => "before epoch".into(),
        },
        Err(e) => format!("Err({:?})", e.kind()),
    }
}

fn main() {
    let mut c = Checks::default();
    let f = File::options().write(true).open(p("a.txt")).unwrap();
    let t1 = UNIX_EPOCH + Duration::new(1_111_111_111, 222_333_444);
    let t2 = UNIX_EPOCH + Duration::new(2_000_000_000, 5);
    c.expect(
        show_unit(
            "set_times",
            f.set_times(FileTimes::new().set_accessed(t1).set_modified(t2)),
        )
        .is_some(),
        "set_times",
    );
    drop(f);
    let m = fs::metadata(p("a.txt")).unwrap();
    println!(
        "a.txt accessed {} modified {}",
        secs(m.accessed()),
        secs(m.modified())
    );
    c.expect(m.modified().ok() == Some(t2), "mtime");
    let f = File::options().write(true).open(p("b.txt")).unwrap();
    c.expect(
        show_unit("set_modified", f.set_modified(t1)).is_some(),
        "set_modified",
    );
    drop(f);
    println!(
        "b.txt modified {}",
        secs(fs::metadata(p("b.txt")).unwrap().modified())
    );
    let f = File::open(p("sub/c.txt")).unwrap();
    show_unit(
        "set_times on a read-only handle",
        f.set_times(FileTimes::new().set_modified(t1)),
    );
    c.exit()
}
