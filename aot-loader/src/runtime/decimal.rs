//! Decimal text for `f64` without core's float formatting and parsing: the significant
//! digits `%.7g` prints for a result ([`significant`]) and `strtod`'s reading of an
//! argument ([`parse`]), both exact and rounded to nearest with ties to even, done by
//! schoolbook arithmetic on one small fixed-size big integer ([`Big`]).
//!
//! Core's versions (Grisu with a Dragon4 fallback for printing, Eisel-Lemire with its 10 KB
//! table of powers of five for parsing) were about 29 KB of the BL32 image, for one call per
//! argument or result of an export. This is a few kilobytes and slower, which does not
//! matter there; the host tests check it against core's on random and edge-case values.

use core::cmp::Ordering;

/// 32-bit words of a [`Big`]: 3,904 bits. The largest values [`parse`] builds are the
/// divisor 10^1125 (the smallest magnitude it computes, written with [`MAX_DIGITS`] + 1
/// digits) shifted left by 56 bits and a dividend of the same length, under 3,800 bits;
/// [`significant`] needs at most 1,078.
const WORDS: usize = 122;

/// Significant digits [`parse`] keeps: every double and every midpoint between two doubles
/// has at most 767, so digits after the 800th only matter as "some are not zero".
const MAX_DIGITS: usize = 800;

/// An unsigned integer of [`WORDS`] little-endian words. Every operation reports overflow
/// instead of losing bits; callers size their values so that it cannot happen.
#[derive(Clone)]
struct Big {
    w: [u32; WORDS],
}

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut w = [0u32; WORDS];
        let [lo, hi, ..] = &mut w;
        *lo = v as u32;
        *hi = (v >> 32) as u32;
        Big { w }
    }

    fn is_zero(&self) -> bool {
        self.w.iter().all(|&x| x == 0)
    }

    /// Bits up to and including the highest set one (0 for zero).
    fn bits(&self) -> usize {
        let Some((i, &top)) = self.w.iter().enumerate().rev().find(|(_, &x)| x != 0) else {
            return 0;
        };
        i * 32 + (32 - top.leading_zeros() as usize)
    }

    fn bit(&self, i: usize) -> bool {
        self.w.get(i / 32).is_some_and(|&x| x >> (i % 32) & 1 == 1)
    }

    /// `self = self * m + a`; false on overflow.
    fn mul_add_small(&mut self, m: u32, a: u32) -> bool {
        let mut carry = u64::from(a);
        for x in self.w.iter_mut() {
            let t = u64::from(*x) * u64::from(m) + carry;
            *x = t as u32;
            carry = t >> 32;
        }
        carry == 0
    }

    /// `self *= 10^n`; false on overflow.
    fn mul_pow10(&mut self, mut n: usize) -> bool {
        while n > 0 {
            let step = n.min(9);
            if !self.mul_add_small(10u32.pow(step as u32), 0) {
                return false;
            }
            n -= step;
        }
        true
    }

    /// `self <<= n`; false on overflow.
    fn shl(&mut self, n: usize) -> bool {
        if self.bits() + n > WORDS * 32 {
            return false;
        }
        let (words, bits) = (n / 32, n % 32);
        let old = self.w;
        for (i, x) in self.w.iter_mut().enumerate() {
            let src = |k: usize| {
                i.checked_sub(k)
                    .and_then(|j| old.get(j))
                    .copied()
                    .unwrap_or(0)
            };
            *x = if bits == 0 {
                src(words)
            } else {
                (src(words) << bits) | (src(words + 1) >> (32 - bits))
            };
        }
        true
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for x in self.w.iter_mut().rev() {
            let next = *x & 1;
            *x = (*x >> 1) | (carry << 31);
            carry = next;
        }
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.w.iter().rev().cmp(other.w.iter().rev())
    }

    /// `self -= other`, for `self >= other`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = false;
        for (x, &y) in self.w.iter_mut().zip(other.w.iter()) {
            let (d, b1) = x.overflowing_sub(y);
            let (d, b2) = d.overflowing_sub(u32::from(borrow));
            *x = d;
            borrow = b1 || b2;
        }
    }

    /// `self /= d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for x in self.w.iter_mut().rev() {
            let t = (rem << 32) | u64::from(*x);
            *x = (t / u64::from(d)) as u32;
            rem = t % u64::from(d);
        }
        rem as u32
    }

    /// Removes and returns the bits from `k` up (a value below 16: [`Digits`] keeps the
    /// fraction below `10 << k`).
    fn take_from(&mut self, k: usize) -> u32 {
        let mut v = 0;
        for i in 0..4 {
            v |= u32::from(self.bit(k + i)) << i;
        }
        let (word, bit) = (k / 32, k % 32);
        for (i, x) in self.w.iter_mut().enumerate() {
            match i.cmp(&word) {
                Ordering::Less => {}
                Ordering::Equal => *x &= (1u32 << bit) - 1,
                Ordering::Greater => *x = 0,
            }
        }
        v
    }
}

