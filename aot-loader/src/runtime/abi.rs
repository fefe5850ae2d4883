//! Calling AOT functions with typed arguments: the C calling convention of each processor
//! (AAPCS64, System V x86-64) as register and stack assignments that the embedder's
//! trampoline loads before `blr`/`call` and stores after.
//!
//! An AOT function is `ret f(exec_env, p0, p1, ..., T1 *res1, T2 *res2, ...)`: the first
//! result is the return value, results 2..n are written through trailing pointers
//! (`WAMR-AOT-ABI.md` 6.10). Integers (i32, i64, references, pointers) take the next integer
//! register, f32/f64/v128 the next vector register, then 8-byte stack slots (16-byte aligned
//! slots for v128).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::mem::offset_of;

use crate::fallible::{self, OutOfMemory};
use crate::module::{FuncType, ValType};
use crate::runtime::instance::{Instance, Value, RESULTS_OFF};
use crate::runtime::{decimal, Platform, Stop, Trap};
use crate::Arch;

/// Registers for one call, read and written by the embedder's trampoline (`#[repr(C)]`,
/// offsets fixed below).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallRegs {
    /// Function address.
    pub func: u64,
    /// Stack pointer at the call; stack arguments start there.
    pub sp: u64,
    /// x0..x7 (aarch64) / rdi, rsi, rdx, rcx, r8, r9 (x86-64).
    pub int: [u64; 8],
    /// q0..q7 / xmm0..xmm7 (low, high 64 bits).
    pub vec: [[u64; 2]; 8],
    /// x0, x1 / rax, rdx after the call.
    pub ret_int: [u64; 2],
    /// q0 / xmm0 after the call.
    pub ret_vec: [u64; 2],
}

/// Offsets of [`CallRegs`] fields for assembly.
pub mod regs_off {
    /// `func`
    pub const FUNC: usize = 0;
    /// `sp`
    pub const SP: usize = 8;
    /// `int`
    pub const INT: usize = 16;
    /// `vec`
    pub const VEC: usize = 80;
    /// `ret_int`
    pub const RET_INT: usize = 208;
    /// `ret_vec`
    pub const RET_VEC: usize = 224;
}

const _: () = {
    assert!(offset_of!(CallRegs, func) == regs_off::FUNC);
    assert!(offset_of!(CallRegs, sp) == regs_off::SP);
    assert!(offset_of!(CallRegs, int) == regs_off::INT);
    assert!(offset_of!(CallRegs, vec) == regs_off::VEC);
    assert!(offset_of!(CallRegs, ret_int) == regs_off::RET_INT);
    assert!(offset_of!(CallRegs, ret_vec) == regs_off::RET_VEC);
};

fn is_vec(t: ValType) -> bool {
    matches!(t, ValType::F32 | ValType::F64 | ValType::V128)
}

/// Where each argument goes, for `arch`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Integer registers used.
    pub int: Vec<u64>,
    /// Vector registers used.
    pub vec: Vec<u128>,
    /// Stack argument bytes, from the stack pointer up.
    pub stack: Vec<u8>,
}

/// Assigns `args` (each a type and its bits) to registers and stack per the C convention of
/// `arch`.
pub fn assign(arch: Arch, args: &[(ValType, u128)]) -> Result<Assignment, OutOfMemory> {
    let int_regs = match arch {
        Arch::Aarch64 => 8,
        Arch::X86_64 => 6,
    };
    let mut a = Assignment::default();
    for &(t, bits) in args {
        if is_vec(t) {
            if a.vec.len() < 8 {
                fallible::push(&mut a.vec, bits)?;
                continue;
            }
        } else if a.int.len() < int_regs {
            fallible::push(&mut a.int, bits as u64)?;
            continue;
        }
        if t == ValType::V128 {
            while a.stack.len() % 16 != 0 {
                fallible::push(&mut a.stack, 0)?;
            }
            fallible::extend(&mut a.stack, &bits.to_le_bytes())?;
        } else {
            fallible::extend(&mut a.stack, &(bits as u64).to_le_bytes())?;
        }
    }
    Ok(a)
}

