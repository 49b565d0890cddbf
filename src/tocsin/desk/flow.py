"""The service request's flow and the service's desk mode (pure): one table of moves, every move through it."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from tocsin.core.errors import InvalidInput, InvalidTransition


class RequestStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    FULFILLED = "fulfilled"
    REJECTED = "rejected"
    # Ended by becoming an incident (the request links it); only ``convert`` reaches it.
    CONVERTED = "converted"


class DeskMode(StrEnum):
    """What a report on a service becomes: the reporter's choice, or always one of the two."""

    CHOICE = "choice"
    INCIDENT = "incident"
    REQUEST = "request"


class ReportKind(StrEnum):
    """The reporter's choice on the form."""

    BROKEN = "broken"  # something is broken → an incident in triage
    NEED = "need"  # I need something → a service request


NEW: Final = RequestStatus.NEW
IN_PROGRESS: Final = RequestStatus.IN_PROGRESS
FULFILLED: Final = RequestStatus.FULFILLED
REJECTED: Final = RequestStatus.REJECTED
CONVERTED: Final = RequestStatus.CONVERTED
OPEN: Final = (NEW, IN_PROGRESS)
ENDED: Final = (FULFILLED, REJECTED, CONVERTED)

# (from, to): the moves a person makes by hand. Conversion into an incident is not among them: it has its own use
# case, allowed from every open status.
ALLOWED: Final[frozenset[tuple[RequestStatus, RequestStatus]]] = frozenset(
    {
        (NEW, IN_PROGRESS),
        (NEW, REJECTED),
        (NEW, FULFILLED),
        (IN_PROGRESS, FULFILLED),
        (IN_PROGRESS, REJECTED),
        (IN_PROGRESS, NEW),
    }
)


def parse_status(value: str) -> RequestStatus:
    try:
        return RequestStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in RequestStatus)
        raise InvalidInput(f"unknown request status {value!r} (one of: {names})") from None


def move(current: RequestStatus, target: RequestStatus) -> None:
    """Refuse a move the table does not have (409, naming both ends)."""
    if (current, target) in ALLOWED:
        return
    if current == target:
        raise InvalidTransition(f"the request is already {current}")
    if target == CONVERTED:
        raise InvalidTransition("a request becomes converted only by converting it into an incident")
    raise InvalidTransition(f"a request cannot go from {current} to {target}")


def can_convert(current: RequestStatus) -> bool:
    return current in OPEN


def outcome(mode: DeskMode, choice: ReportKind | None) -> ReportKind:
    """What a report becomes: the service's rule first, then the reporter's choice (which ``choice`` requires)."""
    if mode == DeskMode.INCIDENT:
        return ReportKind.BROKEN
    if mode == DeskMode.REQUEST:
        return ReportKind.NEED
    if choice is None:
        raise InvalidInput("say whether something is broken or you need something (kind: broken or need)")
    return choice
