"""The documents of the domains below: incidents (title, description, resolution note), their alerts and notes,
and runbooks. The incident-bound ones are refreshed per incident by the incident events consumer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import TimelineKind
from tocsin.knowledge.models import Runbook
from tocsin.knowledge.sources import SOURCES, Document, DocumentSource


def resolution_notes(session: Session, incident_ids: Sequence[int]) -> dict[int, str]:
    """The message written when each incident was last resolved (its resolution note), where there is one."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(TimelineEntry.incident_id, TimelineEntry.message)
        .where(TimelineEntry.incident_id.in_(list(incident_ids)), TimelineEntry.kind == TimelineKind.RESOLVED)
        .where(TimelineEntry.message != "")
        .order_by(TimelineEntry.id)
    )
    return {i: m for i, m in rows.all()}


def _incident_docs(session: Session, rows: Sequence[Incident]) -> list[Document]:
    notes = resolution_notes(session, [i.id for i in rows])
    return [
        Document(
            ref_id=i.id,
            title=f"#{i.number} {i.title}",
            body="\n".join(p for p in (i.description, notes.get(i.id, "")) if p),
            url=f"/incidents/{i.number}",
            changed_at=i.updated_at,
            incident_id=i.id,
            service_id=i.service_id,
        )
        for i in rows
    ]


def load_incidents(session: Session, since: datetime | None, limit: int) -> list[Document]:
    stmt = select(Incident).order_by(Incident.updated_at, Incident.id).limit(limit)
    if since is not None:
        stmt = stmt.where(Incident.updated_at >= since)
    return _incident_docs(session, list(session.execute(stmt).scalars()))


def incidents_of(session: Session, ids: Sequence[int]) -> list[Document]:
    rows = session.execute(select(Incident).where(Incident.id.in_(list(ids)))).scalars()
    return _incident_docs(session, list(rows))


def _alert_docs(session: Session, rows: Sequence[Alert]) -> list[Document]:
    numbers = _numbers(session, [a.incident_id for a in rows if a.incident_id is not None])
    docs = []
    for a in rows:
        labels = " ".join(f"{k}={v}" for k, v in sorted((a.labels or {}).items()) if isinstance(v, str | int))
        number = numbers.get(a.incident_id) if a.incident_id is not None else None
        docs.append(
            Document(
                ref_id=a.id,
                title=a.summary,
                body=" ".join(p for p in (a.source, a.component or "", a.group or "", labels) if p),
                url=f"/incidents/{number}" if number is not None else "",
                changed_at=a.last_event_at,
                incident_id=a.incident_id,
                service_id=a.service_id,
                key=a.dedup_key,
            )
        )
    return docs


def load_alerts(session: Session, since: datetime | None, limit: int) -> list[Document]:
    stmt = select(Alert).order_by(Alert.last_event_at, Alert.id).limit(limit)
    if since is not None:
        stmt = stmt.where(Alert.last_event_at >= since)
    return _alert_docs(session, list(session.execute(stmt).scalars()))


def alerts_of(session: Session, ids: Sequence[int]) -> list[Document]:
    rows = session.execute(select(Alert).where(Alert.incident_id.in_(list(ids))).limit(5000)).scalars()
    return _alert_docs(session, list(rows))


def _note_docs(session: Session, rows: Sequence[TimelineEntry]) -> list[Document]:
    numbers = _numbers(session, [n.incident_id for n in rows])
    return [
        Document(
            ref_id=n.id,
            title=f"Note on #{numbers.get(n.incident_id, '?')}",
            body=n.message,
            url=f"/incidents/{numbers.get(n.incident_id, '')}#timeline",
            changed_at=n.at,
            incident_id=n.incident_id,
        )
        for n in rows
    ]


def load_notes(session: Session, since: datetime | None, limit: int) -> list[Document]:
    stmt = select(TimelineEntry).where(TimelineEntry.kind == TimelineKind.NOTE)
    if since is not None:
        stmt = stmt.where(TimelineEntry.at >= since)
    return _note_docs(session, list(session.execute(stmt.order_by(TimelineEntry.at).limit(limit)).scalars()))


def notes_of(session: Session, ids: Sequence[int]) -> list[Document]:
    stmt = select(TimelineEntry).where(
        TimelineEntry.incident_id.in_(list(ids)), TimelineEntry.kind == TimelineKind.NOTE
    )
    return _note_docs(session, list(session.execute(stmt.limit(5000)).scalars()))


def _numbers(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(select(Incident.id, Incident.number).where(Incident.id.in_(sorted(set(ids)))))
    return {i: n for i, n in rows.all()}


def runbook_document(book: Runbook) -> Document:
    return Document(
        ref_id=book.id, title=book.title, body=book.body, url=f"/runbooks/{book.slug}", changed_at=book.updated_at
    )


def load_runbooks(session: Session, since: datetime | None, limit: int) -> list[Document]:
    stmt = select(Runbook).order_by(Runbook.updated_at, Runbook.id).limit(limit)
    if since is not None:
        stmt = stmt.where(Runbook.updated_at >= since)
    return [runbook_document(b) for b in session.execute(stmt).scalars()]


def register() -> None:
    SOURCES.register(
        DocumentSource(
            "incident", "Incidents", load_incidents, "incident", incidents_of, ("title", "description", "resolution")
        )
    )
    SOURCES.register(DocumentSource("alert", "Alerts", load_alerts, "incident", alerts_of, ("summary", "labels")))
    SOURCES.register(DocumentSource("note", "Notes", load_notes, "incident", notes_of, ("message",)))
    SOURCES.register(DocumentSource("runbook", "Runbooks", load_runbooks, "public", None, ("title", "body")))
