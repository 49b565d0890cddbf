"""The incident status table. Every status change in Tocsin goes through ``transition``."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from tocsin.core.errors import InvalidTransition
from tocsin.incidents.timeline import TimelineKind


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


TRIGGERED: Final = IncidentStatus.TRIGGERED
ACKNOWLEDGED: Final = IncidentStatus.ACKNOWLEDGED
RESOLVED: Final = IncidentStatus.RESOLVED
STATUSES: Final = tuple(IncidentStatus)
OPEN_STATUSES: Final = (TRIGGERED, ACKNOWLEDGED)

# (from, to) -> the timeline kind written for that move.
ALLOWED: Final[dict[tuple[IncidentStatus, IncidentStatus], TimelineKind]] = {
    (TRIGGERED, ACKNOWLEDGED): TimelineKind.ACKNOWLEDGED,
    (TRIGGERED, RESOLVED): TimelineKind.RESOLVED,
    (ACKNOWLEDGED, RESOLVED): TimelineKind.RESOLVED,
    # An acknowledgement that timed out, or was withdrawn, puts the incident back to paging.
    (ACKNOWLEDGED, TRIGGERED): TimelineKind.RETRIGGERED,
}


def transition(current: IncidentStatus, target: IncidentStatus) -> TimelineKind:
    """Return the timeline kind for moving ``current`` to ``target``, or raise InvalidTransition."""
    kind = ALLOWED.get((current, target))
    if kind is None:
        if current == target:
            raise InvalidTransition(f"incident is already {current}")
        raise InvalidTransition(f"an incident cannot go from {current} to {target}")
    return kind


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
