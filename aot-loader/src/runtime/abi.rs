//! Calling AOT functions with typed arguments: the C calling convention of each processor
//! (AAPCS64, System V x86-64) as register and stack assignments that the embedder's
//! trampoline loads before `blr`/`call` and stores after.
//!
//! An AOT function is `ret f(exec_env, p0, p1, ..., T1 *res1, T2 *res2, ...)`: the first
//! result is the return value, results 2..n are written through trailing pointers
//! (`WAMR-AOT-ABI.md` 6.10). Integers (i32, i64, references, pointers) take the next integer
//! register, f32/f64/v128 the next vector register, then 8-byte stack slots (16-byte aligned
//! slots for v128).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::mem::offset_of;

use crate::module::{FuncType, ValType};
use crate::runtime::instance::{Instance, Value, RESULTS_OFF};
use crate::runtime::{Platform, Stop, Trap};
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

/// Assigns `args` (integer-class arguments given as `(false, bits)`, vector-class as
/// `(true, bits, size)`) to registers and stack per the C convention of `arch`.
pub fn assign(arch: Arch, args: &[(ValType, u128)]) -> Assignment {
    let int_regs = match arch {
        Arch::Aarch64 => 8,
        Arch::X86_64 => 6,
    };
    let mut a = Assignment::default();
    for &(t, bits) in args {
        if is_vec(t) {
            if a.vec.len() < 8 {
                a.vec.push(bits);
                continue;
            }
        } else if a.int.len() < int_regs {
            a.int.push(bits as u64);
            continue;
        }
        if t == ValType::V128 {
            while a.stack.len() % 16 != 0 {
                a.stack.push(0);
            }
            a.stack.extend_from_slice(&bits.to_le_bytes());
        } else {
            a.stack.extend_from_slice(&(bits as u64).to_le_bytes());
        }
    }
    a
}

impl<P: Platform> Instance<'_, P> {
    /// Prepares a call of function `index` (imports first) with `args`: checks the types,
    /// writes stack arguments onto the module stack, and returns the registers. After the
    /// trampoline ran, [`Self::finish_call`] reads the results.
    pub fn prepare_call(&mut self, index: u32, args: &[Value]) -> Result<CallRegs, Stop> {
        let ty = self
            .func_type(index)
            .ok_or_else(|| Stop::Trap(Trap::Message("function index out of range".into())))?;
        let func = self.func_addr(index).ok_or_else(|| {
            Stop::Trap(Trap::Message(
                "calling an imported function directly is not supported".into(),
            ))
        })?;
        if ty.params.len() != args.len() {
            return Err(Trap::Message("invalid input argument count".into()).into());
        }
        if ty.params.iter().zip(args).any(|(&t, v)| v.ty() != t) {
            return Err(Trap::Message("invalid input argument type".into()).into());
        }
        if ty.results.len().saturating_sub(1) * 16 > self.results_len {
            return Err(Trap::Message("too many results".into()).into());
        }
        let mut list: Vec<(ValType, u128)> = Vec::with_capacity(args.len() + 1 + ty.results.len());
        list.push((ValType::I64, u128::from(self.exec_env())));
        list.extend(args.iter().map(|v| (v.ty(), v.bits())));
        for k in 1..ty.results.len() {
            list.push((ValType::I64, u128::from(self.result_slot(k))));
        }
        let a = assign(self.module.target.arch, &list);
        let (low, high) = self.stack();
        let len = (a.stack.len() as u64).div_ceil(16) * 16;
        let sp = high
            .checked_sub(len)
            .filter(|&s| s >= low + 4096)
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
        self.exec_env() + (RESULTS_OFF + 16 * (k - 1)) as u64
    }

    /// The results of a call of function `index` after the trampoline stored `regs`.
    pub fn finish_call(&self, index: u32, regs: &CallRegs) -> Vec<Value> {
        let Some(ty) = self.func_type(index) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(ty.results.len());
        for (k, &t) in ty.results.iter().enumerate() {
            let bits = if k == 0 {
                if is_vec(t) {
                    u128::from(regs.ret_vec[0]) | (u128::from(regs.ret_vec[1]) << 64)
                } else {
                    u128::from(regs.ret_int[0])
                }
            } else {
                let mut b = [0u8; 16];
                self.read_data(RESULTS_OFF + 16 * (k - 1), &mut b);
                u128::from_le_bytes(b)
            };
            out.push(Value::from_bits(t, bits));
        }
        out
    }
}

