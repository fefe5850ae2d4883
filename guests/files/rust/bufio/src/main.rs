//! BufReader::lines, BufWriter, a word count over the seed's text files, and a 2 MiB
//! BufWriter file read back with a checksum.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};

fn main() {
    let mut c = Checks::default();
    let mut totals = (0, 0, 0);
    for name in ["a.txt", "b.txt", "sub/c.txt", "sub/deep/d.txt"] {
        let f = File::open(p(name)).unwrap();
        let (mut l, mut w, mut b) = (0, 0, 0);
        for line in BufReader::new(f).lines() {
            let line = line.unwrap();
            l += 1;
            w += line.split_whitespace().count();
            b += line.len() + 1;
        }
        println!("{name}: {l} lines {w} words {b} bytes");
        totals = (totals.0 + l, totals.1 + w, totals.2 + b);
    }
    println!("total: {totals:?}");
    let mut out = BufWriter::with_capacity(
        1000,
        File::create(p("out/report.txt"))
            .or_else(|_| fs::create_dir(p("out")).and_then(|_| File::create(p("out/report.txt"))))
            .unwrap(),
    );
    let mut h: u64 = 0xcbf29ce484222325;
    for i in 0..50_000u32 {
        let line = format!("{i:08} {:08x}\n", i.wrapping_mul(2654435761));
        for b in line.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        out.write_all(line.as_bytes()).unwrap();
    }
    drop(out);
    let mut v = Vec::new();
    File::open(p("out/report.txt"))
        .unwrap()
        .read_to_end(&mut v)
        .unwrap();
    let h2 = v.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    println!(
        "report.txt {} bytes fnv {h:016x} {}",
        v.len(),
        if h == h2 { "equal" } else { "DIFFERENT" }
    );
    c.expect(h == h2 && v.len() == 50_000 * 18, "report");
    c.exit()
}
