//! 300 files written, listed (sorted, sizes summed), renamed and deleted.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let mut c = Checks::default();
    fs::create_dir(p("bulk")).unwrap();
    for i in 0..300 {
        fs::write(
            p(&format!("bulk/{i:03}.dat")),
            vec![b'a' + (i % 26) as u8; i % 50],
        )
        .unwrap();
    }
    let list = |dir: &str| -> Vec<(String, u64)> {
        let mut v: Vec<_> = fs::read_dir(p(dir))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let v = list("bulk");
    println!(
        "bulk: {} files, {} bytes, first {:?} last {:?}",
        v.len(),
        v.iter().map(|x| x.1).sum::<u64>(),
        v[0],
        v[v.len() - 1]
    );
    c.expect(v.len() == 300, "300 files");
    for (n, _) in v.iter().filter(|(n, _)| n.starts_with('1')) {
        fs::rename(p(&format!("bulk/{n}")), p(&format!("bulk/renamed-{n}"))).unwrap();
    }
    for (n, _) in v.iter().filter(|(n, _)| n.starts_with('0')) {
        fs::remove_file(p(&format!("bulk/{n}"))).unwrap();
    }
    let v = list("bulk");
    println!(
        "after: {} files, first {:?} last {:?}",
        v.len(),
        v[0],
        v[v.len() - 1]
    );
    c.expect(v.len() == 200, "200 left");
    fs::remove_dir_all(p("bulk/")).unwrap();
    c.expect(!p("bulk").exists(), "gone");
    list_tree(&base());
    c.exit()
}
