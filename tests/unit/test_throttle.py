from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notify.throttle import DEFAULT_WINDOWS, Decision, Throttle, Window, bundle

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ALLOWED = Decision(allowed=True, retry_at=None)


def every(minutes: float, count: int, start: datetime = T0) -> list[datetime]:
    return [start + i * timedelta(minutes=minutes) for i in range(count)]


def test_defaults_are_the_goalert_sms_limits() -> None:
    assert [(w.limit, w.per) for w in DEFAULT_WINDOWS] == [
        (5, timedelta(minutes=15)),
        (11, timedelta(hours=1)),
        (21, timedelta(hours=3)),
    ]
    assert Throttle().horizon == timedelta(hours=3)


def test_fifth_send_in_fifteen_minutes_is_allowed_sixth_is_refused_until_the_oldest_ages_out() -> None:
    throttle = Throttle()
    sent = every(1, 4)  # 09:00 .. 09:03
    assert throttle.decide(sent, T0 + 4 * MIN) == ALLOWED
    sent.append(T0 + 4 * MIN)
    decision = throttle.decide(sent, T0 + 5 * MIN)
    assert decision == Decision(allowed=False, retry_at=T0 + 15 * MIN)


def test_window_edge_is_exclusive_of_a_send_exactly_one_window_ago() -> None:
    throttle = Throttle()
    sent = every(1, 5)
    assert not throttle.decide(sent, T0 + 15 * MIN - timedelta(microseconds=1)).allowed
    assert throttle.decide(sent, T0 + 15 * MIN) == ALLOWED


def test_retry_at_is_when_enough_sends_leave_not_the_very_oldest() -> None:
    throttle = Throttle([Window(2, 10 * MIN)])
    sent = [T0, T0 + MIN, T0 + 2 * MIN]  # three inside, limit two: two must age out
    assert throttle.decide(sent, T0 + 3 * MIN) == Decision(False, T0 + 11 * MIN)
    assert throttle.decide(sent, T0 + 11 * MIN) == ALLOWED


def test_hourly_window_refuses_when_the_fifteen_minute_one_has_room() -> None:
    throttle = Throttle()
    sent = every(5.5, 11)  # 11 sends over 55 minutes, never more than 3 in any 15 minutes
    now = T0 + 56 * MIN
    decision = throttle.decide(sent, now)
    assert decision == Decision(False, T0 + 60 * MIN)
    assert throttle.decide(sent, T0 + 60 * MIN) == ALLOWED


def test_three_hour_window() -> None:
    throttle = Throttle()
    sent = every(8, 21)  # 21 sends over 160 minutes; at most 8 per hour
    decision = throttle.decide(sent, T0 + 161 * MIN)
    assert decision == Decision(False, T0 + 180 * MIN)


def test_retry_at_is_the_latest_of_the_full_windows() -> None:
    throttle = Throttle([Window(1, 5 * MIN), Window(2, 30 * MIN)])
    sent = [T0, T0 + 10 * MIN]
    # Both windows are full at 09:11: the 5-minute one reopens 09:15, the 30-minute one 09:30.
    assert throttle.decide(sent, T0 + 11 * MIN) == Decision(False, T0 + 30 * MIN)


def test_unsorted_history_and_sends_from_the_future_count() -> None:
    throttle = Throttle([Window(2, 10 * MIN)])
    assert not throttle.decide([T0 + 5 * MIN, T0 - MIN], T0).allowed


def test_old_sends_do_not_count() -> None:
    assert Throttle().decide(every(1, 30, start=T0 - 5 * 60 * MIN), T0) == ALLOWED


def test_validation() -> None:
    with pytest.raises(ValueError, match="limit"):
        Window(0, MIN)
    with pytest.raises(ValueError, match="positive length"):
        Window(1, timedelta(0))
    with pytest.raises(ValueError, match="at least one window"):
        Throttle([])
    with pytest.raises(ValueError, match="timezone-aware"):
        Throttle().decide([], datetime(2026, 1, 5))


@given(
    gaps=st.lists(st.integers(0, 3600), max_size=60),
    limit=st.integers(1, 6),
    per_minutes=st.integers(1, 120),
)
def test_following_the_throttle_never_exceeds_a_window(gaps: list[int], limit: int, per_minutes: int) -> None:
    throttle = Throttle([Window(limit, timedelta(minutes=per_minutes))])
    per = timedelta(minutes=per_minutes)
    sent: list[datetime] = []
    now = T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        decision = throttle.decide(sent, now)
        if decision.allowed:
            sent.append(now)
        else:
            assert decision.retry_at is not None
            assert decision.retry_at > now
            # retry_at is exact: refused just before, allowed at it.
            assert not throttle.decide(sent, decision.retry_at - timedelta(microseconds=1)).allowed
            assert throttle.decide(sent, decision.retry_at).allowed
    for t in sent:
        assert sum(1 for u in sent if t - per < u <= t) <= limit


def test_bundle() -> None:
    assert bundle([14, 12, 13]) == "3 more incidents: #12, #13, #14"
    assert bundle([7, 7]) == "1 more incident: #7"
    assert bundle(range(1, 14), max_listed=10) == (
        "13 more incidents: #1, #2, #3, #4, #5, #6, #7, #8, #9, #10 and 3 others"
    )
    assert bundle([1, 2, 3], max_listed=2) == "3 more incidents: #1, #2 and 1 other"
    with pytest.raises(ValueError, match="at least one"):
        bundle([])
