//! `tzwasm-verify encrypt` (remote provisioning), through the built binary: the token's checks,
//! the recipient key taken from the module's user data, the envelope that only the matching
//! private key opens, and the refusals with their reasons.

mod common;

use common::*;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::SecretKey;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tzwasm_verify::provision::{self, MAX_SECRET, OVERHEAD};

fn verify(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tzwasm-verify"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Exit code 1, nothing on stdout, one stderr line starting with `tzwasm-verify: {reason}`.
fn rejected(o: &Output, reason: &str) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("tzwasm-verify: {reason}")),
        "want {reason:?}, got {err}"
    );
    assert!(o.stdout.is_empty());
    err
}

/// The module's key pair (as `tee-provision keygen` makes one inside the module).
fn module_key() -> (SecretKey, Vec<u8>) {
    let sk = SecretKey::from_slice(&[0x37; 32]).unwrap();
    let point = sk.public_key().to_encoded_point(false).as_bytes().to_vec();
    (sk, point)
}

struct Setup {
    dir: PathBuf,
    key: PathBuf,
    module: PathBuf,
    secret: PathBuf,
}

fn setup(name: &str, secret: &[u8]) -> Setup {
    let dir = scratch(name);
    Setup {
        key: write(&dir, "device.pub.pem", public_pem(&keys()).as_bytes()),
        module: write(&dir, "m.aot", MODULE_FILE),
        secret: write(&dir, "secret", secret),
        dir,
    }
}

/// `encrypt TOKEN` with every required option (the right nonce, firmware and module).
fn encrypt(s: &Setup, token: &Path, module: &Path, out: &Path) -> Output {
    verify(&[
        &"encrypt",
        &token,
        &"--key",
        &s.key,
        &"--nonce",
        &"5a".repeat(32),
        &"--firmware",
        &"f1".repeat(32),
        &"--module",
        &module,
        &"--secret",
        &s.secret,
        &"--out",
        &out,
    ])
}

#[test]
fn encrypt_round_trip() {
    let secret = b"database password: hunter2\n";
    let s = setup("provision-ok", secret);
    let (sk, point) = module_key();
    let token = write(&s.dir, "token.cbor", &module_token(Some(&point)));
    let out = s.dir.join("secret.tzp");
    let o = encrypt(&s, &token, &s.module, &out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stderr.is_empty());
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains(
            "\nverified: signature (ES256), nonce, firmware, module, recipient key (P-256)\n"
        ),
        "{stdout}"
    );
    let want = format!(
        "encrypted: {} bytes of secret to the module's key -> {} ({} bytes, TZP1)\n",
        secret.len(),
        out.display(),
        secret.len() + OVERHEAD
    );
    assert!(stdout.ends_with(&want), "{stdout}");
    let envelope = std::fs::read(&out).unwrap();
    assert_eq!(envelope.len(), secret.len() + OVERHEAD);
    assert_eq!(&envelope[..4], b"TZP1");
    assert_eq!(provision::decrypt(&sk, &envelope).unwrap(), secret);

    // Twice: another ephemeral key, another envelope, the same secret.
    let out2 = s.dir.join("secret2.tzp");
    assert_eq!(encrypt(&s, &token, &s.module, &out2).status.code(), Some(0));
    let envelope2 = std::fs::read(&out2).unwrap();
    assert_ne!(envelope, envelope2);
    assert_eq!(provision::decrypt(&sk, &envelope2).unwrap(), secret);

    // Any changed byte of the envelope: the module's key does not open it.
    for i in [0, 4, 40, 69, 70, envelope.len() - 1] {
        let mut bad = envelope.clone();
        bad[i] ^= 0x01;
        assert!(provision::decrypt(&sk, &bad).is_err(), "byte {i}");
    }
    // Nor does another key.
    let other = SecretKey::from_slice(&[0x38; 32]).unwrap();
    assert_eq!(
        provision::decrypt(&other, &envelope)
            .unwrap_err()
            .to_string(),
        "cannot decrypt: authentication failed (changed, or not for this key)"
    );
}

#[test]
fn encrypt_refusals() {
    let s = setup("provision-refused", b"s3cret");
    let (_, point) = module_key();
    let out = s.dir.join("out.tzp");
    let no_out = |o: &Output| {
        assert!(!out.exists(), "{}", text(&o.stderr));
    };

    // The token's own checks come first: another module's file.
    let good = write(&s.dir, "good.cbor", &module_token(Some(&point)));
    let other_module = write(&s.dir, "other.aot", OTHER_MODULE_FILE);
    let o = encrypt(&s, &good, &other_module, &out);
    rejected(&o, "module hash mismatch");
    no_out(&o);

    // A token the module asked for without user data.
    let bare = write(&s.dir, "bare.cbor", &module_token(None));
    let o = encrypt(&s, &bare, &s.module, &out);
    let err = rejected(&o, "no recipient key");
    assert!(err.contains("the token has no user data"), "{err}");
    no_out(&o);

    // A token the normal world asked for (`tzwasm attest`), even with user data.
    let nw = write(&s.dir, "nw.cbor", &token_with(&keys(), Some(&point)));
    let o = encrypt(&s, &nw, &s.module, &out);
    let err = rejected(&o, "no recipient key");
    assert!(
        err.contains("not asked for by the module (client id -1"),
        "{err}"
    );
    no_out(&o);

    // User data that is not a P-256 public key: too short, compressed, off the curve.
    let mut off_curve = point.clone();
    off_curve[64] ^= 0x01;
    let compressed = SecretKey::from_slice(&[0x37; 32])
        .unwrap()
        .public_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    for (name, data, detail) in [
        ("short", &point[..64], "64 bytes, want 65"),
        ("compressed", &compressed[..], "33 bytes, want 65"),
        ("off-curve", &off_curve[..], "not a point on the curve"),
        ("text", &b"my public key"[..], "13 bytes, want 65"),
    ] {
        let t = write(&s.dir, &format!("{name}.cbor"), &module_token(Some(data)));
        let o = encrypt(&s, &t, &s.module, &out);
        let err = rejected(
            &o,
            "no recipient key: the user data is not a P-256 public key",
        );
        assert!(err.contains(detail), "{name}: {err}");
        no_out(&o);
    }

    // A secret too large for the module's command line, and an empty one.
    for (name, secret) in [("big", vec![7u8; MAX_SECRET + 1]), ("empty", vec![])] {
        let s2 = Setup {
            secret: write(&s.dir, name, &secret),
            ..setup(&format!("provision-{name}"), b"")
        };
        let t = write(&s2.dir, "good.cbor", &module_token(Some(&point)));
        let o = encrypt(&s2, &t, &s2.module, &out);
        rejected(&o, "bad secret");
        no_out(&o);
    }

    // Without the checks that make it safe to send a secret: a usage error (exit 2).
    let o = verify(&[
        &"encrypt",
        &good,
        &"--key",
        &s.key,
        &"--module",
        &s.module,
        &"--secret",
        &s.secret,
        &"--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("tzwasm-verify: encrypt needs --nonce, --firmware or --bl32\n"),
        "{}",
        text(&o.stderr)
    );
    // --user-data has no meaning for encrypt (the user data is the key).
    let o = verify(&[&"encrypt", &good, &"--key", &s.key, &"--user-data", &"00"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).starts_with("tzwasm-verify: unknown option --user-data"));
    no_out(&o);
}
