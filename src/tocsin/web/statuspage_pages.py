"""Status pages in the console: list and create pages, add components and set their status, publish incidents
and updates, schedule maintenance, publish or discard automation's proposals. Everyone signed in reads; as in the
API, only admins change anything. Forms go through the same service functions as the API."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin.core.clock import utc
from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import ComponentStatus, Impact, UpdateStatus
from tocsin.web.auth import (
    PageError,
    PostedForm,
    WebUser,
    check_csrf,
    require_admin,
    require_user,
    runtime_of,
    shown_as_page,
)
from tocsin.web.forms import text
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "status pages"
_TIME_ZONES = sorted(zoneinfo.available_timezones())


def _back(page_id: int, notice: str = "", error: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("error", error)) if v})
    return RedirectResponse(f"/status-pages/{page_id}" + (f"?{query}" if query else ""), status_code=303)


def _admin_post(request: Request, form: Any) -> WebUser:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    return who


def form_time(value: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what}: not a date and time") from None
    return utc(parsed) if parsed.tzinfo else utc(parsed.replace(tzinfo=datetime.now().astimezone().tzinfo))


@router.get("/status-pages", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        rows = statuspages.list_pages(session)
    return render(
        "web/status_pages.html",
        who=who,
        section="status-pages",
        rows=rows,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


@router.post("/status-pages/new")
def create(request: Request, form: PostedForm) -> Response:
    _admin_post(request, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            page = statuspages.create_page(
                session,
                slug=text(form, "slug"),
                name=text(form, "name"),
                now=runtime.clock.now(),
                visibility=text(form, "visibility") or "public",
            )
            page_id = page.id
    except TocsinError as exc:
        return RedirectResponse(f"/status-pages?{urlencode({'error': exc.detail})}", status_code=303)
    return _back(page_id, "Status page created")


@router.get("/status-pages/{page_id}", response_class=HTMLResponse)
def detail(page_id: int, request: Request) -> Response:
    return render_detail(request, require_user(request), page_id)


def render_detail(request: Request, who: WebUser, page_id: int, **extra: Any) -> Response:
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.reader() as session:
        page = statuspages.get_page(session, page_id)
        components = statuspages.components(session, page)
        groups = statuspages.groups(session, page)
        incidents = statuspages.list_incidents(session, page, limit=20)
        updates = statuspages.updates_of(session, [i.id for i in incidents])
        maintenances = statuspages.list_maintenances(session, page)
        proposals = statuspages.list_proposals(session, page)
        subscribers = statuspages.list_subscribers(session, page)
    return render(
        "web/status_page.html",
        who=who,
        section="status-pages",
        page=page,
        components=components,
        groups=groups,
        incidents=incidents,
        updates=updates,
        maintenances=maintenances,
        proposals=proposals,
        subscribers=subscribers,
        time_zones=_TIME_ZONES,
        statuses=[s.value for s in ComponentStatus],
        update_statuses=[s.value for s in UpdateStatus],
        impacts=[s.value for s in Impact],
        public_url=f"{runtime.settings.base_url}/status/{page.slug}",
        **{
            "notice": request.query_params.get("notice", "")[:200],
            "error": request.query_params.get("error", "")[:300],
            "secret": "",
            **extra,
        },
    )


def act_on_page(request: Request, page_id: int, form: Any, notice: str, action: Any) -> Response:
    who = _admin_post(request, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            page = statuspages.get_page(session, page_id)
            action(session, page, who, runtime.clock.now())
    except TocsinError as exc:
        if exc.status_code == 404 and "status page" in exc.detail:
            raise PageError(404, exc.detail) from None
        return _back(page_id, error=exc.detail)
    return _back(page_id, notice)


def _statuses(form: Any, prefix: str = "component_") -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in form.multi_items():
        if key.startswith(prefix) and isinstance(value, str) and value:
            found[key.removeprefix(prefix)] = value
    return found


@router.post("/status-pages/{page_id}/components")
def add_component(page_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        services = [s for s in text(form, "services").replace(",", " ").split() if s]
        statuspages.add_component(session, page, name=text(form, "name"), services=services, now=now)

    return act_on_page(request, page_id, form, "Component added", act)


@router.post("/status-pages/{page_id}/components/{component_id}/status")
def set_component_status(page_id: int, component_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        component = statuspages.get_component(session, page, component_id)
        statuspages.update_component(session, page, component, {"status": text(form, "status")}, now=now)

    return act_on_page(request, page_id, form, "Component status changed", act)


@router.post("/status-pages/{page_id}/incidents")
def create_incident(page_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        links = [s for s in text(form, "incident_ids").replace(",", " ").split() if s]
        statuspages.create_incident(
            session,
            page,
            name=text(form, "name"),
            body=text(form, "body"),
            status=text(form, "status") or "investigating",
            impact=text(form, "impact") or "minor",
            components=_statuses(form),
            incident_ids=links,
            actor=who.actor(),
            now=now,
        )

    return act_on_page(request, page_id, form, "Incident published", act)


@router.post("/status-pages/{page_id}/incidents/{incident_id}/updates")
def add_update(page_id: int, incident_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        incident = statuspages.get_incident(session, page, incident_id)
        statuspages.add_update(
            session,
            page,
            incident,
            status=text(form, "status"),
            body=text(form, "body"),
            components=_statuses(form),
            actor=who.actor(),
            now=now,
        )

    return act_on_page(request, page_id, form, "Update published", act)


@router.post("/status-pages/{page_id}/maintenances")
def schedule(page_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        ids = [v for v in form.getlist("component_ids") if isinstance(v, str) and v]
        statuspages.schedule_maintenance(
            session,
            page,
            name=text(form, "name"),
            body=text(form, "body"),
            scheduled_for=form_time(text(form, "scheduled_for"), "scheduled_for"),
            scheduled_until=form_time(text(form, "scheduled_until"), "scheduled_until"),
            component_ids=ids,
            now=now,
        )

    return act_on_page(request, page_id, form, "Maintenance scheduled", act)


@router.post("/status-pages/{page_id}/proposals/{proposal_id}/{decision}")
def decide(page_id: int, proposal_id: int, decision: str, request: Request, form: PostedForm) -> Response:
    if decision not in ("publish", "discard"):
        raise PageError(404, "no such action")

    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        proposal = statuspages.get_proposal(session, page, proposal_id)
        if decision == "publish":
            statuspages.publish_proposal(
                session, page, proposal, body=text(form, "body") or None, actor=who.actor(), now=now
            )
        else:
            statuspages.discard_proposal(session, proposal, actor=who.actor(), now=now)

    return act_on_page(request, page_id, form, f"Proposal {decision}ed", act)
