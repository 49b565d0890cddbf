"""Business impact (ADR 0025): what an incident's downtime costs, running while impact lasts, kept when it ends.

The cost runs from impact started (the incident's opening when that milestone is unset) to impact ended, or to
the resolution when impact ended is unset, at the service's cost per minute (or its tier's default). The total is
stored on the incident (``downtime_cost``) by the incident hooks when impact ends — the incident resolves or a
person sets impact ended — and cleared again when it reopens. Drills cost nothing: they never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.incidents import lifecycle
from tocsin.incidents.hooks import StatusChange
from tocsin.incidents.models import Incident
from tocsin.services import service as services

# The milestones that bound the cost; editing either recomputes a kept total.
BOUNDS = ("impact_started", "impact_ended")


@dataclass(frozen=True, slots=True)
class Cost:
    """The cost of an incident's downtime: ``final`` once impact ended (``amount`` is then the kept total)."""

    amount: float
    per_minute: float
    started_at: datetime
    ended_at: datetime | None
    final: bool

    @property
    def minutes(self) -> float:
        return self.amount / self.per_minute if self.per_minute else 0.0


def _ended_at(incident: Incident) -> datetime | None:
    if incident.impact_ended_at is not None:
        return incident.impact_ended_at
    return incident.resolved_at if incident.status == lifecycle.RESOLVED else None


def amount(per_minute: float, start: datetime, end: datetime) -> float:
    seconds = max((end - start).total_seconds(), 0.0)
    return round(per_minute * seconds / 60.0, 2)


def cost_of(session: Session, incident: Incident, *, now: datetime) -> Cost | None:
    """The running cost up to ``now``, or the total once impact ended; None when nothing prices the service
    (no cost of its own, none for its tier) and for drills."""
    if incident.drill:
        return None
    service = services.get_service(session, incident.service_id)
    per_minute = services.cost_per_minute(session, service)
    if per_minute is None:
        return None
    start = incident.impact_started_at or incident.created_at
    end = _ended_at(incident)
    if end is not None and incident.downtime_cost is not None:
        return Cost(incident.downtime_cost, per_minute, start, end, final=True)
    return Cost(amount(per_minute, start, end or now), per_minute, start, end, final=end is not None)


def _keep(session: Session, incident: Incident) -> None:
    end = _ended_at(incident)
    if end is None or incident.drill:
        incident.downtime_cost = None
        return
    service = services.get_service(session, incident.service_id)
    per_minute = services.cost_per_minute(session, service)
    start = incident.impact_started_at or incident.created_at
    incident.downtime_cost = None if per_minute is None else amount(per_minute, start, end)


def on_status_change(session: Session, change: StatusChange) -> None:
    """Resolving ends the impact (unless impact ended is set): the total is kept; reopening runs it again."""
    if change.target == lifecycle.RESOLVED or change.previous == lifecycle.RESOLVED:
        _keep(session, change.incident)


def on_milestone_edited(session: Session, incident: Incident, name: str, now: datetime) -> None:
    """Setting impact ended keeps the total; correcting either bound of a kept total recomputes it."""
    if name in BOUNDS:
        _keep(session, incident)
