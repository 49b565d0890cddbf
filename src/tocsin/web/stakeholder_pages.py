"""Stakeholder updates in the console (ADR 0028): the incident page's Stakeholder updates card (its form posts
here and redirects back) and the admin page of stakeholder groups at /admin/stakeholder-groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, NotFound, TocsinError
from tocsin.incidents import taxonomy
from tocsin.incidents.models import Incident
from tocsin.stakeholders import service as stakeholders
from tocsin.web.auth import (
    PageError,
    PostedForm,
    WebUser,
    check_csrf,
    require_admin,
    require_responder,
    require_user,
    runtime_of,
)
from tocsin.web.forms import listed, text
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "stakeholder groups"


def _per_severity(who: WebUser) -> dict[str, int]:
    return dict(who.runtime.settings.stakeholder_cadence_minutes) if who.runtime is not None else {}


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """The incident page's Stakeholder updates card: the updates sent, who would hear, when the next is due."""
    due = stakeholders.next_due(session, incident, _per_severity(who))
    return {
        "stakeholder_updates": stakeholders.updates_of(session, incident.id),
        "stakeholder_matching": [g.name for g in stakeholders.matching_groups(session, incident)],
        "stakeholder_groups": [g.name for g in stakeholders.list_groups(session)],
        "stakeholder_next_due": due,
        "stakeholder_overdue": due is not None and due <= now,
    }


def _back(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}?{urlencode(params)}#stakeholders", status_code=303)


@router.post("/incidents/{number}/stakeholder-updates")
def post_update(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    message = text(form, "body")
    as_template = bool(form.get("as_template"))
    chosen = [str(g) for g in form.getlist("groups") if str(g).strip()]
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            require_act_on_incident(session, who, incident)
            update = stakeholders.post_update(
                session,
                incident.id,
                body=None if as_template else message,
                template=message if as_template else None,
                groups=chosen or None,
                actor=who.actor(),
                now=runtime.clock.now(),
                base_url=runtime.settings.base_url,
            )
            notice = "Stakeholder update sent" + (f" to {', '.join(update.groups)}" if update.groups else "")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    runtime.wakeup.notify()
    return _back(number, notice=notice)


# --- the admin page of groups -----------------------------------------------------------------------------------


def _spec(form: PostedForm) -> stakeholders.GroupSpec:
    return stakeholders.GroupSpec(
        name=text(form, "name"),
        description=text(form, "description"),
        users=listed(form, "users"),
        emails=listed(form, "emails"),
        services=listed(form, "services"),
        min_severity=text(form, "min_severity") or None,
        types=listed(form, "types"),
        private_ok=bool(form.get("private_ok")),
    )


def _page(request: Request, who: WebUser, status: int = 200, **extra: Any) -> Response:
    with runtime_of(request).db.reader() as session:
        rows = [(g.id, stakeholders.as_spec(session, g)) for g in stakeholders.list_groups(session)]
        severities = taxonomy.severity_names(session)
    return render(
        "web/stakeholder_groups.html",
        status,
        who=who,
        section="stakeholders",
        rows=rows,
        severities=[(s, f"{s} and above") for s in severities],
        notice=request.query_params.get("notice", "")[:200],
        error=extra.pop("error", request.query_params.get("error", "")[:300]),
        **extra,
    )


@router.get("/admin/stakeholder-groups", response_class=HTMLResponse)
def groups_page(request: Request) -> Response:
    return _page(request, require_user(request))


@router.post("/admin/stakeholder-groups")
def save_group(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    ref = text(form, "id")
    try:
        with runtime.db.unit_of_work() as session:
            if ref:
                row = stakeholders.get_group(session, ref)
                stakeholders.update_group(session, row, _spec(form), now=runtime.clock.now())
            else:
                stakeholders.create_group(session, _spec(form), now=runtime.clock.now())
    except TocsinError as exc:
        typed = {k: text(form, k) for k in ("name", "description", "users", "emails", "services", "types")}
        typed["min_severity"] = text(form, "min_severity")
        typed["private_ok"] = "on" if form.get("private_ok") else ""
        return _page(request, who, 422, error=exc.detail, values=typed, editing=ref)
    return RedirectResponse(f"/admin/stakeholder-groups?{urlencode({'notice': 'Group saved'})}", status_code=303)


@router.post("/admin/stakeholder-groups/{ref}/delete")
def delete_group(ref: str, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            stakeholders.delete_group(session, stakeholders.get_group(session, ref))
    except TocsinError as exc:
        return RedirectResponse(f"/admin/stakeholder-groups?{urlencode({'error': exc.detail})}", status_code=303)
    return RedirectResponse(f"/admin/stakeholder-groups?{urlencode({'notice': 'Group deleted'})}", status_code=303)
