"""On-call health per person and team: hours on call, pages, incidents handled, interruptions by band of the
person's own day, nights broken, fairness across the team, and warnings past the organisation's thresholds.

An interruption is an incident paging a person: its first page to them (several pages about one incident wake
a person once). It falls in the band of the person's local time when that first page went out.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.analytics import repository as repo
from tocsin.analytics import windows as bands
from tocsin.analytics.periods import Period
from tocsin.analytics.settings import Settings, current
from tocsin.oncall import service as oncall
from tocsin.users import repository as user_repo

DEFINITIONS: Final = {
    "hours_on_call": "Hours the person was on call in any schedule (layers, restrictions and overrides applied), "
    "overlaps counted once.",
    "pages": "Pages sent to the person (every message of every escalation step, any channel).",
    "interruptions": "Incidents that paged the person, placed at their first page in the person's own time zone: "
    "business hours (Mon-Fri in the business window), sleep hours (the sleep window, every day) or off hours "
    "(the rest: evenings and weekends).",
    "incidents_handled": "Counted incidents created in the period that the person owns.",
    "sleep_nights": "Nights with at least one sleep-hours interruption; a night is named by the evening it began.",
    "longest_streak": "Most consecutive nights with a sleep interruption.",
    "warning": "Interruptions per week (or sleep interruptions per week) above the organisation's threshold.",
}


@dataclass(slots=True)
class PersonHealth:
    user_id: int
    name: str
    timezone: str
    hours_on_call: float = 0.0
    pages: int = 0
    interruptions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(bands.BANDS, 0))
    incidents_handled: int = 0
    sleep_nights: list[date] = field(default_factory=list)
    longest_streak: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def total_interruptions(self) -> int:
        return sum(self.interruptions.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "timezone": self.timezone,
            "hours_on_call": round(self.hours_on_call, 2),
            "pages": self.pages,
            "interruptions": {**self.interruptions, "total": self.total_interruptions},
            "incidents_handled": self.incidents_handled,
            "sleep_nights": len(self.sleep_nights),
            "longest_streak": self.longest_streak,
            "warnings": self.warnings,
        }


def hours_on_call(session: Session, user_ids: Iterable[int], p: Period) -> dict[int, float]:
    """Per person, hours on call in any live schedule over the period; overlapping shifts count once."""
    user_ids = list(user_ids)
    wanted = {str(u) for u in user_ids}
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for schedule_id in sorted(repo.schedules_naming(session, user_ids, p.since, p.until)):
        for shift in oncall.shifts(session, schedule_id, p.since, p.until):
            if shift.user in wanted:
                spans[shift.user].append((shift.start, shift.end))
    return {int(user): _merged_hours(found) for user, found in spans.items()}


def _merged_hours(spans: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    end: datetime | None = None
    start: datetime | None = None
    for a, b in sorted(spans):
        if end is None or start is None or a > end:
            if end is not None and start is not None:
                total += (end - start).total_seconds()
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None and start is not None:
        total += (end - start).total_seconds()
    return total / 3600.0


def people(session: Session, user_ids: Sequence[int], p: Period, *, s: Settings | None = None) -> list[PersonHealth]:
    """Health of each of these people over the period, most interrupted first."""
    s = s or current(session)
    w = s.windows
    users = {u.id: u for u in user_repo.all_users(session) if u.id in set(user_ids)}
    found = {uid: PersonHealth(uid, u.name, u.timezone or "UTC") for uid, u in users.items()}
    for uid, hours in hours_on_call(session, found, p).items():
        found[uid].hours_on_call = hours
    for uid, n in repo.handled_counts(session, found, p.since, p.until).items():
        found[uid].incidents_handled = n
    nights: dict[int, set[date]] = defaultdict(set)
    for page in repo.first_pages(session, found, p.since, p.until):
        person = found[page.user_id]
        person.pages += int(page.pages)
        at = datetime.fromtimestamp(float(page.at), UTC)
        tz = bands.zone(person.timezone)
        band = bands.band(at, tz, w)
        person.interruptions[band] += 1
        if band == "sleep":
            nights[page.user_id].add(bands.night_of(at, tz, w))
    weeks = max(p.days / 7.0, 1.0)
    for uid, person in found.items():
        person.sleep_nights = sorted(nights[uid])
        person.longest_streak = bands.longest_streak(person.sleep_nights)
        if person.total_interruptions / weeks > s.weekly_interruptions:
            person.warnings.append(
                f"{person.total_interruptions / weeks:.1f} interruptions a week (threshold {s.weekly_interruptions})"
            )
        if person.interruptions["sleep"] / weeks > s.weekly_sleep_interruptions:
            person.warnings.append(
                f"{person.interruptions['sleep'] / weeks:.1f} sleep interruptions a week "
                f"(threshold {s.weekly_sleep_interruptions})"
            )
    return sorted(found.values(), key=lambda h: (-h.total_interruptions, -h.hours_on_call, h.name))


def fairness(found: Sequence[PersonHealth]) -> dict[str, Any]:
    """How evenly the load falls: spread of interruptions and hours, the most and least loaded person."""
    if not found:
        return {"people": 0}
    loads = [h.total_interruptions for h in found]
    hours = [h.hours_on_call for h in found]
    mean = statistics.fmean(loads)
    most = max(found, key=lambda h: (h.total_interruptions, h.hours_on_call))
    least = min(found, key=lambda h: (h.total_interruptions, h.hours_on_call))
    return {
        "people": len(found),
        "interruptions": {
            "mean": round(mean, 2),
            "stdev": round(statistics.pstdev(loads), 2),
            "min": min(loads),
            "max": max(loads),
            # 1.0 is perfectly even; 2.0 means the most loaded carries twice the average.
            "max_over_mean": round(max(loads) / mean, 2) if mean else None,
        },
        "hours_on_call": {"min": round(min(hours), 2), "max": round(max(hours), 2)},
        "most_loaded": {"user_id": most.user_id, "name": most.name, "interruptions": most.total_interruptions},
        "least_loaded": {"user_id": least.user_id, "name": least.name, "interruptions": least.total_interruptions},
    }


def report(session: Session, user_ids: Sequence[int], p: Period) -> dict[str, Any]:
    s = current(session)
    found = people(session, user_ids, p, s=s)
    return {
        "since": p.since.isoformat(),
        "until": p.until.isoformat(),
        "windows": {k: v for k, v in s.as_dict().items() if not k.startswith("digest")},
        "definitions": DEFINITIONS,
        "people": [h.as_dict() for h in found],
        "fairness": fairness(found),
    }
