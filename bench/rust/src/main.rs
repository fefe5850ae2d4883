//! rsmix: the Rust benchmark workload. Per round: fill a `Vec<u64>` from a fixed generator and
//! `sort_unstable` it, build and query a `BTreeMap`, format and parse numbers through `String`,
//! and fold everything into one checksum. `rsmix [SIZE]`: SIZE rounds (default: the full run).
//! Prints exactly one line, `checksum rsmix <hex>`.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Default rounds for the full-size run.
const DEFAULT_ROUNDS: u64 = 120;
/// Elements per round.
const N: usize = 64 * 1024;

/// xorshift64*, the same generator as the C workloads.
fn next(s: &mut u64) -> u64 {
    let mut x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn mix(h: u64, v: u64) -> u64 {
    h ^ v
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(h << 6)
        .wrapping_add(h >> 2)
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_ROUNDS);
    let mut seed = 0x5eed_u64;
    let mut sum = 0u64;
    let mut v: Vec<u64> = Vec::with_capacity(N);
    let mut text = String::new();
    for round in 0..rounds {
        v.clear();
        v.extend((0..N).map(|_| next(&mut seed) >> 20));
        v.sort_unstable();
        sum = v.iter().step_by(101).fold(sum, |h, &x| mix(h, x));

        let mut map = BTreeMap::new();
        for (i, &x) in v.iter().enumerate().step_by(7) {
            map.insert(x.rotate_left(17) & 0xf_ffff, i as u64);
        }
        let hits = (0..N as u64 / 4)
            .filter_map(|k| map.get(&((k * 2_654_435_761 + round) & 0xf_ffff)))
            .fold(0u64, |a, &i| a.wrapping_add(i));
        sum = mix(sum, hits ^ map.len() as u64);

        text.clear();
        for &x in v.iter().step_by(64) {
            // Writing to a String cannot fail.
            let _ = write!(text, "{x:x},{},", x % 1000);
        }
        let parsed = text
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| u64::from_str_radix(s, 16).unwrap_or(0))
            .fold(0u64, |a, x| a.wrapping_mul(31).wrapping_add(x));
        sum = mix(sum, parsed ^ text.len() as u64);
    }
    println!("checksum rsmix {sum:016x}");
}
