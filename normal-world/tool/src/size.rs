//! Byte sizes on the command line (`64K`, `4M`, `1G`, `65536`) and in messages.

/// Parses a size: a decimal number with an optional binary suffix `K`, `M` or `G` (any case,
/// optionally followed by `iB` or `B`).
pub fn parse(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if digits == 0 {
        return None;
    }
    let n: u64 = t[..digits].parse().ok()?;
    let shift = match t[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// A size for people: `4 MiB`, `64 KiB`, `1.5 MiB`, `100 bytes`.
pub fn show(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if n >= unit {
            return if n.is_multiple_of(unit) {
                format!("{} {name}", n / unit)
            } else {
                format!("{:.1} {name}", n as f64 / unit as f64)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_suffixes() {
        assert_eq!(parse("65536"), Some(65536));
        assert_eq!(parse("64K"), Some(64 << 10));
        assert_eq!(parse("64k"), Some(64 << 10));
        assert_eq!(parse("4M"), Some(4 << 20));
        assert_eq!(parse("4MiB"), Some(4 << 20));
        assert_eq!(parse("1G"), Some(1 << 30));
        assert_eq!(parse("12B"), Some(12));
        for bad in [
            "",
            "K",
            "-1",
            "4X",
            "1.5M",
            "99999999999999999999",
            "17179869184G",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn shows_sizes() {
        assert_eq!(show(100), "100 bytes");
        assert_eq!(show(64 << 10), "64 KiB");
        assert_eq!(show(4 << 20), "4 MiB");
        assert_eq!(show(3 << 19), "1.5 MiB");
    }
}
