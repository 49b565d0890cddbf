"""Apprise, the optional extra, delivering through its json:// plugin to a loopback sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fixtures import running
from tests.fakes.teams import WebhookSink
from tocsin.notify.providers.apprise_bridge import AppriseProvider
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.ssrf import UrlGuard

pytest.importorskip("apprise")
# Apprise's plugin loader imports a standard module that Python 3.11 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

INCIDENT = IncidentView(
    id=1,
    number=8,
    title="Backups failing",
    status="triggered",
    urgency="high",
    severity="SEV2",
    priority="P2",
    service="backup",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/1",
)


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    yield from running(WebhookSink())


def message(address: str) -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id="m1",
        kind="page",
        contact_type="apprise",
        address=address,
        user_name="Alice",
        incident=INCIDENT,
        ack_url="http://tocsin.test/a/ACK",
    )


def apprise_url(sink: WebhookSink) -> str:
    return sink.url.replace("http://", "json://") + "/apprise"


def test_delivers_through_an_apprise_url(sink: WebhookSink) -> None:
    result = AppriseProvider(guard=UrlGuard(["127.0.0.1/32"])).send(message(apprise_url(sink)))
    assert result.outcome == "delivered"
    ((_, body),) = sink.bodies
    assert "#8" in body["title"]
    assert "Acknowledge: http://tocsin.test/a/ACK" in body["message"]


def test_a_private_host_is_refused_before_apprise_connects(sink: WebhookSink) -> None:
    result = AppriseProvider(guard=UrlGuard()).send(message(apprise_url(sink)))
    assert result.outcome == "failed"
    assert sink.server.requests == []


def test_a_failing_service_is_retried(sink: WebhookSink) -> None:
    from tests.fakes._server import Reply

    sink.script(Reply(500, b"", "text/plain"))
    result = AppriseProvider(guard=UrlGuard(["127.0.0.1/32"])).send(message(apprise_url(sink)))
    assert result.outcome == "retry"


def test_an_unknown_scheme_fails() -> None:
    assert AppriseProvider(guard=UrlGuard()).send(message("nonsense://x")).outcome == "failed"
