"""Teams (Workflows), Mattermost, Discord and ntfy against a loopback sink; the SSRF guard stays in front."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fakes._server import Reply
from tests.fakes.fixtures import running
from tests.fakes.teams import WebhookSink
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.chat_webhooks import discord_provider, mattermost_provider, teams_provider
from tocsin.notify.providers.ntfy import NtfyProvider
from tocsin.notify.ssrf import UrlGuard

INCIDENT = IncidentView(
    id=5,
    number=77,
    title="@everyone payments <b>failing</b>",
    status="triggered",
    urgency="high",
    severity="SEV1",
    priority="P1",
    service="payments",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/5",
)
LOOPBACK = UrlGuard(["127.0.0.1/32"])


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    yield from running(WebhookSink())


def message(url: str, contact_type: str) -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id="msg_1",
        kind="page",
        contact_type=contact_type,
        address=url,
        user_name="Alice",
        incident=INCIDENT,
        ack_url="http://tocsin.test/a/ACK",
        resolve_url="http://tocsin.test/a/RES",
    )


def test_teams_gets_an_adaptive_card_with_the_signed_links(sink: WebhookSink) -> None:
    result = teams_provider(LOOPBACK).send(message(f"{sink.url}/teams/workflow", "teams"))
    assert (result.outcome, result.status_code) == ("delivered", 202)
    ((_, body),) = sink.bodies
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.2")
    urls = {a["title"]: a["url"] for a in card["actions"]}
    assert urls["Acknowledge"] == "http://tocsin.test/a/ACK"
    assert urls["Resolve"] == "http://tocsin.test/a/RES"
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Service"] == "payments"


def test_mattermost_gets_text_and_attachments_without_mentions(sink: WebhookSink) -> None:
    result = mattermost_provider(LOOPBACK).send(message(f"{sink.url}/mattermost/hooks/x", "mattermost"))
    assert result.outcome == "delivered"
    ((_, body),) = sink.bodies
    assert "#77" in body["text"]
    assert "@everyone" not in json.dumps(body, ensure_ascii=False)
    (attachment,) = body["attachments"]
    assert "[Acknowledge](http://tocsin.test/a/ACK)" in attachment["text"]
    assert attachment["title_link"] == "http://tocsin.test/incidents/5"


def test_discord_gets_an_embed_and_pings_nobody(sink: WebhookSink) -> None:
    result = discord_provider(LOOPBACK).send(message(f"{sink.url}/discord/api/webhooks/1/t", "discord"))
    assert (result.outcome, result.status_code) == ("delivered", 204)
    ((_, body),) = sink.bodies
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["url"] == "http://tocsin.test/incidents/5"
    assert "[Resolve](http://tocsin.test/a/RES)" in embed["description"]


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(500, b"", "text/plain"), "retry"),
        (Reply(429, b"", "text/plain", {"Retry-After": "3"}), "retry"),
        (Reply(400, b"bad card", "text/plain"), "failed"),
        (Reply(404, b"", "text/plain"), "failed"),
        (Reply(302, b"", "text/plain", {"Location": "http://127.0.0.1:9/x"}), "failed"),
    ],
)
def test_outcomes(sink: WebhookSink, reply: Reply, outcome: str) -> None:
    sink.script(reply)
    result = teams_provider(LOOPBACK).send(message(f"{sink.url}/teams/x", "teams"))
    assert result.outcome == outcome
    assert len(sink.bodies) == 1


@pytest.mark.parametrize("make", [teams_provider, mattermost_provider, discord_provider])
def test_private_addresses_are_refused_without_a_connection(sink: WebhookSink, make: object) -> None:
    provider = make(UrlGuard())  # type: ignore[operator]
    result = provider.send(message(f"{sink.url}/teams/x", provider.contact_type))
    assert result.outcome == "failed"
    assert "refusing to contact" in (result.error or "")
    assert sink.server.requests == []


def test_a_dead_webhook_is_retried() -> None:
    result = teams_provider(LOOPBACK).send(message("http://127.0.0.1:9/teams", "teams"))
    assert result.outcome == "retry"


def test_ntfy_publishes_json_with_action_buttons_and_the_token(sink: WebhookSink) -> None:
    msg = replace(message(f"{sink.url}/ntfy/oncall-alice", "ntfy"), secret="tk_secret")
    result = NtfyProvider(guard=LOOPBACK).send(msg)
    assert (result.outcome, result.status_code) == ("delivered", 200)
    ((_, body),) = sink.bodies
    (request,) = sink.server.requests
    assert request.path == "/ntfy/"
    assert request.headers["authorization"] == "Bearer tk_secret"
    assert body["topic"] == "oncall-alice"
    assert body["priority"] == 5
    assert body["click"] == "http://tocsin.test/incidents/5"
    assert [(a["label"], a["url"]) for a in body["actions"]] == [
        ("Acknowledge", "http://tocsin.test/a/ACK"),
        ("Resolve", "http://tocsin.test/a/RES"),
    ]


def test_ntfy_needs_a_topic_and_passes_the_guard(sink: WebhookSink) -> None:
    assert NtfyProvider(guard=LOOPBACK).send(message(f"{sink.url}/", "ntfy")).outcome == "failed"
    refused = NtfyProvider(guard=UrlGuard()).send(message(f"{sink.url}/ntfy/t", "ntfy"))
    assert refused.outcome == "failed"
    assert sink.server.requests == []
