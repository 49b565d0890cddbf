"""PagerDuty Events API v2 parsing: alert events, change events and the shared JSON body decoding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.errors import BadRequest, PayloadTooLarge
from tocsin.integrations import pagerduty_v2
from tocsin.integrations._json import parse_body

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "pagerduty"
KEY = "R0123456789ABCDEF0123456789ABCDE"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def errors_of(data: object, parse: Any = pagerduty_v2.parse_event) -> list[str]:
    with pytest.raises(BadRequest) as caught:
        parse(data)
    assert caught.value.detail == "Event object is invalid"
    return caught.value.errors


def trigger(**payload: Any) -> dict[str, Any]:
    base = {"summary": "disk full", "source": "db1", "severity": "error"}
    return {"routing_key": KEY, "event_action": "trigger", "payload": {**base, **payload}}


# --- alert events -------------------------------------------------------------------------------------------


def test_trigger_with_every_field() -> None:
    event = pagerduty_v2.parse_event(sample("trigger_full"))

    assert event.action == "trigger"
    assert event.dedup_key == "srv01/HTTP"
    assert event.summary == "DISK at 99% on machine prod-datapipe03.example.com"
    assert event.severity == "critical"
    assert event.source == "prod-datapipe03.example.com"
    assert (event.component, event.group, event.class_) == ("mysql", "prod-datapipe", "disk")
    assert event.timestamp == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert event.details["load avg"] == 0.75
    assert event.details["mounts"] == ["/", "/var"]
    assert event.images == [
        {
            "src": "https://chart.example.com/disk.png",
            "href": "https://monitoring.example.com/",
            "alt": "Disk usage chart",
        }
    ]
    assert event.links == [
        {"href": "https://monitoring.example.com/hosts/prod-datapipe03", "text": "Host dashboard"},
        {"href": "https://runbooks.example.com/disk-full"},
    ]
    assert event.client == "Sample Monitoring Service"
    assert event.client_url == "https://monitoring.example.com"
    orjson.dumps(event.payload())


def test_trigger_without_dedup_key_leaves_it_to_the_service() -> None:
    event = pagerduty_v2.parse_event(sample("trigger_minimal"))

    assert event.dedup_key is None
    assert event.severity == "info"
    assert event.timestamp is None


def test_custom_details_that_are_not_an_object_are_wrapped() -> None:
    assert pagerduty_v2.parse_event(sample("trigger_minimal")).details == {"details": "disk usage is 92%"}
    assert pagerduty_v2.parse_event(trigger(custom_details=[1, 2])).details == {"details": [1, 2]}
    assert pagerduty_v2.parse_event(trigger(custom_details=None)).details == {}


@pytest.mark.parametrize(("name", "action"), [("acknowledge", "acknowledge"), ("resolve", "resolve")])
def test_acknowledge_and_resolve_need_only_the_key(name: str, action: str) -> None:
    event = pagerduty_v2.parse_event(sample(name))

    assert event.action == action
    assert event.dedup_key == "srv01/HTTP"
    assert event.summary == ""  # the payload of a resolve is ignored, as PagerDuty ignores it


def test_offset_and_naive_timestamps_become_aware_utc() -> None:
    with_offset = pagerduty_v2.parse_event(trigger(timestamp="2024-05-14T11:00:00+02:00"))
    naive = pagerduty_v2.parse_event(trigger(timestamp="2024-05-14T09:00:00"))

    assert with_offset.timestamp == naive.timestamp == datetime(2024, 5, 14, 9, tzinfo=UTC)
    assert naive.timestamp is not None
    assert naive.timestamp.tzinfo is not None


def test_missing_fields_are_all_reported() -> None:
    errors = errors_of(sample("missing_fields"))

    assert errors == [
        "'routing_key' is required",
        "'payload.summary' is required",
        "'payload.source' is required",
        "'payload.severity' is required",
    ]


def test_wrong_types_are_all_reported_by_field() -> None:
    errors = errors_of(sample("wrong_types"))

    assert errors == [
        "'routing_key' must be a string, not number",
        "'event_action' must be one of trigger, acknowledge, resolve",
        "'dedup_key' must be a string, not array",
        "'images' must be an array, not object",
        "'links[0].href' is required",
        "'links[1]' must be an object, not string",
        "'client_url' must be a string, not boolean",
    ]


def test_wrong_payload_fields_of_a_trigger_are_reported_by_field() -> None:
    data = sample("wrong_types")
    data["event_action"] = "trigger"

    errors = errors_of(data)

    assert "'payload.summary' must not be blank" in errors
    assert "'payload.source' must be a string, not number" in errors
    assert "'payload.severity' must be one of critical, error, warning, info" in errors
    assert "'payload.timestamp' must be an ISO 8601 timestamp, got 'last tuesday'" in errors
    assert "'payload.component' must be a string, not object" in errors


def test_trigger_needs_a_payload() -> None:
    data = trigger()
    del data["payload"]

    assert errors_of(data) == ["'payload' is required"]
    assert errors_of({**data, "payload": "disk full"}) == ["'payload' must be an object, not string"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("dedup_key", [None, "", "   "])
def test_acknowledge_and_resolve_need_a_dedup_key(action: str, dedup_key: str | None) -> None:
    data = {"routing_key": KEY, "event_action": action, "dedup_key": dedup_key}

    assert errors_of(data) == [f"'dedup_key' is required when 'event_action' is {action}"]


def test_summary_limit_is_pagerdutys() -> None:
    assert pagerduty_v2.parse_event(trigger(summary="x" * 1024)).summary == "x" * 1024
    assert errors_of(trigger(summary="x" * 1025)) == ["'payload.summary' must be at most 1024 characters, got 1025"]


def test_dedup_key_limit() -> None:
    assert pagerduty_v2.parse_event({**trigger(), "dedup_key": "k" * 255}).dedup_key == "k" * 255
    assert errors_of({**trigger(), "dedup_key": "k" * 256}) == ["'dedup_key' must be at most 255 characters, got 256"]


def test_routing_key_limits() -> None:
    assert errors_of({**trigger(), "routing_key": ""}) == ["'routing_key' must not be blank"]
    assert errors_of({**trigger(), "routing_key": "r" * 65}) == ["'routing_key' must be at most 64 characters, got 65"]
    assert pagerduty_v2.parse_event({**trigger(), "routing_key": "short"}).action == "trigger"


def test_event_action_is_required() -> None:
    data = trigger()
    del data["event_action"]

    assert errors_of(data) == ["'event_action' is required"]


def test_image_without_src_is_reported() -> None:
    data = {**trigger(), "images": [{"href": "https://example.com"}, 3]}

    assert errors_of(data) == ["'images[0].src' is required", "'images[1]' must be an object, not number"]


@pytest.mark.parametrize("data", [None, [], "event", 3, True])
def test_event_that_is_not_an_object(data: object) -> None:
    assert errors_of(data)[0].startswith("event must be a JSON object")


def test_routing_key_of() -> None:
    assert pagerduty_v2.routing_key_of(sample("trigger_full")) == KEY
    assert pagerduty_v2.routing_key_of({"routing_key": 3}) is None
    assert pagerduty_v2.routing_key_of({"routing_key": " "}) is None
    assert pagerduty_v2.routing_key_of({"routing_key": "r" * 65}) is None
    assert pagerduty_v2.routing_key_of(["routing_key"]) is None


# --- change events ------------------------------------------------------------------------------------------


def test_change_event() -> None:
    routing_key, change = pagerduty_v2.parse_change(sample("change"))

    assert routing_key == KEY
    assert change.summary == "Build Success: Increase snapshot create timeout to 30 seconds"
    assert change.source == "acme-build-pipeline-tool-default-i-9999"
    assert change.timestamp == datetime(2020, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert change.details == {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
    assert change.links == [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]


def test_change_event_needs_only_key_and_summary() -> None:
    routing_key, change = pagerduty_v2.parse_change({"routing_key": KEY, "payload": {"summary": "deployed v2"}})

    assert routing_key == KEY
    assert (change.summary, change.source, change.timestamp, change.details, change.links) == (
        "deployed v2",
        "",
        None,
        {},
        [],
    )


def test_change_event_problems_name_the_field() -> None:
    assert errors_of({}, pagerduty_v2.parse_change) == ["'routing_key' is required", "'payload' is required"]
    bad = {"routing_key": KEY, "payload": {"summary": 1, "timestamp": "x", "source": []}, "links": {}}
    assert errors_of(bad, pagerduty_v2.parse_change) == [
        "'payload.summary' must be a string, not number",
        "'payload.source' must be a string, not array",
        "'payload.timestamp' must be an ISO 8601 timestamp, got 'x'",
        "'links' must be an array, not object",
    ]


# --- the JSON body ------------------------------------------------------------------------------------------


def test_parse_body_decodes_an_object() -> None:
    assert parse_body((SAMPLES / "change.json").read_bytes())["routing_key"] == KEY


@pytest.mark.parametrize("raw", [b"", b"{", b"{'a': 1}", b"\xff\xfe", b'{"a": NaN}'])
def test_parse_body_rejects_invalid_json(raw: bytes) -> None:
    with pytest.raises(BadRequest, match=r"^body is not valid JSON: "):
        parse_body(raw)


@pytest.mark.parametrize(("raw", "kind"), [(b"[]", "array"), (b'"x"', "string"), (b"null", "null"), (b"1", "number")])
def test_parse_body_wants_an_object(raw: bytes, kind: str) -> None:
    with pytest.raises(BadRequest, match=f"^body must be a JSON object, not {kind}$"):
        parse_body(raw)


def test_parse_body_limits_the_size() -> None:
    raw = orjson.dumps({"pad": "x" * 600_000})
    with pytest.raises(PayloadTooLarge):
        parse_body(raw)
    assert parse_body(raw, max_bytes=1_000_000)["pad"]


# --- robustness ---------------------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
EVENT_KEYS = st.sampled_from(
    ["routing_key", "event_action", "dedup_key", "payload", "images", "links", "client", "client_url"]
)
PAYLOAD_KEYS = st.sampled_from(
    ["summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"]
)
NEAR_EVENTS = st.dictionaries(
    EVENT_KEYS,
    JSON | st.sampled_from(["trigger", "acknowledge", "resolve", KEY]) | st.dictionaries(PAYLOAD_KEYS, JSON),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(JSON | NEAR_EVENTS)
def test_parse_event_raises_only_bad_request(data: object) -> None:
    try:
        event = pagerduty_v2.parse_event(data)
    except BadRequest as exc:
        problem = exc
    else:
        orjson.dumps(event.payload())
        return
    assert problem.errors


@settings(max_examples=200, deadline=None)
@given(JSON | NEAR_EVENTS)
def test_parse_change_raises_only_bad_request(data: object) -> None:
    try:
        pagerduty_v2.parse_change(data)
    except BadRequest as exc:
        problem = exc
    else:
        return
    assert problem.errors
