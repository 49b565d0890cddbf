"""Silences and recurring maintenance windows (pure).

A silence mutes alerts matching all its matchers between ``starts_at`` and ``ends_at``. A maintenance window is
a silence of one service that recurs: an iCalendar RRULE gives the start of each occurrence, which lasts
``duration``; ``ends_at`` (optional) ends the series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.rrule import rrule, rrulestr

from tocsin.alerts.rules.matchers import EventView, Matcher, RuleError, all_match


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime | None
    service_id: int | None = None
    recurrence: str | None = None
    duration: timedelta | None = None
    _rule: rrule | None = field(default=None, compare=False, repr=False)

    def window_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence covering ``now`` as (start, end), or None."""
        if now < self.starts_at or (self.ends_at is not None and now >= self.ends_at):
            return None
        if self._rule is None:
            return (self.starts_at, self.ends_at) if self.ends_at is not None else None
        assert self.duration is not None
        start = self._rule.before(now, inc=True)
        if start is None or now >= start + self.duration:
            return None
        end = start + self.duration
        return start, end if self.ends_at is None else min(end, self.ends_at)

    def covers(self, view: EventView, service_id: int, now: datetime) -> bool:
        if self.service_id is not None and self.service_id != service_id:
            return False
        return self.window_at(now) is not None and all_match(self.matchers, view)


def make_silence(
    *,
    id: int,
    matchers: tuple[Matcher, ...],
    starts_at: datetime,
    ends_at: datetime | None,
    service_id: int | None = None,
    recurrence: str | None = None,
    duration: timedelta | None = None,
) -> Silence:
    if recurrence is None:
        if ends_at is None:
            raise RuleError("a silence needs an end")
        if ends_at <= starts_at:
            raise RuleError("a silence must end after it starts")
        if not matchers and service_id is None:
            raise RuleError("a silence needs at least one matcher (or a service)")
        return Silence(id=id, matchers=matchers, starts_at=starts_at, ends_at=ends_at, service_id=service_id)
    if duration is None or duration <= timedelta(0):
        raise RuleError("a recurring maintenance window needs a positive duration")
    return Silence(
        id=id,
        matchers=matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        service_id=service_id,
        recurrence=recurrence,
        duration=duration,
        _rule=parse_rrule(recurrence, starts_at),
    )


def parse_rrule(text: str, start: datetime) -> rrule:
    body = text.strip().removeprefix("RRULE:")
    try:
        parsed = rrulestr(body, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise RuleError(f"not an iCalendar RRULE: {text!r} ({exc})") from None
    if not isinstance(parsed, rrule):
        raise RuleError(f"not a single iCalendar RRULE: {text!r}")
    return parsed


def first_covering(silences: Sequence[Silence], view: EventView, service_id: int, now: datetime) -> Silence | None:
    for silence in silences:
        if silence.covers(view, service_id, now):
            return silence
    return None
