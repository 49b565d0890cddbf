"""Uptime bars from a component's status history: pure, ``now`` is a parameter.

For each day of the window (in the page's time zone), the minutes spent in each status and the worst of them; the
uptime percentage counts the minutes in ``partial_outage`` and ``major_outage`` as down and every other status
(degraded performance and maintenance included) as up, over the minutes the component existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.statuspages.models import ComponentStatus

DAYS = 90
DOWN = frozenset({ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE})
# Worst last: a day's bar shows the worst status it saw.
SEVERITY = (
    ComponentStatus.OPERATIONAL,
    ComponentStatus.UNDER_MAINTENANCE,
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
)
_RANK = {s: i for i, s in enumerate(SEVERITY)}


def worst(statuses: Sequence[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    # Minutes in each status this day (only the statuses it saw); empty: before the component existed.
    minutes: dict[ComponentStatus, int] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return bool(self.minutes)

    @property
    def worst(self) -> ComponentStatus | None:
        return worst(list(self.minutes)) if self.minutes else None

    @property
    def down_minutes(self) -> int:
        return sum(m for s, m in self.minutes.items() if s in DOWN)


@dataclass(frozen=True, slots=True)
class Bars:
    days: list[Day]
    # None when the component has no history in the window.
    uptime_percent: float | None


def bars(
    changes: Sequence[tuple[datetime, ComponentStatus]],
    *,
    now: datetime,
    zone: str = "UTC",
    days: int = DAYS,
) -> Bars:
    """``changes``: (when, status) in time order; the first one is when the component began."""
    tz = _zone(zone)
    today = now.astimezone(tz).date()
    first_day = today - timedelta(days=days - 1)
    window_start = datetime.combine(first_day, time(0), tzinfo=tz)
    # Spans (start, end, status) from the history, clipped to [window start, now].
    spans: list[tuple[datetime, datetime, ComponentStatus]] = []
    for i, (at, status) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else now
        start = max(at, window_start)
        end = min(end, now)
        if end > start:
            spans.append((start, end, status))
    result: list[Day] = []
    total = down = 0.0
    index = 0
    for n in range(days):
        day = first_day + timedelta(days=n)
        day_start = datetime.combine(day, time(0), tzinfo=tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        seconds: dict[ComponentStatus, float] = {}
        while index < len(spans) and spans[index][1] <= day_start:
            index += 1
        j = index
        while j < len(spans) and spans[j][0] < day_end:
            start, end, status = spans[j]
            overlap = (min(end, day_end) - max(start, day_start)).total_seconds()
            if overlap > 0:
                seconds[status] = seconds.get(status, 0.0) + overlap
            j += 1
        for status, spent in seconds.items():
            total += spent
            if status in DOWN:
                down += spent
        result.append(Day(day=day, minutes={s: max(1, round(v / 60)) for s, v in seconds.items()}))
    percent = None if total <= 0 else round(100.0 * (total - down) / total, 2)
    return Bars(days=result, uptime_percent=percent)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
