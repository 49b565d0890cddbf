"""The generic JSON and form format for scripts and cron jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.errors import BadRequest
from tocsin.integrations import generic

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "generic"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def errors_of(data: object) -> list[str]:
    with pytest.raises(BadRequest) as caught:
        generic.parse(data)
    assert caught.value.detail == "Event is invalid"
    return caught.value.errors


def test_trigger_with_every_field() -> None:
    event = generic.parse(sample("trigger"))

    assert event.action == "trigger"
    assert event.summary == "Nightly backup of db1 failed"
    assert event.severity == "critical"
    assert event.dedup_key == "backup-db1"
    assert event.source == "db1.example.com"
    assert event.timestamp == datetime(2024, 5, 14, 2, 0, 13, tzinfo=UTC)
    assert event.details == {"exit_code": 2, "log": "/var/log/backup/db1.log"}
    assert event.links == [
        {"href": "https://ci.example.com/jobs/backup/1234"},
        {"href": "https://runbooks.example.com/backup", "text": "Runbook"},
    ]
    orjson.dumps(event.payload())


def test_defaults() -> None:
    event = generic.parse({"summary": "cron job late"})

    assert (event.action, event.severity, event.dedup_key, event.source) == ("trigger", "error", None, "")
    assert (event.details, event.links, event.timestamp) == ({}, [], None)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("trigger", "trigger"),
        ("acknowledge", "acknowledge"),
        ("ack", "acknowledge"),
        ("resolve", "resolve"),
        ("resolved", "resolve"),
        ("ok", "resolve"),
        ("OK", "resolve"),
    ],
)
def test_action_aliases(action: str, expected: str) -> None:
    assert generic.parse({"summary": "s", "action": action, "dedup_key": "k"}).action == expected


def test_resolve_needs_only_the_key() -> None:
    event = generic.parse(sample("resolve"))

    assert (event.action, event.dedup_key, event.summary) == ("resolve", "backup-db1", "")


@pytest.mark.parametrize("action", ["resolve", "ack"])
def test_acknowledge_and_resolve_need_a_key(action: str) -> None:
    assert errors_of({"action": action})[0].startswith("'dedup_key' is required when 'action' is")


def test_trigger_needs_a_summary() -> None:
    assert errors_of({}) == ["'summary' is required"]
    assert errors_of({"summary": "  "}) == ["'summary' must not be blank"]


def test_long_fields_are_cut() -> None:
    event = generic.parse({"summary": "s" * 2000, "source": "h" * 300})

    assert (len(event.summary), len(event.source)) == (1024, 255)


def test_details_that_are_not_an_object_are_wrapped() -> None:
    assert generic.parse({"summary": "s", "details": "tail of the log"}).details == {"details": "tail of the log"}


def test_unknown_fields_are_ignored() -> None:
    assert generic.parse({"summary": "s", "host_group": "db"}).summary == "s"


def test_wrong_types_are_all_reported_by_field() -> None:
    assert errors_of(sample("wrong_types")) == [
        "'action' must be one of trigger, acknowledge, resolve (or resolved, ok, ack)",
        "'dedup_key' must be a string, not number",
        "'summary' is required",
        "'severity' must be one of critical, error, warning, info",
        "'source' must be a string, not array",
        "'timestamp' must be an ISO 8601 timestamp, got 'soon'",
        "'links' must be an array, not string",
    ]


def test_bad_link_items_are_reported() -> None:
    assert errors_of({"summary": "s", "links": ["", {"text": "x"}, 3]}) == [
        "'links[0]' must not be blank",
        "'links[1].href' is required",
        "'links[2]' must be an object, not number",
    ]


def test_oversized_dedup_key_is_refused() -> None:
    assert errors_of({"summary": "s", "dedup_key": "k" * 256}) == [
        "'dedup_key' must be at most 255 characters, got 256"
    ]


@pytest.mark.parametrize("data", [None, ["summary"], "summary"])
def test_event_that_is_not_an_object(data: object) -> None:
    assert errors_of(data)[0].startswith("event must be a JSON object")


# --- form posts ---------------------------------------------------------------------------------------------


def test_form_post() -> None:
    event = generic.parse_form(
        {
            "summary": "Backup failed",
            "severity": "warning",
            "dedup_key": "backup-db1",
            "source": "db1",
            "details.host": "db1",
            "details.exit_code": "2",
            "link": "https://ci.example.com/jobs/1",
            "link_text": "CI job",
        }
    )

    assert (event.summary, event.severity, event.dedup_key, event.source) == (
        "Backup failed",
        "warning",
        "backup-db1",
        "db1",
    )
    assert event.details == {"host": "db1", "exit_code": "2"}
    assert event.links == [{"href": "https://ci.example.com/jobs/1", "text": "CI job"}]


def test_form_post_empty_values_count_as_absent() -> None:
    event = generic.parse_form({"summary": "late", "severity": "", "dedup_key": "", "details.note": ""})

    assert (event.severity, event.dedup_key, event.details) == ("error", None, {})


def test_form_post_resolve_and_plain_details() -> None:
    event = generic.parse_form({"action": "resolved", "dedup_key": "k", "details": "all good now"})

    assert (event.action, event.details) == ("resolve", {"details": "all good now"})


def test_form_post_errors_name_the_field() -> None:
    with pytest.raises(BadRequest) as caught:
        generic.parse_form({"severity": "loud"})

    assert caught.value.errors == [
        "'summary' is required",
        "'severity' must be one of critical, error, warning, info",
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["summary", "severity", "action", "dedup_key", "source", "timestamp", "details", "links"])


@settings(max_examples=200, deadline=None)
@given(JSON | st.dictionaries(KEYS, JSON))
def test_parse_raises_only_bad_request(data: object) -> None:
    try:
        event = generic.parse(data)
    except BadRequest as exc:
        problem = exc
    else:
        orjson.dumps(event.payload())
        return
    assert problem.errors


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["summary", "severity", "action", "details.x", "link", "details"]) | st.text(),
        st.text(),
    )
)
def test_parse_form_raises_only_bad_request(fields: dict[str, str]) -> None:
    try:
        generic.parse_form(fields)
    except BadRequest as exc:
        problem = exc
    else:
        return
    assert problem.errors
