"""One POST to a URL a person gave (a webhook, a push endpoint), made at the address the SSRF guard checked and
never following a redirect: the shared mechanics of the providers that send to such URLs."""

from __future__ import annotations

import httpx

from tocsin.core.errors import Forbidden, Unavailable
from tocsin.notify.providers.base import SendResult
from tocsin.notify.ssrf import UrlGuard, pinned_request_target


def post_pinned(
    client: httpx.Client,
    guard: UrlGuard,
    url: str | httpx.URL,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> httpx.Response | SendResult:
    """The answer, read and closed; or the page's outcome when no answer came: ``failed`` for a URL the guard
    refuses, ``retry`` when its name does not resolve for now, on a timeout or on a broken connection."""
    try:
        resolved = guard.resolve(url)
    except Forbidden as exc:
        return SendResult("failed", error=exc.detail)
    except Unavailable as exc:
        return SendResult("retry", error=exc.detail)
    target, host_header, extensions = pinned_request_target(resolved)
    request = client.build_request(
        "POST",
        target,
        content=body,
        headers={**headers, **host_header},
        extensions={**extensions, "timeout": httpx.Timeout(timeout).as_dict()},
    )
    try:
        response = client.send(request, follow_redirects=False)
    except httpx.TimeoutException as exc:
        return SendResult("retry", error=f"timed out: {type(exc).__name__}")
    except httpx.TransportError as exc:
        return SendResult("retry", error=f"{type(exc).__name__}: {exc}")
    try:
        response.read()
    finally:
        response.close()
    return response
