//! Printing decoded claims: one `name: value` line each, hashes in hex, unknown claims in
//! CBOR diagnostic notation (RFC 8949 section 8).

use crate::decode::{Claims, Component, Envelope, Unknown};
use ciborium::value::Value;
use std::fmt::Write as _;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes hex (upper or lower case, an optional `0x`, no separators).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.strip_prefix("0x").unwrap_or(text);
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    t.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some((digit(*hi)? * 16 + digit(*lo)?) as u8),
            _ => None,
        })
        .collect()
}

/// The CBOR diagnostic notation of a value.
pub fn diag(v: &Value) -> String {
    let mut s = String::new();
    write_diag(&mut s, v, 0);
    s
}

/// [`diag`], cut to about 60 characters (for error messages).
pub fn diag_short(v: &Value) -> String {
    let d = diag(v);
    match d.char_indices().nth(60) {
        Some((at, _)) => format!("{}...", d.get(..at).unwrap_or_default()),
        None => d,
    }
}

/// How deep [`diag`] descends before printing `...` (ciborium's own recursion limit is 256).
const DIAG_DEPTH: usize = 64;

fn write_diag(s: &mut String, v: &Value, depth: usize) {
    if depth > DIAG_DEPTH {
        s.push_str("...");
        return;
    }
    match v {
        Value::Integer(i) => {
            let _ = write!(s, "{}", i128::from(*i));
        }
        Value::Bytes(b) => {
            let _ = write!(s, "h'{}'", hex(b));
        }
        Value::Float(f) => {
            let _ = write!(s, "{f:?}");
        }
        Value::Text(t) => {
            let _ = write!(s, "{t:?}");
        }
        Value::Bool(b) => {
            let _ = write!(s, "{b}");
        }
        Value::Null => s.push_str("null"),
        Value::Tag(tag, inner) => {
            let _ = write!(s, "{tag}(");
            write_diag(s, inner, depth + 1);
            s.push(')');
        }
        Value::Array(items) => {
            s.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    s.push_str(", ");
                }
                write_diag(s, item, depth + 1);
            }
            s.push(']');
        }
        Value::Map(entries) => {
            s.push('{');
            for (n, (k, v)) in entries.iter().enumerate() {
                if n > 0 {
                    s.push_str(", ");
                }
                write_diag(s, k, depth + 1);
                s.push_str(": ");
                write_diag(s, v, depth + 1);
            }
            s.push('}');
        }
        // ciborium's Value is #[non_exhaustive].
        _ => s.push_str("undefined"),
    }
}

/// The name of a PSA security lifecycle state (RFC 9783 section 4.2.3, the major part).
pub fn lifecycle_name(state: u16) -> &'static str {
    match state & 0xff00 {
        0x0000 => "unknown",
        0x1000 => "assembly-and-test",
        0x2000 => "psa-rot-provisioning",
        0x3000 => "secured",
        0x4000 => "non-psa-rot-debug",
        0x5000 => "recoverable-psa-rot-debug",
        0x6000 => "decommissioned",
        _ => "invalid",
    }
}

fn client_name(id: i32) -> &'static str {
    match id {
        i32::MIN..=-1 => "non-secure caller",
        0 => "invalid",
        _ => "secure caller",
    }
}

fn line(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name}: {value}");
}

fn unknown(out: &mut String, prefix: &str, entries: &Unknown) {
    for (k, v) in entries {
        line(out, &format!("{prefix}{}", diag(k)), diag(v));
    }
}

/// The envelope's header, as lines.
pub fn format_header(envelope: &Envelope) -> String {
    let mut out = String::new();
    let h = &envelope.message.protected.header;
    match &h.alg {
        Some(alg) => line(&mut out, "algorithm", crate::decode::algorithm_name(alg)),
        None => line(&mut out, "algorithm", "none"),
    }
    for kid in [&h.key_id, &envelope.message.unprotected.key_id] {
        if !kid.is_empty() {
            line(&mut out, "key id", hex(kid));
        }
    }
    out
}

