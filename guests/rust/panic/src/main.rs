//! rust-panic: a Rust panic (message on stderr, then the abort becomes `unreachable`), an
//! out-of-bounds slice index, an integer overflow caught by checked arithmetic, or a stack
//! overflow by unbounded recursion, selected by the first argument.
use std::hint::black_box;

fn recurse(n: u64, acc: &mut [u64; 16]) -> u64 {
    acc[(n % 16) as usize] += n;
    if black_box(n) == u64::MAX {
        return 0;
    }
    recurse(n + 1, acc) + acc[(n % 7) as usize]
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    println!("rust-panic: {what}");
    match what.as_str() {
        "panic" => panic!("deliberate panic with value {}", black_box(42)),
        "index" => {
            let v = black_box(vec![1u8, 2, 3]);
            let i = black_box(7usize);
            println!("{}", v[i]);
        }
        "overflow" => {
            let x = black_box(i32::MAX);
            println!("{:?}", x.checked_add(1).expect("i32 overflow detected"));
        }
        "stack" => {
            let mut acc = [0u64; 16];
            println!("{}", recurse(black_box(0), &mut acc));
        }
        _ => println!("no panic requested (use panic|index|overflow|stack)"),
    }
}