impl<P: Platform> Instance<'_, P> {
    /// Prepares a call of function `index` (imports first) with `args`: checks the types,
    /// writes stack arguments onto the module stack, and returns the registers. After the
    /// trampoline ran, [`Self::finish_call`] reads the results. An instance whose
    /// instantiation is unfinished ([`Self::is_ready`]) refuses.
    pub fn prepare_call(&mut self, index: u32, args: &[Value]) -> Result<CallRegs, Stop> {
        self.check_ready()?;
        let ty = self
            .func_type(index)
            .ok_or_else(|| Stop::Trap(Trap::msg("function index out of range")))?;
        let func = self.func_addr(index).ok_or_else(|| {
            Stop::Trap(Trap::msg(
                "calling an imported function directly is not supported",
            ))
        })?;
        if ty.params.len() != args.len() {
            return Err(Trap::msg("invalid input argument count").into());
        }
        if ty.params.iter().zip(args).any(|(&t, v)| v.ty() != t) {
            return Err(Trap::msg("invalid input argument type").into());
        }
        if ty.results.len().saturating_sub(1).saturating_mul(16) > self.results_len {
            return Err(Trap::msg("too many results").into());
        }
        let mut list: Vec<(ValType, u128)> = fallible::vec_with_capacity(
            args.len()
                .saturating_add(1)
                .saturating_add(ty.results.len()),
        )?;
        list.push((ValType::I64, u128::from(self.exec_env())));
        list.extend(args.iter().map(|v| (v.ty(), v.bits())));
        for k in 1..ty.results.len() {
            list.push((ValType::I64, u128::from(self.result_slot(k))));
        }
        let a = assign(self.module.target.arch, &list)?;
        let (low, high) = self.stack();
        let len = (a.stack.len() as u64).div_ceil(16).saturating_mul(16);
        let sp = high
            .checked_sub(len)
            .filter(|&s| s >= low.saturating_add(4096))
            .ok_or_else(|| Stop::from(crate::layout::ExceptionId::NativeStackOverflow))?;
        if !a.stack.is_empty() {
            // SAFETY: [sp, sp + len) lies inside this instance's native stack (checked).
            unsafe {
                core::ptr::copy_nonoverlapping(a.stack.as_ptr(), sp as *mut u8, a.stack.len())
            };
        }
        let mut regs = CallRegs {
            func,
            sp,
            ..Default::default()
        };
        for (d, s) in regs.int.iter_mut().zip(a.int.iter()) {
            *d = *s;
        }
        for (d, s) in regs.vec.iter_mut().zip(a.vec.iter()) {
            *d = [*s as u64, (*s >> 64) as u64];
        }
        Ok(regs)
    }

    fn result_slot(&self, k: usize) -> u64 {
        // k >= 1 and below the result count, which `prepare_call` checked against the slots.
        let off = RESULTS_OFF.saturating_add(k.saturating_sub(1).saturating_mul(16));
        self.exec_env().wrapping_add(off as u64)
    }

    /// The results of a call of function `index` after the trampoline stored `regs` (a trap
    /// "allocate memory failed" if there is no memory for the list).
    pub fn finish_call(&self, index: u32, regs: &CallRegs) -> Result<Vec<Value>, Stop> {
        let Some(ty) = self.func_type(index) else {
            return Ok(Vec::new());
        };
        let mut out = fallible::vec_with_capacity(ty.results.len())?;
        for (k, &t) in ty.results.iter().enumerate() {
            let bits = if k == 0 {
                if is_vec(t) {
                    u128::from(regs.ret_vec[0]) | (u128::from(regs.ret_vec[1]) << 64)
                } else {
                    u128::from(regs.ret_int[0])
                }
            } else {
                let mut b = [0u8; 16];
                let off = RESULTS_OFF.saturating_add(k.saturating_sub(1).saturating_mul(16));
                self.read_data(off, &mut b);
                u128::from_le_bytes(b)
            };
            out.push(Value::from_bits(t, bits));
        }
        Ok(out)
    }
}

