"""Uptime bars from the status history (pure): minutes per status per day, the worst status, and the percentage
that counts partial and major outages as down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.statuspages.models import ComponentStatus as S
from tocsin.statuspages.uptime import bars, worst

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_a_day_shows_its_worst_status_and_the_minutes_in_each() -> None:
    start = NOW - timedelta(days=2)
    changes = [
        (start, S.OPERATIONAL),
        (NOW - timedelta(hours=3), S.DEGRADED_PERFORMANCE),
        (NOW - timedelta(hours=2), S.MAJOR_OUTAGE),
        (NOW - timedelta(hours=1), S.OPERATIONAL),
    ]
    result = bars(changes, now=NOW)
    today = result.days[-1]
    assert today.day == NOW.date()
    assert today.worst == S.MAJOR_OUTAGE
    assert today.minutes == {S.OPERATIONAL: 600, S.DEGRADED_PERFORMANCE: 60, S.MAJOR_OUTAGE: 60}
    assert today.down_minutes == 60
    assert len(result.days) == 90
    assert not result.days[0].known, "before the component existed a day has no status"
    total = 2 * 24 * 60
    assert result.uptime_percent == round(100 * (total - 60) / total, 2)


def test_partial_outage_counts_as_down_degraded_and_maintenance_do_not() -> None:
    start = NOW - timedelta(hours=4)
    changes = [
        (start, S.PARTIAL_OUTAGE),
        (start + timedelta(hours=1), S.DEGRADED_PERFORMANCE),
        (start + timedelta(hours=2), S.UNDER_MAINTENANCE),
        (start + timedelta(hours=3), S.OPERATIONAL),
    ]
    assert bars(changes, now=NOW).uptime_percent == 75.0


def test_days_follow_the_page_time_zone() -> None:
    changes = [(NOW - timedelta(days=1), S.OPERATIONAL), (NOW - timedelta(hours=1), S.MAJOR_OUTAGE)]
    tokyo = bars(changes, now=NOW, zone="Asia/Tokyo")
    # 12:00 UTC is 21:00 in Tokyo: the outage falls on the 2nd there too, but the day started 9 hours earlier.
    assert tokyo.days[-1].day.isoformat() == "2026-11-02"
    assert tokyo.days[-1].minutes[S.OPERATIONAL] == 20 * 60
    assert bars([], now=NOW).uptime_percent is None
    assert worst([]) == S.OPERATIONAL
