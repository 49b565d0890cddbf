"""The organisation's analytics settings: read with defaults, changed by administrators with every value
checked (a window that cannot be, a negative threshold: 422)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.analytics import repository as repo
from tocsin.analytics.models import AnalyticsSettings
from tocsin.analytics.windows import Windows
from tocsin.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Settings:
    business_start: int = 8
    business_end: int = 18
    sleep_start: int = 22
    sleep_end: int = 8
    weekly_interruptions: int = 15
    weekly_sleep_interruptions: int = 3
    digest_enabled: bool = True
    digest_weekday: int = 0
    digest_hour: int = 8

    @property
    def windows(self) -> Windows:
        return Windows(self.business_start, self.business_end, self.sleep_start, self.sleep_end)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NAMES = tuple(f.name for f in fields(Settings))


def current(session: Session) -> Settings:
    row = repo.settings(session)
    if row is None:
        return Settings()
    return Settings(**{name: getattr(row, name) for name in NAMES})


def stored(session: Session) -> bool:
    """Whether the settings were ever set (else every value is the default)."""
    return repo.settings(session) is not None


def check(s: Settings) -> Settings:
    problems = []
    try:
        s.windows.check()
    except ValueError as e:
        problems.append(str(e))
    if s.weekly_interruptions < 1 or s.weekly_sleep_interruptions < 1:
        problems.append("thresholds must be at least 1")
    if not 0 <= s.digest_weekday <= 6:
        problems.append("digest_weekday is 0 (Monday) to 6 (Sunday)")
    if not 0 <= s.digest_hour <= 23:
        problems.append("digest_hour is 0 to 23")
    if problems:
        raise InvalidInput("; ".join(problems), errors=problems)
    return s


def update(session: Session, changes: dict[str, Any], *, now: datetime) -> Settings:
    unknown = sorted(set(changes) - set(NAMES))
    if unknown:
        raise InvalidInput(f"unknown settings: {', '.join(unknown)} (known: {', '.join(NAMES)})")
    new = check(replace(current(session), **changes))
    row = repo.settings(session)
    if row is None:
        row = AnalyticsSettings(id=1, updated_at=now)
        session.add(row)
    for name in NAMES:
        setattr(row, name, getattr(new, name))
    row.updated_at = now
    session.flush()
    return new
