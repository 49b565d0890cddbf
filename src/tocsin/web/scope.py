"""The team-scope checks of the console's pages, the same decisions (``tocsin.access``) the API makes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.services import service as services
from tocsin.web.auth import WebUser


def require_act_on_service(session: Session, who: WebUser, service_id: int) -> None:
    service = services.get_service(session, service_id)
    access.require_act(session, who.viewer(session), [service.team_id], f"incidents of service {service.name!r}")


def require_act_on_incident(session: Session, who: WebUser, incident: Incident) -> None:
    require_act_on_service(session, who, incident.service_id)


def sees(session: Session, who: WebUser, team_id: int | None, *, see_all: bool) -> bool:
    """Whether the setting ``teams_see_all`` lets this person read an object of ``team_id``."""
    return access_policy.can_see(who.viewer(session), [team_id], see_all=see_all)


def visible_service_ids(session: Session, who: WebUser, *, see_all: bool) -> set[int] | None:
    """The services whose objects (silences) this person reads, None for all of them."""
    team_ids = access.visible_team_ids(who.viewer(session), see_all=see_all)
    if team_ids is None:
        return None
    found = services.list_services(session, include_archived=True)
    return {s.id for s in found if s.team_id is None or s.team_id in team_ids}


def visible_incident(session: Session, who: WebUser, ref: int | str, *, see_all: bool) -> Incident:
    """The incident ``ref`` names if this person may read it (team scope, private incidents: ADR 0022); otherwise
    not found, exactly as for an unknown incident."""
    return visibility.get_visible(session, ref, who.viewer(session), see_all=see_all)
