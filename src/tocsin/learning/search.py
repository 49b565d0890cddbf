"""What search and similar incidents show of learning (ADR 0029, ADR 0030).

Search finds postmortems (every section's text, read as their incident is) and problems (title, description, root
cause, workaround); both are polled by time by the knowledge engine module, since a section saved or a problem
edited raises no incident event. Each similar past incident carries its postmortem and action items.

A problem linked to a private incident is read as that incident is, so that nobody finds through search what the
problem's own page would not show them; otherwise as its first service's team reads it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.knowledge.similar import ENRICHERS, Similar
from tocsin.knowledge.sources import SOURCES, Document, DocumentSource
from tocsin.learning import repository as repo
from tocsin.learning.models import Postmortem, PostmortemSection, Problem


def load_postmortems(session: Session, since: datetime | None, limit: int) -> list[Document]:
    changed = func.max(PostmortemSection.updated_at)
    stmt = (
        select(Postmortem, Incident.number, Incident.title, Incident.service_id, changed)
        .join(Incident, Incident.id == Postmortem.incident_id)
        .join(PostmortemSection, PostmortemSection.postmortem_id == Postmortem.id, isouter=True)
        .group_by(Postmortem.id, Incident.number, Incident.title, Incident.service_id)
    )
    if since is not None:
        stmt = stmt.having(or_(Postmortem.updated_at >= since, changed >= since))
    rows = list(session.execute(stmt.order_by(Postmortem.updated_at, Postmortem.id).limit(limit)))
    docs = []
    for pm, number, title, service_id, sections_changed in rows:
        body = "\n\n".join(s.body for s in repo.sections(session, pm.id) if s.body.strip())
        docs.append(
            Document(
                ref_id=pm.id,
                title=f"Postmortem of #{number} {title}",
                body=body,
                url=f"/incidents/{number}/postmortem",
                changed_at=max(pm.updated_at, sections_changed or pm.updated_at),
                incident_id=pm.incident_id,
                service_id=service_id,
            )
        )
    return docs


def _private_incident(session: Session, incident_ids: Sequence[int]) -> int | None:
    if not incident_ids:
        return None
    stmt = select(Incident.id).where(Incident.id.in_(list(incident_ids)), Incident.private.is_(True)).limit(1)
    return session.scalar(stmt)


def load_problems(session: Session, since: datetime | None, limit: int) -> list[Document]:
    stmt = select(Problem).order_by(Problem.updated_at, Problem.id).limit(limit)
    if since is not None:
        stmt = stmt.where(Problem.updated_at >= since)
    rows = list(session.scalars(stmt))
    links = repo.incident_ids_of_problems(session, [p.id for p in rows])
    return [
        Document(
            ref_id=p.id,
            title=f"Problem: {p.title}",
            body="\n".join(x for x in (p.description, p.root_cause, p.workaround) if x),
            url=f"/problems#problem-{p.id}",
            changed_at=p.updated_at,
            incident_id=_private_incident(session, links[p.id]),
            service_id=p.service_ids[0] if p.service_ids else None,
        )
        for p in rows
    ]


def enrich_similar(session: Session, found: Sequence[Similar]) -> dict[int, dict[str, Any]]:
    """For each similar incident: its postmortem (status and link) and its action items (done of all)."""
    ids = [s.incident_id for s in found]
    if not ids:
        return {}
    postmortems = {
        pm.incident_id: pm for pm in session.scalars(select(Postmortem).where(Postmortem.incident_id.in_(ids)))
    }
    items: dict[int, list[str]] = {}
    for item in repo.action_items_of(session, ids):
        items.setdefault(item.incident_id, []).append(item.status)
    extra: dict[int, dict[str, Any]] = {}
    for s in found:
        row: dict[str, Any] = {}
        pm = postmortems.get(s.incident_id)
        if pm is not None:
            row["postmortem"] = f"{pm.status.replace('_', ' ')} · /incidents/{s.number}/postmortem"
        statuses = items.get(s.incident_id, [])
        if statuses:
            done = sum(1 for x in statuses if x in ("done", "wont_do"))
            row["action items"] = f"{done} of {len(statuses)} closed"
        if row:
            extra[s.incident_id] = row
    return extra


def register() -> None:
    ENRICHERS.append(enrich_similar)
    SOURCES.register(DocumentSource("postmortem", "Postmortems", load_postmortems, "incident", None, ("sections",)))
    SOURCES.register(
        DocumentSource(
            "problem", "Problems", load_problems, "incident", None, ("title", "description", "root_cause", "workaround")
        )
    )
