"""Standard Webhooks signatures: the published example, an independent HMAC, rotation, and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tocsin.notify.providers.webhook import decode_secret, sign, signature_header, verify_standard_webhook

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _independent(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_") :])
    mac = hmac.new(key, msg_id.encode() + b"." + str(ts).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_published_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_matches_an_independent_hmac() -> None:
    secret = "whsec_" + base64.b64encode(b"\x01" * 24).decode()
    body = '{"type":"incident.triggered","data":{"title":"é ✓"}}'.encode()
    assert sign(secret, "n-42", 1700000000, body) == _independent(secret, "n-42", 1700000000, body)


def test_rotation_signs_with_every_secret() -> None:
    old, new = SPEC_SECRET, "whsec_" + base64.b64encode(b"new-key-bytes-0123456789").decode()
    header = signature_header(f"{old} {new}", SPEC_ID, SPEC_TS, SPEC_BODY)
    parts = header.split(" ")
    assert parts == [SPEC_SIGNATURE, _independent(new, SPEC_ID, SPEC_TS, SPEC_BODY)]
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": header}
    assert verify_standard_webhook(old, headers, SPEC_BODY, now=SPEC_TS)
    assert verify_standard_webhook(new, headers, SPEC_BODY, now=SPEC_TS)


def _headers(sig: str = SPEC_SIGNATURE, ts: int = SPEC_TS, msg_id: str = SPEC_ID) -> dict[str, str]:
    return {"Webhook-Id": msg_id, "Webhook-Timestamp": str(ts), "Webhook-Signature": sig}


def test_verify_accepts_the_genuine_request() -> None:
    assert verify_standard_webhook(SPEC_SECRET, _headers(), SPEC_BODY, now=SPEC_TS + 10)


@pytest.mark.parametrize(
    ("secret", "headers", "body", "now"),
    [
        pytest.param(SPEC_SECRET, _headers(), b'{"test": 2432232315}', SPEC_TS, id="tampered-body"),
        pytest.param("whsec_" + base64.b64encode(b"other").decode(), _headers(), SPEC_BODY, SPEC_TS, id="wrong-secret"),
        pytest.param(SPEC_SECRET, _headers(), SPEC_BODY, SPEC_TS + 301, id="stale"),
        pytest.param(SPEC_SECRET, _headers(), SPEC_BODY, SPEC_TS - 301, id="future"),
        pytest.param(SPEC_SECRET, _headers(msg_id="msg_other"), SPEC_BODY, SPEC_TS, id="other-id"),
        pytest.param(SPEC_SECRET, _headers(ts=SPEC_TS + 1), SPEC_BODY, SPEC_TS, id="other-timestamp"),
        pytest.param(SPEC_SECRET, _headers(sig="v1,AAAA"), SPEC_BODY, SPEC_TS, id="garbage-signature"),
        pytest.param(SPEC_SECRET, _headers(sig=SPEC_SIGNATURE.replace("v1,", "v2,")), SPEC_BODY, SPEC_TS, id="v2"),
        pytest.param(SPEC_SECRET, {}, SPEC_BODY, SPEC_TS, id="no-headers"),
        pytest.param("not base64!", _headers(), SPEC_BODY, SPEC_TS, id="bad-secret"),
    ],
)
def test_verify_refuses(secret: str, headers: dict[str, str], body: bytes, now: int) -> None:
    assert not verify_standard_webhook(secret, headers, body, now=now)


def test_decode_secret_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_secret("whsec_***")
    assert decode_secret(SPEC_SECRET) == base64.b64decode(SPEC_SECRET[6:])
