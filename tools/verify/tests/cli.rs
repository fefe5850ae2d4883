//! The built binary: exit codes (0 verified, 1 rejected, 2 usage) and the one
//! `tzwasm-verify: <reason>` line on stderr.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tzwasm_attest::claims::Outcome;

fn verify(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tzwasm-verify"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 1 and exactly one stderr line, starting with `tzwasm-verify: {reason}`.
fn rejected(o: &Output, reason: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("tzwasm-verify: {reason}")),
        "want {reason:?}, got {err}"
    );
    assert!(o.stdout.is_empty());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn rfc_example() {
    let nonce = "01".repeat(32);
    let (token, key) = (rfc_path("psa-sign1.cbor"), rfc_path("tfm-es-iak.pem"));
    let o = verify(&[&"token", &token, &"--key", &key, &"--nonce", &nonce]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).ends_with("verified: signature (ES256), nonce\n"));
    assert!(o.stderr.is_empty());
    let other = "02".repeat(32);
    rejected(
        &verify(&[
            &"token",
            &token,
            &"--key",
            &key,
            &format!("--nonce={other}"),
        ]),
        "nonce mismatch",
    );
    let dir = scratch("rfc");
    let mut bad = RFC_TOKEN.to_vec();
    bad[200] ^= 0x01;
    let bad = write(&dir, "bad.cbor", &bad);
    rejected(
        &verify(&[&"token", &bad, &"--key", &key]),
        "signature does not verify",
    );
    let cut = write(&dir, "cut.cbor", &RFC_TOKEN[..100]);
    rejected(
        &verify(&[&"token", &cut, &"--key", &key]),
        "malformed token: ",
    );
    let o = verify(&[&"show", &token]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("software component 0 type: PRoT\n"));
    assert!(stdout(&o).contains("signature NOT checked"));
}

#[test]
fn token_and_receipt() {
    let dir = scratch("tzwasm");
    let key = write(&dir, "device.pub.pem", public_pem(&keys()).as_bytes());
    let other_key = write(&dir, "other.pub.pem", public_pem(&other_keys()).as_bytes());
    let token = write(&dir, "token.cbor", &token());
    let module = write(&dir, "m.aot", MODULE_FILE);
    let other_module = write(&dir, "other.aot", OTHER_MODULE_FILE);
    let bl32 = write(&dir, "bl32.bin", b"not the measured firmware");
    let nonce = "5a".repeat(32);
    let firmware = "f1".repeat(32);

    let o = verify(&[
        &"token",
        &token,
        &"--key",
        &key,
        &"--nonce",
        &nonce,
        &"--firmware",
        &firmware,
        &"--module",
        &module,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).ends_with("verified: signature (ES256), nonce, firmware, module\n"));
    rejected(
        &verify(&[&"token", &token, &"--key", &key, &"--module", &other_module]),
        "module hash mismatch",
    );
    rejected(
        &verify(&[&"token", &token, &"--key", &key, &"--bl32", &bl32]),
        "firmware measurement mismatch",
    );
    rejected(
        &verify(&[&"token", &token, &"--key", &other_key]),
        "signature does not verify",
    );
    rejected(
        &verify(&[&"token", &token, &"--key", &key, &"--user-data", &"00"]),
        "user data mismatch",
    );
    rejected(
        &verify(&[&"receipt", &token, &"--key", &key]),
        "not a receipt",
    );

    let run = Run::sample();
    let receipt = write(&dir, "receipt.cbor", &receipt(&run, Outcome::Exited(0)));
    let out = write(&dir, "stdout", &run.stdout());
    let err = write(&dir, "stderr", &run.stderr);
    let run_args: [&dyn AsRef<std::ffi::OsStr>; 8] = [
        &"--arg",
        &"m.aot",
        &"--arg",
        &"--flag",
        &"--arg",
        &"value",
        &"--env",
        &"HOME=/root",
    ];
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"receipt",
        &receipt,
        &"--key",
        &key,
        &"--nonce",
        &nonce,
        &"--module",
        &module,
        &"--stdout",
        &out,
        &"--stderr",
        &err,
    ];
    args.extend(run_args);
    let o = verify(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("receipt outcome: exited\n"));
    assert!(stdout(&o)
        .ends_with("verified: signature (ES256), nonce, module, receipt, stdout, stderr, args\n"));
    // Swapped streams, a changed byte, other args.
    rejected(
        &verify(&[&"receipt", &receipt, &"--key", &key, &"--stdout", &err]),
        "stdout hash mismatch",
    );
    let mut changed = run.stdout();
    changed[12345] ^= 0x04;
    let changed = write(&dir, "changed", &changed);
    rejected(
        &verify(&[&"receipt", &receipt, &"--key", &key, &"--stdout", &changed]),
        "stdout hash mismatch",
    );
    rejected(
        &verify(&[&"receipt", &receipt, &"--key", &key, &"--stderr", &out]),
        "stderr hash mismatch",
    );
    rejected(
        &verify(&[&"receipt", &receipt, &"--key", &key, &"--arg", &"m.aot"]),
        "args digest mismatch",
    );
}

#[test]
fn usage_errors_exit_2() {
    let token = rfc_path("psa-sign1.cbor");
    let key = rfc_path("tfm-es-iak.pem");
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["token"],
        vec!["token", token.as_str()],
        vec!["token", token.as_str(), "--key"],
        vec![
            "token",
            token.as_str(),
            "--key",
            key.as_str(),
            "--nonce",
            "xyz",
        ],
        vec![
            "token",
            token.as_str(),
            "--key",
            key.as_str(),
            "--firmware",
            "00",
        ],
        vec![
            "token",
            token.as_str(),
            "--key",
            key.as_str(),
            "--stdout",
            "x",
        ],
        vec![
            "token",
            token.as_str(),
            token.as_str(),
            "--key",
            key.as_str(),
        ],
        vec![
            "receipt",
            token.as_str(),
            "--key",
            key.as_str(),
            "--env",
            "NOEQUALS",
        ],
        vec!["show", token.as_str(), "--key", key.as_str()],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_tzwasm-verify"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("tzwasm-verify: "), "{args:?}");
    }
    let o = verify(&[&"--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("tzwasm-verify receipt RECEIPT.cbor"));
    // A missing file is a rejection (1), not a usage error.
    rejected(
        &verify(&[&"token", &"/nonexistent/t.cbor", &"--key", &key]),
        "cannot read",
    );
}
