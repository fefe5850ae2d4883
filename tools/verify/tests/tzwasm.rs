//! Tokens and receipts made by `tzwasm-attest` (as the secure world makes them) verify, and
//! every check fails with its own reason when what it compares differs.

mod common;

use ciborium::value::Value;
use common::*;
use tzwasm_attest::claims::{key, receipt_key, Outcome};
use tzwasm_verify::{
    args_digest, load_key, verify_receipt, verify_token, Check, Error, Expect, ExpectReceipt,
    StreamExpect, Verified,
};

fn vk() -> p256::ecdsa::VerifyingKey {
    *keys().verifying_key()
}

fn expect() -> Expect {
    Expect {
        nonce: Some(NONCE.to_vec()),
        firmware: Some(FIRMWARE),
        module: Some(sha256(MODULE_FILE)),
        user_data: None,
    }
}

fn owned(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.to_vec()).collect()
}

fn expect_run(run: &Run) -> ExpectReceipt {
    ExpectReceipt {
        stdout: Some(StreamExpect::of(&run.stdout())),
        stderr: Some(StreamExpect::of(&run.stderr)),
        stdin: Some(StreamExpect::of(STDIN)),
        args_digest: Some(args_digest(ENTRY, &owned(&ARGV), &owned(&ENV))),
        exit_code: None,
    }
}

fn mismatch(r: Result<Verified, Error>) -> Check {
    match r {
        Err(Error::Mismatch(check, detail)) => {
            assert!(!detail.is_empty());
            check
        }
        other => panic!("not a mismatch: {other:?}"),
    }
}

#[test]
fn token_verifies_and_prints_every_claim() {
    let v = verify_token(&token(), &vk(), &expect()).unwrap();
    assert_eq!(
        v.summary(),
        "verified: signature (ES256), nonce, firmware, module"
    );
    let r = v.report();
    for line in [
        "algorithm: ES256 (-7)",
        "profile: tag:psacertified.org,2023:psa#tfm",
        "client id: -1 (non-secure caller)",
        "security lifecycle: 0x3000 (secured)",
        &format!("instance id: {}", "01".repeat(33)),
        &format!("nonce: {}", "5a".repeat(32)),
        "software component 0 type: BL32",
        &format!("software component 0 measurement: {}", "f1".repeat(32)),
        "software component 0 version: 0.1.0",
        "software component 1 type: WASM-AOT",
        "software component 1 description: sha-256",
        "aot version: 6",
        "aot target: aarch64",
        "aot features: 0x4",
        "aot bounds checks: hardware",
        "heap quota: 1048576 bytes",
    ] {
        assert!(r.lines().any(|l| l == line), "no line {line:?} in\n{r}");
    }
    assert!(!r.contains("receipt"), "{r}");
}

#[test]
fn every_expectation_is_optional() {
    let v = verify_token(&token(), &vk(), &Expect::default()).unwrap();
    assert_eq!(v.summary(), "verified: signature (ES256)");
}

#[test]
fn other_nonce_fails() {
    let mut e = expect();
    e.nonce = Some(vec![0x5b; 32]);
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Nonce);
    e.nonce = Some(NONCE[..16].to_vec());
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Nonce);
}

#[test]
fn other_module_fails() {
    let mut e = expect();
    e.module = Some(sha256(OTHER_MODULE_FILE));
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Module);
    // The firmware's hash is not the module's.
    e.module = Some(FIRMWARE);
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Module);
}

#[test]
fn other_firmware_fails() {
    let mut e = expect();
    e.firmware = Some([0xf2; 32]);
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Firmware);
    e.firmware = Some(sha256(MODULE_FILE));
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::Firmware);
}

#[test]
fn other_key_fails() {
    let other = *other_keys().verifying_key();
    assert_eq!(
        verify_token(&token(), &other, &expect()).unwrap_err(),
        Error::Signature
    );
    // The same key through each file format it may come in.
    let pem = public_pem(&keys());
    let from_pem = load_key(pem.as_bytes()).unwrap();
    assert!(verify_token(&token(), &from_pem, &expect()).is_ok());
    let from_point = load_key(keys().public_key()).unwrap();
    assert!(verify_token(&token(), &from_point, &expect()).is_ok());
    assert!(matches!(load_key(b"not a key"), Err(Error::Key(_))));
    assert!(matches!(
        load_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        Err(Error::Key(_))
    ));
}

