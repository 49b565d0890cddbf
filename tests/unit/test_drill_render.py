"""Every channel's rendering of a drill's incident starts with DRILL (ADR 0025); a real incident's never does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.ntfy import ntfy_payload
from tocsin.notify.providers.webhook import build_payload
from tocsin.notify.render.email import render_email, subject_of
from tocsin.notify.render.slack import slack_blocks
from tocsin.notify.render.sms import render_sms
from tocsin.notify.render.teams import discord_payload, mattermost_payload, teams_card
from tocsin.notify.render.text import render_text, summary_line
from tocsin.notify.render.voice import call_twiml, spoken_summary

REAL = IncidentView(
    id=9,
    number=12,
    title="Checkout returns 500",
    status="triggered",
    urgency="high",
    severity="SEV1",
    priority="P1",
    service="checkout",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/12",
)
DRILL = replace(REAL, drill=True)


def page(incident: IncidentView, contact_type: str = "email") -> OutboundMessage:
    return OutboundMessage(
        notification_id=1,
        message_id="m1",
        kind="page",
        contact_type=contact_type,
        address="alice@example.com",
        user_name="Alice",
        incident=incident,
        ack_url="http://tocsin.test/a/x",
    )


def firsts(incident: IncidentView) -> dict[str, str]:
    """The first words of each channel's message."""
    message = page(incident)
    fallback, blocks = slack_blocks(message)
    mail = render_email(message, from_addr="tocsin@example.com", domain="example.com")
    html = mail.get_body(("html",))
    assert html is not None
    return {
        "summary": summary_line(incident),
        "text": render_text(message),
        "email subject": subject_of(message),
        "email": str(mail["Subject"]),
        "sms": render_sms(message),
        "voice": spoken_summary(incident),
        "slack": fallback,
        "slack heading": blocks[0]["text"]["text"].split("*", 1)[1],
        "teams": teams_card(message)["attachments"][0]["content"]["body"][0]["text"],
        "mattermost": mattermost_payload(message)["text"],
        "discord": discord_payload(message)["content"],
        "ntfy": ntfy_payload(message, "topic")["title"],
    }


def test_every_channel_of_a_drill_starts_with_drill() -> None:
    for channel, first in firsts(DRILL).items():
        assert first.startswith("DRILL"), f"{channel}: {first!r}"


@pytest.mark.parametrize("channel", sorted(firsts(REAL)))
def test_a_real_incident_is_never_marked(channel: str) -> None:
    assert "DRILL" not in firsts(REAL)[channel]


def test_the_call_and_the_webhook_say_it_too() -> None:
    assert "DRILL. This is a drill, not a real incident." in call_twiml(DRILL, "http://tocsin.test/v")
    assert "DRILL" not in call_twiml(REAL, "http://tocsin.test/v")
    sent = build_payload(page(DRILL, "webhook"), datetime(2026, 11, 2, tzinfo=UTC))
    assert sent["data"]["incident"]["drill"] is True
    mail = render_email(page(DRILL), from_addr="tocsin@example.com", domain="example.com")
    html = mail.get_body(("html",))
    assert html is not None
    assert "this is an exercise" in html.get_content()
