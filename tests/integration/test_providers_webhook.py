"""The webhook provider against real HTTP servers on loopback: signatures, outcomes, redirects, SSRF, pinning,
keep-alive and TLS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import wait_for
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
    closed: int = 0
    sni: list[str | None] = field(default_factory=list)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # Room for many connections arriving at once (the default backlog of 5 drops SYNs under concurrent sends).
    request_queue_size = 64
    sink: Sink

    def get_request(self) -> tuple[Any, Any]:
        conn = super().get_request()
        self.sink.connections += 1
        return conn


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real receivers do; without Nagle so that a response is not held back by delayed ACKs.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            pass  # the client gave up (a timeout test)
        finally:
            self.server.sink.closed += 1

    def answer(self, code: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
        if url.path.startswith("/hops/"):
            left = int(url.path.rsplit("/", 1)[1])
            if left:
                self.answer(308, b"", {"Location": f"/hops/{left - 1}"})
            else:
                self.answer(200, b"ok")
            return
        if url.path == "/long":
            self.answer(410, b"x" * 300 + b"END")
            return
        if url.path == "/big":
            self.answer(410, b"gone " * 50_000)
            return
        if url.path == "/badredirect":
            self.answer(302, b"", {"Location": "http://hooks.example.test:port/"})
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
        if code == 200:
            self.send_header("x-request-id", "req-7")
        payload = b"ok" if code == 200 else b"nope"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class CountingServer6(CountingServer):
    address_family = socket.AF_INET6


def start_sink(host: str, *, tls: ssl.SSLContext | None = None) -> tuple[Sink, threading.Thread]:
    server = (CountingServer6 if ":" in host else CountingServer)((host, 0), Handler)
    sink = Sink(server)
    server.sink = sink
    if tls is not None:

        def record_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            sink.sni.append(name)

        tls.sni_callback = record_sni
        server.socket = tls.wrap_socket(server.socket, server_side=True)
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


# --- the HTTP client: pinning, keep-alive, limits, concurrency, TLS ------------------------------------------------


def names(table: dict[str, str], calls: list[str] | None = None) -> Any:
    """A resolver for made-up names (they do not exist in DNS, so any other lookup would fail)."""

    def resolve(host: str, _port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"no such host {host}")
        return [table[host]]

    return resolve


def test_connections_are_reused(sink: Sink, provider: WebhookProvider) -> None:
    for _ in range(5):
        assert provider.send(message(sink.base + "/hook")).outcome == "delivered"
    assert len(sink.received) == 5
    assert sink.connections == 1


def test_delivery_carries_the_request_id(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/hook"))
    assert result.provider_ref == "req-7"


def test_connects_to_the_pinned_address_with_the_original_host(sink: Sink) -> None:
    port = sink.server.server_address[1]
    calls: list[str] = []
    guard = UrlGuard(["127.0.0.1/32"], resolver=names({"hooks.example.test": "127.0.0.1"}, calls))
    p = WebhookProvider(guard=guard, timeout=1)
    try:
        for _ in range(3):
            assert p.send(message(f"http://hooks.example.test:{port}/hook?x=1")).outcome == "delivered"
    finally:
        p.close()
    assert calls == ["hooks.example.test"] * 3  # the guard's lookup is the only one
    assert [r.headers["host"] for r in sink.received] == [f"hooks.example.test:{port}"] * 3
    assert [r.path for r in sink.received] == ["/hook?x=1"] * 3
    assert sink.connections == 1


def test_default_port_is_left_out_of_the_host_header(sink: Sink) -> None:
    """The pinned connection goes to the sink's port; the name keeps the scheme's default port in the URL."""
    port = sink.server.server_address[1]
    guard = UrlGuard(["127.0.0.1/32"], resolver=names({"hooks.example.test": "127.0.0.1"}))
    p = WebhookProvider(guard=guard, timeout=1)
    try:
        result = p.send(message(f"{sink.base}/redirect?to=http://hooks.example.test:{port}/final"))
    finally:
        p.close()
    assert result.outcome == "delivered"
    assert [r.headers["host"] for r in sink.received] == [f"127.0.0.1:{port}", f"hooks.example.test:{port}"]


def test_credentials_in_the_url_are_sent_as_basic_auth(sink: Sink, provider: WebhookProvider) -> None:
    port = sink.server.server_address[1]
    assert provider.send(message(f"http://robot:p%40ss@127.0.0.1:{port}/hook")).outcome == "delivered"
    (got,) = sink.received
    assert got.headers["authorization"] == "Basic " + base64.b64encode(b"robot:p@ss").decode()
    assert got.headers["host"] == f"127.0.0.1:{port}"


def test_three_redirects_are_followed_and_a_fourth_is_not(sink: Sink, provider: WebhookProvider) -> None:
    assert provider.send(message(sink.base + "/hops/3")).outcome == "delivered"
    assert [r.path for r in sink.received] == ["/hops/3", "/hops/2", "/hops/1", "/hops/0"]
    sink.received.clear()
    result = provider.send(message(sink.base + "/hops/4"))
    assert result.outcome == "failed"
    assert result.error == "more than 3 redirects"
    assert [r.path for r in sink.received] == ["/hops/4", "/hops/3", "/hops/2", "/hops/1"]


def test_a_bad_location_fails(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/badredirect"))
    assert result.outcome == "failed"
    assert result.error == "bad redirect"
    assert result.status_code == 302


def test_redirect_to_a_name_is_guarded_again(sink: Sink, forbidden_sink: Sink) -> None:
    """A redirect to a name that resolves to a blocked address is refused; one to an allowed name is followed,
    connected at that name's checked address and sent with that name as Host."""
    port, bad_port = sink.server.server_address[1], forbidden_sink.server.server_address[1]
    table = {"evil.example.test": "127.0.0.2", "other.example.test": "127.0.0.1"}
    p = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"], resolver=names(table)), timeout=1)
    try:
        refused = p.send(message(f"{sink.base}/redirect?to=http://evil.example.test:{bad_port}/x"))
        followed = p.send(message(f"{sink.base}/redirect?to=http://other.example.test:{port}/y"))
    finally:
        p.close()
    assert refused.outcome == "failed"
    assert "refusing to contact evil.example.test: 127.0.0.2" in (refused.error or "")
    assert forbidden_sink.connections == 0
    assert followed.outcome == "delivered"
    assert sink.received[-1].path == "/y"
    assert sink.received[-1].headers["host"] == f"other.example.test:{port}"