#[test]
fn user_data() {
    let t = token_with(&keys(), Some(b"module public key"));
    let mut e = expect();
    e.user_data = Some(b"module public key".to_vec());
    let v = verify_token(&t, &vk(), &e).unwrap();
    assert!(v.report().contains(&format!(
        "user data: {}\n",
        tzwasm_verify::report::hex(b"module public key")
    )));
    assert!(v.summary().ends_with(", user data"));
    e.user_data = Some(b"module public kez".to_vec());
    assert_eq!(mismatch(verify_token(&t, &vk(), &e)), Check::UserData);
    // A token without user data does not match any.
    assert_eq!(mismatch(verify_token(&token(), &vk(), &e)), Check::UserData);
}

/// Every single-bit flip of a tzwasm token: rejected, as malformed or as a bad signature.
#[test]
fn every_flipped_bit_fails() {
    let good = token();
    let key = vk();
    for at in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[at] ^= 1 << bit;
            match verify_token(&bad, &key, &expect()) {
                Err(Error::Malformed(_) | Error::Algorithm(_) | Error::Signature) => {}
                other => panic!("byte {at} bit {bit}: {other:?}"),
            }
        }
    }
}

#[test]
fn receipt_verifies() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(3));
    let v = verify_receipt(&rc, &vk(), &expect(), &expect_run(&run)).unwrap();
    assert_eq!(
        v.summary(),
        "verified: signature (ES256), nonce, firmware, module, receipt, stdout, stderr, stdin, args"
    );
    let r = v.report();
    for line in [
        format!("receipt stdout length: {}", 64 * 4096),
        format!(
            "receipt stdout sha256: {}",
            tzwasm_verify::report::hex(&sha256(&run.stdout()))
        ),
        format!("receipt stderr length: {}", run.stderr.len()),
        format!("receipt stdin length: {}", STDIN.len()),
        "receipt outcome: exited".into(),
        "receipt exit code: 3".into(),
    ] {
        assert!(r.lines().any(|l| l == line), "no line {line:?} in\n{r}");
    }
    let trapped = receipt(&run, Outcome::Trapped("unreachable executed"));
    let v = verify_receipt(&trapped, &vk(), &expect(), &expect_run(&run)).unwrap();
    assert!(v.report().contains("receipt outcome: trapped\n"));
    assert!(v.report().contains("receipt trap: unreachable executed\n"));
}

#[test]
fn a_token_is_not_a_receipt() {
    let run = Run::sample();
    assert_eq!(
        verify_receipt(&token(), &vk(), &expect(), &expect_run(&run)).unwrap_err(),
        Error::NotAReceipt
    );
}

#[test]
fn changed_stdout_byte_fails() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(0));
    for at in [0, 4095, 4096, 100_000, 64 * 4096 - 1] {
        let mut out = run.stdout();
        out[at] ^= 0x20;
        let mut e = expect_run(&run);
        e.stdout = Some(StreamExpect::of(&out));
        assert_eq!(
            mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
            Check::Stdout
        );
    }
    let mut err = run.stderr.clone();
    err[0] ^= 1;
    let mut e = expect_run(&run);
    e.stderr = Some(StreamExpect::of(&err));
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stderr
    );
    // Another input than the module read.
    let mut e = expect_run(&run);
    e.stdin = Some(StreamExpect::of(b"typed in!"));
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stdin
    );
}

#[test]
fn the_exit_code_is_checked_when_asked() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(3));
    let mut e = expect_run(&run);
    e.exit_code = Some(3);
    let v = verify_receipt(&rc, &vk(), &expect(), &e).unwrap();
    assert!(v.summary().ends_with(", exit"), "{}", v.summary());
    e.exit_code = Some(0);
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Exit
    );
    let trapped = receipt(&run, Outcome::Trapped("unreachable executed"));
    e.exit_code = Some(0);
    assert_eq!(
        mismatch(verify_receipt(&trapped, &vk(), &expect(), &e)),
        Check::Exit
    );
}

