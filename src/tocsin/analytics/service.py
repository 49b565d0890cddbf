"""Use cases of the analytics that the transports share: the dashboard, one incident's figures, a team's and a
person's health. Reads only; settings changes live in ``settings``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.analytics import facts, health, metrics, reliability
from tocsin.analytics import repository as repo
from tocsin.analytics.periods import Bucket, Period
from tocsin.core.errors import Forbidden, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.services import repository as service_repo
from tocsin.teams import repository as team_repo
from tocsin.teams.models import Team
from tocsin.users import repository as user_repo


def dashboard(
    session: Session,
    p: Period,
    *,
    by: str | None,
    bucket: Bucket,
    visible: ColumnElement[bool] | None,
    service_ids: set[int] | None,
    where: tuple[ColumnElement[bool], ...] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    rows = metrics.period_rows(session, p, visible=visible, where=where)
    return {
        "metrics": metrics.report(
            session, p, by=by or "service", bucket=bucket, visible=visible, where=where, rows=rows, now=now
        ),
        "reliability": reliability.report(session, p, service_ids=service_ids, rows=rows),
    }


def incident(session: Session, incident: Incident, *, now: datetime) -> dict[str, Any]:
    """One incident's figures and the time it spent in each phase of its model (drills and the like included:
    asked for by name, it is shown, only aggregates leave it out)."""
    # The incident's own instant: created_at falls in [at, at + 1 µs).
    p = Period(incident.created_at, incident.created_at + timedelta(microseconds=1))
    rows = repo.incident_rows(session, p.since, p.until, where=(Incident.id == incident.id,), include_all=True)
    body: dict[str, Any] = (
        metrics.incident_figures(facts.with_facts(session, rows)[0]) if rows else {"number": incident.number}
    )
    body["phases"] = [
        {"phase": name, "seconds": spent.total_seconds()}
        for name, spent in incidents.phase_times(session, incident, now=now)
    ]
    body["definitions"] = metrics.DEFINITIONS
    return body


def may_read_team(viewer: Viewer, team_id: int) -> bool:
    """A team's load is read by its members and administrators."""
    return viewer.is_admin or viewer.member_of(team_id)


def may_read_person(session: Session, viewer: Viewer, user_id: int) -> bool:
    """A person's load is read by themself, administrators and the managers of a team they belong to."""
    if viewer.is_admin or viewer.user_id == user_id:
        return True
    return any(viewer.manages(t) for t in team_repo.team_ids_of_user(session, user_id))


def team_health(session: Session, team_id: int, p: Period, *, viewer: Viewer) -> dict[str, Any]:
    team = team_repo.get(session, team_id)
    if team is None or not may_read_team(viewer, team_id):
        # Someone else's team is not found, like an unknown one: its existence is not the point.
        raise NotFound(f"team {team_id} not found")
    members = team_repo.active_member_ids(session, [team_id])[team_id]
    return {"team": {"id": team.id, "name": team.name}, **health.report(session, members, p)}


def person_health(session: Session, user_id: int, p: Period, *, viewer: Viewer) -> dict[str, Any]:
    user = user_repo.get(session, user_id)
    if user is None or not may_read_person(session, viewer, user_id):
        raise NotFound(f"person {user_id} not found")
    return {"person": {"id": user.id, "name": user.name}, **health.report(session, [user.id], p)}


def everyone_health(session: Session, p: Period, *, viewer: Viewer) -> dict[str, Any]:
    if not viewer.is_admin:
        raise Forbidden("only admins read everyone's on-call load; ask for a team or a person")
    ids = [u.id for u in user_repo.all_users(session, include_deactivated=False)]
    return health.report(session, ids, p)


def visible(viewer: Viewer, *, see_all: bool) -> ColumnElement[bool]:
    """The incidents this viewer's figures are made of (team scope, ADR 0016; private incidents, ADR 0022)."""
    return incident_repo.visible_clause(viewer, see_all=see_all)


def readable_teams(session: Session, viewer: Viewer) -> list[Team]:
    return [t for t in team_repo.all_teams(session) if may_read_team(viewer, t.id)]


def service_names(session: Session) -> list[str]:
    return sorted(s.name for s in service_repo.all_services(session, include_archived=False))


def team_member_ids(session: Session, ref: str) -> list[int]:
    """The active members of a team named by name or id; an unknown team is the request's mistake."""
    team = team_repo.by_name(session, ref) or (team_repo.get(session, int(ref)) if is_ascii_digits(ref) else None)
    if team is None:
        raise InvalidInput(f"unknown team {ref!r}")
    return team_repo.active_member_ids(session, [team.id])[team.id]


def active_people(session: Session) -> list[int]:
    return [u.id for u in user_repo.all_users(session, include_deactivated=False)]
