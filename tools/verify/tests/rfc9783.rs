//! RFC 9783's example token (attest/testdata/rfc9783, see its README): a PSA token no one in
//! this project wrote verifies with the RFC's example key, and any single-byte change anywhere
//! in the file makes it fail, as malformed or as a bad signature, without a panic.

mod common;

use common::{RFC_KEY, RFC_NONCE, RFC_TOKEN};
use tzwasm_verify::{load_key, verify_token, Check, Error, Expect};

fn expect_nonce(nonce: &[u8]) -> Expect {
    Expect {
        nonce: Some(nonce.to_vec()),
        ..Expect::default()
    }
}

#[test]
fn example_verifies_with_its_key() {
    let key = load_key(RFC_KEY).unwrap();
    let v = verify_token(RFC_TOKEN, &key, &expect_nonce(&RFC_NONCE)).unwrap();
    let c = &v.claims;
    assert_eq!(c.client_id, 2147483647);
    assert_eq!(c.lifecycle, 0x3000);
    assert_eq!(c.boot_seed.as_deref(), Some(&[0u8; 8][..]));
    assert_eq!(c.components.len(), 1);
    assert_eq!(c.components[0].kind.as_deref(), Some("PRoT"));
    assert_eq!(c.components[0].measurement, [0x03; 32]);
    assert_eq!(c.components[0].signer_id.as_deref(), Some(&[0x04; 32][..]));
    assert!(c.aot.is_none() && c.receipt.is_none() && c.unknown.is_empty());
    let report = v.report();
    assert!(
        report.contains("profile: tag:psacertified.org,2023:psa#tfm\n"),
        "{report}"
    );
    assert!(
        report.contains("software component 0 type: PRoT\n"),
        "{report}"
    );
    assert!(
        report.ends_with("verified: signature (ES256), nonce\n"),
        "{report}"
    );
}

#[test]
fn example_with_another_nonce_or_expectation_fails() {
    let key = load_key(RFC_KEY).unwrap();
    let err = verify_token(RFC_TOKEN, &key, &expect_nonce(&[0x02; 32])).unwrap_err();
    assert!(matches!(err, Error::Mismatch(Check::Nonce, _)), "{err}");
    // It has no BL32 or WASM-AOT component: any expected firmware or module fails.
    let e = Expect {
        firmware: Some([0x03; 32]),
        ..Expect::default()
    };
    let err = verify_token(RFC_TOKEN, &key, &e).unwrap_err();
    assert!(matches!(err, Error::Mismatch(Check::Firmware, _)), "{err}");
    let e = Expect {
        module: Some([0x03; 32]),
        ..Expect::default()
    };
    let err = verify_token(RFC_TOKEN, &key, &e).unwrap_err();
    assert!(matches!(err, Error::Mismatch(Check::Module, _)), "{err}");
}

#[test]
fn example_with_another_key_fails() {
    let other = common::public_pem(&common::keys());
    let key = load_key(other.as_bytes()).unwrap();
    assert_eq!(
        verify_token(RFC_TOKEN, &key, &Expect::default()).unwrap_err(),
        Error::Signature
    );
}

/// Every position in `positions`, every other byte value there: each changed token is
/// rejected.
fn every_change_rejected(positions: core::ops::Range<usize>) {
    let key = load_key(RFC_KEY).unwrap();
    let expect = expect_nonce(&RFC_NONCE);
    let (mut malformed, mut signature) = (0usize, 0usize);
    let mut bad = RFC_TOKEN.to_vec();
    for at in positions.clone() {
        for delta in 1..=255u8 {
            bad[at] = RFC_TOKEN[at].wrapping_add(delta);
            match verify_token(&bad, &key, &expect) {
                Err(Error::Malformed(_)) | Err(Error::Algorithm(_)) => malformed += 1,
                Err(Error::Signature) => signature += 1,
                other => panic!("byte {at} = {:#04x}: {other:?}", bad[at]),
            }
        }
        bad[at] = RFC_TOKEN[at];
    }
    assert_eq!(malformed + signature, positions.len() * 255);
    eprintln!("{positions:?}: {malformed} malformed, {signature} bad signatures");
}

/// Every position, every other byte value: 332 × 255 tokens, each rejected (in two halves,
/// which the test harness runs in parallel).
#[test]
fn every_single_byte_change_is_rejected_first_half() {
    every_change_rejected(0..RFC_TOKEN.len() / 2);
}

#[test]
fn every_single_byte_change_is_rejected_second_half() {
    every_change_rejected(RFC_TOKEN.len() / 2..RFC_TOKEN.len());
}