/// Parses a function type's argument strings as WAMR's `wasm_application_execute_func` does
/// (`strtoul`/`strtoull` base 0 for integers, `strtof`/`strtod` for floats, `hi\lo` pairs
/// for v128, `null` for references). Any text is accepted as input (it comes from the normal
/// world): what is not a number of the type is an "invalid input argument" error. The error
/// message is empty if even it cannot be allocated.
pub fn parse_args(ty: &FuncType, args: &[&str]) -> Result<Vec<Value>, alloc::string::String> {
    let fail = |a: fmt::Arguments<'_>| fallible::format(a).unwrap_or_default();
    if ty.params.len() != args.len() {
        return Err(fail(format_args!("invalid input argument count")));
    }
    let mut out = fallible::vec_with_capacity(args.len())
        .map_err(|_| fail(format_args!("allocate memory failed")))?;
    for (i, (&t, s)) in ty.params.iter().zip(args).enumerate() {
        let bad = || fail(format_args!("invalid input argument {i}: {s}"));
        if s.is_empty() {
            return Err(fail(format_args!("invalid input argument {i}")));
        }
        let v = match t {
            ValType::I32 => Value::I32(parse_int(s).ok_or_else(bad)? as u32 as i32),
            ValType::I64 => Value::I64(parse_int(s).ok_or_else(bad)? as i64),
            ValType::F32 => Value::F32((parse_float(s).ok_or_else(bad)? as f32).to_bits()),
            ValType::F64 => Value::F64(parse_float(s).ok_or_else(bad)?.to_bits()),
            ValType::V128 => {
                // Two strtoull numbers separated by any one character (iwasm skips it).
                let (lo, rest) = parse_int_prefix(s).ok_or_else(bad)?;
                let mut chars = rest.chars();
                chars.next();
                let hi = parse_int(chars.as_str()).ok_or_else(bad)?;
                Value::V128(u128::from(lo) | (u128::from(hi) << 64))
            }
            ValType::FuncRef | ValType::ExternRef => {
                // `strncasecmp(s, "null", 4)` on bytes: never slices text inside a UTF-8
                // character ("abcé" is four bytes short of a match, not a panic).
                let is_null = s
                    .as_bytes()
                    .get(..4)
                    .is_some_and(|b| b.eq_ignore_ascii_case(b"null"));
                let v = if is_null {
                    u32::MAX
                } else {
                    parse_int(s).ok_or_else(bad)? as u32
                };
                if t == ValType::FuncRef {
                    Value::FuncRef(v)
                } else {
                    Value::ExternRef(v)
                }
            }
        };
        out.push(v);
    }
    Ok(out)
}

/// `strtoull(s, .., 0)` for a whole string: optional sign, `0x` hex, leading-0 octal, decimal;
/// negative values wrap as in C.
pub fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let (neg, s) = if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else {
        (false, s)
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, s.strip_prefix('0').unwrap_or(s))
    } else {
        (10, s)
    };
    // from_str_radix accepts a sign of its own; C does not after the one above.
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `strtoull(s, &end, 0)`: the value and the rest of the string after the number.
pub fn parse_int_prefix(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let sign = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let hex = b.get(sign) == Some(&b'0') && matches!(b.get(sign + 1), Some(b'x' | b'X'));
    let start = if hex { sign + 2 } else { sign };
    let digits = b
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        })
        .count();
    if digits == 0 {
        return None;
    }
    // `end` follows ASCII bytes only, so it is a character boundary.
    let (num, rest) = s.split_at_checked(start + digits)?;
    Some((parse_int(num)?, rest))
}

