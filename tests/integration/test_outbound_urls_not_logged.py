"""Outbound webhook URLs are credentials and never reach the logs, at any level, from any logger.

Every channel that posts to a URL a person configured (signed webhooks, Teams, Mattermost, Discord, ntfy, Slack's
response URLs, webhook subscriptions through the engine, contact-method tests through the engine) sends to a
URL with a recognisable secret in its path and query, and every log record of every logger is captured at
DEBUG, through a root handler and caplog, with the HTTP libraries' own loggers turned up to DEBUG as an operator
chasing a problem would. Success, HTTP errors, redirects, timeouts, refused connections and SSRF refusals are all
sent. The first test shows the capture is real: without the filters the libraries do log the secret.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import ApiHarness
from tests.fakes._server import FakeServer, Reply, Request
from tests.fakes.fixtures import running
from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.chat_webhooks import ChatWebhookProvider
from tocsin.notify.providers.ntfy import NtfyProvider
from tocsin.notify.providers.slack import SlackProvider
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.render.teams import discord_payload, mattermost_payload, teams_card
from tocsin.notify.ssrf import UrlGuard
from tocsin.ops.logging import JsonFormatter

SECRET_PATH = "hookpath-SECRET-7d1c90"
SECRET_QUERY = "qtoken-SECRET-4b2a17"
SECRETS = (SECRET_PATH, SECRET_QUERY)
LOOPBACK = UrlGuard(["127.0.0.1/32"])
STRICT = UrlGuard()
TIMEOUT = 0.5
INCIDENT = IncidentView(
    id=1,
    number=7,
    title="payments failing",
    status="triggered",
    urgency="high",
    severity="SEV1",
    priority="P1",
    service="payments",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/1",
)


def secret_url(base: str, status: int = 200, suffix: str = "") -> str:
    return f"{base}/s{status}/{SECRET_PATH}{suffix}?token={SECRET_QUERY}"


def answer(request: Request) -> Reply:
    """The first path segment names the status; a 302 sends the sender on to another secret URL."""
    status = int(request.path.strip("/").split("/")[0][1:])
    if status == 302:
        return Reply(302, headers={"Location": f"/s200/{SECRET_PATH}-moved?token={SECRET_QUERY}"})
    if status == 200:
        return Reply.json(200, {"ok": True})
    return Reply(status, f"no such hook {request.path}".encode(), "text/plain")


@pytest.fixture
def receiver() -> Iterator[FakeServer]:
    yield from running(FakeServer(answer))


@pytest.fixture
def refused_base() -> str:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_base() -> Iterator[str]:
    """A port that accepts connections and never answers: every request times out."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()