#[test]
fn dropped_chunk_fails() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(0));
    for drop in [0, 31, 63] {
        let mut chunks = run.stdout_chunks.clone();
        chunks.remove(drop);
        let mut e = expect_run(&run);
        e.stdout = Some(StreamExpect::of(&chunks.concat()));
        match verify_receipt(&rc, &vk(), &expect(), &e) {
            Err(Error::Mismatch(Check::Stdout, d)) => assert!(d.contains("bytes"), "{d}"),
            other => panic!("{other:?}"),
        }
    }
    // Same length, chunks reordered: the digest catches it.
    let mut chunks = run.stdout_chunks.clone();
    chunks.swap(0, 1);
    let mut e = expect_run(&run);
    e.stdout = Some(StreamExpect::of(&chunks.concat()));
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stdout
    );
}

#[test]
fn swapped_streams_fail() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(0));
    let mut e = expect_run(&run);
    std::mem::swap(&mut e.stdout, &mut e.stderr);
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stdout
    );
    // Streams of equal length swapped: still caught, by the digest.
    let even = Run {
        stdout_chunks: vec![b"same length A\n".to_vec()],
        stderr: b"same length B\n".to_vec(),
    };
    let rc = receipt(&even, Outcome::Exited(0));
    let mut e = expect_run(&even);
    assert!(verify_receipt(&rc, &vk(), &expect(), &e).is_ok());
    std::mem::swap(&mut e.stdout, &mut e.stderr);
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stdout
    );
    e.stdout = Some(StreamExpect::of(b"same length A\n"));
    assert_eq!(
        mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
        Check::Stderr
    );
}

#[test]
fn other_args_fail() {
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(0));
    type Case<'a> = (&'a [u8], Vec<&'a [u8]>, Vec<&'a [u8]>);
    let cases: [Case; 5] = [
        (b"", vec![b"m.aot", b"--flag", b"valuf"], ENV.to_vec()),
        (b"", vec![b"--flag", b"value"], ENV.to_vec()),
        (b"", ARGV.to_vec(), vec![]),
        (b"main", ARGV.to_vec(), ENV.to_vec()),
        (b"", vec![b"m.aot", b"--flagvalue"], ENV.to_vec()),
    ];
    for (entry, argv, env) in cases {
        let mut e = expect_run(&run);
        e.args_digest = Some(args_digest(entry, &owned(&argv), &owned(&env)));
        assert_eq!(
            mismatch(verify_receipt(&rc, &vk(), &expect(), &e)),
            Check::Args
        );
    }
}

fn claims_with(edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut map = claims_value();
    edit(&mut map);
    sign_value(&Value::Map(map))
}

fn int(k: i64) -> Value {
    Value::Integer(k.into())
}

#[test]
fn unknown_claims_are_printed_not_rejected() {
    let t = claims_with(|m| {
        m.push((int(-70099), Value::Text("later".into())));
        m.push((
            Value::Text("x-vendor".into()),
            Value::Array(vec![int(1), Value::Bytes(vec![0xab])]),
        ));
    });
    let v = verify_token(&t, &vk(), &expect()).unwrap();
    let r = v.report();
    assert!(r.contains("claim -70099: \"later\"\n"), "{r}");
    assert!(r.contains("claim \"x-vendor\": [1, h'ab']\n"), "{r}");
}