/// The decimal digits of a finite positive double, most significant first: its integer part
/// (computed whole, at most 309 digits) then its fraction (one multiplication by ten per
/// digit), then zeros.
struct Digits {
    int: [u8; 320],
    n_int: usize,
    pos: usize,
    /// The fraction as `frac / 2^k`.
    frac: Big,
    k: usize,
}

impl Digits {
    fn new(m: u64, e: i32) -> Digits {
        let (mut int_part, frac, k) = if e >= 0 {
            let mut b = Big::from_u64(m);
            // m < 2^53 and e <= 971: under 1,025 bits.
            let _ = b.shl(e as usize);
            (b, Big::from_u64(0), 0)
        } else {
            let k = e.unsigned_abs() as usize;
            let int = if k < 64 { m >> k } else { 0 };
            let frac = if k < 64 { m & ((1u64 << k) - 1) } else { m };
            (Big::from_u64(int), Big::from_u64(frac), k)
        };
        // Nine digits at a time, least significant first, then reversed.
        let mut int = [0u8; 320];
        let mut n = 0;
        while !int_part.is_zero() {
            let mut chunk = int_part.div_small(1_000_000_000);
            for _ in 0..9 {
                if let Some(d) = int.get_mut(n) {
                    *d = (chunk % 10) as u8;
                }
                chunk /= 10;
                n += 1;
            }
        }
        while n > 0 && int.get(n - 1) == Some(&0) {
            n -= 1;
        }
        if let Some(s) = int.get_mut(..n) {
            s.reverse();
        }
        Digits {
            int,
            n_int: n,
            pos: 0,
            frac,
            k,
        }
    }

    fn next(&mut self) -> u8 {
        if self.pos < self.n_int {
            self.pos += 1;
            return self.int.get(self.pos - 1).copied().unwrap_or(0);
        }
        if self.frac.is_zero() {
            return 0;
        }
        // frac < 2^k, so frac * 10 < 10 * 2^k: under k + 4 bits, at most 1,078.
        let _ = self.frac.mul_add_small(10, 0);
        self.frac.take_from(self.k) as u8
    }

    /// Whether any digit still to come is not zero.
    fn rest_nonzero(&self) -> bool {
        self.int
            .get(self.pos..self.n_int)
            .is_some_and(|s| s.iter().any(|&d| d != 0))
            || !self.frac.is_zero()
    }
}

/// `v`'s first `P` significant decimal digits, rounded to nearest with ties to even, as the
/// integer `d` (`10^(P-1) <= d < 10^P`) and the decimal exponent `x` of its first digit:
/// `|v|` is about `d * 10^(x - P + 1)`. `None` for zero, infinities and NaN. `P` is 1 to 18.
pub fn significant<const P: u32>(v: f64) -> Option<(u64, i32)> {
    if !v.is_finite() || v == 0.0 || P == 0 || P > 18 {
        return None;
    }
    let bits = v.to_bits();
    let frac = bits & ((1u64 << 52) - 1);
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    let mut digits = Digits::new(m, e);
    let mut x = digits.n_int as i32 - 1;
    let mut first = digits.next();
    while first == 0 {
        // Only fraction digits can lead with zeros; a nonzero v has a nonzero digit.
        x -= 1;
        first = digits.next();
    }
    let mut d = u64::from(first);
    for _ in 1..P {
        d = d * 10 + u64::from(digits.next());
    }
    let round = digits.next();
    let up = round > 5 || (round == 5 && (digits.rest_nonzero() || d % 2 == 1));
    if up {
        d += 1;
        if d == 10u64.pow(P) {
            d /= 10;
            x += 1;
        }
    }
    Some((d, x))
}

