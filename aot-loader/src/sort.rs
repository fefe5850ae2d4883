//! One in-place heapsort for the loader's (and the sealed directory's) sorts: no allocation,
//! `O(n log n)` comparisons in the worst case whatever the input, and a few hundred bytes of
//! code. Core's `sort_unstable` is faster on large inputs but was some 7 KB of the BL32 image
//! per element type; the lists sorted here are a module's exports and data sections.

use core::cmp::Ordering;

/// Sorts `v` in place by `cmp` (not stable: equal elements may be reordered).
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let mut less = |v: &[T], a: usize, b: usize| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y) == Ordering::Less,
        _ => false,
    };
    // Moves v[root] down the max-heap v[..end].
    let mut sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = root.saturating_mul(2).saturating_add(1);
        if child >= end {
            return;
        }
        if child + 1 < end && less(v, child, child + 1) {
            child += 1;
        }
        if !less(v, root, child) {
            return;
        }
        swap(v, root, child);
        root = child;
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        swap(v, 0, end);
        sift(v, 0, end);
    }
}

/// Sorts `v` in place in ascending order.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp)
}

/// Swaps `v[a]` and `v[b]` for `a < b` (nothing if `b` is out of range).
fn swap<T>(v: &mut [T], a: usize, b: usize) {
    if let Some([x, .., y]) = v.get_mut(a..=b) {
        core::mem::swap(x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn sorts_like_core() {
        let mut rng = crate::test_rng::XorShift(0x1234_5678_9abc_def1);
        for n in (0..40).chain([100, 1000, 4097]) {
            for modulus in [3, 1000, u64::MAX] {
                let mut v: Vec<u64> = (0..n).map(|_| rng.next() % modulus).collect();
                let mut want = v.clone();
                want.sort_unstable();
                sort(&mut v);
                assert_eq!(v, want, "n = {n}");
            }
        }
        let mut words = ["b", "a", "c", "a"];
        sort_by(&mut words, |a, b| b.cmp(a));
        assert_eq!(words, ["c", "b", "a", "a"]);
    }
}
