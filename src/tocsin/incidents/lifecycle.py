"""The incident's two states and the one table of their moves.

The paging state (triggered / acknowledged / resolved) drives escalation; the response status is where the people
working the incident are. Every change of either goes through ``paging_move`` or ``response_move``, which say what
the move does to the other state and which one timeline entry records it (ADR 0020)."""

from __future__ import annotations

from dataclasses import dataclass
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


class ResponseStatus(StrEnum):
    """Where the people working an incident are; the paging state above says whether anyone is still being woken."""

    TRIAGE = "triage"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DECLINED = "declined"
    MERGED = "merged"
    CANCELED = "canceled"


RESPONSE_STATUSES: Final = tuple(ResponseStatus)
_ACTIVE: Final = (
    ResponseStatus.TRIAGE,
    ResponseStatus.INVESTIGATING,
    ResponseStatus.IDENTIFIED,
    ResponseStatus.MITIGATED,
    ResponseStatus.MONITORING,
)
# What ends the response without post-incident work: triage turned the incident down.
TRIAGE_OUTCOMES: Final = (ResponseStatus.DECLINED, ResponseStatus.MERGED, ResponseStatus.CANCELED)
ENDED: Final = (ResponseStatus.RESOLVED, ResponseStatus.CLOSED, *TRIAGE_OUTCOMES)


def _response_moves() -> dict[tuple[ResponseStatus, ResponseStatus], TimelineKind]:
    moves: dict[tuple[ResponseStatus, ResponseStatus], TimelineKind] = {}
    working = _ACTIVE[1:]
    for current in _ACTIVE:
        # Any working state may move to any other (a fix that did not hold goes back to investigating).
        for target in working:
            if target != current:
                moves[(current, target)] = TimelineKind.RESPONSE_CHANGED
        moves[(current, ResponseStatus.RESOLVED)] = TimelineKind.RESOLVED
    for outcome in TRIAGE_OUTCOMES:
        moves[(ResponseStatus.TRIAGE, outcome)] = TimelineKind.RESPONSE_CHANGED
    # Merging folds an incident into another whatever stage it reached.
    for current in working:
        moves[(current, ResponseStatus.MERGED)] = TimelineKind.RESPONSE_CHANGED
    moves[(ResponseStatus.RESOLVED, ResponseStatus.CLOSED)] = TimelineKind.RESPONSE_CHANGED
    moves[(ResponseStatus.RESOLVED, ResponseStatus.INVESTIGATING)] = TimelineKind.REOPENED
    return moves


RESPONSE_ALLOWED: Final = _response_moves()


@dataclass(frozen=True, slots=True)
class Move:
    """One move of an incident: the timeline kind it writes and where paging state and response status end up."""

    kind: TimelineKind
    status: IncidentStatus
    response: ResponseStatus

    def changes_paging(self, current: IncidentStatus) -> bool:
        return self.status != current


def paging_move(status: IncidentStatus, response: ResponseStatus, target: IncidentStatus) -> Move:
    """A change of paging state (acknowledge, resolve, page again) and what it does to the response.

    Acknowledging takes a response out of triage (someone is on it); resolving resolves the response too; paging
    again leaves the response where it is."""
    kind = transition(status, target)
    if response not in _ACTIVE and target != RESOLVED:
        raise InvalidTransition(f"the response is {response}; reopen the incident first")
    if target == ACKNOWLEDGED and response == ResponseStatus.TRIAGE:
        return Move(kind, target, ResponseStatus.INVESTIGATING)
    if target == RESOLVED and response in _ACTIVE:
        return Move(kind, target, ResponseStatus.RESOLVED)
    return Move(kind, target, response)


def response_move(status: IncidentStatus, response: ResponseStatus, target: ResponseStatus) -> Move:
    """A change of response status and what it does to paging.

    Ending the response (resolved, declined, merged, canceled) stops paging; reopening pages again; moving through
    the working states leaves paging alone, except that leaving triage by hand counts as acknowledging."""
    kind = RESPONSE_ALLOWED.get((response, target))
    if kind is None:
        if response == target:
            raise InvalidTransition(f"the response is already {response}")
        raise InvalidTransition(f"a response cannot go from {response} to {target}")
    paging = status
    if target in ENDED:
        paging = RESOLVED
    elif kind == TimelineKind.REOPENED:
        paging = TRIGGERED
    elif response == ResponseStatus.TRIAGE and status == TRIGGERED:
        paging = ACKNOWLEDGED
    return Move(kind, paging, target)


def is_active(response: str) -> bool:
    return response in _ACTIVE