def test_retry_after_is_passed_on(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/503"))
    assert (result.outcome, result.status_code) == ("retry", 503)
    assert result.retry_after == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert result.error == "HTTP 503: nope"


def test_gone_fails_with_the_start_of_the_body(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/410"))
    assert (result.outcome, result.status_code, result.error) == ("failed", 410, "HTTP 410: nope")
    result = provider.send(message(sink.base + "/long"))
    assert result.error == "HTTP 410: " + "x" * 200


def test_a_huge_body_is_not_read_to_the_end(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/big"))
    assert (result.outcome, result.status_code) == ("failed", 410)
    assert result.error == "HTTP 410: " + ("gone " * 40)[:200]
    # The half-read connection was dropped, not handed back; the next send opens a new one and works.
    assert provider.send(message(sink.base + "/hook")).outcome == "delivered"
    assert sink.connections == 2


def test_timeout_is_a_retry_and_the_pool_recovers(sink: Sink, provider: WebhookProvider) -> None:
    result = provider.send(message(sink.base + "/slow"))
    assert result.outcome == "retry"
    assert (result.error or "").startswith("timed out: ")
    assert provider.send(message(sink.base + "/hook")).outcome == "delivered"


def test_concurrent_sends_are_all_delivered(sink: Sink, provider: WebhookProvider) -> None:
    results: list[tuple[str, str | None]] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                result = provider.send(message(f"{sink.base}/hook?t={n}&i={i}"))
                results.append((result.outcome, result.error))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [("delivered", None)] * 80
    assert len({r.path for r in sink.received}) == 80
    assert sink.connections <= 8  # one pool of at most eight connections, reused


def test_pools_are_bounded_and_closed(sink: Sink) -> None:
    """With room for one pool, alternating between two names evicts (and closes) the other name's pool."""
    port = sink.server.server_address[1]
    table = {"a.example.test": "127.0.0.1", "b.example.test": "127.0.0.1"}
    one = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"], resolver=names(table)), timeout=1, pools=1)
    try:
        for name in ("a", "b", "a", "b"):
            assert one.send(message(f"http://{name}.example.test:{port}/hook")).outcome == "delivered"
        assert sink.connections == 4
        wait_for(lambda: sink.closed == 3, timeout=5, what="the evicted pools' connections to close")
    finally:
        one.close()
    wait_for(lambda: sink.closed == 4, timeout=5, what="close() to close the last connection")

    two = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"], resolver=names(table)), timeout=1, pools=2)
    try:
        for name in ("a", "b", "a", "b"):
            assert two.send(message(f"http://{name}.example.test:{port}/hook")).outcome == "delivered"
        assert sink.connections == 6  # one per name: a pool per host name, even on the same address
    finally:
        two.close()
    wait_for(lambda: sink.closed == 6, timeout=5, what="close() to close both pools")


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_pinned_address() -> None:
    sink6, thread = start_sink("::1")
    port = sink6.server.server_address[1]
    guard = UrlGuard(["::1/128"], resolver=names({"hooks6.example.test": "::1"}))
    p = WebhookProvider(guard=guard, timeout=1)
    try:
        assert p.send(message(f"http://hooks6.example.test:{port}/hook")).outcome == "delivered"
        assert p.send(message(f"http://hooks6.example.test:{port}/hook")).outcome == "delivered"
        assert p.send(message(f"http://[::1]:{port}/literal")).outcome == "delivered"
    finally:
        p.close()
        sink6.server.shutdown()
        sink6.server.server_close()
        thread.join()
    hosts = [r.headers["host"] for r in sink6.received]
    assert hosts == [f"hooks6.example.test:{port}"] * 2 + [f"[::1]:{port}"]
    assert sink6.connections == 2  # one per host name


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for hooks.example.test, used by the server and trusted by the client as a CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def tls_sink(certificate: Certificate) -> Iterator[Sink]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    s, thread = start_sink("127.0.0.1", tls=context)
    yield s
    s.server.shutdown()
    s.server.server_close()
    thread.join()


TLS_NAMES = {"hooks.example.test": "127.0.0.1", "other.example.test": "127.0.0.1"}


def test_https_through_the_pinned_address_verifies_the_name(tls_sink: Sink, certificate: Certificate) -> None:
    port = tls_sink.server.server_address[1]
    guard = UrlGuard(["127.0.0.1/32"], resolver=names(TLS_NAMES))
    p = WebhookProvider(guard=guard, timeout=2, ca_certs=str(certificate.cert))
    try:
        for _ in range(2):
            result = p.send(message(f"https://hooks.example.test:{port}/hook"))
            assert result.outcome == "delivered", result.error
    finally:
        p.close()
    assert tls_sink.sni == ["hooks.example.test"]  # one TLS connection, reused, named by SNI
    assert tls_sink.connections == 1
    assert [r.headers["host"] for r in tls_sink.received] == [f"hooks.example.test:{port}"] * 2
    assert verify_standard_webhook(SECRET, tls_sink.received[0].headers, tls_sink.received[0].body, now=time.time())


def test_https_with_an_ssl_context(tls_sink: Sink, certificate: Certificate) -> None:
    port = tls_sink.server.server_address[1]
    context = ssl.create_default_context(cafile=str(certificate.cert))
    p = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"], resolver=names(TLS_NAMES)), timeout=2, ssl_context=context)
    try:
        assert p.send(message(f"https://hooks.example.test:{port}/hook")).outcome == "delivered"
    finally:
        p.close()


def test_https_certificate_for_another_name_is_refused(tls_sink: Sink, certificate: Certificate) -> None:
    """The certificate is trusted but names hooks.example.test, not other.example.test: the request is not sent.

    The outcome is a retry, like any other failed connection: a receiver's certificate can be fixed (a renewal
    gone wrong) and the outbox's retry policy bounds how long it is tried."""
    port = tls_sink.server.server_address[1]
    guard = UrlGuard(["127.0.0.1/32"], resolver=names(TLS_NAMES))
    p = WebhookProvider(guard=guard, timeout=2, ca_certs=str(certificate.cert))
    try:
        result = p.send(message(f"https://other.example.test:{port}/hook"))
    finally:
        p.close()
    assert result.outcome == "retry"
    assert "other.example.test" in (result.error or "")
    assert "hooks.example.test" in (result.error or "")
    assert tls_sink.sni == ["other.example.test"]
    assert tls_sink.received == []


def test_https_untrusted_certificate_is_refused(tls_sink: Sink) -> None:
    port = tls_sink.server.server_address[1]
    p = WebhookProvider(guard=UrlGuard(["127.0.0.1/32"], resolver=names(TLS_NAMES)), timeout=2)
    try:
        result = p.send(message(f"https://hooks.example.test:{port}/hook"))
    finally:
        p.close()
    assert result.outcome == "retry"
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
    assert tls_sink.received == []
