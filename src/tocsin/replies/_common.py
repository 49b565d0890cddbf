"""Shared by the inbound reply endpoints: the runtime, the signed URL, a bounded body."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from tocsin.core.errors import NotFound, PayloadTooLarge
from tocsin.replies.limits import ReplyLimiter
from tocsin.runtime import Runtime

MAX_BODY = 64 * 1024


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def limiter_of(request: Request) -> ReplyLimiter:
    limiter: ReplyLimiter | None = getattr(request.app.state, "reply_limiter", None)
    if limiter is None:
        limiter = ReplyLimiter()
        request.app.state.reply_limiter = limiter
    return limiter


def public_url(request: Request, runtime: Runtime) -> str:
    """The URL the sender signed: our public base URL (TOCSIN_PUBLIC_URL), this path and query. The Host header
    is not trusted, so a proxy in front cannot change what the signature covers."""
    query = request.url.query
    return f"{runtime.settings.base_url}{request.url.path}" + (f"?{query}" if query else "")


async def bounded_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the request body is larger than {MAX_BODY} bytes")
    return bytes(body)


def form_fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def require(value: str | None, what: str) -> str:
    if not value:
        raise NotFound(f"{what} is not configured on this server")
    return value
