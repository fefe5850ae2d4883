//! rust-alloc: heap use that drives memory.grow: a 32 MiB vector, many small boxes and
//! strings, reallocation, and an impossible allocation reported through try_reserve.
fn main() {
    let mut big: Vec<u32> = Vec::new();
    for i in 0..(8 << 20) {
        big.push(i ^ (i >> 3));
    }
    let s: u64 = big.iter().map(|&x| x as u64).sum();
    println!("big vec: len={} sum={s}", big.len());
    drop(big);

    let boxes: Vec<Box<[u8; 100]>> = (0..10_000).map(|i| Box::new([i as u8; 100])).collect();
    let t: u64 = boxes.iter().map(|b| b[99] as u64).sum();
    println!("boxes: {} total={t}", boxes.len());

    let mut text = String::new();
    for i in 0..50_000 {
        text.push_str(&i.to_string());
        text.push(',');
    }
    println!(
        "string: len={} tail={:?}",
        text.len(),
        &text[text.len() - 12..]
    );

    let mut v: Vec<u8> = Vec::new();
    match v.try_reserve(3 << 30) {
        Ok(()) => println!("try_reserve(3 GiB): ok"),
        Err(e) => println!("try_reserve(3 GiB): failed: {e}"),
    }
}