class Captured(logging.Handler):
    """Every record, formatted as the text and the JSON log formats would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.names: set[str] = set()
        self.text = logging.Formatter("%(levelname)s %(name)s %(message)s")
        self.json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.names.add(record.name)
        self.lines.append(self.text.format(record))
        self.lines.append(self.json.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    # As an operator turning the HTTP libraries' debug logging on would: URLs must stay out all the same.
    names = {*transport_logs.PARENTS, *transport_logs.EMITTING}
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def leaked(handler: Captured, caplog: pytest.LogCaptureFixture) -> list[str]:
    everything = [*handler.lines, caplog.text, *(repr(vars(r)) for r in caplog.records)]
    return [line for line in everything if any(secret in line for secret in SECRETS)]


def message(address: str, contact_type: str, secret: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id="msg_1",
        kind="page",
        contact_type=contact_type,
        address=address,
        user_name="Alice",
        incident=INCIDENT,
        ack_url="http://tocsin.test/a/ACK",
        resolve_url="http://tocsin.test/a/RES",
        secret=secret,
    )


def chat(kind: str, guard: UrlGuard) -> ChatWebhookProvider:
    render = {"teams": teams_card, "mattermost": mattermost_payload, "discord": discord_payload}[kind]
    return ChatWebhookProvider(kind, render, guard=guard, timeout=TIMEOUT)


def send_everywhere(base: str, guard: UrlGuard, status: int = 200) -> list[str]:
    """One send through each URL-addressed channel; returns the outcomes."""
    outcomes: list[str] = []
    webhook = WebhookProvider(guard=guard, timeout=TIMEOUT)
    try:
        outcomes.append(webhook.send(message(secret_url(base, status), "webhook")).outcome)
        answer = webhook.post_signed(secret_url(base, status, "-sub"), "msg_2", None, b"{}")
        outcomes.append(answer.result.outcome)
    finally:
        webhook.close()
    for kind in ("teams", "mattermost", "discord"):
        provider = chat(kind, guard)
        try:
            outcomes.append(provider.send(message(secret_url(base, status), kind)).outcome)
        finally:
            provider.close()
    ntfy = NtfyProvider(guard=guard, timeout=TIMEOUT)
    try:
        topic = f"{base}/s{status}/{SECRET_PATH}"
        outcomes.append(ntfy.send(message(topic, "ntfy", secret=SECRET_QUERY)).outcome)
    finally:
        ntfy.close()
    return outcomes


def test_the_capture_sees_what_the_http_libraries_log_without_the_filters(
    receiver: FakeServer, logs: Captured, caplog: pytest.LogCaptureFixture
) -> None:
    """Proof that the tests below can fail: with the filters taken off, the secret path is logged."""
    loggers = [logging.getLogger(name) for name in transport_logs.EMITTING]
    for logger in loggers:
        logger.removeFilter(transport_logs.FILTER)
    try:
        assert send_everywhere(receiver.url, LOOPBACK)[0] == "delivered"
    finally:
        transport_logs.install()
    assert leaked(logs, caplog), "the HTTP libraries logged no URL: the capture is broken"
    assert {"httpx", "urllib3.connectionpool"} <= logs.names


@pytest.mark.parametrize("status", [200, 302, 404, 500])
def test_answered_sends_log_no_url(
    receiver: FakeServer, logs: Captured, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    outcomes = send_everywhere(receiver.url, LOOPBACK, status)
    expected = {200: "delivered", 302: "delivered", 404: "failed", 500: "retry"}[status]
    # The chat channels do not follow redirects; the signed webhooks do.
    assert outcomes[:2] == [expected, expected]
    assert len(receiver.requests) >= len(outcomes)
    assert leaked(logs, caplog) == []


def test_refused_connections_log_no_url(refused_base: str, logs: Captured, caplog: pytest.LogCaptureFixture) -> None:
    assert set(send_everywhere(refused_base, LOOPBACK)) == {"retry"}
    assert leaked(logs, caplog) == []


def test_timeouts_log_no_url(silent_base: str, logs: Captured, caplog: pytest.LogCaptureFixture) -> None:
    assert set(send_everywhere(silent_base, LOOPBACK)) == {"retry"}
    assert leaked(logs, caplog) == []


def test_ssrf_refusals_log_no_url(receiver: FakeServer, logs: Captured, caplog: pytest.LogCaptureFixture) -> None:
    assert set(send_everywhere(receiver.url, STRICT)) == {"failed"}
    assert receiver.requests == []
    port = receiver.url.rsplit(":", 1)[1]
    assert set(send_everywhere(f"http://localhost:{port}", STRICT)) == {"failed"}
    assert leaked(logs, caplog) == []


def test_slack_response_urls_are_not_logged(
    receiver: FakeServer, refused_base: str, logs: Captured, caplog: pytest.LogCaptureFixture
) -> None:
    slack = SlackProvider("xoxb-test", base_url=f"{receiver.url}/s200/api/", timeout=1)
    assert slack.respond(secret_url(receiver.url), "Acknowledged") is True
    assert slack.respond(secret_url(receiver.url, 500), "Acknowledged") is False
    assert slack.respond(secret_url(refused_base), "Acknowledged") is False
    assert leaked(logs, caplog) == []


def test_engine_sends_to_subscriptions_and_contact_methods_log_no_url(
    api: ApiHarness, receiver: FakeServer, refused_base: str, logs: Captured, caplog: pytest.LogCaptureFixture
) -> None:
    api.runtime.providers.register(WebhookProvider(guard=LOOPBACK, clock=api.clock, timeout=TIMEOUT))
    engine = api.runtime.build_engine(owner="log-test")
    sent: list[int] = []
    for name, url in (
        ("ok", secret_url(receiver.url)),
        ("down", secret_url(receiver.url, 500)),
        ("gone", secret_url(refused_base)),
    ):
        created = api.post("/api/v1/webhook-subscriptions", json={"name": name, "url": url})
        assert created.status_code == 201, created.text
        assert api.post(f"/api/v1/webhook-subscriptions/{created.json()['id']}/test").status_code == 202
        method = api.post(
            f"/api/v1/users/{api.admin_id}/contact-methods", json={"name": name, "type": "webhook", "address": url}
        )
        assert method.status_code == 201, method.text
        tested = api.post(f"/api/v1/contact-methods/{method.json()['id']}/test")
        assert tested.status_code == 202, tested.text
        sent.append(tested.json()["notification_id"])
    engine.run_until_idle()
    assert len(receiver.requests) >= 4
    assert leaked(logs, caplog) == []
