//! Fallible allocation: every heap allocation the loader and runtime make goes through these
//! helpers (or `try_reserve` directly), so an exhausted pool or session account is an
//! [`OutOfMemory`] error the caller turns into a load error, an instantiate error or a trap,
//! never an abort in `handle_alloc_error`.
//!
//! The rule the code follows: no `Vec::push`/`extend`/`collect`, `String::from`/`format!`,
//! `Box::new` or `clone` of a heap value unless the capacity was reserved fallibly first.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// An allocation failed (the pool or the session's account is exhausted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of memory")
    }
}

impl core::error::Error for OutOfMemory {}

/// An empty vector with room for `n` elements.
pub fn vec_with_capacity<T>(n: usize) -> Result<Vec<T>, OutOfMemory> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| OutOfMemory)?;
    Ok(v)
}

/// `n` copies of `value`.
pub fn vec_filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>, OutOfMemory> {
    let mut v = vec_with_capacity(n)?;
    // Within the capacity reserved above: no allocation.
    v.resize(n, value);
    Ok(v)
}

/// Appends `x`, growing the vector fallibly.
pub fn push<T>(v: &mut Vec<T>, x: T) -> Result<(), OutOfMemory> {
    v.try_reserve(1).map_err(|_| OutOfMemory)?;
    v.push(x);
    Ok(())
}

/// Appends a copy of `s`, growing the vector fallibly.
pub fn extend<T: Clone>(v: &mut Vec<T>, s: &[T]) -> Result<(), OutOfMemory> {
    v.try_reserve(s.len()).map_err(|_| OutOfMemory)?;
    v.extend_from_slice(s);
    Ok(())
}

/// A copy of `s`.
pub fn string(s: &str) -> Result<String, OutOfMemory> {
    let mut out = String::new();
    out.try_reserve_exact(s.len()).map_err(|_| OutOfMemory)?;
    out.push_str(s);
    Ok(out)
}

/// Counts the bytes a formatting would produce.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Writes into a `String` without ever growing it past its capacity.
struct Bounded<'a>(&'a mut String);

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.0.capacity().saturating_sub(self.0.len()) < s.len() {
            return Err(fmt::Error);
        }
        self.0.push_str(s);
        Ok(())
    }
}

/// `format!` that fails instead of aborting: measures the text, reserves exactly that, then
/// writes it.
pub fn format(args: fmt::Arguments<'_>) -> Result<String, OutOfMemory> {
    let mut n = Counter(0);
    fmt::write(&mut n, args).map_err(|_| OutOfMemory)?;
    let mut out = String::new();
    out.try_reserve_exact(n.0).map_err(|_| OutOfMemory)?;
    fmt::write(&mut Bounded(&mut out), args).map_err(|_| OutOfMemory)?;
    Ok(out)
}

/// Appends formatted text to `out`, growing it fallibly.
pub fn write(out: &mut String, args: fmt::Arguments<'_>) -> Result<(), OutOfMemory> {
    let mut n = Counter(0);
    fmt::write(&mut n, args).map_err(|_| OutOfMemory)?;
    out.try_reserve(n.0).map_err(|_| OutOfMemory)?;
    fmt::write(&mut Bounded(out), args).map_err(|_| OutOfMemory)
}

/// `Box::new` that fails instead of aborting.
pub fn boxed<T>(value: T) -> Result<Box<T>, OutOfMemory> {
    let layout = core::alloc::Layout::new::<T>();
    if layout.size() == 0 {
        // A zero-sized box does not allocate.
        return Ok(Box::new(value));
    }
    // SAFETY: `layout` has a non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) }.cast::<T>();
    if p.is_null() {
        return Err(OutOfMemory);
    }
    // SAFETY: `p` is a fresh allocation with `T`'s layout (the layout `Box<T>` uses with the
    // global allocator), valid for a write of `T`; the box takes ownership of it.
    unsafe {
        p.write(value);
        Ok(Box::from_raw(p))
    }
}

/// A boxed copy of `bytes` (for callers that hand the loader an owned file buffer).
pub fn boxed_slice(bytes: &[u8]) -> Result<Box<[u8]>, OutOfMemory> {
    let mut v = vec_with_capacity(bytes.len())?;
    v.extend_from_slice(bytes);
    // Length equals capacity (reserved exactly), so this does not reallocate.
    Ok(v.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_work_when_memory_is_there() {
        assert_eq!(format(format_args!("a{}c", 'b')).unwrap(), "abc");
        let mut s = string("x").unwrap();
        write(&mut s, format_args!("{}", 42)).unwrap();
        assert_eq!(s, "x42");
        assert_eq!(*boxed(7u64).unwrap(), 7);
        assert_eq!(vec_filled(3, 1u8).unwrap(), [1, 1, 1]);
        let mut v = vec_with_capacity::<u8>(0).unwrap();
        push(&mut v, 1).unwrap();
        extend(&mut v, &[2, 3]).unwrap();
        assert_eq!(v, [1, 2, 3]);
        assert_eq!(&*boxed_slice(b"ab").unwrap(), b"ab");
        assert!(vec_with_capacity::<u64>(usize::MAX).is_err());
    }
}
