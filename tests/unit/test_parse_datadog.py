"""Datadog webhooks with the documented payload template: transitions, dedup key, severity, tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tocsin.core.errors import BadRequest
from tocsin.integrations import datadog

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "datadog"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def test_triggered_monitor() -> None:
    event = datadog.parse(sample("triggered"))

    assert event.action == "trigger"
    assert event.dedup_key == "7481952733071548411"
    assert event.summary == "[Triggered on {host:web-04}] CPU load is very high on web-04"
    assert event.severity == "critical"
    assert event.source == "web-04"
    assert event.labels == {"env": "prod", "service": "checkout", "team": "payments", "monitor": ""}
    assert event.links[0]["href"].startswith("https://app.datadoghq.com/monitors/123456789")
    assert event.details["body"].startswith("%%%\nCPU load")
    assert event.details["org"] == {"id": "201843", "name": "Example Shop"}
    orjson.dumps(event.payload())


def test_recovery_resolves_the_same_cycle() -> None:
    triggered = datadog.parse(sample("triggered"))
    recovered = datadog.parse(sample("recovered"))

    assert recovered.action == "resolve"
    assert recovered.dedup_key == triggered.dedup_key


def test_warn_is_a_warning_and_unfilled_variables_count_as_absent() -> None:
    event = datadog.parse(sample("warn_no_host"))

    assert event.action == "trigger"
    assert event.severity == "warning"
    assert event.source == ""
    assert event.labels == {}


def test_no_data_triggers_with_the_priority_severity() -> None:
    event = datadog.parse(sample("no_data"))

    assert event.action == "trigger"
    assert event.severity == "error"
    assert event.details["alert_transition"] == "No Data"


@pytest.mark.parametrize(
    ("transition", "action"),
    [("Re-Triggered", "trigger"), ("Renotify", "trigger"), ("recovered", "resolve"), ("TRIGGERED", "trigger")],
)
def test_transition_names(transition: str, action: str) -> None:
    data = sample("triggered") | {"alert_transition": transition}
    assert datadog.parse(data).action == action


@pytest.mark.parametrize(("priority", "alert_type", "severity"), [("P3", "error", "warning"), ("", "info", "info")])
def test_severity_from_priority_then_alert_type(priority: str, alert_type: str, severity: str) -> None:
    data = sample("triggered") | {"alert_priority": priority, "alert_type": alert_type}
    assert datadog.parse(data).severity == severity


def test_datadog_default_body_is_refused_with_a_hint_to_use_the_template() -> None:
    with pytest.raises(BadRequest) as caught:
        datadog.parse(sample("default_body"))

    assert caught.value.errors == ["'alert_transition' is required"]


def test_recovery_without_cycle_key_is_refused() -> None:
    data = sample("recovered") | {"alert_cycle_key": ""}
    with pytest.raises(BadRequest) as caught:
        datadog.parse(data)

    assert "'alert_cycle_key' is required when 'alert_transition' is Recovered" in caught.value.errors


def test_wrong_types_are_reported_by_field() -> None:
    with pytest.raises(BadRequest) as caught:
        datadog.parse(sample("wrong_types"))

    errors = "\n".join(caught.value.errors)
    assert caught.value.detail == "Datadog payload is invalid"
    assert "'alert_cycle_key' must be a string, not array" in errors
    assert "'alert_transition' must be one of" in errors
    assert "'title' must be a string, not number" in errors
    assert "'hostname' must be a string, not object" in errors


def test_payload_must_be_an_object() -> None:
    with pytest.raises(BadRequest):
        datadog.parse([1, 2])
