"""The clocks of one classification: each deadline's due time from its rules (the earliest wins among the rules
whose anchor has happened), and where it stands — waiting for its anchor, running, overdue, met or met late.
Pure: the caller passes the moments and the submissions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tocsin.compliance.regimes import SUBMISSION, Deadline, Point


@dataclass(frozen=True, slots=True)
class Sent:
    deadline_key: str
    submitted_at: datetime
    late: bool


@dataclass(frozen=True, slots=True)
class Clock:
    key: str
    title: str
    # None while no anchor of its rules has happened (a report that waits for the one before it).
    due_at: datetime | None
    started_at: datetime | None
    anchor: str
    status: str  # waiting, running, overdue, met, late
    submitted_at: datetime | None

    def remaining(self, now: datetime) -> float | None:
        return None if self.due_at is None else (self.due_at - now).total_seconds()


def compute(
    deadlines: Sequence[Deadline],
    moments: Mapping[str, datetime | None],
    sent: Sequence[Sent],
    *,
    zone: ZoneInfo,
    holidays: Collection[date],
    now: datetime,
) -> list[Clock]:
    latest: dict[str, Sent] = {}
    for s in sorted(sent, key=lambda s: s.submitted_at):
        latest[s.deadline_key] = s
    clocks = []
    for deadline in deadlines:
        candidates = []
        for rule in deadline.rules:
            if rule.anchor.startswith(SUBMISSION):
                prior = latest.get(rule.anchor[len(SUBMISSION) :])
                start = prior.submitted_at if prior else None
            else:
                start = moments.get(rule.anchor)
            if start is not None:
                candidates.append((rule.after.after(start, zone, holidays), start, rule.anchor))
        done = latest.get(deadline.key)
        if not candidates:
            due, started, anchor = None, None, " or ".join(r.anchor for r in deadline.rules)
        else:
            due, started, anchor = min(candidates)
        if done is not None:
            status = "late" if done.late else "met"
        elif due is None:
            status = "waiting"
        else:
            status = "overdue" if due <= now else "running"
        clocks.append(
            Clock(
                key=deadline.key,
                title=deadline.title,
                due_at=due,
                started_at=started,
                anchor=anchor,
                status=status,
                submitted_at=done.submitted_at if done else None,
            )
        )
    return clocks


def point_time(clock: Clock, point: Point) -> datetime | None:
    """When a reminder point of a running clock comes due."""
    if clock.due_at is None or clock.started_at is None:
        return None
    if point.percent is not None:
        return clock.started_at + (clock.due_at - clock.started_at) * point.percent / 100
    if point.before is not None:
        # Days before a deadline count as 24 hours each: a reminder is about time left, not the calendar.
        return clock.due_at - point.before.elapsed - timedelta(days=point.before.days)
    return clock.due_at
