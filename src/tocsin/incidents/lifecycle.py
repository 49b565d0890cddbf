"""The incident status table. Every status change in Tocsin goes through ``transition``."""

from __future__ import annotations

from typing import Final

from tocsin.core.errors import InvalidTransition

TRIGGERED: Final = "triggered"
ACKNOWLEDGED: Final = "acknowledged"
RESOLVED: Final = "resolved"
STATUSES: Final = (TRIGGERED, ACKNOWLEDGED, RESOLVED)
OPEN_STATUSES: Final = (TRIGGERED, ACKNOWLEDGED)

# (from, to) -> the timeline kind written for that move.
ALLOWED: Final[dict[tuple[str, str], str]] = {
    (TRIGGERED, ACKNOWLEDGED): "acknowledged",
    (TRIGGERED, RESOLVED): "resolved",
    (ACKNOWLEDGED, RESOLVED): "resolved",
    # An acknowledgement that timed out, or was withdrawn, puts the incident back to paging.
    (ACKNOWLEDGED, TRIGGERED): "retriggered",
}


def transition(current: str, target: str) -> str:
    """Return the timeline kind for moving ``current`` to ``target``, or raise InvalidTransition."""
    kind = ALLOWED.get((current, target))
    if kind is None:
        if current == target:
            raise InvalidTransition(f"incident is already {current}")
        raise InvalidTransition(f"an incident cannot go from {current} to {target}")
    return kind


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES
