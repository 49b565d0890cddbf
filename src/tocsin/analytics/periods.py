"""Reading a report's period, grouping and bucket from what a person typed (pure); bad input is InvalidInput."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from tocsin.core.errors import InvalidInput

GROUPS: Final = ("service", "team", "type", "severity", "priority", "category")
Bucket = Literal["week", "month"]
BUCKETS: Final[tuple[Bucket, ...]] = ("week", "month")
# A report over more than this is refused rather than left to run for minutes.
LONGEST: Final = timedelta(days=731)

_RELATIVE = re.compile(r"^(\d{1,4})([hdw])$", re.ASCII)
# A "+01:00" offset pasted unencoded into a URL arrives as " 01:00".
_LOST_PLUS = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+) (\d\d:?\d\d)$")
_UNITS: Final = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400


def moment(value: str, *, now: datetime, field: str) -> datetime:
    """``30d``, ``12h``, ``2w`` before now, or an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2)]
    text = _LOST_PLUS.sub(r"\1+\2", text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is neither a duration like 30d nor an ISO 8601 date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def period(since: str | None, until: str | None, *, now: datetime, default: timedelta = timedelta(days=30)) -> Period:
    end = moment(until, now=now, field="until") if until else now
    start = moment(since, now=now, field="since") if since else end - default
    if end <= start:
        raise InvalidInput(f"until ({end:%Y-%m-%d %H:%M}) must come after since ({start:%Y-%m-%d %H:%M})")
    if end - start > LONGEST:
        raise InvalidInput("a report covers at most two years")
    return Period(start, end)


def group_by(value: str | None) -> str | None:
    if value is None or value == "" or value == "none":
        return None
    if value not in GROUPS:
        raise InvalidInput(f"unknown group-by field {value!r} (one of {', '.join(GROUPS)})")
    return value


def bucket(value: str | None) -> Bucket:
    if value is None or value == "":
        return "week"
    if value not in BUCKETS:
        raise InvalidInput(f"unknown bucket {value!r} (week or month)")
    return "week" if value == "week" else "month"


def bucket_start(at: datetime, size: Bucket) -> datetime:
    """The UTC Monday (week) or first of the month (month) an instant falls in."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if size == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def buckets(p: Period, size: Bucket) -> list[datetime]:
    """Every bucket the period touches, oldest first (empty ones too: a chart shows the gaps)."""
    found = []
    at = bucket_start(p.since, size)
    while at < p.until:
        found.append(at)
        if size == "week":
            at += timedelta(days=7)
        else:
            at = at.replace(year=at.year + 1, month=1) if at.month == 12 else at.replace(month=at.month + 1)
    return found
