"""The reply endpoints' answers to requests that never reach the reply logic: not configured, too large,
unsigned, malformed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiHarness
from tests.fakes.slack import SIGNING_SECRET, slack_signature
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio
from tocsin.app import create_app
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.settings import load_settings

PUBLIC = "http://tocsin.test"


@pytest.fixture
def client(db: Database, clock: FakeClock) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from=FROM,
        slack_signing_secret=SIGNING_SECRET,
    )
    with TestClient(create_app(settings, clock=clock, db=db)) as c:
        yield c


def test_unconfigured_channels_answer_404(api: ApiHarness) -> None:
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/voice", "/webhooks/slack/interactivity"):
        answer = api.client.post(path, content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 404
        assert "not configured" in answer.json()["detail"]


def test_unsigned_requests_are_401(client: TestClient) -> None:
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/voice?incident=1", "/webhooks/slack/interactivity"):
        assert client.post(path, content=b"Body=4&From=%2B15550000001").status_code == 401


def test_oversized_bodies_are_413(client: TestClient) -> None:
    answer = client.post("/webhooks/twilio/sms", content=b"Body=" + b"4" * (65 * 1024))
    assert answer.status_code == 413


def test_signed_but_malformed_requests_are_400(client: TestClient) -> None:
    fake = FakeTwilio()
    params = {"CallSid": "CA1", "From": FROM, "To": "+15550000001"}
    url = f"{PUBLIC}/webhooks/twilio/voice?incident=abc"
    answer = client.post(
        "/webhooks/twilio/voice?incident=abc", data=params, headers={"x-twilio-signature": fake.sign(url, params)}
    )
    assert answer.status_code == 400
    assert "incident" in answer.json()["detail"]
    sms = {"From": "+15550000001", "Body": "4"}
    answer = client.post(
        "/webhooks/twilio/sms",
        data=sms,
        headers={"x-twilio-signature": fake.sign(f"{PUBLIC}/webhooks/twilio/sms", sms)},
    )
    assert answer.status_code == 400
    assert "MessageSid" in answer.json()["detail"]


def test_slack_payload_must_be_json(client: TestClient, clock: FakeClock) -> None:
    body = b"payload=not-json"
    stamp = str(int(clock.now().timestamp()))
    answer = client.post(
        "/webhooks/slack/interactivity",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": slack_signature(SIGNING_SECRET, stamp, body),
        },
    )
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


def test_bad_phone_and_slack_addresses_are_422(api: ApiHarness) -> None:
    url = f"/api/v1/users/{api.admin_id}/contact-methods"
    phone = api.post(url, json={"type": "sms", "address": "555-1234"})
    assert phone.status_code == 422
    assert "international form" in phone.json()["detail"]
    slack = api.post(url, json={"type": "slack", "address": "#ops"})
    assert slack.status_code == 422
    assert "Slack member ID" in slack.json()["detail"]
    admin_set = api.post(url, json={"type": "voice", "address": "+44 20 7946 0958"})
    assert admin_set.status_code == 201
    assert (admin_set.json()["address"], admin_set.json()["verified"]) == ("+442079460958", True)
