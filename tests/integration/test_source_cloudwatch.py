"""CloudWatch alarms through SNS over HTTP: signed messages only, confirmation, MessageId dedup, 401 on forgery."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.compat.sns_signer import CERT_URL, sign, signing_key
from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tocsin.core.errors import Unauthorized
from tocsin.integrations.sns_gateway import SnsGateway

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "cloudwatch"


class FakeSns:
    """Serves our test certificate and records confirmations, as SNS would answer them."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.confirmed: list[str] = []

    async def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return signing_key()[1]

    async def confirm(self, url: str) -> None:
        self.confirmed.append(url)


@pytest.fixture
def sns(api: ApiHarness) -> FakeSns:
    fake = FakeSns()
    api.client.app.state.sns_gateway = SnsGateway(fetch=fake.fetch, confirm=fake.confirm)  # type: ignore[attr-defined]
    return fake


def message(api: ApiHarness, name: str, *, age: timedelta = timedelta(seconds=2), **changes: Any) -> dict[str, Any]:
    data = orjson.loads((SAMPLES / f"{name}.json").read_bytes())
    stamp = (api.clock.now() - age).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return sign(data, Timestamp=stamp, **changes)


def post(api: ApiHarness, key: str, body: dict[str, Any], *, header: str | None = None) -> httpx.Response:
    return api.client.post(
        f"/integrations/{key}/cloudwatch",
        content=orjson.dumps(body),
        headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": header or body["Type"],
            "x-amz-sns-message-id": body["MessageId"],
        },
    )


def test_alarm_then_ok_with_retries_deduplicated_by_message_id(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")
    alarm = message(api, "alarm")

    first = post(api, key, alarm)
    retry = post(api, key, alarm)

    assert (first.status_code, first.json()["outcomes"]) == (202, ["created"])
    assert (retry.status_code, retry.json()["outcomes"]) == (202, ["redelivered"])
    assert stored(api).events == 1
    assert stored(api).incidents == ["triggered"]

    ok = post(api, key, message(api, "ok"))
    assert (ok.status_code, ok.json()["outcomes"]) == (202, ["resolved"])
    # A late retry of the ALARM after the OK must not reopen it.
    assert post(api, key, alarm).json()["outcomes"] == ["redelivered"]
    now = stored(api)
    assert now.alerts == [("High CPU on web-04", "resolved", "High CPU on web-04: CPU above 90% for 5 minutes")]
    assert now.incidents == ["resolved"]
    assert sns.fetched == [CERT_URL]  # cached after the first message


def test_insufficient_data_is_accepted_and_changes_nothing(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")

    response = post(api, key, message(api, "insufficient_data"))

    assert (response.status_code, response.json()["alerts"]) == (202, 0)
    assert stored(api).alerts == []


def test_subscription_is_confirmed_only_when_signed_and_on_an_sns_host(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")
    confirmation = message(api, "subscription_confirmation")

    forged = post(api, key, confirmation | {"Token": "f" * 40})
    assert forged.status_code == 401
    elsewhere = message(
        api, "subscription_confirmation", SubscribeURL="https://127.0.0.1:9/?Action=ConfirmSubscription"
    )
    refused = post(api, key, elsewhere)
    assert (refused.status_code, "SubscribeURL" in refused.json()["message"]) == (400, True)
    assert sns.confirmed == []

    response = post(api, key, confirmation)
    assert response.status_code == 200
    assert sns.confirmed == [confirmation["SubscribeURL"]]
    assert post(api, key, message(api, "unsubscribe_confirmation")).status_code == 200
    assert stored(api).events == 0


def test_forged_messages_are_refused_and_store_nothing(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")
    alarm = message(api, "alarm")
    tampered = alarm | {"Message": alarm["Message"].replace("web-04", "web-05")}
    wrong_host = alarm | {"SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem"}
    plain_http = alarm | {"SigningCertURL": CERT_URL.replace("https://", "http://")}
    stranger = sign(alarm, key_name="stranger")
    stale = message(api, "alarm", age=timedelta(hours=2))

    for forged, complaint in [
        (tampered, "Signature"),
        (wrong_host, "SigningCertURL"),
        (plain_http, "SigningCertURL"),
        (stranger, "Signature"),
        (stale, "Timestamp"),
    ]:
        response = post(api, key, forged)
        assert response.status_code == 401, forged
        assert complaint in response.json()["message"]
    assert "evil" not in " ".join(sns.fetched)
    assert stored(api).events == 0
    assert stored(api).alerts == []


def test_bad_requests_name_the_field(api: ApiHarness, sns: FakeSns) -> None:
    key = integration_key(api, "cloudwatch")

    mismatch = post(api, key, message(api, "alarm"), header="SubscriptionConfirmation")
    assert mismatch.status_code == 400
    assert "x-amz-sns-message-type" in mismatch.json()["errors"][0]
    not_an_alarm = post(api, key, message(api, "alarm", Message="hello"))
    assert (not_an_alarm.status_code, not_an_alarm.json()["errors"]) == (
        400,
        ["'Message' must be a CloudWatch alarm in JSON"],
    )
    assert post(api, "no-such-integration-key", message(api, "alarm")).status_code == 404
    assert stored(api).events == 0


def test_the_real_fetcher_refuses_other_hosts_before_connecting() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        gateway = SnsGateway()
        for url in (f"https://127.0.0.1:{port}/cert.pem", f"http://127.0.0.1:{port}/cert.pem"):
            with pytest.raises(Unauthorized), ThreadPoolExecutor(1) as pool:
                # A thread of its own: another test's event loop may still be running in this one.
                pool.submit(asyncio.run, gateway.certificate(url)).result()
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
