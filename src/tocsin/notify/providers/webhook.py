"""Signed outbound webhooks following the Standard Webhooks specification.

Every request carries ``webhook-id`` (the notification's message id, the same on every retry so receivers
can deduplicate), ``webhook-timestamp`` (seconds since the epoch, of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, one entry per secret, space-separated, so a
receiver keeps verifying while a secret is rotated. Secrets are written ``whsec_<base64 key>``.

Each URL, and every redirect target, passes the SSRF guard and is connected to at the address the guard
checked: the TCP connection goes to the pinned address while the Host header, the TLS server name (SNI) and
the certificate check use the name from the URL.

The HTTP client is urllib3 rather than httpx because pages go out at hundreds per second and the client's
own CPU time dominated a send. Measured with ``getrusage(RUSAGE_THREAD)`` over 2,000 sends to a local
keep-alive sink, a whole ``send`` (payload, signature, guard and request) cost 640-800 µs of CPU with
``httpx.Client`` and 360-450 µs with urllib3 pools, on the same machine. Connections are kept alive in a
bounded LRU of pools, one per (scheme, pinned address, port, host name); urllib3 neither follows redirects
nor retries on its own here, both are decided below.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import ssl
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import urllib3
from urllib3.exceptions import ClosedPoolError, HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from tocsin.core.clock import Clock, SystemClock
from tocsin.core.errors import Forbidden, Unavailable
from tocsin.core.numbers import is_ascii_digits
from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.ssrf import Resolved, UrlGuard, host_header

# This module sends to URLs that are credentials: keep the HTTP libraries from logging them.
transport_logs.install()

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_USER_AGENT = "Tocsin-Webhooks/1"
# Keep at most this much of a response body; a longer body is not read further and its connection is dropped.
MAX_BODY = 64 * 1024
# How much of a response body a delivery log keeps.
EXCERPT = 2048
POOLS = 64
POOL_SIZE = 8
PoolKey = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    result: SendResult
    # The start of the response body, for delivery logs.
    response_excerpt: str = ""


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
    if not msg_id or not is_ascii_digits(stamp) or not signatures:
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


def _retry_after(headers: Mapping[str, str]) -> str | None:
    value = headers.get("retry-after")
    return value.strip()[:64] if value else None


def _text(headers: Mapping[str, str], body: bytes) -> str:
    charset = "utf-8"
    for part in (headers.get("content-type") or "").split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def classify(status: int, headers: Mapping[str, str], body: bytes) -> SendResult:
    """The outcome of an HTTP answer. ``headers`` must look names up case-insensitively (urllib3's and httpx's
    header mappings do)."""
    ref = headers.get("x-request-id")
    if 200 <= status < 300:
        return SendResult("delivered", provider_ref=ref, status_code=status)
    snippet = _text(headers, body)[:200] if body else ""
    error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status == 429 or status >= 500 or status == 408:
        return SendResult("retry", status_code=status, retry_after=_retry_after(headers), error=error)
    return SendResult("failed", status_code=status, error=error)


def _basic_auth(url: httpx.URL) -> str | None:
    """The Authorization value for credentials written into the URL (``https://user:pass@host/``), if any."""
    if not (url.username or url.password):
        return None
    pair = f"{url.username}:{url.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class _Pools:
    """A bounded LRU of urllib3 connection pools keyed by (scheme, pinned address, port, host name).

    A pool is closed when it falls out of the LRU; a send that was about to use it gets ClosedPoolError before
    anything is sent and asks again."""

    def __init__(
        self,
        *,
        limit: int,
        size: int,
        timeout: urllib3.Timeout,
        ssl_context: ssl.SSLContext | None,
        ca_certs: str | None,
    ) -> None:
        self._limit = limit
        self._size = size
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._ca_certs = ca_certs
        self._pools: OrderedDict[PoolKey, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: PoolKey) -> urllib3.HTTPConnectionPool:
        evicted: urllib3.HTTPConnectionPool | None = None
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._new(key)
            self._pools[key] = pool
            if len(self._pools) > self._limit:
                _key, evicted = self._pools.popitem(last=False)
        if evicted is not None:
            evicted.close()
        return pool

    def _new(self, key: PoolKey) -> urllib3.HTTPConnectionPool:
        scheme, ip, port, name = key
        host = f"[{ip}]" if ":" in ip else ip
        common: dict[str, Any] = {"timeout": self._timeout, "maxsize": self._size, "block": False, "retries": False}
        if scheme == "http":
            return urllib3.HTTPConnectionPool(host, port, **common)
        if self._ssl_context is None:
            # The same trust store httpx uses (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), unless a CA file is given.
            self._ssl_context = (
                ssl.create_default_context(cafile=self._ca_certs) if self._ca_certs else httpx.create_ssl_context()
            )
        return urllib3.HTTPSConnectionPool(
            host,
            port,
            ssl_context=self._ssl_context,
            cert_reqs="CERT_REQUIRED",
            server_hostname=name,
            assert_hostname=name,
            **common,
        )

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


class WebhookProvider:
    contact_type = "webhook"

    def __init__(
        self,
        *,
        guard: UrlGuard,
        timeout: float = 10,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_certs: str | None = None,
        pools: int = POOLS,
        pool_size: int = POOL_SIZE,
    ) -> None:
        """``ssl_context`` (or ``ca_certs``, a PEM file of trusted CAs) replaces the default trust store for
        https; certificates are always verified, against the host name of the URL."""
        self._guard = guard
        self._clock = clock or SystemClock()
        self._pools = _Pools(
            limit=pools,
            size=pool_size,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            ssl_context=ssl_context,
            ca_certs=ca_certs,
        )

    def close(self) -> None:
        self._pools.close()

    def send(self, message: OutboundMessage) -> SendResult:
        now = self._clock.now()
        body = json.dumps(build_payload(message, now), separators=(",", ":"), ensure_ascii=False).encode()
        return self.post_signed(message.address, message.message_id, message.secret, body).result

    def post_signed(self, address: str, msg_id: str, secrets: str | None, body: bytes) -> WebhookAnswer:
        """POST ``body`` to ``address``, signed with ``secrets`` (unsigned when None) under ``msg_id``, through
        the SSRF guard: every channel that sends Standard Webhooks (pages, event subscriptions) comes here."""
        try:
            url = httpx.URL(address)
        except (httpx.InvalidURL, ValueError):
            return WebhookAnswer(SendResult("failed", error="not a valid URL"))
        stamp = int(self._clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            "accept": "*/*",
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
        }
        if secrets:
            try:
                signature = signature_header(secrets, msg_id, stamp, body)
            except ValueError as exc:
                return WebhookAnswer(SendResult("failed", error=f"bad signing secret: {exc}"))
            headers["webhook-signature"] = signature

        for _hop in range(MAX_REDIRECTS + 1):
            try:
                resolved = self._guard.resolve(url)
            except Forbidden as exc:
                return WebhookAnswer(SendResult("failed", error=exc.detail))
            except Unavailable as exc:
                return WebhookAnswer(SendResult("retry", error=exc.detail))
            try:
                status, response_headers, content = self._post(resolved, headers, body)
            except NewConnectionError as exc:
                return WebhookAnswer(SendResult("retry", error=f"{type(exc).__name__}: {exc}"))
            except Urllib3Timeout as exc:
                return WebhookAnswer(SendResult("retry", error=f"timed out: {type(exc).__name__}"))
            except (HTTPError, OSError) as exc:
                return WebhookAnswer(SendResult("retry", error=f"{type(exc).__name__}: {exc}"))
            location = response_headers.get("location")
            if status in _REDIRECTS and location is not None:
                try:
                    url = resolved.url.join(location)
                except (httpx.InvalidURL, ValueError):
                    return WebhookAnswer(SendResult("failed", status_code=status, error="bad redirect"))
                continue
            excerpt = _text(response_headers, content[:EXCERPT]) if content else ""
            return WebhookAnswer(classify(status, response_headers, content), excerpt)
        return WebhookAnswer(SendResult("failed", error=f"more than {MAX_REDIRECTS} redirects"))

    def _post(
        self, resolved: Resolved, headers: dict[str, str], body: bytes
    ) -> tuple[int, urllib3.HTTPHeaderDict, bytes]:
        """POST to the pinned address and read at most MAX_BODY bytes of the answer."""
        url = resolved.url
        key = (url.scheme, str(resolved.pinned), resolved.port, resolved.host)
        request_headers = {**headers, "host": host_header(url)}
        auth = _basic_auth(url)
        if auth is not None:
            request_headers["authorization"] = auth
        target = url.raw_path.decode("ascii")
        for attempt in (1, 2):
            pool = self._pools.get(key)
            try:
                response = pool.urlopen(
                    "POST",
                    target,
                    body=body,
                    headers=request_headers,
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                )
                break
            except ClosedPoolError:
                # Evicted by another thread before this request took a connection: nothing was sent.
                if attempt == 2:
                    raise
        try:
            content = response.read(MAX_BODY + 1)
            if len(content) > MAX_BODY:
                # Not worth reading to the end: drop this connection instead of handing it back mid-body.
                content = content[:MAX_BODY]
                response.close()
            return response.status, response.headers, content
        finally:
            response.release_conn()
