"""Channel renderers and the small pure pieces of the reply path."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.render.slack import parse_action_id, slack_blocks
from tocsin.notify.render.sms import MAX_LENGTH, render_sms
from tocsin.notify.render.voice import call_twiml
from tocsin.replies.limits import ReplyLimiter
from tocsin.settings import ConfigError, load_settings

INCIDENT = IncidentView(
    id=9,
    number=1234,
    title="Latency\nabove SLO " + "x" * 600,
    status="triggered",
    urgency="high",
    severity="SEV2",
    priority="P2",
    service="search",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/9",
)


def page(incident: IncidentView = INCIDENT, text: str = "") -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id="m",
        kind="page",
        contact_type="sms",
        address="+15550000001",
        user_name="A",
        incident=incident,
        text=text,
    )


def test_sms_fits_two_segments_and_carries_codes() -> None:
    body = render_sms(page())
    assert len(body) <= MAX_LENGTH
    assert "\n" not in body
    assert body.startswith("Tocsin #1234 TRIGGERED P2: Latency above SLO")
    assert "[search]" in body
    assert body.endswith("Reply 4 to ack, 6 to resolve, 8 to escalate (4 1234 for this one, 4 all for all).")


def test_sms_about_a_settled_incident_has_no_codes() -> None:
    body = render_sms(page(replace(INCIDENT, status="resolved", title="Fixed")))
    assert "Reply" not in body
    assert "RESOLVED" in body


def test_sms_without_incident_is_its_text() -> None:
    msg = replace(page(), incident=None, text="Your Tocsin verification code is 123456.")
    assert render_sms(msg) == "Your Tocsin verification code is 123456."


@pytest.mark.parametrize(
    ("action_id", "parsed"),
    [
        ("tocsin.acknowledge.12", ("acknowledge", 12)),
        ("tocsin.resolve.1", ("resolve", 1)),
        ("tocsin.escalate.99", ("escalate", 99)),
        ("tocsin.delete.1", None),
        ("tocsin.acknowledge.x", None),
        ("other.acknowledge.1", None),
        ("tocsin.acknowledge.", None),
    ],
)
def test_action_ids(action_id: str, parsed: tuple[str, int] | None) -> None:
    assert parse_action_id(action_id) == parsed


def test_slack_buttons_follow_the_status() -> None:
    def ids(incident: IncidentView) -> set[str]:
        _, blocks = slack_blocks(page(incident))
        return {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}

    assert ids(INCIDENT) == {"tocsin.acknowledge.9", "tocsin.resolve.9", "tocsin.escalate.9"}
    assert ids(replace(INCIDENT, status="acknowledged")) == {"tocsin.resolve.9", "tocsin.escalate.9"}
    assert ids(replace(INCIDENT, status="resolved")) == set()


def test_twiml_escapes_the_title_and_gathers_one_key() -> None:
    twiml = call_twiml(replace(INCIDENT, title="a <Hangup/> & b"), "https://t.test/webhooks/twilio/voice?incident=9")
    assert "<Hangup/> &" not in twiml.split("<Say>")[1]
    assert "a &lt;Hangup/&gt; &amp; b" in twiml
    assert 'numDigits="1"' in twiml
    assert 'action="https://t.test/webhooks/twilio/voice?incident=9"' in twiml


def test_reply_limiter_allows_a_few_per_hour_per_number() -> None:
    limiter = ReplyLimiter(limit=3, per=timedelta(hours=1))
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert [limiter.allow("+1555", t0 + timedelta(seconds=i)) for i in range(4)] == [True, True, True, False]
    assert limiter.allow("+1666", t0)
    assert not limiter.allow("+1555", t0 + timedelta(minutes=59))
    assert limiter.allow("+1555", t0 + timedelta(hours=1, seconds=1))


def test_partial_twilio_settings_fail_at_start_up() -> None:
    with pytest.raises(ConfigError, match="TOCSIN_TWILIO_AUTH_TOKEN, TOCSIN_TWILIO_FROM"):
        load_settings(twilio_account_sid="AC1")
    with pytest.raises(ConfigError, match="TOCSIN_SLACK_BASE_URL"):
        load_settings(slack_base_url="slack.com/api")
    twilio = {"twilio_account_sid": "AC1", "twilio_auth_token": "t", "twilio_from": "+15550001000"}
    with pytest.raises(ConfigError, match="TOCSIN_PUBLIC_URL"):
        load_settings(**twilio)
    assert load_settings(**twilio, public_url="https://tocsin.example.com").twilio_from
