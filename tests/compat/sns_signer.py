"""Signs SNS messages the way SNS does, with a key and self-signed certificate made for the tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tocsin.integrations.cloudwatch import canonical_string

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"


def signing_key(name: str = "sns") -> tuple[rsa.RSAPrivateKey, bytes]:
    """A private key and the PEM of a certificate for it (valid 2020-2039, so FakeClock dates fit)."""
    return _key_and_certificate(name)


@cache
def _key_and_certificate(name: str) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=365 * 20))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def sign(message: dict[str, Any], *, version: str = "1", key_name: str = "sns", **changes: Any) -> dict[str, Any]:
    """A copy of ``message`` with ``changes`` applied, our certificate URL and a fresh signature."""
    signed = {**message, **changes, "SignatureVersion": version, "SigningCertURL": CERT_URL}
    key, _ = signing_key(key_name)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS signature version 1 is SHA1)
    signature = key.sign(canonical_string(signed, signed["Type"]), padding.PKCS1v15(), digest)
    signed["Signature"] = base64.b64encode(signature).decode()
    return signed