/// The claims, as lines.
pub fn format_claims(c: &Claims) -> String {
    let mut out = String::new();
    let o = &mut out;
    if let Some(p) = &c.profile {
        line(o, "profile", p);
    }
    line(
        o,
        "client id",
        format!("{} ({})", c.client_id, client_name(c.client_id)),
    );
    line(
        o,
        "security lifecycle",
        format!("0x{:04x} ({})", c.lifecycle, lifecycle_name(c.lifecycle)),
    );
    line(o, "implementation id", hex(&c.implementation_id));
    line(o, "instance id", hex(&c.instance_id));
    line(o, "nonce", hex(&c.nonce));
    if let Some(b) = &c.boot_seed {
        line(o, "boot seed", hex(b));
    }
    if let Some(r) = &c.certification_reference {
        line(o, "certification reference", r);
    }
    if let Some(v) = &c.verification_service {
        line(o, "verification service", v);
    }
    for (n, comp) in c.components.iter().enumerate() {
        component(o, n, comp);
    }
    if let Some(a) = &c.aot {
        line(o, "aot version", a.version);
        line(o, "aot target", &a.target);
        line(o, "aot features", format!("0x{:x}", a.features));
        line(o, "aot bounds checks", &a.bounds_checks);
        unknown(o, "aot ", &a.unknown);
    }
    if let Some(q) = c.heap_quota {
        line(o, "heap quota", format!("{q} bytes"));
    }
    if let Some(d) = &c.user_data {
        line(o, "user data", hex(d));
    }
    if let Some(r) = &c.receipt {
        line(o, "receipt args digest", hex(&r.args_digest));
        line(o, "receipt stdout sha256", hex(&r.stdout_digest));
        line(o, "receipt stdout length", r.stdout_len);
        line(o, "receipt stderr sha256", hex(&r.stderr_digest));
        line(o, "receipt stderr length", r.stderr_len);
        line(o, "receipt stdin sha256", hex(&r.stdin_digest));
        line(o, "receipt stdin length", r.stdin_len);
        line(o, "receipt outcome", &r.outcome);
        line(o, "receipt exit code", r.exit_code);
        if !r.trap.is_empty() {
            line(o, "receipt trap", &r.trap);
        }
        unknown(o, "receipt ", &r.unknown);
    }
    unknown(o, "claim ", &c.unknown);
    out
}

fn component(o: &mut String, n: usize, c: &Component) {
    let p = format!("software component {n}");
    line(
        o,
        &format!("{p} type"),
        c.kind.as_deref().unwrap_or("(none)"),
    );
    line(o, &format!("{p} measurement"), hex(&c.measurement));
    if let Some(v) = &c.version {
        line(o, &format!("{p} version"), v);
    }
    if let Some(s) = &c.signer_id {
        line(o, &format!("{p} signer id"), hex(s));
    }
    if let Some(d) = &c.description {
        line(o, &format!("{p} description"), d);
    }
    unknown(o, &format!("{p} "), &c.unknown);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("0x0a"), Some(vec![10]));
        assert_eq!(unhex(""), Some(vec![]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("+1"), None);
        assert_eq!(unhex("é0"), None);
    }

    #[test]
    fn diag_notation() {
        let v = Value::Map(vec![
            (Value::Integer((-70099).into()), Value::Text("a\"b".into())),
            (
                Value::Text("k".into()),
                Value::Array(vec![
                    Value::Bytes(vec![1, 2]),
                    Value::Tag(1, Box::new(Value::Integer(5.into()))),
                    Value::Bool(true),
                    Value::Null,
                ]),
            ),
        ]);
        assert_eq!(
            diag(&v),
            r#"{-70099: "a\"b", "k": [h'0102', 1(5), true, null]}"#
        );
    }
}
