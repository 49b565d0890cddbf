"""Grafana unified alerting webhook: Alertmanager's parsing, Grafana's additions, and its HMAC signature."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from tocsin.core.errors import BadRequest
from tocsin.integrations import alertmanager, grafana

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "grafana"
SECRET = "s3cr3t-shared-with-grafana"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def test_firing_alert_with_values_and_image() -> None:
    [event] = grafana.parse(sample("firing_values_image"))

    assert event.action == "trigger"
    assert event.dedup_key == "c6eadffa33fcdf37"
    assert event.summary == "Memory usage on cache-3 is 93%"
    assert event.severity == "critical"
    assert event.source == "cache-3"
    assert event.timestamp == datetime(2024, 5, 14, 9, 20, 0, 157076, tzinfo=UTC)
    assert [link["text"] for link in event.links] == [
        "Alert source",
        "Grafana",
        "Dashboard",
        "Panel",
        "Silence",
    ]
    assert event.links[3]["href"] == "https://grafana.example.com/d/mem01?orgId=1&viewPanel=4"
    assert event.images == [
        {
            "src": "https://grafana.example.com/public/img/attachments/aB3dE5fG7h.png",
            "alt": "Memory usage on cache-3 is 93%",
            "href": "https://grafana.example.com/d/mem01?orgId=1&viewPanel=4",
        }
    ]
    assert event.details["values"] == {"B": 93.21547, "C": 1}
    assert event.details["valueString"].startswith("[ var='B'")
    assert event.details["ruleUID"] == "fdk1x2c9qz4e8a"
    assert event.details["endsAt"] is None
    orjson.dumps(event.payload())


def test_resolved_alert_with_empty_urls_and_null_values() -> None:
    [event] = grafana.parse(sample("resolved"))

    assert event.action == "resolve"
    assert event.dedup_key == "c6eadffa33fcdf37"
    assert [link["text"] for link in event.links] == ["Alert source", "Grafana", "Silence"]
    assert event.images == []
    assert event.details["values"] is None
    assert event.details["endsAt"] == "2024-05-14T11:45:00+02:00"


def test_same_alert_fields_as_alertmanager() -> None:
    data = sample("firing_values_image")
    [from_grafana] = grafana.parse(data)
    [from_alertmanager] = alertmanager.parse(data)

    for name in ("action", "dedup_key", "summary", "severity", "source", "timestamp", "labels"):
        assert getattr(from_grafana, name) == getattr(from_alertmanager, name)


def test_wrong_types_are_reported_by_field() -> None:
    with pytest.raises(BadRequest) as caught:
        grafana.parse(sample("wrong_types"))

    assert caught.value.detail == "Grafana payload is invalid"
    assert caught.value.errors == [
        "'alerts[0].dashboardURL' must be a string, not number",
        "'alerts[0].imageURL' must be a string, not object",
        "'alerts[0].values' must be an object or null, not array",
    ]


def test_alertmanager_problems_are_reported_as_grafanas() -> None:
    with pytest.raises(BadRequest) as caught:
        grafana.parse({"version": "1", "state": "alerting"})

    assert caught.value.detail == "Grafana payload is invalid"
    assert caught.value.errors == ["'alerts' is required"]


# --- signature ----------------------------------------------------------------------------------------------


def sign(body: bytes, timestamp: str | None = None) -> str:
    signed = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()


BODY = (SAMPLES / "firing_values_image.json").read_bytes()


def test_signature_without_timestamp() -> None:
    assert grafana.verify_signature(SECRET, BODY, sign(BODY), None)


def test_signature_with_timestamp() -> None:
    assert grafana.verify_signature(SECRET, BODY, sign(BODY, "1715678400"), "1715678400")


def test_signature_is_case_insensitive_hex() -> None:
    assert grafana.verify_signature(SECRET, BODY, sign(BODY).upper(), None)


def test_tampered_body_fails() -> None:
    signature = sign(BODY)
    tampered = BODY.replace(b'"firing"', b'"resolved"', 1)

    assert tampered != BODY
    assert not grafana.verify_signature(SECRET, tampered, signature, None)


def test_tampered_or_missing_timestamp_fails() -> None:
    signature = sign(BODY, "1715678400")

    assert not grafana.verify_signature(SECRET, BODY, signature, "1715678401")
    assert not grafana.verify_signature(SECRET, BODY, signature, None)
    assert not grafana.verify_signature(SECRET, BODY, sign(BODY), "1715678400")


@pytest.mark.parametrize(
    ("secret", "signature", "timestamp"),
    [
        ("other-secret", None, None),
        (SECRET, "", None),
        (SECRET, "not-hex", None),
        (SECRET, "é" * 64, None),
        ("", None, None),
        (SECRET, None, "\uff11\uff17"),  # fullwidth digits
    ],
)
def test_bad_signatures_fail_without_raising(secret: str, signature: str | None, timestamp: str | None) -> None:
    assert not grafana.verify_signature(secret, BODY, sign(BODY) if signature is None else signature, timestamp)


def test_timestamp_freshness() -> None:
    now = datetime.fromtimestamp(1_715_678_400, tz=UTC)

    assert grafana.timestamp_is_fresh("1715678400", now)
    assert grafana.timestamp_is_fresh("1715678100", now)
    assert not grafana.timestamp_is_fresh("1715678099", now)
    assert not grafana.timestamp_is_fresh("1715678701", now)
    assert not grafana.timestamp_is_fresh("soon", now)
