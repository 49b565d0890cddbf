"""Milestones of an incident's response (pure): their names, which move sets each, and the order they keep.

Each milestone is set by the move that reaches it and may be corrected afterwards with a reason (the detector
noticed late; impact began before anyone looked). A correction that would put them out of order is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from tocsin.core.errors import InvalidInput
from tocsin.incidents.lifecycle import ResponseStatus

# Column of the incidents table for each milestone, in the order they are shown.
COLUMNS: Final = {
    "impact_started": "impact_started_at",
    "detected": "detected_at",
    "reported": "reported_at",
    "acknowledged": "acknowledged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
    "impact_ended": "impact_ended_at",
}
NAMES: Final = tuple(COLUMNS)

# Each pair (earlier, later) must hold whenever both are set.
ORDER: Final = (
    ("impact_started", "detected"),
    ("impact_started", "reported"),
    ("impact_started", "impact_ended"),
    ("detected", "acknowledged"),
    ("acknowledged", "mitigated"),
    ("detected", "mitigated"),
    ("mitigated", "resolved"),
    ("detected", "resolved"),
    ("acknowledged", "resolved"),
    ("resolved", "closed"),
)

# The response status whose first arrival sets a milestone (when it is not set yet).
SET_BY: Final = {
    ResponseStatus.MITIGATED: "mitigated",
    ResponseStatus.MONITORING: "mitigated",
    ResponseStatus.RESOLVED: "resolved",
    ResponseStatus.CLOSED: "closed",
}


def check_name(name: str) -> str:
    if name not in COLUMNS:
        raise InvalidInput(f"unknown milestone {name!r} (one of {', '.join(NAMES)})")
    return name


def out_of_order(times: Mapping[str, datetime | None]) -> list[str]:
    """Every pair of set milestones whose order is broken, described for the person who broke it."""
    problems = []
    for earlier, later in ORDER:
        a, b = times.get(earlier), times.get(later)
        if a is not None and b is not None and a > b:
            problems.append(
                f"{later.replace('_', ' ')} ({b:%Y-%m-%d %H:%M:%S}) is before {earlier.replace('_', ' ')} "
                f"({a:%Y-%m-%d %H:%M:%S})"
            )
    return problems