/// `strtod` for a whole string (decimal, `inf`, `nan`; Rust's float grammar).
pub fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let (neg, word) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if word.eq_ignore_ascii_case("nan") {
        return Some(if neg { -f64::NAN } else { f64::NAN });
    }
    decimal::parse(t)
}

/// Text on the stack: a `fmt::Write` that refuses to go past `N` bytes.
#[derive(Clone, Copy)]
pub struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    /// Empty.
    pub const fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so this is UTF-8.
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or("")
    }
}

impl<const N: usize> Default for StackText<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> core::ops::Deref for StackText<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Display for StackText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for StackText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<&str> for StackText<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Formats `v` as C's `printf("%.7g")`, on the stack.
pub fn fmt_g7(v: f64) -> StackText<48> {
    let mut out = StackText::new();
    // 48 bytes hold every %.7g result; a failed write could only shorten the text.
    let _ = write_g7(&mut out, v);
    out
}

/// Writes `v` as C's `printf("%.7g")`: seven significant digits (rounded to nearest, ties to
/// even, from the exact value: [`decimal::significant`]), in `%e` style for a decimal exponent
/// below -4 or above 6 and `%f` style otherwise, without trailing zeros.
pub fn write_g7(out: &mut dyn fmt::Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        return out.write_str(if v.is_sign_negative() { "-nan" } else { "nan" });
    }
    if v.is_infinite() {
        return out.write_str(if v < 0.0 { "-inf" } else { "inf" });
    }
    let Some((d, x)) = decimal::significant::<7>(v) else {
        return out.write_str(if v.is_sign_negative() { "-0" } else { "0" });
    };
    if v.is_sign_negative() {
        out.write_str("-")?;
    }
    // The seven digits as text, then without trailing zeros (at least one stays).
    let mut digits = StackText::<8>::new();
    fmt::write(&mut digits, format_args!("{d}"))?;
    let sig = digits.as_str().trim_end_matches('0');
    if !(-4..7).contains(&x) {
        let (first, rest) = sig.split_at_checked(1).unwrap_or((sig, ""));
        out.write_str(first)?;
        if !rest.is_empty() {
            out.write_str(".")?;
            out.write_str(rest)?;
        }
        let sign = if x < 0 { '-' } else { '+' };
        return out.write_fmt(format_args!("e{}{:02}", sign, x.unsigned_abs()));
    }
    if x < 0 {
        // 0.000ddd: -x - 1 zeros after the point.
        out.write_str("0.")?;
        for _ in 0..(-x - 1) {
            out.write_str("0")?;
        }
        return out.write_str(sig);
    }
    // x + 1 integer digits (padded with zeros past the seventh), then the rest.
    let int_len = x as usize + 1;
    let (int, frac) = sig.split_at_checked(int_len).unwrap_or((sig, ""));
    out.write_str(int)?;
    for _ in int.len()..int_len {
        out.write_str("0")?;
    }
    if !frac.is_empty() {
        out.write_str(".")?;
        out.write_str(frac)?;
    }
    Ok(())
}

/// Writes results as WAMR's `wasm_application_execute_func` prints them.
pub fn write_results(out: &mut dyn fmt::Write, results: &[Value]) -> fmt::Result {
    for (i, v) in results.iter().enumerate() {
        if i > 0 {
            out.write_str(",")?;
        }
        match *v {
            Value::I32(x) => out.write_fmt(format_args!("0x{:x}:i32", x as u32))?,
            Value::I64(x) => out.write_fmt(format_args!("0x{:x}:i64", x as u64))?,
            Value::F32(b) => {
                write_g7(out, f64::from(f32::from_bits(b)))?;
                out.write_str(":f32")?
            }
            Value::F64(b) => {
                write_g7(out, f64::from_bits(b))?;
                out.write_str(":f64")?
            }
            Value::V128(x) => out.write_fmt(format_args!(
                "<0x{:016x} 0x{:016x}>:v128",
                x as u64,
                (x >> 64) as u64
            ))?,
            Value::FuncRef(f) if f != u32::MAX => out.write_fmt(format_args!("{f}:ref.func"))?,
            Value::FuncRef(_) => out.write_str("func:ref.null")?,
            Value::ExternRef(e) if e != 0 && e != u32::MAX => {
                out.write_fmt(format_args!("0x{e:x}:ref.extern"))?
            }
            Value::ExternRef(_) => out.write_str("extern:ref.null")?,
        }
    }
    Ok(())
}

