"""What a subscription receives and when a failed delivery is tried again (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

# About 24 hours in all: quick retries for a receiver that blinked, then hours for one that is down.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
TEST_EVENT = "webhook.test"
_EVENT_TYPE = re.compile(r"^incident\.[a-z][a-z0-9_]{0,54}$")


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt; None once the schedule is spent."""
    if attempts < 1:
        raise ValueError("attempts start at 1")
    return RETRY_SCHEDULE[attempts - 1] if attempts <= len(RETRY_SCHEDULE) else None


def check_event_types(types: Sequence[str]) -> list[str]:
    """The types a subscription filters on, each ``incident.<kind>``; raises ValueError naming a bad one."""
    cleaned: list[str] = []
    for t in types:
        name = t.strip()
        if not _EVENT_TYPE.match(name):
            raise ValueError(f"event type {t!r} is not of the form incident.<kind> (for example incident.resolved)")
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def wants(
    *,
    event_types: Sequence[str],
    service_id: int | None,
    team_id: int | None,
    event_type: str,
    incident_service_id: int,
    incident_team_id: int | None,
) -> bool:
    """Whether a subscription (its filter and scope) receives an event of an incident of this service and team."""
    if event_types and event_type not in event_types:
        return False
    if service_id is not None and service_id != incident_service_id:
        return False
    return team_id is None or team_id == incident_team_id


def excerpt(text: str, limit: int = 2048) -> str:
    """At most ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
