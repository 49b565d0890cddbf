from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notify.rules import (
    MAX_KEY_LENGTH,
    NotificationPlan,
    PlannedSend,
    Rule,
    idempotency_key,
    plan_notifications,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_sends_follow_the_rules_of_the_urgency_earliest_first() -> None:
    rules = [
        Rule("high", 7, 5 * MIN),
        Rule("low", 8, 0 * MIN),
        Rule("high", 9, 0 * MIN),
        Rule("high", 7, 15 * MIN),
    ]
    plan = plan_notifications(rules, "high", T0)
    assert plan == NotificationPlan(
        sends=(
            PlannedSend(9, T0, 2),
            PlannedSend(7, T0 + 5 * MIN, 0),
            PlannedSend(7, T0 + 15 * MIN, 3),
        ),
        fallback=None,
    )
    assert plan_notifications(rules, "low", T0) == NotificationPlan((PlannedSend(8, T0, 1),), None)


def test_identical_rules_plan_one_send() -> None:
    plan = plan_notifications([Rule("high", 7, MIN), Rule("high", 7, MIN)], "high", T0)
    assert plan.sends == (PlannedSend(7, T0 + MIN, 0),)


def test_high_urgency_without_high_rules_falls_back_to_the_users_other_rules() -> None:
    plan = plan_notifications([Rule("low", 3, 2 * MIN)], "high", T0)
    assert plan == NotificationPlan((PlannedSend(3, T0 + 2 * MIN, 0),), fallback="high_used_low_rules")


def test_low_urgency_without_low_rules_sends_nothing_but_says_so() -> None:
    plan = plan_notifications([Rule("high", 3, 0 * MIN)], "low", T0)
    assert plan == NotificationPlan((), fallback="no_low_rules")


@pytest.mark.parametrize("urgency", ["high", "low"])
def test_no_rules_at_all(urgency: str) -> None:
    assert plan_notifications([], urgency, T0) == NotificationPlan((), fallback="no_rules")  # type: ignore[arg-type]


def test_rule_and_plan_validation() -> None:
    with pytest.raises(ValueError, match="urgency"):
        Rule("urgent", 1, MIN)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay"):
        Rule("high", 1, -MIN)
    with pytest.raises(ValueError, match="contact_method_id"):
        Rule("high", -1, MIN)
    with pytest.raises(ValueError, match="urgency"):
        plan_notifications([], "medium", T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_notifications([], "high", datetime(2026, 1, 5))


def test_idempotency_key_shape() -> None:
    assert idempotency_key(12, 1, 0, 42, 7, 2) == "n1:12:1:0:7:2:u42"
    assert idempotency_key(12, 1, 0, "42", 7, 2) == idempotency_key(12, 1, 0, 42, 7, 2)
    hashed = idempotency_key(12, 1, 0, "user:with spaces", 7, 2)
    assert hashed.startswith("n1:12:1:0:7:2:h")
    assert len(hashed) == len("n1:12:1:0:7:2:h") + 64
    # Every key has exactly six separators, whatever the user id holds.
    assert idempotency_key(12, 1, 0, "team:ops", 7, 2).count(":") == 6
    top = 2**63 - 1
    biggest = idempotency_key(top, top, top, "x" * 500, top, top)
    assert len(biggest) <= MAX_KEY_LENGTH


@pytest.mark.parametrize(
    "args",
    [
        (-1, 0, 0, 1, 1, 0),
        (1, 0, 0, 1, 1, 2**63),
        (1, True, 0, 1, 1, 0),
        (1, 0, 0, "", 1, 0),
        (1, 0, 0, 1.5, 1, 0),
    ],
)
def test_idempotency_key_rejects_bad_parts(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        idempotency_key(*args)  # type: ignore[arg-type]


ids = st.integers(0, 2**63 - 1)
users = st.one_of(ids, st.text(min_size=1, max_size=80), st.from_regex(r"[a-z0-9:]{1,70}", fullmatch=True))


@given(a=st.tuples(ids, ids, ids, users, ids, ids), b=st.tuples(ids, ids, ids, users, ids, ids))
def test_idempotency_keys_are_unique_and_stable(
    a: tuple[int, int, int, int | str, int, int], b: tuple[int, int, int, int | str, int, int]
) -> None:
    key_a = idempotency_key(*a)
    assert key_a == idempotency_key(*a)
    assert len(key_a) <= MAX_KEY_LENGTH

    def same_user(x: int | str, y: int | str) -> bool:
        return str(x) == str(y)

    same = a[:3] == b[:3] and a[4:] == b[4:] and same_user(a[3], b[3])
    assert (key_a == idempotency_key(*b)) == same


def test_keys_differ_in_every_part() -> None:
    base = (12, 1, 0, 42, 7, 2)
    keys = {idempotency_key(*base)}
    for i in range(6):
        changed = list(base)
        changed[i] = 99
        keys.add(idempotency_key(*changed))
    assert len(keys) == 7
