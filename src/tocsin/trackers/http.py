"""Outbound calls to trackers: through the SSRF guard (the address checked and pinned, as every webhook's is), with
a timeout. A timeout is told apart from a refusal to connect: only the first may have reached the tracker."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tocsin.core import tls
from tocsin.core.errors import Forbidden, Unavailable
from tocsin.notify.ssrf import UrlGuard, pinned_request_target

_USER_AGENT = "Tocsin-Trackers/1"
MAX_BODY = 256 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class CallFailed(Exception):
    """No answer: ``maybe_sent`` when the request may have reached the tracker (a timeout after connecting)."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.maybe_sent = maybe_sent


class Http(Protocol):
    def request(self, method: str, url: str, *, headers: Mapping[str, str], body: Any | None = None) -> Answer: ...


class GuardedHttp:
    """Clients kept across calls: making one per request (its TLS context above all) cost most of a sync's CPU.
    One client per (scheme, pinned address, port, host name), a bounded LRU: a kept connection is reused only for
    the address the guard checked and the name its certificate was checked against."""

    def __init__(self, guard: UrlGuard, *, timeout: float = 10.0, clients: int = 16) -> None:
        self._guard = guard
        self._timeout = timeout
        self._limit = clients
        self._clients: OrderedDict[tuple[str, str, int, str], httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def _client(self, key: tuple[str, str, int, str]) -> httpx.Client:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = httpx.Client(
                    timeout=self._timeout, follow_redirects=False, verify=tls.client_context()
                )
                while len(self._clients) > self._limit:
                    self._clients.popitem(last=False)[1].close()
            self._clients.move_to_end(key)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def request(self, method: str, url: str, *, headers: Mapping[str, str], body: Any | None = None) -> Answer:
        try:
            resolved = self._guard.resolve(url)
        except (Forbidden, Unavailable) as exc:
            raise CallFailed(exc.detail, maybe_sent=False) from None
        target, host, extensions = pinned_request_target(resolved)
        sent = {"user-agent": _USER_AGENT, "accept": "application/json", **headers, **host}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        try:
            key = (resolved.url.scheme, str(resolved.pinned), resolved.port, resolved.host)
            client = self._client(key)
            response = client.request(method, target, headers=sent, content=content, extensions=extensions)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CallFailed(f"{type(exc).__name__}: {exc}", maybe_sent=False) from None
        except httpx.TimeoutException:
            raise CallFailed(f"timed out after {self._timeout:g} s", maybe_sent=True) from None
        except httpx.HTTPError as exc:
            raise CallFailed(f"{type(exc).__name__}: {exc}", maybe_sent=True) from None
        return Answer(response.status_code, response.headers, response.content[:MAX_BODY])
