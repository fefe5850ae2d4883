//! rust-compute: compute kernels in Rust: SHA-256 (own implementation), sorting, BTreeMap and
//! HashMap (whose RandomState seeds from WASI random_get), f64 maths, trait objects
//! (call_indirect); prints checksums only, so the output is deterministic.
use std::collections::{BTreeMap, HashMap};

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

trait Shape {
    fn area(&self) -> f64;
}
struct Circle(f64);
struct Rect(f64, f64);
impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.0 * self.0
    }
}
impl Shape for Rect {
    fn area(&self) -> f64 {
        self.0 * self.1
    }
}

fn main() {
    println!("sha256(abc) = {}", hex(&sha256(b"abc")));
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let data: Vec<u8> = (0..1 << 20).map(|_| next() as u8).collect();
    println!("sha256(1 MiB xorshift) = {}", hex(&sha256(&data)));

    let mut v: Vec<u64> = (0..100_000).map(|_| next() % 1_000_000).collect();
    v.sort_unstable();
    let mut w = v.clone();
    w.dedup();
    let sum: u64 = v.iter().sum();
    println!(
        "sort: n={} distinct={} min={} max={} sum={}",
        v.len(),
        w.len(),
        v[0],
        v[v.len() - 1],
        sum
    );

    let words = "the quick brown fox jumps over the lazy dog the end".split(' ');
    let mut bt: BTreeMap<&str, usize> = BTreeMap::new();
    let mut hm: HashMap<&str, usize> = HashMap::new();
    for word in words {
        *bt.entry(word).or_default() += 1;
        *hm.entry(word).or_default() += 1;
    }
    println!("btree: {bt:?}");
    let mut from_hash: Vec<_> = hm.into_iter().collect();
    from_hash.sort();
    println!(
        "hashmap agrees: {}",
        from_hash
            .iter()
            .map(|(k, v)| (*k, *v))
            .eq(bt.iter().map(|(k, v)| (*k, *v)))
    );

    let shapes: Vec<Box<dyn Shape>> = (0..100)
        .map(|i| -> Box<dyn Shape> {
            if i % 3 == 0 {
                Box::new(Circle(i as f64 * 0.1))
            } else {
                Box::new(Rect(i as f64, 0.5))
            }
        })
        .collect();
    let area: f64 = shapes.iter().map(|s| s.area()).sum();
    println!("total area = {area:.6}");
    let series: f64 = (1..=10_000)
        .map(|k| ((k as f64).sqrt().sin() / k as f64).exp2())
        .sum();
    println!("series = {series:.12}");
}
