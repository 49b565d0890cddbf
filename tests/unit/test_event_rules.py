"""The pure parts of incident events and webhook subscriptions: event types and changed fields, consumer back-off,
the webhook retry schedule, subscription filters and excerpts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.events.registry import Consumer, ConsumerRegistry, idempotency_key
from tocsin.events.retry import consumer_retry_delay
from tocsin.events.rows import changes_of, event_type
from tocsin.incidents import lifecycle
from tocsin.webhooks.rules import RETRY_SCHEDULE, check_event_types, excerpt, retry_delay, wants

STATUS_AFTER = {kind: target for (_current, target), kind in lifecycle.ALLOWED.items()}


def test_an_event_type_is_the_timeline_kind_under_incident() -> None:
    assert event_type("acknowledged") == "incident.acknowledged"
    assert event_type("notify_sent") == "incident.notify_sent"


def test_changed_fields_are_old_and_new_pairs() -> None:
    updated = {"changes": {"severity": {"from": "SEV3", "to": "SEV1"}, "title": {"from": "a", "to": "b"}}}
    assert changes_of("updated", updated, STATUS_AFTER) == {"severity": ["SEV3", "SEV1"], "title": ["a", "b"]}
    assert changes_of("resolved", {"previous": "acknowledged"}, STATUS_AFTER) == {
        "status": ["acknowledged", "resolved"]
    }
    assert changes_of("retriggered", {"previous": "acknowledged"}, STATUS_AFTER) == {
        "status": ["acknowledged", "triggered"]
    }
    assert changes_of("reassigned", {"previous": None, "to": 7}, STATUS_AFTER) == {"assigned_user_id": [None, 7]}
    assert changes_of("reassigned", {"policy": 3}, STATUS_AFTER) == {"escalation_policy_id": [None, 3]}
    assert changes_of("note", {}, STATUS_AFTER) == {}
    assert changes_of("notify_sent", {"notification": 4}, STATUS_AFTER) == {}


def test_consumer_back_off_doubles_up_to_five_minutes() -> None:
    assert [consumer_retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert consumer_retry_delay(30) == timedelta(minutes=5)


def test_the_registry_refuses_a_name_twice_and_keys_are_per_consumer() -> None:
    registry = ConsumerRegistry([Consumer("a", lambda *_: None)])
    with pytest.raises(ValueError, match="twice"):
        registry.register(Consumer("a", lambda *_: None))
    with pytest.raises(ValueError, match="name"):
        registry.register(Consumer("", lambda *_: None))
    assert idempotency_key("webhooks", 42) == "webhooks.42"
    assert idempotency_key("a", 42) != idempotency_key("b", 42)


def test_webhook_retries_last_about_a_day_then_stop() -> None:
    assert [retry_delay(n) for n in range(1, 11)] == list(RETRY_SCHEDULE)
    assert retry_delay(1) == timedelta(seconds=5)
    assert retry_delay(11) is None
    total = sum(RETRY_SCHEDULE, timedelta())
    assert timedelta(hours=23) <= total <= timedelta(hours=25)
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    with pytest.raises(ValueError, match="attempts"):
        retry_delay(0)


def test_event_type_filters_are_checked_and_named_when_wrong() -> None:
    assert check_event_types([" incident.resolved", "incident.resolved", "incident.note"]) == [
        "incident.resolved",
        "incident.note",
    ]
    with pytest.raises(ValueError, match="'resolved'"):
        check_event_types(["resolved"])
    with pytest.raises(ValueError, match=r"incident\.<kind>"):
        check_event_types(["incident.Resolved!"])


@pytest.mark.parametrize(
    ("types", "service_id", "team_id", "expected"),
    [
        ([], None, None, True),
        (["incident.resolved"], None, None, False),
        (["incident.triggered"], None, None, True),
        ([], 1, None, True),
        ([], 2, None, False),
        ([], None, 10, True),
        ([], None, 11, False),
        (["incident.triggered"], 1, None, True),
    ],
)
def test_a_subscription_wants_its_scope_and_types(
    types: list[str], service_id: int | None, team_id: int | None, expected: bool
) -> None:
    got = wants(
        event_types=types,
        service_id=service_id,
        team_id=team_id,
        event_type="incident.triggered",
        incident_service_id=1,
        incident_team_id=10,
    )
    assert got is expected


def test_excerpts_are_bounded_and_marked_when_cut() -> None:
    assert excerpt("short") == "short"
    cut = excerpt("x" * 5000)
    assert len(cut) == 2048
    assert cut.endswith("…")
