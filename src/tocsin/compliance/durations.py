"""Durations of regulatory deadlines, in an ISO-8601-like form (ADR 0032).

``PT4H``, ``PT90M``: elapsed time, the same number of real hours whatever the wall clock does (a DST change
inside the window neither lengthens nor shortens it). ``P3D``, ``P2W``, ``P1M``, ``P1Y``: calendar time in the
regime's time zone, the same wall-clock time that many days, weeks or months later (a month from 31 January is
the last day of February). ``P4BD``: business days, which cannot be mixed with anything else: the deadline is the
end of the Nth working day (not a weekend, not one of the regime's holidays) after the anchor's own day, in the
regime's time zone.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FORM: Final = re.compile(
    r"^P(?:(?P<years>\d{1,3})Y)?(?:(?P<months>\d{1,3})M)?(?:(?P<weeks>\d{1,3})W)?(?:(?P<days>\d{1,4})D)?"
    r"(?:(?P<business>\d{1,3})BD)?(?:T(?:(?P<hours>\d{1,5})H)?(?:(?P<minutes>\d{1,6})M)?)?$"
)
# Longer than any regime asks for; a typo of extra digits is caught rather than planned years ahead.
LONGEST: Final = timedelta(days=3 * 366)


class DurationError(ValueError):
    """Not a duration this module reads; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class Duration:
    text: str
    months: int = 0
    days: int = 0
    business_days: int = 0
    elapsed: timedelta = timedelta(0)

    def after(self, anchor: datetime, zone: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
        """The moment this long after ``anchor`` (aware), as an aware UTC datetime."""
        if self.business_days:
            day = anchor.astimezone(zone).date()
            counted = 0
            while counted < self.business_days:
                day += timedelta(days=1)
                if is_business_day(day, holidays):
                    counted += 1
            return _local(day + timedelta(days=1), time(0), zone)
        moment = anchor
        if self.months or self.days:
            local = anchor.astimezone(zone)
            shifted = add_months(local.date(), self.months) + timedelta(days=self.days)
            moment = _local(shifted, local.time().replace(tzinfo=None), zone)
        return (moment + self.elapsed).astimezone(UTC)

    @property
    def nominal(self) -> timedelta:
        """An approximate length, for ordering and bounds only."""
        return timedelta(days=self.months * 31 + self.days + self.business_days * 7 // 5 + 4) + self.elapsed


def is_business_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a DST change (fold 0) is read as the moment after the gap: UTC round trip.
    naive = datetime.combine(day, at)
    moment = naive.replace(tzinfo=zone)
    return moment.astimezone(UTC).astimezone(zone)


def parse(text: str) -> Duration:
    raw = (text or "").strip().upper()
    found = _FORM.match(raw)
    if raw in ("P", "PT") or raw.endswith("T") or found is None:
        raise DurationError(
            f"{text!r} is not a duration: write PT4H, PT30M (hours, minutes), P3D, P2W, P1M, P1Y (calendar days, "
            "weeks, months, years) or P4BD (business days)"
        )
    parts = {k: int(v) for k, v in found.groupdict().items() if v is not None}
    if not any(parts.values()):
        raise DurationError(f"{text!r} is zero: a deadline lies after its anchor")
    business = parts.pop("business", 0)
    if business and parts:
        raise DurationError(f"{text!r}: business days (BD) cannot be mixed with other units")
    duration = Duration(
        text=raw,
        months=parts.get("years", 0) * 12 + parts.get("months", 0),
        days=parts.get("weeks", 0) * 7 + parts.get("days", 0),
        business_days=business,
        elapsed=timedelta(hours=parts.get("hours", 0), minutes=parts.get("minutes", 0)),
    )
    if duration.nominal > LONGEST:
        raise DurationError(f"{text!r} is longer than three years")
    return duration


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DurationError(f"{name!r} is not a known time zone (an IANA name such as Europe/Brussels)") from None
