"""Queries for regimes, classifications, submissions and reminders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from tocsin.compliance.models import Classification, Regime, Reminder, Submission
from tocsin.incidents.models import Incident


@dataclass(frozen=True, slots=True)
class IncidentRef:
    id: int
    number: int
    title: str
    private: bool
    drill: bool

    @classmethod
    def of(cls, incident: Incident) -> IncidentRef:
        return cls(incident.id, incident.number, incident.title, incident.private, incident.drill)


def regimes(session: Session) -> list[Regime]:
    return list(session.scalars(select(Regime).order_by(Regime.key)))


def regime(session: Session, ref: int | str) -> Regime | None:
    if isinstance(ref, int):
        return session.get(Regime, ref)
    return session.scalars(select(Regime).where(Regime.key == ref)).one_or_none()


def classifications_of(session: Session, incident_id: int) -> list[Classification]:
    stmt = select(Classification).where(Classification.incident_id == incident_id).order_by(Classification.id)
    return list(session.scalars(stmt))


def classification(session: Session, incident_id: int, regime_id: int) -> Classification | None:
    stmt = select(Classification).where(
        Classification.incident_id == incident_id, Classification.regime_id == regime_id
    )
    return session.scalars(stmt).one_or_none()


def running(
    session: Session, *, visible: ColumnElement[bool] | None = None, limit: int = 1000
) -> list[tuple[Classification, IncidentRef]]:
    """Classifications whose clocks still run (not every deadline met), with the few columns of their incidents a
    list shows (whole incidents would cost most of the time of the compliance view)."""
    stmt = (
        select(Classification, Incident.id, Incident.number, Incident.title, Incident.private, Incident.drill)
        .join(Incident, Incident.id == Classification.incident_id)
        .where(Classification.completed_at.is_(None))
    )
    if visible is not None:
        stmt = stmt.where(visible)
    rows = session.execute(stmt.order_by(Classification.id).limit(limit))
    return [(c, IncidentRef(i, n, t, bool(p), bool(d))) for c, i, n, t, p, d in rows]


def submissions_of(session: Session, classification_ids: Sequence[int]) -> dict[int, list[Submission]]:
    found: dict[int, list[Submission]] = defaultdict(list)
    if not classification_ids:
        return found
    stmt = (
        select(Submission)
        .where(Submission.classification_id.in_(sorted(set(classification_ids))))
        .order_by(Submission.submitted_at, Submission.id)
    )
    for row in session.scalars(stmt):
        found[row.classification_id].append(row)
    return found


def submission(session: Session, submission_id: int) -> Submission | None:
    return session.get(Submission, submission_id)


def reminder_keys(session: Session, classification_ids: Sequence[int]) -> set[tuple[int, str, str, object]]:
    if not classification_ids:
        return set()
    stmt = select(Reminder.classification_id, Reminder.deadline_key, Reminder.point, Reminder.deadline_at).where(
        Reminder.classification_id.in_(sorted(set(classification_ids)))
    )
    return {(c, k, p, d) for c, k, p, d in session.execute(stmt)}


def reminders_of(session: Session, classification_id: int) -> list[Reminder]:
    stmt = select(Reminder).where(Reminder.classification_id == classification_id).order_by(Reminder.id)
    return list(session.scalars(stmt))
