"""Signed outbound webhooks following the Standard Webhooks specification.

Every request carries ``webhook-id`` (the notification's message id, the same on every retry so receivers
can deduplicate), ``webhook-timestamp`` (seconds since the epoch, of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, one entry per secret, space-separated, so a
receiver keeps verifying while a secret is rotated. Secrets are written ``whsec_<base64 key>``.

Each URL, and every redirect target, passes the SSRF guard and is connected to at the address the guard
checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from tocsin.core.clock import Clock, SystemClock
from tocsin.core.errors import Forbidden, Unavailable
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.ssrf import UrlGuard, pinned_request_target

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "Tocsin-Webhooks/1"


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (a secret without the prefix is taken as base64 too)."""
    text = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret must be 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<signature>`` entry."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one or several (space-separated) secrets."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets.split())


def verify_standard_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | datetime, tolerance: int = 300
) -> bool:
    """True when one of the signatures in ``headers`` was made with ``secret`` over this id, timestamp and
    body, and the timestamp is within ``tolerance`` seconds of ``now``. Refusing a replayed id is the caller's
    job (remember ids seen within the tolerance window)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or not signatures:
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - int(stamp)) > tolerance:
        return False
    try:
        expected = sign(secret, msg_id, int(stamp), body).encode()
    except ValueError:
        return False
    found = False
    for entry in signatures.split():
        # Compare every entry so that timing does not depend on which one matched.
        found |= hmac.compare_digest(entry.encode(), expected)
    return found


def event_type(message: OutboundMessage) -> str:
    if message.kind == "test":
        return "test.ping"
    if message.kind == "handoff":
        return "oncall.handoff"
    if message.incident is None:
        return f"notification.{message.kind}"
    return f"incident.{message.incident.status}"


def build_payload(message: OutboundMessage, now: datetime) -> dict[str, Any]:
    return {
        "type": event_type(message),
        "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "incident": asdict(message.incident) if message.incident else None,
            "ack_url": message.ack_url,
            "resolve_url": message.resolve_url,
            "text": message.text,
            "recipient": message.user_name,
            "kind": message.kind,
        },
    }


def _retry_after(response: httpx.Response) -> str | None:
    value = response.headers.get("retry-after")
    return value.strip()[:64] if value else None


def classify(response: httpx.Response) -> SendResult:
    code = response.status_code
    ref = response.headers.get("x-request-id")
    if 200 <= code < 300:
        return SendResult("delivered", provider_ref=ref, status_code=code)
    snippet = response.text[:200] if response.content else ""
    error = f"HTTP {code}" + (f": {snippet}" if snippet else "")
    if code == 429 or code >= 500 or code == 408:
        return SendResult("retry", status_code=code, retry_after=_retry_after(response), error=error)
    return SendResult("failed", status_code=code, error=error)


class WebhookProvider:
    contact_type = "webhook"

    def __init__(
        self, client: httpx.Client | None, *, guard: UrlGuard, timeout: float = 10, clock: Clock | None = None
    ) -> None:
        self._client = client or httpx.Client(headers={"User-Agent": _USER_AGENT})
        self._guard = guard
        self._timeout = timeout
        self._clock = clock or SystemClock()

    def close(self) -> None:
        self._client.close()

    def send(self, message: OutboundMessage) -> SendResult:
        now = self._clock.now()
        body = json.dumps(build_payload(message, now), separators=(",", ":"), ensure_ascii=False).encode()
        stamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            "webhook-id": message.message_id,
            "webhook-timestamp": str(stamp),
        }
        if message.secret:
            try:
                signature = signature_header(message.secret, message.message_id, stamp, body)
            except ValueError as exc:
                return SendResult("failed", error=f"bad signing secret: {exc}")
            headers["webhook-signature"] = signature

        url = httpx.URL(message.address) if _valid(message.address) else None
        if url is None:
            return SendResult("failed", error="not a valid URL")
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                resolved = self._guard.resolve(url)
            except Forbidden as exc:
                return SendResult("failed", error=exc.detail)
            except Unavailable as exc:
                return SendResult("retry", error=exc.detail)
            target, host_header, extensions = pinned_request_target(resolved)
            request = self._client.build_request(
                "POST",
                target,
                content=body,
                headers={**headers, **host_header},
                extensions={**extensions, "timeout": httpx.Timeout(self._timeout).as_dict()},
            )
            try:
                response = self._client.send(request, follow_redirects=False)
            except httpx.TimeoutException as exc:
                return SendResult("retry", error=f"timed out: {type(exc).__name__}")
            except httpx.TransportError as exc:
                return SendResult("retry", error=f"{type(exc).__name__}: {exc}")
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    try:
                        url = resolved.url.join(response.headers["location"])
                    except (httpx.InvalidURL, ValueError):
                        return SendResult("failed", status_code=response.status_code, error="bad redirect")
                    continue
                response.read()
                return classify(response)
            finally:
                response.close()
        return SendResult("failed", error=f"more than {MAX_REDIRECTS} redirects")


def _valid(address: str) -> bool:
    try:
        httpx.URL(address)
    except (httpx.InvalidURL, ValueError):
        return False
    return True
