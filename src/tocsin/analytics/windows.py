"""When an interruption falls in a person's own day (pure): business hours, off hours or sleep hours.

Times are read on the person's wall clock (``zoneinfo``), so a page at 07:30 local stays in sleep hours on both
sides of a daylight-saving change. Sleep hours win over the rest, business hours need a weekday, everything else
is off hours. A night is named by the local date on which it began: a page at 03:00 on a Tuesday belongs to
Monday's night.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Band = Literal["business", "off", "sleep"]
BANDS: Final[tuple[Band, ...]] = ("business", "off", "sleep")


@dataclass(frozen=True, slots=True)
class Windows:
    """Hours of the local day, 0 to 24; sleep may wrap midnight (22 → 8)."""

    business_start: int = 8
    business_end: int = 18
    sleep_start: int = 22
    sleep_end: int = 8

    def check(self) -> Windows:
        for name in ("business_start", "business_end", "sleep_start", "sleep_end"):
            value = getattr(self, name)
            if not 0 <= value <= 24:
                raise ValueError(f"{name} must be an hour between 0 and 24, not {value}")
        if self.business_start >= self.business_end:
            raise ValueError("business hours must start before they end")
        return self

    def in_sleep(self, hour: int) -> bool:
        if self.sleep_start == self.sleep_end:
            return False
        if self.sleep_start < self.sleep_end:
            return self.sleep_start <= hour < self.sleep_end
        return hour >= self.sleep_start or hour < self.sleep_end


def zone(name: str | None) -> ZoneInfo:
    """A person's zone; an unknown or empty name reads as UTC rather than failing a whole report."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def band(at: datetime, tz: ZoneInfo, windows: Windows) -> Band:
    local = at.astimezone(tz)
    if windows.in_sleep(local.hour):
        return "sleep"
    if local.weekday() < 5 and windows.business_start <= local.hour < windows.business_end:
        return "business"
    return "off"


def night_of(at: datetime, tz: ZoneInfo, windows: Windows) -> date:
    """The night a sleep-hours moment belongs to: the local date it began on."""
    local = at.astimezone(tz)
    if windows.sleep_start > windows.sleep_end and local.hour < windows.sleep_end:
        return local.date() - timedelta(days=1)
    return local.date()


def longest_streak(nights: Iterable[date]) -> int:
    """The most consecutive nights with at least one sleep interruption."""
    best = run = 0
    previous: date | None = None
    for night in sorted(set(nights)):
        run = run + 1 if previous is not None and night - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = night
    return best
