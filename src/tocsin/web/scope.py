"""The team-scope checks of the console's pages, the same decisions (``tocsin.access``) the API makes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.incidents.models import Incident
from tocsin.services import service as services
from tocsin.web.auth import WebUser


def require_act_on_service(session: Session, who: WebUser, service_id: int) -> None:
    service = services.get_service(session, service_id)
    access.require_act(session, who.viewer(session), [service.team_id], f"incidents of service {service.name!r}")


def require_act_on_incident(session: Session, who: WebUser, incident: Incident) -> None:
    require_act_on_service(session, who, incident.service_id)
