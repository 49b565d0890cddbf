"""The first draft of a postmortem, filled from what the incident recorded so that nobody starts from a blank page:
its milestones, figures (time to acknowledge and to resolve, pages sent, downtime cost) and the moments of its
timeline worth keeping (the curated timeline starts with them, and the writers pick and annotate more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.incidents import milestones
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import repository as repo
from tocsin.learning.templates import FIVE_WHYS, TIMELINE, Section
from tocsin.response import impact
from tocsin.services import service as services

# The timeline entries a first curated timeline keeps (the writers add others, and notes, by hand).
KEPT: Final = frozenset(
    {
        TimelineKind.TRIGGERED,
        TimelineKind.ACKNOWLEDGED,
        TimelineKind.ESCALATED,
        TimelineKind.NOTE,
        TimelineKind.RESOLVED,
        TimelineKind.REOPENED,
        TimelineKind.MAJOR,
    }
)
MAX_PICKS: Final = 50


@dataclass(frozen=True, slots=True)
class Figures:
    started_at: datetime
    ended_at: datetime | None
    time_to_ack: timedelta | None
    time_to_resolve: timedelta | None
    pages_sent: int
    cost: float | None


def _span(delta: timedelta | None) -> str:
    if delta is None:
        return "n/a"
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _at(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else "not recorded"


def figures(session: Session, incident: Incident, *, now: datetime) -> Figures:
    started = incident.impact_started_at or incident.created_at
    ended = incident.impact_ended_at or incident.resolved_at
    cost = impact.cost_of(session, incident, now=now)
    return Figures(
        started_at=started,
        ended_at=ended,
        time_to_ack=incident.acknowledged_at - incident.created_at if incident.acknowledged_at else None,
        time_to_resolve=incident.resolved_at - incident.created_at if incident.resolved_at else None,
        pages_sent=repo.pages_sent(session, incident.id),
        cost=cost.amount if cost is not None else None,
    )


def describe(entry: TimelineEntry) -> str:
    """An entry in words: its message, or what happened and who did it (status changes carry no message)."""
    if entry.message.strip():
        return entry.message[:2000]
    what = str(entry.kind.value if hasattr(entry.kind, "value") else entry.kind).replace("_", " ").capitalize()
    return f"{what} by {entry.actor}" if entry.actor else what


def pick(entry: TimelineEntry, note: str = "") -> dict[str, Any]:
    return {"entry_id": entry.id, "at": entry.at.isoformat(), "message": describe(entry), "note": note[:2000]}


def _picks(session: Session, incident: Incident) -> list[dict[str, Any]]:
    picked = [pick(e) for e in incidents.timeline(session, incident.id) if e.kind in KEPT]
    return picked[:MAX_PICKS]


def draft(
    session: Session, incident: Incident, sections: list[Section], *, now: datetime
) -> dict[str, tuple[str, Any]]:
    """{section key: (body, data)} for every section of the template: filled where the incident says something,
    the template's hint otherwise."""
    f = figures(session, incident, now=now)
    service = services.get_service(session, incident.service_id)
    duration = f.ended_at - f.started_at if f.ended_at else None
    moments = "\n".join(
        f"- {name.replace('_', ' ').capitalize()}: {_at(getattr(incident, column))}"
        for name, column in milestones.COLUMNS.items()
        if getattr(incident, column) is not None
    )
    filled: dict[str, tuple[str, Any]] = {
        "summary": (
            f'Incident #{incident.number} "{incident.title}" on {service.name} ({incident.severity}), '
            f"from {_at(f.started_at)} to {_at(f.ended_at)}.",
            [],
        ),
        "impact": (
            f"- Duration of impact: {_span(duration)}\n"
            f"- Time to acknowledge: {_span(f.time_to_ack)}\n"
            f"- Time to resolve: {_span(f.time_to_resolve)}\n"
            f"- Pages sent: {f.pages_sent}\n"
            f"- Downtime cost: {'n/a' if f.cost is None else f'{f.cost:,.2f}'}\n"
            "- Users affected: (to fill)",
            [],
        ),
        TIMELINE: (moments or "No milestone recorded.", _picks(session, incident)),
        FIVE_WHYS: (
            "_Ask why until the answer is something we can change._",
            [{"why": f'Why did "{incident.title}" happen?', "answer": ""}],
        ),
        "detection": (
            f"Detected at {_at(incident.detected_at or incident.created_at)}; impact started at {_at(f.started_at)}.",
            [],
        ),
        "resolution": (
            f"Mitigated at {_at(incident.mitigated_at)}; resolved at {_at(incident.resolved_at)}.",
            [],
        ),
    }
    return {s.key: filled.get(s.key, (f"_{s.hint}_" if s.hint else "_To write._", [])) for s in sections}
