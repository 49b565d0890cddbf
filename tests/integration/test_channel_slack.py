"""The Slack provider against a fake Slack Web API on loopback: messages, updates and error classification."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.fakes._server import Reply
from tests.fakes.fixtures import running
from tests.fakes.slack import FakeSlack
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.slack import SlackProvider

INCIDENT = IncidentView(
    id=3,
    number=12,
    title="<!channel> disk full & <https://evil.test|click>",
    status="triggered",
    urgency="high",
    severity="SEV1",
    priority="P1",
    service="storage",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/3",
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running(FakeSlack())


def message(address: str = "U0ALICE", **kw: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "notification_id": 1,
        "message_id": "msg_1",
        "kind": "page",
        "contact_type": "slack",
        "address": address,
        "user_name": "Alice",
        "incident": INCIDENT,
    }
    fields.update(kw)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def blocks_of(args: dict[str, object]) -> list[dict[str, object]]:
    raw = args["blocks"]
    return raw if isinstance(raw, list) else json.loads(str(raw))


def test_a_page_is_a_direct_message_with_buttons(fake: FakeSlack) -> None:
    result = SlackProvider(fake.token, base_url=fake.url).send(message())
    assert result.outcome == "delivered"
    (call,) = fake.calls_to("chat.postMessage")
    assert result.provider_ref == f"D0ALICE:{next(iter(fake.messages))[1]}"
    assert call.args["channel"] == "U0ALICE"
    text = json.dumps(blocks_of(call.args))
    # Alert text cannot mention the channel or smuggle a link.
    assert "<!channel>" not in text
    assert "<!channel>" not in str(call.args["text"])
    assert "&lt;!channel&gt;" in text
    assert "<https://evil.test" not in text
    assert "tocsin.acknowledge.3" in text


def test_an_email_address_is_looked_up(fake: FakeSlack) -> None:
    fake.users_by_email["alice@example.com"] = "U0ALICE"
    result = SlackProvider(fake.token, base_url=fake.url).send(message("alice@example.com"))
    assert result.outcome == "delivered"
    assert fake.calls_to("chat.postMessage")[0].args["channel"] == "U0ALICE"


def test_an_update_edits_the_original_message(fake: FakeSlack) -> None:
    provider = SlackProvider(fake.token, base_url=fake.url)
    ref = provider.send(message()).provider_ref
    assert ref is not None
    acked = replace(INCIDENT, status="acknowledged")
    update = message(kind="status", incident=acked, text="Acknowledged by Alice via sms", update_ref=ref)
    result = provider.send(update)
    assert result.outcome == "delivered"
    (call,) = fake.calls_to("chat.update")
    assert f"{call.args['channel']}:{call.args['ts']}" == ref
    assert "Acknowledged by Alice via sms" in json.dumps(blocks_of(call.args))


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply.json(200, {"ok": False, "error": "ratelimited"}), "retry"),
        (Reply.json(200, {"ok": False, "error": "internal_error"}), "retry"),
        (Reply.json(200, {"ok": False, "error": "channel_not_found"}), "failed"),
        (Reply.json(200, {"ok": False, "error": "not_authed"}), "failed"),
        (Reply.json(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "7"}), "retry"),
        (Reply(500, b"<html>oops</html>", "text/html"), "retry"),
        (Reply(503, b"", "text/plain"), "retry"),
        (Reply.json(404, {"ok": False, "error": "unknown_method"}), "failed"),
    ],
)
def test_errors_are_classified(fake: FakeSlack, reply: Reply, outcome: str) -> None:
    fake.script(reply)
    result = SlackProvider(fake.token, base_url=fake.url).send(message())
    assert result.outcome == outcome
    assert result.error
    if reply.status == 429:
        assert result.retry_after == "7"


def test_a_bad_token_fails(fake: FakeSlack) -> None:
    result = SlackProvider("xoxb-wrong", base_url=fake.url).send(message())
    assert (result.outcome, result.error) == ("failed", "HTTP 200: invalid_auth")


def test_an_unknown_message_reference_fails(fake: FakeSlack) -> None:
    update = message(kind="status", update_ref="D0ALICE:1.000001")
    assert SlackProvider(fake.token, base_url=fake.url).send(update).outcome == "failed"


def test_an_unreachable_api_is_retried() -> None:
    result = SlackProvider("xoxb-x", base_url="http://127.0.0.1:9/api/", timeout=2).send(message())
    assert result.outcome == "retry"
