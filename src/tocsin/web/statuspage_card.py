"""The incident page's Status pages card: publish the incident on a status page, post follow-up updates, publish
or discard automation's proposals, all from the incident (ADR 0026, 0028). One voice: the forms are offered, and
the routes accept them, only from the incident's Communications Lead or Incident Commander, an admin, or anyone
who may act on the incident when the page allows others."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, Forbidden, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.stakeholders import service as stakeholders
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import ComponentStatus, Impact, UpdateStatus
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, runtime_of
from tocsin.web.forms import text
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
FIRST_UPDATE = "We are investigating an issue: {{ incident.title }}. More to follow shortly."


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """Where the incident is published, what automation proposes, and the pages this person may publish to."""
    links = statuspages.published_for(session, incident.id)
    proposals = statuspages.proposed_for(session, incident.id)
    pages = statuspages.list_pages(session) if statuspages.publishable(incident) is None else []
    speaks = bool(pages) and (who.is_admin or stakeholders.may_speak(session, [incident.id], who.user.id))
    allowed = [p for p in pages if speaks or p.anyone_may_publish]
    return {
        "statuspage_links": links,
        "statuspage_proposals": proposals,
        "statuspage_allowed": allowed,
        "statuspage_allowed_ids": {p.id for p in allowed},
        "statuspage_components": statuspages.components_of_pages(session, [p.id for p in allowed]),
        "statuspage_first_update": FIRST_UPDATE,
        "statuspage_statuses": [s.value for s in ComponentStatus],
        "statuspage_update_statuses": [s.value for s in UpdateStatus],
        "statuspage_impacts": [s.value for s in Impact],
    }


def _back(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}?{urlencode(params)}#statuspages", status_code=303)


def _statuses(form: Any) -> dict[str, str]:
    return {
        key.removeprefix("component_"): value
        for key, value in form.multi_items()
        if key.startswith("component_") and isinstance(value, str) and value
    }


def _on_incident(request: Request, number: int, form: Any, notice: str, action: Any) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            require_act_on_incident(session, who, incident)
            action(session, incident, who, runtime.clock.now())
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    runtime.wakeup.notify()
    return _back(number, notice=notice)


@router.post("/incidents/{number}/status-pages/publish")
def publish(number: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session, incident: Incident, who: WebUser, now: datetime) -> None:
        page = statuspages.get_page(session, text(form, "page_id"))
        message = text(form, "body")
        body = (
            stakeholders.compose(session, incident, body=None, template=message) if form.get("as_template") else message
        )
        statuspages.publish_response_incident(
            session,
            page,
            incident,
            name=text(form, "name") or incident.title,
            body=body,
            status=text(form, "status") or "investigating",
            impact=text(form, "impact") or "minor",
            components=_statuses(form),
            actor=who.actor(),
            is_admin=who.is_admin,
            now=now,
        )

    return _on_incident(request, number, form, "Published on the status page", act)


@router.post("/incidents/{number}/status-pages/{page_id}/incidents/{status_incident_id}/updates")
def post_update(number: int, page_id: int, status_incident_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session, incident: Incident, who: WebUser, now: datetime) -> None:
        page = statuspages.get_page(session, page_id)
        row = statuspages.get_incident(session, page, status_incident_id)
        if incident.id not in statuspages.links_of(session, [row.id])[row.id]:
            raise NotFound(f"status page incident {row.id} is not linked to incident #{incident.number}")
        # Made private (or a drill) after it was published: nothing more goes out through it from here.
        if (refusal := statuspages.publishable(incident)) is not None:
            raise Conflict(refusal)
        statuspages.require_voice(session, page, [incident.id], user_id=who.user.id, is_admin=who.is_admin)
        statuspages.add_update(
            session,
            page,
            row,
            status=text(form, "status"),
            body=text(form, "body"),
            components=_statuses(form),
            actor=who.actor(),
            now=now,
        )

    return _on_incident(request, number, form, "Status page update posted", act)


@router.post("/incidents/{number}/status-pages/{page_id}/proposals/{proposal_id}/{decision}")
def decide(number: int, page_id: int, proposal_id: int, decision: str, request: Request, form: PostedForm) -> Response:
    if decision not in ("publish", "discard"):
        raise PageError(404, "no such action")

    def act(session: Session, incident: Incident, who: WebUser, now: datetime) -> None:
        page = statuspages.get_page(session, page_id)
        proposal = statuspages.get_proposal(session, page, proposal_id)
        if proposal.incident_id != incident.id:
            raise NotFound(f"proposal {proposal_id} is not about incident #{incident.number}")
        statuspages.require_voice(session, page, [incident.id], user_id=who.user.id, is_admin=who.is_admin)
        if decision == "publish":
            statuspages.publish_proposal(
                session, page, proposal, body=text(form, "body") or None, actor=who.actor(), now=now
            )
        else:
            statuspages.discard_proposal(session, proposal, actor=who.actor(), now=now)

    return _on_incident(request, number, form, f"Proposal {decision}ed", act)
