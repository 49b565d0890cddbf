"""Web Push (RFC 8030) to a browser's push subscription, encrypted (RFC 8291, aes128gcm) and signed (VAPID, RFC 8292).

``pywebpush`` encrypts the payload for the subscription's keys and ``py_vapid`` (which it depends on) signs the
VAPID token; the request itself goes out here, through the SSRF guard, to the address the guard checked, like every
other outbound call. The payload is a small JSON document the console's service worker (``web/static/sw.js``) shows
as a notification with Acknowledge and Resolve actions that POST to the signed one-click links.

Answers: 2xx delivered; 404 and 410 mean the subscription is gone (the browser unsubscribed or the push service
dropped it): the page fails, the contact method is disabled and the next one takes over; 429 and 5xx are retried,
honouring Retry-After; any other answer fails the page.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tocsin.core import tls
from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.providers.pinned_post import post_pinned
from tocsin.notify.providers.webhook import classify
from tocsin.notify.push_keys import VapidKeys, read_keys
from tocsin.notify.render.text import clean_line, drill_mark, safe_link
from tocsin.notify.ssrf import UrlGuard

# Endpoints are credentials: keep the HTTP libraries from logging them.
transport_logs.install()

# Push services accept 4096 bytes of encrypted record; aes128gcm adds an 86-byte header, a padding delimiter and a
# 16-byte tag. The JSON is kept below this, shortening the text first, so that a long title is never an error.
MAX_PAYLOAD = 3800
# How long the push service keeps a message for a device that is offline.
TTL_SECONDS = 4 * 3600
VAPID_LIFETIME = 12 * 3600
_USER_AGENT = "Tocsin-WebPush/1"
_GONE = (404, 410)


def payload(message: OutboundMessage) -> dict[str, Any]:
    """What the service worker shows: title, body, the incident's URL and the action links."""
    incident = message.incident
    if incident is None:
        return {
            "kind": message.kind,
            "title": "Tocsin",
            "body": clean_line(message.text or "Tocsin notification", 2000),
            "tag": f"tocsin-{message.kind}",
        }
    mark = drill_mark(incident)
    body_lines = [clean_line(f"{incident.service}: {incident.status}, {incident.urgency} urgency", 300)]
    if message.text:
        body_lines.append(clean_line(message.text, 2000))
    data: dict[str, Any] = {
        "kind": message.kind,
        "title": f"{mark}#{incident.number} {clean_line(incident.title, 1000)}",
        "body": "\n".join(body_lines),
        "tag": f"tocsin-incident-{incident.number}",
        "incident": incident.number,
        "urgency": incident.urgency,
    }
    url = safe_link(incident.url)
    if url:
        data["url"] = url
    if incident.status != "resolved":
        actions = []
        if incident.status == "triggered":
            actions.append(("acknowledge", "Acknowledge", safe_link(message.ack_url)))
        actions.append(("resolve", "Resolve", safe_link(message.resolve_url)))
        data["actions"] = [{"action": a, "title": t, "url": u} for a, t, u in actions if u]
    return data


def _encoded(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _cut(text: str, over: int) -> str:
    """``text`` shorter by at least ``over`` bytes of UTF-8, ending in an ellipsis when anything is left."""
    raw = text.encode()
    keep = max(0, len(raw) - over - 3)
    short = raw[:keep].decode("utf-8", errors="ignore").rstrip()
    return short + "…" if short else ""


def fitted(data: dict[str, Any], limit: int = MAX_PAYLOAD) -> bytes:
    """The payload as JSON within ``limit`` bytes: the body is shortened first, then the title, then the links are
    left out; never an error."""
    data = dict(data)
    for field in ("body", "title"):
        encoded = _encoded(data)
        if len(encoded) <= limit:
            return encoded
        # JSON escapes can make the text longer than its UTF-8: cut until it fits.
        while len(encoded) > limit and data.get(field):
            data[field] = _cut(str(data[field]), len(encoded) - limit)
            encoded = _encoded(data)
    for field in ("actions", "url"):
        if len(_encoded(data)) <= limit:
            break
        data.pop(field, None)
    encoded = _encoded(data)
    return encoded if len(encoded) <= limit else _encoded({"kind": data.get("kind", "page"), "title": "Tocsin"})


def origin_of(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class WebPushProvider:
    contact_type = "webpush"

    def __init__(
        self,
        *,
        guard: UrlGuard,
        keys: Callable[[], VapidKeys],
        subject: str,
        client: httpx.Client | None = None,
        timeout: float = 10,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``keys``: the installation's VAPID key pair (read once, when the first message goes out); ``subject``:
        the VAPID ``sub`` claim, a ``mailto:`` or https URL a push service may use to reach the operator."""
        self._guard = guard
        self._keys = keys
        self._subject = subject
        self._client = client or httpx.Client(
            headers={"User-Agent": _USER_AGENT}, trust_env=False, verify=tls.client_context(trust_env=False)
        )
        self._timeout = timeout
        self._wall_clock = wall_clock

    def close(self) -> None:
        self._client.close()

    def send(self, message: OutboundMessage) -> SendResult:
        keys = read_keys(message.secret)
        if keys is None:
            return SendResult("failed", error="the push subscription has no valid keys")
        try:
            url = httpx.URL(message.address)
        except (httpx.InvalidURL, ValueError):
            return SendResult("failed", error="not a valid push endpoint")
        # Imported on the first push, not with the providers: pywebpush brings requests and aiohttp, close to a
        # second of start-up for every process, most of which never send a push.
        from py_vapid import Vapid02  # type: ignore[import-untyped]
        from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

        vapid = self._keys()
        subscription = {"endpoint": message.address, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
        try:
            body = WebPusher(subscription).encode(fitted(payload(message)), "aes128gcm")["body"]
        except (WebPushException, ValueError) as exc:
            return SendResult("failed", error=f"could not encrypt for this subscription: {exc}")
        claims = {
            "aud": origin_of(url),
            "exp": int(self._wall_clock()) + VAPID_LIFETIME,
            "sub": self._subject,
        }
        authorization = Vapid02(private_key=vapid.private_key).sign(claims)["Authorization"]
        urgent = message.incident is not None and message.incident.urgency == "high" and message.kind == "page"
        headers = {
            "authorization": authorization,
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "ttl": str(TTL_SECONDS),
            "urgency": "high" if urgent else "normal",
        }
        response = post_pinned(self._client, self._guard, url, body, headers, self._timeout)
        if isinstance(response, SendResult):
            return response
        status = response.status_code
        if status in _GONE:
            return SendResult(
                "failed", status_code=status, error=f"HTTP {status}: the push subscription is gone", gone=True
            )
        result = classify(status, response.headers, response.content)
        if result.outcome == "delivered":
            location = response.headers.get("location")
            return SendResult("delivered", provider_ref=location[:255] if location else None, status_code=status)
        return result
