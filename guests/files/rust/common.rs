//! Helpers shared by the Rust programs of the file corpus (included with `#[path]`): the base
//! directory from argv[1], result printing (`Ok(value)` or the error's kind and WASI errno),
//! sorted directory listings and an expectation counter that becomes the exit code.
#![allow(dead_code)]

use std::fmt::Debug;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The base directory: argv[1] (a preopen's guest name), "." when absent.
pub fn base() -> PathBuf {
    std::env::args().nth(1).unwrap_or_else(|| ".".into()).into()
}

/// `<base>/<rel>`.
pub fn p(rel: &str) -> PathBuf {
    base().join(rel)
}

/// Prints `<what> -> Ok(<value>)` or `<what> -> Err(<kind>, errno <n>)`, returns the value.
pub fn show<T: Debug>(what: &str, r: io::Result<T>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("{what} -> Ok({v:?})");
            Some(v)
        }
        Err(e) => {
            println!(
                "{what} -> Err({:?}, errno {:?})",
                e.kind(),
                e.raw_os_error()
            );
            None
        }
    }
}

/// Like [`show`] for values that are not printed (`Ok`).
pub fn show_unit<T>(what: &str, r: io::Result<T>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("{what} -> Ok");
            Some(v)
        }
        Err(e) => {
            println!(
                "{what} -> Err({:?}, errno {:?})",
                e.kind(),
                e.raw_os_error()
            );
            None
        }
    }
}

/// Recursive sorted listing: `  <name>/ dir`, `  <name> file <len>`, `  <name> symlink`.
pub fn list_tree(path: &Path) {
    match entries(path) {
        Ok(v) => {
            println!("list {}: {} entries", path.display(), v.len());
            print_entries(path, &v, 1);
        }
        Err(e) => println!("list {}: Err({:?})", path.display(), e.kind()),
    }
}

fn entries(path: &Path) -> io::Result<Vec<String>> {
    let mut v = Vec::new();
    for e in fs::read_dir(path)? {
        v.push(e?.file_name().to_string_lossy().into_owned());
    }
    v.sort();
    Ok(v)
}

fn print_entries(dir: &Path, names: &[String], depth: usize) {
    for n in names {
        let full = dir.join(n);
        let pad = "  ".repeat(depth);
        match fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => {
                println!("{pad}{n}/ dir");
                if let Ok(v) = entries(&full) {
                    print_entries(&full, &v, depth + 1);
                }
            }
            Ok(m) if m.file_type().is_symlink() => println!("{pad}{n} symlink"),
            Ok(m) => println!("{pad}{n} file {}", m.len()),
            Err(e) => println!("{pad}{n} ? {:?}", e.kind()),
        }
    }
}

/// Counts failed expectations; `exit()` ends the program with that count (max 100).
#[derive(Default)]
pub struct Checks {
    failures: i32,
}

impl Checks {
    pub fn expect(&mut self, ok: bool, what: &str) {
        if !ok {
            println!("EXPECT FAILED: {what}");
            self.failures += 1;
        }
    }
    pub fn exit(self) -> ! {
        std::process::exit(self.failures.min(100))
    }
}

/// File contents, escaped, or the error.
pub fn cat(path: &Path) {
    match fs::read(path) {
        Ok(b) => println!(
            "cat {}: {:?} ({} bytes)",
            path.display(),
            String::from_utf8_lossy(&b),
            b.len()
        ),
        Err(e) => println!(
            "cat {}: Err({:?}, errno {:?})",
            path.display(),
            e.kind(),
            e.raw_os_error()
        ),
    }
}
