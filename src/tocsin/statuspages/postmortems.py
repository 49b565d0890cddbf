"""The postmortem on the status pages (issue of status pages, ADR 0026; ADR 0029): when the incident's postmortem is
published, its public part appears under every status-page incident that publishes that incident, and the pages'
caches are refreshed. A private or drill incident is never published, so its postmortem is not either."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.incidents import service as incidents
from tocsin.learning import export
from tocsin.learning.models import Postmortem
from tocsin.statuspages import repository as repo
from tocsin.statuspages import service
from tocsin.statuspages.service import MAX_BODY


def show_published(session: Session, postmortem: Postmortem, now: datetime) -> int:
    """Put the published postmortem on the pages that publish its incident; how many status-page incidents got it."""
    incident = incidents.get(session, postmortem.incident_id)
    if service.publishable(incident) is not None:
        return 0
    body = export.public_markdown(session, postmortem)
    if not body:
        return 0
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1].rstrip() + "…"
    shown = 0
    for row in repo.status_incidents_of(session, incident.id):
        page = repo.page_by_id(session, row.page_id)
        if page is None:
            continue
        service.update_incident(session, page, row, now=now, postmortem=body)
        shown += 1
    return shown
