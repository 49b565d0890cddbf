"""SMS and voice providers against a fake Twilio API on loopback, speaking Twilio's wire format."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.fixtures import running
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.twilio_sms import TwilioSmsProvider
from tocsin.notify.providers.twilio_voice import TwilioVoiceProvider

INCIDENT = IncidentView(
    id=7,
    number=42,
    title="Checkout latency above 2s <script>",
    status="triggered",
    urgency="high",
    severity="SEV2",
    priority="P2",
    service="checkout-api",
    created_at="2026-11-02T08:00:00+00:00",
    url="http://tocsin.test/incidents/7",
)


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    yield from running(FakeTwilio())


def page(address: str = "+15551230001", **kw: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "notification_id": 99,
        "message_id": "msg_99",
        "kind": "page",
        "contact_type": "sms",
        "address": address,
        "user_name": "Alice",
        "incident": INCIDENT,
    }
    fields.update(kw)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def sms(fake: FakeTwilio, token: str = AUTH_TOKEN) -> TwilioSmsProvider:
    return TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=token, from_number=FROM, base_url=fake.url, timeout=5)


def test_sms_is_delivered_with_the_incident_and_reply_codes(fake_twilio: FakeTwilio) -> None:
    result = sms(fake_twilio).send(page())
    assert result.outcome == "delivered"
    assert result.provider_ref is not None
    assert result.provider_ref.startswith("SM")
    (sent,) = fake_twilio.messages("+15551230001")
    body = sent.params["Body"]
    assert sent.params["From"] == FROM
    assert "#42" in body
    assert "checkout-api" in body
    assert "Reply 4 to ack, 6 to resolve, 8 to escalate" in body
    assert "4 42" in body
    assert len(body) <= 320
    for word in ("STOP", "UNSUBSCRIBE", "QUIT", "CANCEL", "OPTOUT"):
        assert word not in body.upper().split()


@pytest.mark.parametrize(("status", "outcome"), [(500, "retry"), (503, "retry"), (429, "retry"), (400, "failed")])
def test_sms_outcomes_follow_the_status(fake_twilio: FakeTwilio, status: int, outcome: str) -> None:
    fake_twilio.fail_next(status)
    result = sms(fake_twilio).send(page())
    assert result.outcome == outcome
    assert result.status_code == status
    assert fake_twilio.messages() == []


def test_wrong_credentials_fail_without_retry(fake_twilio: FakeTwilio) -> None:
    result = sms(fake_twilio, token="wrong").send(page())
    assert result.outcome == "failed"
    assert result.status_code == 401


def test_an_unreachable_api_is_retried() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = TwilioSmsProvider(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM, base_url=f"http://127.0.0.1:{port}"
    )
    result = provider.send(page())
    assert result.outcome == "retry"
    assert result.error


def test_a_call_points_twilio_at_our_twiml_and_status_callback(fake_twilio: FakeTwilio) -> None:
    provider = TwilioVoiceProvider(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM,
        public_url="https://tocsin.example.com",
        base_url=fake_twilio.url,
    )
    result = provider.send(page(contact_type="voice"))
    assert result.outcome == "delivered"
    assert result.provider_ref is not None
    assert result.provider_ref.startswith("CA")
    (call,) = fake_twilio.calls("+15551230001")
    url = urlsplit(call.params["Url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "tocsin.example.com", "/webhooks/twilio/voice")
    assert parse_qs(url.query) == {"incident": ["7"], "notification": ["99"]}
    assert call.params["MachineDetection"] == "Enable"
    assert call.params["StatusCallback"] == "https://tocsin.example.com/webhooks/twilio/voice/status?notification=99"
    assert call.params["Timeout"] == "30"


def test_a_call_outage_is_retried(fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(502)
    provider = TwilioVoiceProvider(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM,
        public_url="http://x.test",
        base_url=fake_twilio.url,
    )
    assert provider.send(page(contact_type="voice")).outcome == "retry"


def test_a_test_call_reads_its_text(fake_twilio: FakeTwilio) -> None:
    provider = TwilioVoiceProvider(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM,
        public_url="http://x.test",
        base_url=fake_twilio.url,
    )
    msg = page(
        contact_type="voice", kind="test", incident=None, text="Test notification from Tocsin to Alice by voice."
    )
    assert provider.send(msg).outcome == "delivered"
    (call,) = fake_twilio.calls("+15551230001")
    assert "Url" not in call.params
    assert "<Say>Test notification from Tocsin to Alice by voice.</Say>" in call.params["Twiml"]


def test_the_library_does_not_log_every_request(fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert sms(fake_twilio).send(page()).outcome == "delivered"
    assert "Twilio API Request" not in caplog.text
    assert "Response Status Code" not in caplog.text
