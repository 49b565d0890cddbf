"""CloudWatch alarms through SNS: envelope, canonical string, signatures, certificate hosts, alarm states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.compat.sns_signer import sign, signing_key
from tocsin.core.errors import BadRequest
from tocsin.integrations import cloudwatch

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "cloudwatch"
NOW = datetime(2024, 5, 14, 9, 20, 30, tzinfo=UTC)


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def envelope(name: str, **changes: Any) -> cloudwatch.SnsMessage:
    data = sample(name) | changes
    return cloudwatch.parse_envelope(data, data["Type"])


def test_alarm_triggers_and_ok_resolves_the_same_key() -> None:
    [alarm] = cloudwatch.parse_alarm(envelope("alarm"))
    [ok] = cloudwatch.parse_alarm(envelope("ok"))

    assert (alarm.action, ok.action) == ("trigger", "resolve")
    assert alarm.dedup_key == ok.dedup_key == "High CPU on web-04"
    assert alarm.summary == "High CPU on web-04: CPU above 90% for 5 minutes"
    assert alarm.source == "i-0a1b2c3d4e5f67890"
    assert alarm.timestamp == datetime(2024, 5, 14, 9, 20, 0, 157000, tzinfo=UTC)
    assert alarm.links[0]["href"].startswith("https://eu-west-1.console.aws.amazon.com/cloudwatch/")
    assert alarm.details["NewStateReason"].startswith("Threshold Crossed")
    assert alarm.details["MessageId"] == "b1b2a0c9-7f3e-5a2b-9d4c-1e8f6a7b3c21"
    orjson.dumps(alarm.payload())


def test_insufficient_data_changes_nothing() -> None:
    assert cloudwatch.parse_alarm(envelope("insufficient_data")) == []


def test_canonical_string_of_a_notification_includes_the_subject() -> None:
    text = cloudwatch.canonical_string(sample("alarm"), "Notification").decode()

    lines = text.split("\n")
    assert lines[0::2][:6] == ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    assert lines[3] == "b1b2a0c9-7f3e-5a2b-9d4c-1e8f6a7b3c21"
    assert text.endswith("Type\nNotification\n")
    without_subject = cloudwatch.canonical_string(sample("alarm") | {"Subject": None}, "Notification").decode()
    assert "Subject\n" not in without_subject


def test_canonical_string_of_a_confirmation_has_the_token_and_url() -> None:
    data = sample("subscription_confirmation")
    text = cloudwatch.canonical_string(data, "SubscriptionConfirmation").decode()
    expected = "".join(
        f"{name}\n{data[name]}\n"
        for name in ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    assert text == expected


@pytest.mark.parametrize("version", ["1", "2"])
def test_signature_versions_verify_and_tampering_fails(version: str) -> None:
    _, certificate = signing_key()
    signed = sign(sample("alarm"), version=version)
    message = cloudwatch.parse_envelope(signed, "Notification")
    assert cloudwatch.verify_signature(message, certificate, now=NOW)

    tampered = cloudwatch.parse_envelope(signed | {"Message": signed["Message"].replace("ALARM", "OK")}, "Notification")
    assert not cloudwatch.verify_signature(tampered, certificate, now=NOW)
    other_version = cloudwatch.parse_envelope(
        signed | {"SignatureVersion": "2" if version == "1" else "1"}, "Notification"
    )
    assert not cloudwatch.verify_signature(other_version, certificate, now=NOW)
    _, stranger = signing_key("stranger")
    assert not cloudwatch.verify_signature(message, stranger, now=NOW)
    assert not cloudwatch.verify_signature(message, b"not a certificate", now=NOW)


def test_an_expired_certificate_is_refused() -> None:
    _, certificate = signing_key()
    message = cloudwatch.parse_envelope(sign(sample("alarm")), "Notification")
    assert not cloudwatch.verify_signature(message, certificate, now=datetime(2041, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.ap-southeast-2.amazonaws.com/x.pem",
        "https://sns.us-gov-west-1.amazonaws.com/x.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
    ],
)
def test_sns_hosts_are_accepted(url: str) -> None:
    assert cloudwatch.is_sns_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
        "https://user@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",
        "https://s3.us-east-1.amazonaws.com/x.pem",
        "https://127.0.0.1/x.pem",
        "https://sns.amazonaws.com/x.pem",
        "file:///etc/passwd",
        "https://sns.us-east-1.amazonaws.com:99999/x.pem",
    ],
)
def test_other_hosts_and_schemes_are_refused(url: str) -> None:
    assert not cloudwatch.is_sns_url(url)


def test_freshness_window() -> None:
    message = envelope("alarm")
    assert cloudwatch.is_fresh(message, NOW)
    assert not cloudwatch.is_fresh(message, datetime(2024, 5, 14, 10, 21, tzinfo=UTC))
    assert not cloudwatch.is_fresh(message, datetime(2024, 5, 14, 9, 10, tzinfo=UTC))


def test_header_must_match_the_type_and_fields_are_named() -> None:
    with pytest.raises(BadRequest) as caught:
        cloudwatch.parse_envelope(sample("alarm"), "SubscriptionConfirmation")
    assert "header 'x-amz-sns-message-type' is 'SubscriptionConfirmation' but 'Type' is 'Notification'" in (
        caught.value.errors
    )

    with pytest.raises(BadRequest) as caught:
        cloudwatch.parse_envelope({"Type": "Notification", "Signature": "%%%", "SignatureVersion": "3"}, None)
    errors = "\n".join(caught.value.errors)
    for field in ("x-amz-sns-message-type", "MessageId", "TopicArn", "Message", "Timestamp", "SigningCertURL"):
        assert field in errors
    assert "'SignatureVersion' must be one of 1, 2" in errors
    assert "'Signature' must be base64" in errors


def test_confirmation_needs_its_subscribe_url() -> None:
    data = sample("subscription_confirmation")
    del data["SubscribeURL"]
    with pytest.raises(BadRequest) as caught:
        cloudwatch.parse_envelope(data, "SubscriptionConfirmation")
    assert caught.value.errors == ["'SubscribeURL' is required"]


def test_alarm_fields_are_named() -> None:
    message = envelope("alarm", Message=orjson.dumps({"NewStateValue": "BROKEN", "AlarmName": 5}).decode())
    with pytest.raises(BadRequest) as caught:
        cloudwatch.parse_alarm(message)
    assert caught.value.errors == [
        "'Message.AlarmName' must be a string, not number",
        "'Message.NewStateValue' must be one of ALARM, OK, INSUFFICIENT_DATA",
    ]
    with pytest.raises(BadRequest) as caught:
        cloudwatch.parse_alarm(envelope("alarm", Message="plain text"))
    assert caught.value.errors == ["'Message' must be a CloudWatch alarm in JSON"]
