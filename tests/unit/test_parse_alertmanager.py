"""Alertmanager webhook parsing: one event per alert, with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.errors import BadRequest
from tocsin.integrations import alertmanager

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "alertmanager"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def errors_of(data: object) -> list[str]:
    with pytest.raises(BadRequest) as caught:
        alertmanager.parse(data)
    assert caught.value.detail == "Alertmanager payload is invalid"
    return caught.value.errors


def message(*alerts: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "tocsin", "alerts": list(alerts), **top}


def alert(**fields: Any) -> dict[str, Any]:
    return {"status": "firing", "labels": {"alertname": "Up"}, **fields}


def test_firing_alert() -> None:
    [event] = alertmanager.parse(sample("firing"))

    assert event.action == "trigger"
    assert event.dedup_key == "5f1c2a9b7e3d4c10"
    assert event.summary == "p99 latency above 500ms on api-1.example.com:8080"
    assert event.severity == "critical"  # severity=page
    assert event.source == "api-1.example.com:8080"
    assert event.timestamp == datetime(2024, 5, 14, 9, 12, 3, 482912, tzinfo=UTC)
    assert event.labels == {
        "alertname": "HighRequestLatency",
        "instance": "api-1.example.com:8080",
        "job": "api",
        "severity": "page",
    }
    assert event.details["endsAt"] is None
    assert event.details["startsAt"] == "2024-05-14T09:12:03.482912371Z"
    assert event.details["groupKey"] == '{}:{alertname="HighRequestLatency"}'
    assert event.details["receiver"] == "tocsin"
    assert event.details["externalURL"] == "http://alertmanager.example.com:9093"
    assert event.details["commonLabels"]["job"] == "api"
    assert event.details["annotations"]["runbook_url"] == "https://runbooks.example.com/latency"
    assert [link["href"] for link in event.links] == [
        "http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%29&g0.tab=1",
        "http://alertmanager.example.com:9093",
    ]
    orjson.dumps(event.payload())


def test_resolved_alert_keeps_the_key_of_the_firing_one() -> None:
    [firing] = alertmanager.parse(sample("firing"))
    [resolved] = alertmanager.parse(sample("resolved"))

    assert resolved.action == "resolve"
    assert resolved.dedup_key == firing.dedup_key
    assert resolved.details["endsAt"] == "2024-05-14T09:47:33.118Z"


def test_mixed_message_yields_both_kinds_and_ignores_unknown_fields() -> None:
    firing, resolved = alertmanager.parse(sample("mixed"))

    assert (firing.action, resolved.action) == ("trigger", "resolve")
    assert (firing.dedup_key, resolved.dedup_key) == ("a13f0c77e02b9d41", "0b9e44d1c2a35f78")
    assert firing.summary.startswith("Filesystem /var/lib/postgresql on db-2")  # from the description
    assert firing.severity == resolved.severity == "warning"
    assert firing.source == "db-2.example.com:9100"
    assert resolved.source == "node"  # no instance label: the job
    assert firing.timestamp == datetime(2024, 5, 14, 8, 1, tzinfo=UTC)
    assert resolved.summary == "DiskWillFillIn4Hours (device=/dev/sda1, job=node, mountpoint=/, severity=warning, …)"
    assert [link["text"] for link in resolved.links] == ["Alertmanager"]  # an empty generatorURL adds no link


def test_missing_fingerprint_is_a_stable_hash_of_the_labels() -> None:
    [event] = alertmanager.parse(sample("no_fingerprint"))
    reordered = sample("no_fingerprint")
    labels = reordered["alerts"][0]["labels"]
    reordered["alerts"][0]["labels"] = dict(reversed(list(labels.items())))

    [again] = alertmanager.parse(reordered)

    assert event.dedup_key is not None
    assert len(event.dedup_key) == 64
    int(event.dedup_key, 16)
    assert again.dedup_key == event.dedup_key
    assert event.source == "hand-made"  # neither instance nor job: the receiver


def test_fallback_summary_without_annotations() -> None:
    [one, bare] = alertmanager.parse(
        message(alert(labels={"alertname": "Watchdog", "env": "prod"}), alert(labels={"team": "db"}))
    )

    assert one.summary == "Watchdog (env=prod)"
    assert bare.summary == "Alert (team=db)"


def test_long_summary_is_cut() -> None:
    [event] = alertmanager.parse(message(alert(annotations={"summary": "x" * 5000})))

    assert event.summary == "x" * 1024


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("PAGE", "critical"),
        ("error", "error"),
        ("high", "error"),
        ("warning", "warning"),
        ("warn", "warning"),
        ("medium", "warning"),
        ("info", "info"),
        ("low", "info"),
        ("none", "info"),
        ("bogus", "error"),
        (None, "error"),
    ],
)
def test_severity_mapping(label: str | None, severity: str) -> None:
    labels = {"alertname": "X"} if label is None else {"alertname": "X", "severity": label}

    [event] = alertmanager.parse(message(alert(labels=labels)))

    assert event.severity == severity


def test_empty_alert_list_is_nothing_to_do() -> None:
    assert alertmanager.parse(message()) == []


def test_missing_alerts() -> None:
    assert errors_of(sample("missing_alerts")) == ["'alerts' is required"]


def test_alerts_not_a_list() -> None:
    assert errors_of(message(alerts={"0": alert()})) == ["'alerts' must be an array, not object"]


def test_wrong_types_are_all_reported_by_field() -> None:
    assert errors_of(sample("wrong_types")) == [
        "'receiver' must be a string, not array",
        "'commonLabels' must be an object, not string",
        "'alerts[0].labels' is required",
        "'alerts[1].status' must be one of firing, resolved",
        "'alerts[1].startsAt' must be an RFC 3339 timestamp, got 'yesterday'",
        "'alerts[2].labels.replica' must be a string, not number",
        "'alerts[2].annotations' must be an object, not array",
        "'alerts[3]' must be an object, not string",
    ]


def test_alert_without_status_or_with_empty_labels() -> None:
    assert errors_of(message({"labels": {}})) == [
        "'alerts[0].labels' must hold at least one label",
        "'alerts[0].status' is required",
    ]


def test_oversized_fingerprint_is_refused() -> None:
    assert errors_of(message(alert(fingerprint="f" * 256))) == [
        "'alerts[0].fingerprint' must be at most 255 characters, got 256"
    ]


@pytest.mark.parametrize("data", [None, [], "alerts", 4])
def test_payload_that_is_not_an_object(data: object) -> None:
    assert errors_of(data)[0].startswith("payload must be a JSON object")


def test_many_bad_alerts_give_a_bounded_error_list() -> None:
    errors = errors_of(message(*[{"status": "firing"}] * 500))

    assert len(errors) == 51
    assert errors[-1] == "... and 450 more problems"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ALERT_KEYS = st.sampled_from(["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
NEAR_MESSAGES = st.fixed_dictionaries(
    {"alerts": st.lists(st.dictionaries(ALERT_KEYS, JSON | st.sampled_from(["firing", "resolved"])), max_size=3)},
    optional={"receiver": JSON, "externalURL": JSON, "commonLabels": JSON, "groupKey": JSON},
)


@settings(max_examples=200, deadline=None)
@given(JSON | NEAR_MESSAGES)
def test_parse_raises_only_bad_request(data: object) -> None:
    try:
        events = alertmanager.parse(data)
    except BadRequest as exc:
        problem = exc
    else:
        orjson.dumps([event.payload() for event in events])
        return
    assert problem.errors
