//! Increments the number in counter.txt. Exit 3: no counter file; 4: not a number.
#[path = "../../common.rs"]
mod common;
use common::*;
use std::fs;

fn main() {
    let s = match fs::read_to_string(p("counter.txt")) {
        Ok(s) => s,
        Err(e) => {
            println!("no counter: {:?}", e.kind());
            std::process::exit(3);
        }
    };
    let Ok(v) = s.trim().parse::<u64>() else {
        println!("counter unreadable: {s:?}");
        std::process::exit(4);
    };
    fs::write(p("counter.txt"), format!("{}\n", v + 1)).unwrap();
    println!("counter {v} -> {}", v + 1);
}
