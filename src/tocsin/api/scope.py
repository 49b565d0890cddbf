"""The team-scope checks the API's routes share: acting on an incident takes membership of its service's team."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.api.deps import Principal
from tocsin.incidents.models import Incident
from tocsin.services import service as services


def require_act_on_incident(session: Session, principal: Principal, incident: Incident) -> None:
    service = services.get_service(session, incident.service_id)
    access.require_act(session, principal.viewer(session), [service.team_id], f"incidents of service {service.name!r}")


def require_act_on_service(session: Session, principal: Principal, service_id: int) -> None:
    service = services.get_service(session, service_id)
    access.require_act(session, principal.viewer(session), [service.team_id], f"incidents of service {service.name!r}")
