"""A report's narrowing filters (service, team, severity, priority) as SQL over incidents."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents.models import Incident
from tocsin.services import repository as service_repo
from tocsin.teams import repository as team_repo


def narrowing(
    session: Session, service: str | None, team: str | None, severity: str | None, priority: str | None
) -> tuple[ColumnElement[bool], ...]:
    """The URL's narrowing filters as SQL; an unknown service or team is the request's mistake (422)."""
    where: list[ColumnElement[bool]] = []
    if service:
        found = service_repo.by_name(session, service)
        if found is None and is_ascii_digits(service):
            found = service_repo.get(session, int(service))
        if found is None:
            raise InvalidInput(f"unknown service {service!r}")
        where.append(Incident.service_id == found.id)
    if team:
        t = team_repo.by_name(session, team) or (team_repo.get(session, int(team)) if is_ascii_digits(team) else None)
        if t is None:
            raise InvalidInput(f"unknown team {team!r}")
        where.append(Incident.service_id.in_([s.id for s in service_repo.all_services(session) if s.team_id == t.id]))
    if severity:
        where.append(Incident.severity == severity)
    if priority:
        where.append(Incident.priority == priority)
    return tuple(where)
