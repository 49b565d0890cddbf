"""Sentry webhooks: issue alerts, metric alerts, issue resolution, and the body's HMAC."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import orjson
import pytest

from tocsin.core.errors import BadRequest
from tocsin.integrations import sentry

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "sentry"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def test_issue_alert_triggers_on_the_issue() -> None:
    [event] = sentry.parse("event_alert", sample("event_alert"))

    assert event.action == "trigger"
    assert event.dedup_key == "issue:1117540176"
    assert event.summary == "CardDeclined: gateway timeout"
    assert event.severity == "error"
    assert event.source == "web-04"
    assert event.labels["environment"] == "production"
    assert event.details["triggered_rule"] == "Page on new checkout errors"
    assert event.links[0]["href"].endswith("/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/")
    orjson.dumps(event.payload())


def test_resolving_the_issue_resolves_the_alert_of_its_events() -> None:
    [alert] = sentry.parse("event_alert", sample("event_alert"))
    [resolved] = sentry.parse("issue", sample("issue_resolved"))

    assert resolved.action == "resolve"
    assert resolved.dedup_key == alert.dedup_key


def test_other_issue_actions_and_resources_change_nothing() -> None:
    assert sentry.parse("issue", sample("issue_created")) == []
    assert sentry.parse("installation", {"action": "created", "data": {}}) == []


@pytest.mark.parametrize(
    ("name", "action", "severity"),
    [
        ("metric_alert_critical", "trigger", "critical"),
        ("metric_alert_warning", "trigger", "warning"),
        ("metric_alert_resolved", "resolve", "critical"),
    ],
)
def test_metric_alert_actions(name: str, action: str, severity: str) -> None:
    [event] = sentry.parse("metric_alert", sample(name))

    assert (event.action, event.severity) == (action, severity)
    assert event.dedup_key == "metric_alert:7"
    assert event.details["alert_rule"]["name"] == "Checkout error rate"


def test_metric_alert_summary_and_link() -> None:
    [event] = sentry.parse("metric_alert", sample("metric_alert_critical"))
    assert event.summary == "Critical: Checkout error rate"
    assert event.details["description"] == "6.2% failure rate in the last 5 minutes"
    assert event.client_url == "https://sentry.io/organizations/example-shop/alerts/rules/details/12/?alert=7"


def test_wrong_types_are_reported_by_field() -> None:
    with pytest.raises(BadRequest) as caught:
        sentry.parse("metric_alert", sample("wrong_types"))

    assert caught.value.errors == [
        "'data.metric_alert.id' must be a string, not boolean",
        "'data.description_title' must be a string, not array",
        "'data.description_title' is required to trigger",
    ]


def test_missing_resource_header_and_unknown_metric_action() -> None:
    with pytest.raises(BadRequest) as caught:
        sentry.parse(None, sample("event_alert"))
    assert caught.value.errors == ["header 'Sentry-Hook-Resource' is required"]

    with pytest.raises(BadRequest) as caught:
        sentry.parse("metric_alert", sample("metric_alert_critical") | {"action": "exploded"})
    assert caught.value.errors == ["'action' must be one of critical, warning, resolved"]

    with pytest.raises(BadRequest) as caught:
        sentry.parse("event_alert", {"action": "triggered", "data": {"event": {}}})
    assert caught.value.errors == ["'data.event.issue_id' is required", "'data.event.title' is required"]


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"action":"critical"}'
    good = hmac.new(b"client-secret", body, hashlib.sha256).hexdigest()

    assert sentry.verify_signature("client-secret", body, good)
    assert sentry.verify_signature("client-secret", body, good.upper())
    assert not sentry.verify_signature("other-secret", body, good)
    assert not sentry.verify_signature("client-secret", body + b" ", good)
    assert not sentry.verify_signature("client-secret", body, "")
    assert not sentry.verify_signature("client-secret", body, "é" * 64)