/// Parses a function type's argument strings as WAMR's `wasm_application_execute_func` does
/// (`strtoul`/`strtoull` base 0 for integers, `strtof`/`strtod` for floats, `hi\lo` pairs
/// for v128, `null` for references).
pub fn parse_args(ty: &FuncType, args: &[&str]) -> Result<Vec<Value>, alloc::string::String> {
    use alloc::format;
    if ty.params.len() != args.len() {
        return Err("invalid input argument count".into());
    }
    let mut out = Vec::with_capacity(args.len());
    for (i, (&t, s)) in ty.params.iter().zip(args).enumerate() {
        let bad = || format!("invalid input argument {i}: {s}");
        if s.is_empty() {
            return Err(format!("invalid input argument {i}"));
        }
        let v = match t {
            ValType::I32 => Value::I32(parse_int(s).ok_or_else(bad)? as u32 as i32),
            ValType::I64 => Value::I64(parse_int(s).ok_or_else(bad)? as i64),
            ValType::F32 => Value::F32((parse_float(s).ok_or_else(bad)? as f32).to_bits()),
            ValType::F64 => Value::F64(parse_float(s).ok_or_else(bad)?.to_bits()),
            ValType::V128 => {
                // Two strtoull numbers separated by any one character (iwasm skips it).
                let (lo, rest) = parse_int_prefix(s).ok_or_else(bad)?;
                let rest = rest.get(1..).unwrap_or("");
                let hi = parse_int(rest).ok_or_else(bad)?;
                Value::V128(u128::from(lo) | (u128::from(hi) << 64))
            }
            ValType::FuncRef | ValType::ExternRef => {
                let v = if s.len() >= 4 && s[..4].eq_ignore_ascii_case("null") {
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
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    let v = u64::from_str_radix(digits, radix).ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `strtoull(s, &end, 0)`: the value and the rest of the string after the number.
pub fn parse_int_prefix(s: &str) -> Option<(u64, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b'-' || b[i] == b'+') && i == 0 {
        i += 1;
    }
    let hex = b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X'));
    let start = if hex { i + 2 } else { i };
    let mut end = start;
    while end < b.len()
        && (if hex {
            b[end].is_ascii_hexdigit()
        } else {
            b[end].is_ascii_digit()
        })
    {
        end += 1;
    }
    if end == start {
        return None;
    }
    Some((parse_int(&s[..end])?, &s[end..]))
}

/// `strtod` for a whole string (decimal, `inf`, `nan`; Rust's float grammar).
pub fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => {
            return Some(if lower.starts_with('-') {
                -f64::NAN
            } else {
                f64::NAN
            })
        }
        _ => {}
    }
    t.parse::<f64>().ok()
}

/// Formats `v` as C's `printf("%.7g")`.
pub fn fmt_g7(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{v:.6e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').into()
        } else {
            String::from(s)
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

/// Formats results as WAMR's `wasm_application_execute_func` prints them.
pub fn format_results(results: &[Value]) -> String {
    let parts: Vec<String> = results
        .iter()
        .map(|v| match *v {
            Value::I32(x) => format!("0x{:x}:i32", x as u32),
            Value::I64(x) => format!("0x{:x}:i64", x as u64),
            Value::F32(b) => format!("{}:f32", fmt_g7(f64::from(f32::from_bits(b)))),
            Value::F64(b) => format!("{}:f64", fmt_g7(f64::from_bits(b))),
            Value::V128(x) => format!("<0x{:016x} 0x{:016x}>:v128", x as u64, (x >> 64) as u64),
            Value::FuncRef(f) if f != u32::MAX => format!("{f}:ref.func"),
            Value::FuncRef(_) => "func:ref.null".into(),
            Value::ExternRef(e) if e != 0 && e != u32::MAX => format!("0x{e:x}:ref.extern"),
            Value::ExternRef(_) => "extern:ref.null".into(),
        })
        .collect();
    parts.join(",")
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
        let a = assign(Arch::Aarch64, &args);
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
        let a = assign(Arch::X86_64, &args);
        assert_eq!(a.int.len(), 6);
        assert_eq!(a.stack.len(), 32); // i32 6 in slot 0, pad, v128 at 16
        assert_eq!(a.stack[0], 6);
        assert_eq!(a.stack[16], 0xbb);
        assert_eq!(a.stack[24], 0xaa);
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
