"""The installation's VAPID key pair for Web Push (RFC 8292), and the browser subscriptions stored as contact methods.

The private key is derived from a secret generated once per installation and kept, encrypted at rest, among the
instance secrets (``auth.secrets``): every node of an installation signs with the same key, and the browser's
subscriptions, which are bound to the public key, keep working across restarts. The public key is served to the
browser (``applicationServerKey``) in its uncompressed X9.62 form, base64url without padding.

A subscription is a contact method of type ``webpush`` (``notify.push_subscriptions``): its address is the push
service's endpoint URL (encrypted at rest like every URL address) and its secret the JSON of the browser's
``p256dh`` and ``auth`` keys (encrypted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from tocsin.auth.secrets import instance_secret
from tocsin.core.errors import InvalidInput

SECRET_NAME = "webpush_vapid"  # noqa: S105 (the name of an instance secret)
_PURPOSE = b"tocsin/webpush-vapid/v1"
# The order of the P-256 group: a private scalar lies in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
TYPE = "webpush"


@dataclass(frozen=True, slots=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey
    # Uncompressed point, base64url without padding: the browser's applicationServerKey and the ``k`` of the header.
    public_key: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput("not base64url") from None


def keys_from_secret(secret: str) -> VapidKeys:
    """The key pair derived from the installation's secret (the same secret always gives the same pair)."""
    digest = hmac.new(secret.encode(), _PURPOSE, hashlib.sha512).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(private, b64url(point))


def vapid_keys(session: Session) -> VapidKeys:
    """The installation's key pair, its secret created on first use (a write: call it in a unit of work)."""
    return keys_from_secret(instance_secret(session, SECRET_NAME))


@dataclass(frozen=True, slots=True)
class PushKeys:
    p256dh: str
    auth: str

    def to_secret(self) -> str:
        return json.dumps({"p256dh": self.p256dh, "auth": self.auth}, separators=(",", ":"))


def check_keys(p256dh: str, auth: str) -> PushKeys:
    """A subscription's keys as the browser gives them (base64url): a P-256 point and a 16-byte auth secret."""
    p256dh, auth = p256dh.strip(), auth.strip()
    if len(p256dh) > 200 or len(auth) > 100:
        raise InvalidInput("push subscription keys are too long")
    try:
        point = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except InvalidInput:
        raise InvalidInput("push subscription keys must be base64url") from None
    if len(point) != 65 or point[0] != 4:
        raise InvalidInput("p256dh must be an uncompressed P-256 public key (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidInput("p256dh is not a point on P-256") from None
    if len(secret) != 16:
        raise InvalidInput("auth must be 16 bytes")
    return PushKeys(b64url(point), b64url(secret))


def read_keys(secret: str | None) -> PushKeys | None:
    """The keys stored with a subscription; None when they are missing or damaged."""
    if not secret:
        return None
    try:
        data = json.loads(secret)
        return check_keys(str(data["p256dh"]), str(data["auth"]))
    except (ValueError, KeyError, TypeError, InvalidInput):
        return None