/// [`write_results`] into a new `String` (fallibly).
pub fn format_results(results: &[Value]) -> Result<String, OutOfMemory> {
    struct Args<'a>(&'a [Value]);
    impl fmt::Display for Args<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_results(f, self.0)
        }
    }
    fallible::format(format_args!("{}", Args(results)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn aarch64_assigns_eight_of_each_then_stack() {
        let mut args = vec![(ValType::I64, 1u128)];
        for i in 0..10 {
            args.push((ValType::I64, 10 + i));
        }
        for i in 0..10 {
            args.push((ValType::F64, 100 + i));
        }
        let a = assign(Arch::Aarch64, &args).unwrap();
        assert_eq!(a.int, vec![1, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(a.vec.len(), 8);
        // Stack: i64 17, 18, 19, then f64 108, 109, in order of appearance.
        let words: Vec<u64> = a
            .stack
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(words, vec![17, 18, 19, 108, 109]);
    }

    #[test]
    fn x86_64_has_six_integer_registers_and_aligns_v128_on_the_stack() {
        let mut args: Vec<(ValType, u128)> = (0..7).map(|i| (ValType::I32, i)).collect();
        for i in 0..8 {
            args.push((ValType::F32, i));
        }
        args.push((ValType::V128, 0xaa << 64 | 0xbb));
        let a = assign(Arch::X86_64, &args).unwrap();
        assert_eq!(a.int.len(), 6);
        assert_eq!(a.stack.len(), 32); // i32 6 in slot 0, pad, v128 at 16
        assert_eq!(a.stack[0], 6);
        assert_eq!(a.stack[16], 0xbb);
        assert_eq!(a.stack[24], 0xaa);
    }

    fn ty(params: &[ValType]) -> FuncType {
        FuncType {
            params: params.to_vec(),
            results: Vec::new(),
        }
    }

    /// Issue 11: `--function f -- abcé 1 2` on an export taking an externref sliced the
    /// argument at byte 4, inside "é". Any text is now an answer, never a panic.
    #[test]
    fn reference_arguments_with_any_text_are_answered() {
        use ValType::*;
        let t = ty(&[ExternRef, I32, I32]);
        assert_eq!(
            parse_args(&t, &["abcé", "1", "2"]),
            Err(String::from("invalid input argument 0: abcé"))
        );
        assert_eq!(
            parse_args(&t, &["NULL", "1", "2"]),
            Ok(vec![
                Value::ExternRef(u32::MAX),
                Value::I32(1),
                Value::I32(2)
            ])
        );
        assert_eq!(
            parse_args(&t, &["nullé", "0x10", "-1"]),
            Ok(vec![
                Value::ExternRef(u32::MAX),
                Value::I32(16),
                Value::I32(-1)
            ])
        );
        assert_eq!(
            parse_args(&ty(&[FuncRef]), &["7"]),
            Ok(vec![Value::FuncRef(7)])
        );
        // Every type, with text cut at every byte of multi-byte characters, and bytes that
        // are not UTF-8 at all (lossily decoded, as a caller holding raw bytes would).
        let texts = [
            "abcé",
            "é",
            "nul\u{e9}",
            "\u{1f600}",
            "1\u{e9}",
            "0x\u{e9}",
            "-\u{e9}",
            "+",
            "-",
            "0x",
            "0",
            "1é2",
            "\u{e9}1",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            " 5",
            "5 ",
        ];
        let raw = String::from_utf8_lossy(&[0xff, 0xfe, b'n', b'u', b'l', b'l', 0xc3]);
        for t in [I32, I64, F32, F64, V128, FuncRef, ExternRef] {
            for s in texts.iter().copied().chain([raw.as_ref()]) {
                for cut in 0..=s.len() {
                    let Some(p) = s.get(..cut) else { continue };
                    let _ = parse_args(&ty(&[t]), &[p]);
                }
            }
        }
        assert_eq!(parse_int_prefix("1é2"), Some((1, "é2")));
        assert_eq!(
            parse_args(&ty(&[V128]), &["1é2"]),
            Ok(vec![Value::V128(1 | (2 << 64))])
        );
        assert_eq!(parse_int("++5"), None);
        assert_eq!(parse_int("-0x10"), Some(16u64.wrapping_neg()));
    }

    /// The `%.7g` writer as it was with core's float formatting, the oracle for
    /// [`write_g7`] built on [`decimal::significant`].
    fn core_g7(v: f64) -> std::string::String {
        use std::format;
        if v.is_nan() {
            return (if v.is_sign_negative() { "-nan" } else { "nan" }).into();
        }
        if v.is_infinite() {
            return (if v < 0.0 { "-inf" } else { "inf" }).into();
        }
        if v == 0.0 {
            return (if v.is_sign_negative() { "-0" } else { "0" }).into();
        }
        let sci = format!("{v:.6e}");
        let (mant, exp) = sci.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        let strip = |s: &str| -> std::string::String {
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').into()
            } else {
                s.into()
            }
        };
        if !(-4..7).contains(&exp) {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{}{:02}", strip(mant), sign, exp.abs())
        } else {
            let decimals = (6 - exp).max(0) as usize;
            strip(&format!("{v:.decimals$}"))
        }
    }

    #[test]
    fn g7_matches_the_core_formatting_writer() {
        let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let check = |v: f64| assert_eq!(fmt_g7(v).as_str(), core_g7(v), "{v:e}");
        for v in [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
        ] {
            check(v);
        }
        for e in -12..12 {
            for m in [
                1.0, 1.5, 9.9999995, 9.9999994, 1.2345675, 1.2345665, 1.0000005, 7.0,
            ] {
                check(m * 10f64.powi(e));
                check(-m * 10f64.powi(e));
            }
        }
        for _ in 0..20_000 {
            check(f64::from_bits(next()));
            // Around the style boundaries (1e-5 .. 1e7), where the two styles meet.
            let b = next();
            check(f64::from_bits(
                (b % 0x0010_0000_0000_0000) | (0x3ed0_0000_0000_0000 + (b >> 60 << 52)),
            ));
            check(f32::from_bits(next() as u32) as f64);
        }
    }

    #[test]
    fn results_and_g7_format_without_the_heap() {
        assert_eq!(fmt_g7(1.5), "1.5");
        assert_eq!(fmt_g7(1e10), "1e+10");
        assert_eq!(fmt_g7(-0.00001234), "-1.234e-05");
        assert_eq!(fmt_g7(f64::MAX), "1.797693e+308");
        assert_eq!(fmt_g7(1234567.0), "1234567");
        let mut s = StackText::<64>::new();
        write_results(&mut s, &[Value::I32(-1), Value::ExternRef(0)]).unwrap();
        assert_eq!(s.as_str(), "0xffffffff:i32,extern:ref.null");
        // A writer that runs out of room says so instead of growing.
        let mut tiny = StackText::<4>::new();
        assert!(write_results(&mut tiny, &[Value::I64(1 << 40)]).is_err());
    }

    #[test]
    fn parses_like_strtoul() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("0x2a"), Some(42));
        assert_eq!(parse_int("052"), Some(42));
        assert_eq!(parse_int("-1"), Some(u64::MAX));
        assert_eq!(parse_int("4x"), None);
        assert_eq!(parse_float("1.5"), Some(1.5));
        assert!(parse_float("nan").unwrap().is_nan());
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
    }
}
