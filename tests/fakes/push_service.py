"""A push service (RFC 8030) on 127.0.0.1 that checks what a Web Push sender must get right.

Each subscription is made here the way a browser makes one: a P-256 key pair and a 16-byte auth secret, the public
half given to the sender as ``p256dh`` and ``auth``. Every request to a subscription's endpoint must carry
``Authorization: vapid t=<JWT>, k=<public key>`` whose ES256 signature verifies with ``k`` (and ``k`` is the
installation's key when the test names it), whose ``aud`` is the endpoint's origin, whose ``exp`` is in the future
and at most 24 hours away, and whose ``sub`` is present; its body must be ``aes128gcm`` and decrypt with the
subscription's private key and auth secret. The decrypted JSON is recorded.

The test says in advance which status each request gets (``expect``); a request nobody expected, or one that
breaks a rule above, is recorded in ``problems``, which the fixture asserts empty when the test ends.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.fakes._server import FakeServer, Reply, Request

DAY = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """What a browser keeps (the private key) and what it hands the server (endpoint, p256dh, auth)."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def keys(self) -> dict[str, str]:
        return {"p256dh": self.p256dh, "auth": b64url(self.auth)}


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    path: str
    status: int
    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str
    body_size: int
    payload: dict[str, Any]


def verify_vapid(authorization: str, origin: str, now: float) -> tuple[dict[str, Any], str]:
    """The claims and the key of a valid ``vapid t=…, k=…`` header; AssertionError saying what is wrong."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", f"Authorization scheme is {scheme!r}, not vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    assert token, "vapid needs t="
    assert key, "vapid needs k="
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    head_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(unb64url(head_b64))
    assert header.get("alg") == "ES256", f"JWT alg is {header.get('alg')!r}"
    raw = unb64url(sig_b64)
    assert len(raw) == 64, "an ES256 signature is r || s, 64 bytes"
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(signature, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID signature does not verify with k") from None
    claims = json.loads(unb64url(claims_b64))
    assert claims.get("aud") == origin, f"aud is {claims.get('aud')!r}, not {origin!r}"
    exp = int(claims.get("exp", 0))
    assert now < exp <= now + DAY, f"exp {exp} is not within 24 hours of {now:.0f}"
    assert claims.get("sub"), "sub is missing"
    return claims, key


class FakePushService:
    def __init__(self, vapid_key: str | None = None) -> None:
        self.vapid_key = vapid_key
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.problems: list[str] = []
        self._answers: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()
        self.server = FakeServer(self._route)

    # --- the test's side ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    def subscribe(self, name: str) -> Subscription:
        sub = Subscription(f"{self.url}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        with self._lock:
            self.subscriptions[f"/push/{name}"] = sub
            self._answers[f"/push/{name}"] = deque()
        return sub

    def expect(self, sub: Subscription, status: int, **headers: str) -> None:
        """The next request to ``sub`` gets ``status`` (with these headers)."""
        path = sub.endpoint.removeprefix(self.url)
        with self._lock:
            self._answers[path].append(Answer(status, {k.replace("_", "-"): v for k, v in headers.items()}))

    def pending(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._answers.values())

    def payloads(self, sub: Subscription) -> list[dict[str, Any]]:
        path = sub.endpoint.removeprefix(self.url)
        with self._lock:
            return [d.payload for d in self.deliveries if d.path == path]

    # --- the server -----------------------------------------------------------------------------------------------
    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            sub = self.subscriptions.get(path)
            queue = self._answers.get(path)
            answer = queue.popleft() if queue else None
        if sub is None or answer is None:
            self.problems.append(f"unexpected request to {path}")
            return Answer(500)
        try:
            claims, key = verify_vapid(headers.get("authorization", ""), self.url, time.time())
            if self.vapid_key is not None:
                assert key == self.vapid_key, "k is not the installation's VAPID public key"
            assert headers.get("content-encoding") == "aes128gcm", "the body must be aes128gcm"
            assert headers.get("ttl", "").isdigit(), "a TTL header is required"
            assert len(body) <= 4096, f"the record is {len(body)} bytes, over the 4096 push services accept"
            clear = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(clear)
        except AssertionError as exc:
            self.problems.append(f"{path}: {exc}")
            return Answer(400)
        except Exception as exc:
            self.problems.append(f"{path}: could not read the message: {type(exc).__name__}: {exc}")
            return Answer(400)
        with self._lock:
            self.deliveries.append(Delivery(path, answer.status, headers, claims, key, len(body), payload))
        return answer

    def _route(self, request: Request) -> Reply:
        if request.method != "POST":
            self.problems.append(f"unexpected {request.method} {request.path}")
            return Reply(405)
        answer = self._handle(request.path, request.headers, request.body)
        headers = dict(answer.headers)
        if 200 <= answer.status < 300:
            headers["Location"] = f"{self.url}/messages/{len(self.deliveries)}"
        return Reply(answer.status, headers=headers)

    def start(self) -> FakePushService:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
