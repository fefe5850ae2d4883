#!/usr/bin/env python3
"""Writes provision-v1.txt: a test vector of the TZP1 provisioning envelope (docs/attestation.md,
"Remote provisioning"), computed with Python's `cryptography` package, independently of the
Rust code. tools/verify (encrypt and decrypt) and guests/tee/tee-provision (decrypt) are tested
against it.

    python3 tools/verify/testdata/provision-v1.py > tools/verify/testdata/provision-v1.txt
"""
import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"TZP1"
SALT = b"tzwasm provision v1"


def scalar(label):
    """A fixed private key: SHA-256 of a label (far below the group order for these labels)."""
    return int.from_bytes(hashlib.sha256(label).digest(), "big")


def point(private):
    return private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


recipient = ec.derive_private_key(scalar(b"tzwasm provision test: recipient"), ec.SECP256R1())
ephemeral = ec.derive_private_key(scalar(b"tzwasm provision test: ephemeral"), ec.SECP256R1())
secret = b"database password: correct horse battery staple\n"

r, e = point(recipient), point(ephemeral)
z = ephemeral.exchange(ec.ECDH(), recipient.public_key())
okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=SALT, info=MAGIC + e + r).derive(z)
key, nonce = okm[:32], okm[32:]
header = MAGIC + e
envelope = header + ChaCha20Poly1305(key).encrypt(nonce, secret, header)

print("# TZP1 test vector (made by provision-v1.py with Python's cryptography package)")
print(f"recipient secret: {recipient.private_numbers().private_value:064x}")
print(f"recipient public: {r.hex()}")
print(f"ephemeral secret: {ephemeral.private_numbers().private_value:064x}")
print(f"secret: {secret.hex()}")
print(f"secret sha256: {hashlib.sha256(secret).hexdigest()}")
print(f"envelope: {envelope.hex()}")
