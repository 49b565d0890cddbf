"""The team-scope checks the API's routes share: acting on an incident takes membership of its service's team."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.api.deps import Principal
from tocsin.core.errors import NotFound
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.runtime import Runtime
from tocsin.services import service as services


def require_act_on_incident(session: Session, principal: Principal, incident: Incident) -> None:
    service = services.get_service(session, incident.service_id)
    access.require_act(session, principal.viewer(session), [service.team_id], f"incidents of service {service.name!r}")


def require_act_on_service(session: Session, principal: Principal, service_id: int) -> None:
    try:
        service = services.get_service(session, service_id)
    except NotFound:
        return  # an unknown service is the request's mistake, which declaring reports (422)
    access.require_act(session, principal.viewer(session), [service.team_id], f"incidents of service {service.name!r}")


def sees(session: Session, principal: Principal, runtime: Runtime, team_id: int | None) -> bool:
    """Whether the setting ``teams_see_all`` lets this principal read an object of ``team_id``."""
    return access_policy.can_see(principal.viewer(session), [team_id], see_all=runtime.settings.teams_see_all)


def require_sees(session: Session, principal: Principal, runtime: Runtime, team_id: int | None, what: str) -> None:
    # Not found rather than forbidden: another team's objects are not even named to those who may not read them.
    if not sees(session, principal, runtime, team_id):
        raise NotFound(f"{what} not found")


def visible_service_ids(session: Session, principal: Principal, runtime: Runtime) -> set[int] | None:
    """The services whose incidents and alerts this principal reads, None for all of them."""
    teams = access.visible_team_ids(principal.viewer(session), see_all=runtime.settings.teams_see_all)
    if teams is None:
        return None
    return {
        s.id for s in services.list_services(session, include_archived=True) if s.team_id in teams or s.team_id is None
    }


def visible_incident(session: Session, principal: Principal, runtime: Runtime, ref: int | str) -> Incident:
    """The incident ``ref`` names, if this principal may read it (team scope, ADR 0016; private incidents, ADR 0022);
    otherwise not found, in the words an unknown incident gets."""
    return visibility.get_visible(session, ref, principal.viewer(session), see_all=runtime.settings.teams_see_all)
