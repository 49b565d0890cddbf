"""The webhook provider against real HTTP servers on loopback: signatures, outcomes, redirects and SSRF."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.webhook import WebhookProvider, verify_standard_webhook
from tocsin.notify.ssrf import UrlGuard

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
NEXT_SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Sink:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    connections: int = 0

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sink: Sink

    def get_request(self) -> tuple[Any, Any]:
        conn = super().get_request()
        self.sink.connections += 1
        return conn


class Handler(BaseHTTPRequestHandler):
    server: CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.sink.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/slow":
            time.sleep(1.5)
        if url.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/redirect":
            self.send_response(int(query.get("code", ["307"])[0]))
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = {"/500": 500, "/503": 503, "/429": 429, "/404": 404, "/400": 400, "/410": 410}.get(url.path, 200)
        self.send_response(code)
        if code == 429:
            self.send_header("Retry-After", "120")
        if code == 503:
            self.send_header("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")
        payload = b"ok" if code == 200 else b"nope"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_sink(host: str) -> tuple[Sink, threading.Thread]:
    server = CountingServer((host, 0), Handler)
    sink = Sink(server)
    server.sink = sink
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    return sink, thread


@pytest.fixture
def sink() -> Iterator[Sink]:
    s, thread = start_sink("127.0.0.1")
    yield s
    s.server.shutdown()
    s.server.server_close()
    thread.join()


@pytest.fixture
def forbidden_sink() -> Iterator[Sink]:
    """A listener on another loopback address, which no allow-list entry covers."""
    s, thread = start_sink("127.0.0.2")
    yield s
    s.server.shutdown()
    s.server.server_close()
    thread.join()


@pytest.fixture
def provider() -> Iterator[WebhookProvider]:
    p = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"]), timeout=0.5)
    yield p
    p.close()


def message(url: str, *, secret: str | None = SECRET, message_id: str = "ntf_1") -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id=message_id,
        kind="page",
        contact_type="webhook",
        address=url,
        user_name="Alice",
        incident=IncidentView(
            id=40,
            number=12,
            title="CPU high <b>",
            status="triggered",
            urgency="high",
            severity="SEV2",
            priority="P1",
            service="checkout-api",
            created_at="2026-11-02T08:00:00Z",
            url="https://tocsin.example.com/incidents/12",
        ),
        ack_url="https://tocsin.example.com/a/TOKEN",
        secret=secret,
    )


def test_delivers_a_signed_payload(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/hook"))
    assert result.outcome == "delivered"
    assert result.status_code == 200
    (got,) = sink.received
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "ntf_1"
    assert verify_standard_webhook(SECRET, got.headers, got.body, now=time.time())
    payload = json.loads(got.body)
    assert payload["type"] == "incident.triggered"
    assert payload["data"]["incident"]["number"] == 12
    assert payload["data"]["ack_url"] == "https://tocsin.example.com/a/TOKEN"
    assert payload["timestamp"].endswith("Z")


def test_webhook_id_is_stable_across_retries(sink: Sink, provider: WebhookProvider) -> None:
    msg = message(sink.base + "/hook")
    assert provider.send(msg).outcome == "delivered"
    assert provider.send(msg).outcome == "delivered"
    first, second = sink.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "ntf_1"
    for got in (first, second):
        assert verify_standard_webhook(SECRET, got.headers, got.body, now=time.time())


def test_rotation_sends_one_signature_per_secret(sink: Sink, provider: WebhookProvider) -> None:
    provider.send(message(sink.base + "/hook", secret=f"{SECRET} {NEXT_SECRET}"))
    (got,) = sink.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(SECRET, got.headers, got.body, now=time.time())
    assert verify_standard_webhook(NEXT_SECRET, got.headers, got.body, now=time.time())


def test_unsigned_when_the_contact_has_no_secret(sink: Sink, provider: WebhookProvider) -> None:
    assert provider.send(message(sink.base + "/hook", secret=None)).outcome == "delivered"
    assert "webhook-signature" not in sink.received[0].headers
    assert sink.received[0].headers["webhook-id"] == "ntf_1"


@pytest.mark.parametrize(
    ("path", "outcome", "retry_after"),
    [
        ("/500", "retry", None),
        ("/503", "retry", "Wed, 21 Oct 2026 07:28:00 GMT"),
        ("/429", "retry", "120"),
        ("/404", "failed", None),
        ("/400", "failed", None),
        ("/410", "failed", None),
    ],
)
def test_classification(
    sink: Sink, provider: WebhookProvider, path: str, outcome: str, retry_after: str | None
) -> None:
    result = provider.send(message(sink.base + path))
    assert result.outcome == outcome
    assert result.status_code == int(path[1:])
    assert result.retry_after == retry_after


def test_timeout_retries(sink: Sink, provider: WebhookProvider) -> None:
    started = time.monotonic()
    result = provider.send(message(sink.base + "/slow"))
    assert result.outcome == "retry"
    assert "timed out" in (result.error or "")
    assert time.monotonic() - started < 1.4


def test_connection_refused_retries(provider: WebhookProvider) -> None:
    result = provider.send(message("http://127.0.0.1:9/hook"))
    assert result.outcome == "retry"


def test_follows_a_checked_redirect(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(f"{sink.base}/redirect?to=/final"))
    assert result.outcome == "delivered"
    assert [r.path for r in sink.received] == ["/redirect?to=/final", "/final"]
    assert sink.received[0].body == sink.received[1].body


def test_redirect_loop_stops(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(f"{sink.base}/loop"))
    assert result.outcome == "failed"
    assert "redirects" in (result.error or "")
    assert [r.path for r in sink.received] == ["/loop"] * 4


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:{port}/hook",
        "http://2130706434:{port}/hook",
        "http://0x7f000002:{port}/hook",
        "http://127.0.0.2.:{port}/hook",
        "http://[::ffff:127.0.0.2]:{port}/hook",
        "http://[::ffff:7f00:2]:{port}/hook",
    ],
)
def test_ssrf_targets_are_never_contacted(forbidden_sink: Sink, provider: WebhookProvider, url: str) -> None:
    port = forbidden_sink.server.server_address[1]
    result = provider.send(message(url.format(port=port)))
    assert result.outcome == "failed"
    assert "refusing" in (result.error or "")
    assert forbidden_sink.connections == 0


def test_redirect_to_loopback_is_refused(sink: Sink, forbidden_sink: Sink, provider: WebhookProvider) -> None:
    port = forbidden_sink.server.server_address[1]
    for target in (f"http://127.0.0.2:{port}/steal", f"http://2130706434:{port}/", "http://169.254.169.254/"):
        result = provider.send(message(f"{sink.base}/redirect?to={target}"))
        assert result.outcome == "failed"
        assert "refusing" in (result.error or "")
    assert forbidden_sink.connections == 0
    assert len(sink.received) == 3


def test_allow_listed_host_passes(forbidden_sink: Sink) -> None:
    port = forbidden_sink.server.server_address[1]
    p = WebhookProvider(guard=UrlGuard(["127.0.0.2"]), timeout=1)
    try:
        assert p.send(message(f"http://127.0.0.2:{port}/hook")).outcome == "delivered"
    finally:
        p.close()
    assert forbidden_sink.connections == 1


def test_connects_to_the_checked_address(sink: Sink) -> None:
    """The name is resolved once, by the guard; the request goes to that address with the name as Host."""
    port = sink.server.server_address[1]
    guard = UrlGuard(["127.0.0.1/32"], resolver=lambda host, _port: ["127.0.0.1"] if host == "hooks.test" else [])
    p = WebhookProvider(guard=guard, timeout=1)
    try:
        assert p.send(message(f"http://hooks.test:{port}/hook")).outcome == "delivered"
    finally:
        p.close()
    assert sink.received[0].headers["host"] == f"hooks.test:{port}"