#[test]
fn missing_or_mistyped_claims_are_malformed() {
    let must = [
        key::NONCE,
        key::INSTANCE_ID,
        key::IMPLEMENTATION_ID,
        key::CLIENT_ID,
        key::LIFECYCLE,
        key::SOFTWARE_COMPONENTS,
    ];
    for k in must {
        let t = claims_with(|m| m.retain(|(key, _)| *key != int(k)));
        match verify_token(&t, &vk(), &Expect::default()) {
            Err(Error::Malformed(d)) => assert!(d.contains("missing"), "{k}: {d}"),
            other => panic!("claim {k} missing: {other:?}"),
        }
        let t = claims_with(|m| {
            for (key, v) in m.iter_mut() {
                if *key == int(k) {
                    *v = Value::Text("wrong".into());
                }
            }
        });
        assert!(
            matches!(
                verify_token(&t, &vk(), &Expect::default()),
                Err(Error::Malformed(_))
            ),
            "claim {k} mistyped"
        );
    }
    // Wrong lengths and ranges.
    let edits: [(i64, Value); 6] = [
        (key::NONCE, Value::Bytes(vec![0; 31])),
        (key::INSTANCE_ID, Value::Bytes(vec![0x02; 33])),
        (key::IMPLEMENTATION_ID, Value::Bytes(vec![0; 33])),
        (key::CLIENT_ID, int(1 << 40)),
        (key::LIFECYCLE, int(-1)),
        (key::SOFTWARE_COMPONENTS, Value::Array(vec![])),
    ];
    for (k, value) in edits {
        let t = claims_with(|m| {
            for (key, v) in m.iter_mut() {
                if *key == int(k) {
                    *v = value.clone();
                }
            }
        });
        assert!(
            matches!(
                verify_token(&t, &vk(), &Expect::default()),
                Err(Error::Malformed(_))
            ),
            "claim {k} = {value:?}"
        );
    }
    // A receipt field of the wrong type, a duplicate key, trailing bytes, not a map.
    let run = Run::sample();
    let rc = receipt(&run, Outcome::Exited(0));
    let env = tzwasm_verify::decode::envelope(&rc).unwrap();
    let v: Value = ciborium::de::from_reader(&env.payload[..]).unwrap();
    let mut map = v.into_map().unwrap();
    for (k, v) in map.iter_mut() {
        if *k == int(key::TZWASM_RECEIPT) {
            let rmap = v.as_map_mut().unwrap();
            rmap.retain(|(k, _)| *k != int(receipt_key::STDOUT_LEN));
        }
    }
    let t = sign_value(&Value::Map(map));
    assert!(matches!(
        verify_receipt(&t, &vk(), &Expect::default(), &ExpectReceipt::default()),
        Err(Error::Malformed(_))
    ));
    let t = claims_with(|m| m.push((int(key::NONCE), Value::Bytes(NONCE.to_vec()))));
    match verify_token(&t, &vk(), &Expect::default()) {
        Err(Error::Malformed(d)) => assert!(d.contains("twice"), "{d}"),
        other => panic!("{other:?}"),
    }
    let mut payload = Vec::new();
    ciborium::ser::into_writer(&Value::Map(claims_value()), &mut payload).unwrap();
    payload.push(0x00);
    assert!(matches!(
        verify_token(&sign_bytes(&payload), &vk(), &Expect::default()),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        verify_token(&sign_value(&int(1)), &vk(), &Expect::default()),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn other_algorithms_are_refused() {
    use coset::{iana, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
    let payload = tzwasm_verify::decode::envelope(&token()).unwrap().payload;
    for alg in [iana::Algorithm::ES384, iana::Algorithm::EdDSA] {
        let msg = CoseSign1Builder::new()
            .protected(HeaderBuilder::new().algorithm(alg).build())
            .payload(payload.clone())
            .signature(vec![0; 64])
            .build();
        let bytes = msg.to_tagged_vec().unwrap();
        assert!(matches!(
            verify_token(&bytes, &vk(), &expect()),
            Err(Error::Algorithm(_))
        ));
    }
    // No algorithm at all, or only in the unprotected header.
    let msg = CoseSign1Builder::new()
        .unprotected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
        )
        .payload(payload)
        .signature(vec![0; 64])
        .build();
    assert!(matches!(
        verify_token(&msg.to_tagged_vec().unwrap(), &vk(), &expect()),
        Err(Error::Algorithm(_))
    ));
}

/// Hostile CBOR: huge declared lengths, deep nesting, truncations. Errors, no panic, no
/// allocation of the declared size.
#[test]
fn hostile_cbor_is_malformed() {
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xd2],
        vec![0xd2, 0x84],
        vec![0xd2, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![
            0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![
            0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff,
        ],
        vec![0xd2, 0x9f, 0x9f, 0x9f, 0xff],
        vec![0xd2; 10_000],
        vec![0x81; 100_000],
        vec![0xff; 16],
    ];
    let good = token();
    for n in 0..good.len() {
        cases.push(good[..n].to_vec());
    }
    for c in &cases {
        assert!(matches!(
            verify_token(c, &vk(), &expect()),
            Err(Error::Malformed(_))
        ));
        assert!(tzwasm_verify::decode_unverified(c).is_err());
    }
    // The same inside a (validly signed) payload.
    let payloads: [&[u8]; 5] = [
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xa1, 0x0a, 0x5f, 0x41, 0x00],
        &[0x81; 5000],
    ];
    for p in payloads {
        assert!(matches!(
            verify_token(&sign_bytes(p), &vk(), &expect()),
            Err(Error::Malformed(_))
        ));
    }
}
