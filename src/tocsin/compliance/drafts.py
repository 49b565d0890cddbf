"""Report drafts (ADR 0032): the regime's required headings in its order, each pre-filled from the incident where
Tocsin knows the answer (times, impact, services, actions from the timeline), the rest left for a person to
write. Rendered as Markdown and JSON here; the console prints the same sections as HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.compliance.clocks import Clock
from tocsin.compliance.models import Classification, Regime
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import TimelineKind
from tocsin.services import service as services

TO_WRITE: Final = "(to be written)"
# What a responder did, as the timeline records it; the engine's paging and reminders are not actions taken.
ACTIONS: Final = frozenset(
    {
        TimelineKind.NOTE,
        TimelineKind.ACKNOWLEDGED,
        TimelineKind.RESOLVED,
        TimelineKind.STAKEHOLDER_UPDATE,
        TimelineKind.STATUS_PAGE_UPDATE,
        TimelineKind.CLOCK_SUBMITTED,
    }
)
MAX_ACTIONS: Final = 200


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    fill: str
    lines: list[str]


@dataclass(frozen=True, slots=True)
class Draft:
    regime: str
    regime_name: str
    incident_number: int
    title: str
    sections: list[Section]
    deadlines: list[dict[str, Any]]


def _t(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


def build(session: Session, incident: Incident, regime: Regime, row: Classification, clocks: list[Clock]) -> Draft:
    service_ids = [incident.service_id, *incidents.affected_services(session, incident.id)]
    names = {s.id: s.name for s in services.list_services(session, include_archived=True)}
    entries = [e for e in incidents.timeline(session, incident.id) if e.kind in ACTIONS][:MAX_ACTIONS]
    fills: dict[str, list[str]] = {
        "summary": [f"{incident.title} (incident #{incident.number}, {incident.severity})"]
        + ([incident.description.strip()] if incident.description.strip() else []),
        "times": [
            f"Impact started: {_t(incident.impact_started_at)}",
            f"Detected: {_t(row.detected_at)}",
            f"Aware: {_t(row.awareness_at)}",
            f"Classified: {_t(row.classified_at)}",
            f"Determined: {_t(row.determined_at)}",
            f"Mitigated: {_t(incident.mitigated_at)}",
            f"Impact ended: {_t(incident.impact_ended_at)}",
            f"Resolved: {_t(incident.resolved_at)}",
        ],
        "impact": [
            f"Severity {incident.severity}, priority {incident.priority}, status {incident.status.value}",
            *([f"Cost of downtime: {incident.downtime_cost:.2f}"] if incident.downtime_cost is not None else []),
        ],
        "services": [names.get(i, f"service {i}") for i in dict.fromkeys(service_ids)],
        "actions": [f"{_t(e.at)} — {e.message}" for e in entries] or [TO_WRITE],
        "contact": [f"Classified by {row.classified_by or '—'}", TO_WRITE],
    }
    sections = [
        Section(title=h["title"], fill=h.get("fill", ""), lines=fills.get(h.get("fill", ""), [TO_WRITE]))
        for h in regime.headings
    ]
    deadlines = [
        {"key": c.key, "title": c.title, "due_at": c.due_at, "status": c.status, "submitted_at": c.submitted_at}
        for c in clocks
    ]
    return Draft(
        regime=regime.key,
        regime_name=regime.name,
        incident_number=incident.number,
        title=f"{regime.name}: incident #{incident.number} — {incident.title}",
        sections=sections,
        deadlines=deadlines,
    )


def as_json(draft: Draft) -> dict[str, Any]:
    return {
        "regime": draft.regime,
        "regime_name": draft.regime_name,
        "incident": draft.incident_number,
        "title": draft.title,
        "deadlines": [
            {
                **d,
                "due_at": d["due_at"].isoformat() if d["due_at"] else None,
                "submitted_at": d["submitted_at"].isoformat() if d["submitted_at"] else None,
            }
            for d in draft.deadlines
        ],
        "sections": [{"title": s.title, "fill": s.fill, "lines": s.lines} for s in draft.sections],
    }


def as_markdown(draft: Draft) -> str:
    out = [f"# {draft.title}", ""]
    out += ["| Deadline | Due | Status |", "|---|---|---|"]
    out += [f"| {d['title']} | {_t(d['due_at'])} | {d['status']} |" for d in draft.deadlines]
    for section in draft.sections:
        out += ["", f"## {section.title}", ""]
        out += [f"- {line}" for line in section.lines]
    return "\n".join(out) + "\n"
