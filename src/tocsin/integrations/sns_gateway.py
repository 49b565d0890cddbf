"""The two requests Tocsin makes to SNS: fetching a signing certificate and confirming a subscription.

Both go only to https URLs on an ``sns.<region>.amazonaws.com`` host (checked before any connection), so a
forged message cannot make Tocsin fetch or call an address of the attacker's choosing. Certificates are cached:
SNS signs with few of them, and a burst of alarms should not mean a burst of fetches.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import httpx

from tocsin.core import tls
from tocsin.core.errors import BadRequest, Unauthorized, Unavailable
from tocsin.integrations.cloudwatch import is_sns_url

Fetch = Callable[[str], Awaitable[bytes]]
Confirm = Callable[[str], Awaitable[None]]

TIMEOUT_SECONDS = 5.0
MAX_CERTIFICATE_BYTES = 64 * 1024
CACHE_SIZE = 32


async def fetch_over_https(url: str) -> bytes:
    async with (
        httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=tls.client_context()) as client,
        client.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise Unavailable(f"the SNS signing certificate could not be fetched (HTTP {response.status_code})")
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_CERTIFICATE_BYTES:
                raise Unavailable("the SNS signing certificate is implausibly large")
        return body


async def confirm_over_https(url: str) -> None:
    async with httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS, follow_redirects=False, verify=tls.client_context()
    ) as client:
        response = await client.get(url)
    if response.status_code != 200:
        raise Unavailable(f"SNS refused the subscription confirmation (HTTP {response.status_code}); retry")


class SnsGateway:
    def __init__(self, *, fetch: Fetch = fetch_over_https, confirm: Confirm = confirm_over_https) -> None:
        self._fetch = fetch
        self._confirm = confirm
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    async def certificate(self, url: str) -> bytes:
        if not is_sns_url(url):
            raise Unauthorized("'SigningCertURL' must be an https URL on an sns.<region>.amazonaws.com host")
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        try:
            pem = await self._fetch(url)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the SNS signing certificate could not be fetched: {type(exc).__name__}") from None
        self._cache[url] = pem
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return pem

    async def confirm(self, url: str | None) -> None:
        if url is None or not is_sns_url(url):
            raise BadRequest("'SubscribeURL' must be an https URL on an sns.<region>.amazonaws.com host")
        try:
            await self._confirm(url)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the subscription could not be confirmed: {type(exc).__name__}; retry") from None
