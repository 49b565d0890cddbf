"""Outbound calls of workflows and remediation actions: one request through the SSRF guard (the address checked
and pinned, as every webhook's is), signed as a Standard Webhook when there is a secret, with a timeout; the answer
as an outcome, never an exception."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from tocsin.core import tls
from tocsin.core.errors import Forbidden, Unavailable
from tocsin.notify.providers.webhook import signature_header
from tocsin.notify.ssrf import UrlGuard, pinned_request_target

EXCERPT = 2000
_USER_AGENT = "Tocsin-Workflows/1"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    message_id: str
    secret: str
    timeout: float


@dataclass(frozen=True, slots=True)
class Answer:
    ok: bool
    status_code: int | None
    excerpt: str
    error: str | None
    duration_ms: int


def excerpt(text: str | bytes, limit: int = EXCERPT) -> str:
    if isinstance(text, bytes):
        text = text[:limit].decode("utf-8", "replace")
    return text[:limit]


class Caller:
    def __init__(self, guard: UrlGuard, *, now: object = None) -> None:
        self._guard = guard

    def call(self, request: Request, *, stamp: int) -> Answer:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        headers = {
            "user-agent": _USER_AGENT,
            "webhook-id": request.message_id,
            "webhook-timestamp": str(stamp),
            **{k.lower(): v for k, v in request.headers.items()},
        }
        if request.body and "content-type" not in headers:
            headers["content-type"] = "application/json"
        if request.secret:
            try:
                headers["webhook-signature"] = signature_header(request.secret, request.message_id, stamp, request.body)
            except ValueError as exc:
                return Answer(False, None, "", f"bad signing secret: {exc}", took())
        try:
            resolved = self._guard.resolve(request.url)
        except (Forbidden, Unavailable) as exc:
            return Answer(False, None, "", exc.detail, took())
        target, host, extensions = pinned_request_target(resolved)
        try:
            with httpx.Client(timeout=request.timeout, follow_redirects=False, verify=tls.client_context()) as client:
                response = client.request(
                    request.method,
                    target,
                    headers={**headers, **host},
                    content=request.body or None,
                    extensions=extensions,
                )
        except httpx.TimeoutException:
            return Answer(False, None, "", f"timed out after {request.timeout:g} s", took())
        except httpx.HTTPError as exc:
            return Answer(False, None, "", f"{type(exc).__name__}: {exc}", took())
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return Answer(ok, response.status_code, excerpt(response.content), error, took())