/// Rust's float grammar over the whole of `s`: an optional sign, digits with at most one
/// `.` (at least one digit), an optional `e`/`E` with an optional sign and at least one
/// digit. Returns the sign, the significant digits (at most [`MAX_DIGITS`], the last one a
/// 1 standing for any nonzero digits dropped after them), their count, and the decimal
/// exponent of the last kept digit. `None` if `s` does not match.
fn scan(s: &str) -> Option<(bool, Big, usize, i64)> {
    let b = s.as_bytes();
    let (neg, mut i) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut big = Big::from_u64(0);
    let (mut n, mut mantissa_digits, mut sticky) = (0usize, 0usize, false);
    // Decimal exponent of the next digit appended to `big`, relative to the `.`.
    let mut scale: i64 = 0;
    let mut seen_point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                mantissa_digits += 1;
                if seen_point {
                    scale -= 1;
                }
                if n == 0 && c == b'0' {
                    // A leading zero: not significant.
                } else if n < MAX_DIGITS {
                    let _ = big.mul_add_small(10, u32::from(c - b'0'));
                    n += 1;
                } else {
                    sticky |= c != b'0';
                    // A dropped digit still scales the ones kept.
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if mantissa_digits == 0 {
        return None;
    }
    let mut exp: i64 = 0;
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            // Saturates far beyond any exponent that could give a finite nonzero double.
            exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    if sticky {
        let _ = big.mul_add_small(10, 1);
        n += 1;
        scale -= 1;
    }
    // Digits after the point that were leading zeros still count in `scale` (they were
    // counted above), so the kept digits stand for big * 10^(exp + scale).
    Some((neg, big, n, exp + scale))
}

/// `strtod` for Rust's float grammar (decimal only; the caller handles `inf` and `nan`):
/// the double nearest the exact value of `s`, ties to even, or `None` if `s` is not a
/// number.
pub fn parse(s: &str) -> Option<f64> {
    let (neg, digits, n, e10) = scan(s)?;
    let sign = if neg { 1u64 << 63 } else { 0 };
    let signed = |bits: u64| Some(f64::from_bits(bits | sign));
    if digits.is_zero() {
        return signed(0);
    }
    // value = digits * 10^e10 with 10^(n-1) <= digits < 10^n.
    let magnitude = n as i64 + e10;
    if magnitude > 310 {
        return signed(0x7ff0_0000_0000_0000);
    }
    if magnitude < -324 {
        return signed(0);
    }
    // value = num / den, then num / den = q * 2^-s with 2^55 <= q * (1 or 2) < 2^57.
    let mut num = digits;
    let mut den = Big::from_u64(1);
    let ok = if e10 >= 0 {
        num.mul_pow10(e10 as usize)
    } else {
        den.mul_pow10(e10.unsigned_abs() as usize)
    };
    let s = 56 - (num.bits() as i64 - den.bits() as i64);
    let ok = ok
        && if s >= 0 {
            num.shl(s as usize)
        } else {
            den.shl(s.unsigned_abs() as usize)
        };
    // The quotient is below 2^57: long division by den << 56 down to den.
    if !ok || !den.shl(56) {
        return None;
    }
    let mut q = 0u64;
    for i in (0..=56).rev() {
        if num.cmp(&den) != Ordering::Less {
            num.sub(&den);
            q |= 1 << i;
        }
        den.shr1();
    }
    let sticky = !num.is_zero();
    let qbits = 64 - q.leading_zeros() as i64;
    // The leading bit's binary exponent, and the mantissa bits a double keeps there.
    let e2 = qbits - 1 - s;
    let keep = if e2 >= -1022 { 53 } else { e2 + 1075 };
    if keep < 0 {
        return signed(0);
    }
    let drop = qbits - keep;
    let (mut mant, up) = if drop <= 0 {
        (q << drop.unsigned_abs(), false)
    } else {
        let drop = drop as u32;
        let rem = q & ((1u64 << drop) - 1);
        let half = 1u64 << (drop - 1);
        let mant = q >> drop;
        let up = rem > half || (rem == half && (sticky || mant & 1 == 1));
        (mant, up)
    };
    if up {
        mant += 1;
    }
    if e2 < -1022 {
        // Subnormal (a carry into bit 52 makes it the smallest normal, which these bits are).
        return signed(mant);
    }
    let (mant, e2) = if mant >> 53 != 0 {
        (mant >> 1, e2 + 1)
    } else {
        (mant, e2)
    };
    if e2 > 1023 {
        return signed(0x7ff0_0000_0000_0000);
    }
    signed(((e2 + 1023) as u64) << 52 | (mant & ((1u64 << 52) - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift as Rng;
    use std::format;
    use std::string::String;

    fn core_significant(v: f64) -> (u64, i32) {
        let t = format!("{:.6e}", v.abs());
        let (m, e) = t.split_once('e').unwrap();
        (m.replace('.', "").parse().unwrap(), e.parse().unwrap())
    }

    fn check_format(v: f64) {
        if v.is_finite() && v != 0.0 {
            assert_eq!(
                significant::<7>(v),
                Some(core_significant(v)),
                "{v:e} ({:#x})",
                v.to_bits()
            );
        }
    }

    #[test]
    fn significant_matches_core_on_edges() {
        for v in [
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
            1e-323,
            2.5,
            0.125,
            0.375,
            1e23,
            9999999.5,
            9999999.4,
            0.00009999999949,
            1.0000005,
            2.0000005,
            123456.75,
            1.0,
            0.1,
        ] {
            check_format(v);
            check_format(-v);
            check_format(f64::from_bits(v.to_bits() + 1));
            check_format(f64::from_bits(v.to_bits() - 1));
        }
        assert_eq!(significant::<7>(0.0), None);
        assert_eq!(significant::<7>(f64::NAN), None);
        assert_eq!(significant::<7>(f64::INFINITY), None);
        assert_eq!(significant::<7>(2.5e-7), Some((2_500_000, -7)));
    }

    #[test]
    fn significant_matches_core_on_random_doubles() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            check_format(f64::from_bits(r.next()));
        }
        // Values of few significant digits, where ties happen: k/2^j and k * 10^j.
        for _ in 0..5_000 {
            let k = (r.next() % 100_000_000) as f64;
            check_format(k / (1u64 << (r.next() % 40)) as f64);
            check_format(k * 10f64.powi((r.next() % 40) as i32 - 20));
        }
    }

    fn check_parse(s: &str) {
        let want = s.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(parse(s).map(f64::to_bits), want, "{s:?}");
    }

    #[test]
    fn parse_matches_core_on_edges() {
        for s in [
            "0",
            "-0",
            "+0",
            "0.0",
            "00000.00000e99999",
            "1",
            "1.",
            ".5",
            "-.5",
            ".",
            "",
            "-",
            "+",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1.5e308",
            "1.8e308",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "4.9e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "2.5e-324",
            "2.2250738585072011e-308",
            "2.2250738585072014e-308",
            "1e-400",
            "1e400",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "9007199254740993",
            "9007199254740992.5",
            "9007199254740993.0000000000000000000000000001",
            "0.1",
            "0.2",
            "0.3",
            "123.456",
            "1..2",
            "1.2.3",
            "1e5.5",
            " 1",
            "1 ",
            "1_0",
            "0x10",
            "--1",
            "+-1",
            "1e0000000000000000000000000000001",
            "0.000000000000000000000000000000000001e36",
        ] {
            check_parse(s);
        }
        // Longer than MAX_DIGITS: a midpoint with a nonzero digit far out.
        let mut long = String::from("9007199254740992.5");
        long.push_str(&"0".repeat(900));
        check_parse(&long);
        long.push('1');
        check_parse(&long);
        let mut long = String::from("0.");
        long.push_str(&"0".repeat(320));
        long.push_str(&"123456789".repeat(100));
        check_parse(&long);
    }

    #[test]
    fn parse_matches_core_on_random_text() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..10_000 {
            // Every double printed in full (round trip) and as the midpoint towards its
            // neighbour, written out exactly, then nudged by one in the last digit.
            let v = f64::from_bits(r.next() & !(1 << 63));
            if !v.is_finite() {
                continue;
            }
            check_parse(&format!("{v:e}"));
            check_parse(&format!("{v:.25e}"));
            check_parse(&format!("{:.30e}", v * 1.0000000000000002));
        }
        for _ in 0..10_000 {
            // Random digit strings with a point and an exponent.
            let n = 1 + r.next() % 30;
            let mut s = String::new();
            let point = r.next() % (n + 1);
            for i in 0..n {
                if i == point {
                    s.push('.');
                }
                s.push(char::from(b'0' + (r.next() % 10) as u8));
            }
            s.push_str(&format!("e{}", (r.next() % 700) as i64 - 350));
            check_parse(&s);
        }
    }

    #[test]
    fn midpoints_round_to_even() {
        // 2^53 + 1 is the midpoint of 2^53 and 2^53 + 2: even is 2^53.
        assert_eq!(parse("9007199254740993"), Some(9007199254740992.0));
        assert_eq!(parse("9007199254740995"), Some(9007199254740996.0));
        // The smallest subnormal's half rounds to zero; anything above it to the subnormal.
        let half_min = "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125e-324";
        assert_eq!(parse(half_min), Some(0.0));
        let mut above = String::from(half_min);
        above.insert(above.len() - 5, '1');
        assert_eq!(parse(&above), Some(5e-324));
    }
}
