"""Queries for postmortems, their sections and meetings, action items, problems and recurrences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.incidents.models import Incident
from tocsin.learning.models import (
    ActionItem,
    MeetingInvite,
    Postmortem,
    PostmortemRule,
    PostmortemSection,
    PostmortemTemplate,
    Problem,
    ProblemIncident,
    Recurrence,
    ReviewMeeting,
    SectionRevision,
)
from tocsin.notify.models import Notification

OPEN_ITEM = ("open", "in_progress")


def rules(session: Session) -> list[PostmortemRule]:
    return list(session.scalars(select(PostmortemRule).order_by(PostmortemRule.id)))


def templates(session: Session) -> list[PostmortemTemplate]:
    return list(session.scalars(select(PostmortemTemplate).order_by(PostmortemTemplate.name)))


def template(session: Session, name: str) -> PostmortemTemplate | None:
    return session.scalars(select(PostmortemTemplate).where(PostmortemTemplate.name == name)).one_or_none()


def postmortem_of(session: Session, incident_id: int, *, for_update: bool = False) -> Postmortem | None:
    stmt = select(Postmortem).where(Postmortem.incident_id == incident_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def sections(session: Session, postmortem_id: int) -> list[PostmortemSection]:
    stmt = select(PostmortemSection).where(PostmortemSection.postmortem_id == postmortem_id)
    return list(session.scalars(stmt.order_by(PostmortemSection.position)))


def section(session: Session, postmortem_id: int, key: str, *, for_update: bool = False) -> PostmortemSection | None:
    stmt = select(PostmortemSection).where(
        PostmortemSection.postmortem_id == postmortem_id, PostmortemSection.key == key
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def revisions(session: Session, section_id: int) -> list[SectionRevision]:
    stmt = select(SectionRevision).where(SectionRevision.section_id == section_id)
    return list(session.scalars(stmt.order_by(SectionRevision.version.desc())))


def meetings(session: Session, postmortem_id: int) -> list[ReviewMeeting]:
    stmt = select(ReviewMeeting).where(ReviewMeeting.postmortem_id == postmortem_id)
    return list(session.scalars(stmt.order_by(ReviewMeeting.starts_at)))


def meeting(session: Session, meeting_id: int) -> ReviewMeeting | None:
    return session.get(ReviewMeeting, meeting_id)


def invites_of(session: Session, meeting_id: int) -> list[MeetingInvite]:
    stmt = select(MeetingInvite).where(MeetingInvite.meeting_id == meeting_id)
    return list(session.scalars(stmt.order_by(MeetingInvite.id)))


def claim_invites(session: Session, limit: int) -> list[MeetingInvite]:
    stmt = (
        select(MeetingInvite)
        .where(MeetingInvite.status == "pending")
        .order_by(MeetingInvite.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def invite(session: Session, invite_id: int) -> MeetingInvite | None:
    return session.get(MeetingInvite, invite_id)


def pending_invites(session: Session) -> int:
    stmt = select(func.count()).select_from(MeetingInvite).where(MeetingInvite.status == "pending")
    return int(session.scalar(stmt) or 0)


def pages_sent(session: Session, incident_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.incident_id == incident_id, Notification.status == "sent")
    )
    return int(session.scalar(stmt) or 0)


# --- action items -----------------------------------------------------------------------------------------------


def action_item(session: Session, item_id: int, *, for_update: bool = False) -> ActionItem | None:
    if for_update:
        return session.scalars(select(ActionItem).where(ActionItem.id == item_id).with_for_update()).one_or_none()
    return session.get(ActionItem, item_id)


def action_items_of(session: Session, incident_ids: Sequence[int]) -> list[ActionItem]:
    if not incident_ids:
        return []
    stmt = select(ActionItem).where(ActionItem.incident_id.in_(incident_ids))
    return list(session.scalars(stmt.order_by(ActionItem.id)))


def action_items_of_problem(session: Session, problem_id: int) -> list[ActionItem]:
    stmt = select(ActionItem).where(ActionItem.problem_id == problem_id)
    return list(session.scalars(stmt.order_by(ActionItem.id)))


def open_action_items(
    session: Session, *, owner_user_id: int | None = None, team_id: int | None = None, limit: int = 1000
) -> list[ActionItem]:
    stmt = select(ActionItem).where(ActionItem.status.in_(OPEN_ITEM))
    if owner_user_id is not None:
        stmt = stmt.where(ActionItem.owner_user_id == owner_user_id)
    if team_id is not None:
        stmt = stmt.where(ActionItem.team_id == team_id)
    return list(session.scalars(stmt.order_by(ActionItem.due_at, ActionItem.id).limit(limit)))


def overdue_items(session: Session, now: datetime, limit: int = 1000) -> list[ActionItem]:
    stmt = (
        select(ActionItem)
        .where(ActionItem.status.in_(OPEN_ITEM), ActionItem.due_at.is_not(None), ActionItem.due_at <= now)
        .order_by(ActionItem.due_at, ActionItem.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def next_item_due(session: Session, now: datetime) -> datetime | None:
    stmt = select(func.min(ActionItem.due_at)).where(ActionItem.status.in_(OPEN_ITEM), ActionItem.due_at > now)
    found: datetime | None = session.scalar(stmt)
    return found


# --- problems ---------------------------------------------------------------------------------------------------


def problem(session: Session, problem_id: int, *, for_update: bool = False) -> Problem | None:
    if for_update:
        return session.scalars(select(Problem).where(Problem.id == problem_id).with_for_update()).one_or_none()
    return session.get(Problem, problem_id)


def problems(session: Session, *, status: str | None = None, limit: int = 500) -> list[Problem]:
    stmt = select(Problem)
    if status is not None:
        stmt = stmt.where(Problem.status == status)
    return list(session.scalars(stmt.order_by(Problem.id.desc()).limit(limit)))


def known_errors(session: Session) -> list[Problem]:
    return list(session.scalars(select(Problem).where(Problem.status == "known_error").order_by(Problem.id)))


def incident_ids_of_problems(session: Session, problem_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {p: [] for p in problem_ids}
    if not problem_ids:
        return found
    stmt = (
        select(ProblemIncident.problem_id, ProblemIncident.incident_id)
        .where(ProblemIncident.problem_id.in_(problem_ids))
        .order_by(ProblemIncident.incident_id)
    )
    for problem_id, incident_id in session.execute(stmt):
        found[problem_id].append(incident_id)
    return found


def problem_ids_of_incident(session: Session, incident_id: int) -> list[int]:
    stmt = select(ProblemIncident.problem_id).where(ProblemIncident.incident_id == incident_id)
    return list(session.scalars(stmt))


def link(session: Session, problem_id: int, incident_id: int, now: datetime) -> bool:
    if session.get(ProblemIncident, (problem_id, incident_id)) is not None:
        return False
    session.add(ProblemIncident(problem_id=problem_id, incident_id=incident_id, added_at=now))
    return True


def incidents(session: Session, ids: Sequence[int]) -> list[Incident]:
    if not ids:
        return []
    return list(session.scalars(select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id)))


# --- recurrence -------------------------------------------------------------------------------------------------


def earlier_incidents(session: Session, incident: Incident, *, limit: int = 200) -> list[Incident]:
    """Incidents of the same service opened before this one, newest first."""
    stmt = (
        select(Incident)
        .where(Incident.service_id == incident.service_id, Incident.id != incident.id, Incident.id < incident.id)
        .order_by(Incident.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def recurrences_of(session: Session, incident_id: int) -> list[Recurrence]:
    stmt = select(Recurrence).where(
        (Recurrence.incident_id == incident_id) | (Recurrence.earlier_incident_id == incident_id)
    )
    return list(session.scalars(stmt.order_by(Recurrence.id)))


def add_recurrence(session: Session, incident_id: int, earlier_id: int, now: datetime) -> bool:
    stmt = select(Recurrence).where(Recurrence.incident_id == incident_id, Recurrence.earlier_incident_id == earlier_id)
    if session.scalars(stmt).first() is not None:
        return False
    session.add(Recurrence(incident_id=incident_id, earlier_incident_id=earlier_id, created_at=now))
    session.flush()
    return True


def alert_keys_of(session: Session, incident_ids: Sequence[int]) -> dict[int, set[str]]:
    """The dedup keys (fingerprints) of each incident's alerts."""
    found: dict[int, set[str]] = {i: set() for i in incident_ids}
    if not incident_ids:
        return found
    stmt = select(Alert.incident_id, Alert.dedup_key).where(Alert.incident_id.in_(list(incident_ids)))
    for incident_id, key in session.execute(stmt):
        if incident_id is not None and key:
            found[incident_id].add(key)
    return found
