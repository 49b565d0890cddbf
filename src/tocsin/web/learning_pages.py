"""Postmortems, action items and problems in the console (ADR 0029): the incident page's Postmortem card, the
postmortem page (each section its own form, saved over the version it was opened at: a stale save shows the other
person's text beside yours), its exports, and the pages of open action items (per team, per person). Problems
have pages of their own (problem_pages), and so do review meetings' forms (review_pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.learning import actions, export, meetings, problems, recurrence
from tocsin.learning import service as postmortems
from tocsin.learning.service import StaleSection
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.forms import text
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """The incident page's Postmortem card: the postmortem's status, the action items, the known errors' workarounds
    and the recurrences."""
    items = actions.of_incident(session, incident.id)
    # One query when no known error matches (the usual case): the viewer is read only when one does.
    known = problems.known_errors_for(session, incident)
    if known:
        see_all = who.runtime.settings.teams_see_all if who.runtime is not None else True
        viewer = who.viewer(session)
        known = [
            p
            for p in known
            if problems.may_see(session, viewer, p, see_all=see_all, linked=problems.linked_incident_ids(session, p.id))
        ]
    return {
        "postmortem": postmortems.postmortem_of(session, incident.id),
        "action_items": items,
        "action_items_open": sum(1 for i in items if i.status in actions.OPEN),
        "known_errors": known,
        "recurrences": recurrence.recurrences(session, incident.id),
    }


def _back(number: int, anchor: str = "postmortem", path: str = "", **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}{path}?{urlencode(params)}#{anchor}", status_code=303)


def incident_of(session: Session, who: WebUser, number: int, *, act: bool) -> Incident:
    """The incident numbered so if this person may read it (and act on it, with ``act``); else not found or 403."""
    runtime = runtime_of_who(who)
    incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
    if act:
        require_act_on_incident(session, who, incident)
    return incident


def runtime_of_who(who: WebUser) -> Any:
    if who.runtime is None:
        raise PageError(500, "no runtime")
    return who.runtime


@router.post("/incidents/{number}/postmortem")
def start_postmortem(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = incident_of(session, who, number, act=True)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            postmortems.create(session, incident, actor=who.actor(), now=runtime.clock.now())
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    return RedirectResponse(f"/incidents/{number}/postmortem", status_code=303)


def postmortem_page_of(request: Request, who: WebUser, number: int, status: int = 200, **extra: Any) -> Response:
    """The postmortem page; ``extra``: an error, a stale section, or a review meeting's form as typed."""
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            incident = incident_of(session, who, number, act=False)
            row = postmortems.get(session, incident.id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"The postmortem of incident #{number}")
        held = meetings.of(session, row)
        invited = [i for m in held for i in m.participant_ids]
        people = users.names_of(session, [i for i in [row.owner_user_id, *row.reviewer_ids, *invited] if i])
        return render(
            "web/postmortem.html",
            status,
            who=who,
            section="incidents",
            incident=incident,
            pm=row,
            sections=postmortems.sections(session, row),
            items=actions.of_incident(session, incident.id),
            people=people,
            missing=postmortems.missing_approvals(row),
            meetings=held,
            invites={m.id: meetings.invites(session, m) for m in held},
            everyone=[u for u in users.list_users(session, include_deactivated=False)] if who.can_act else [],
            meeting_typed=extra.pop("meeting_typed", {}),
            notice=request.query_params.get("notice", "")[:200],
            error=extra.pop("error", request.query_params.get("error", "")[:300]),
            **extra,
        )


@router.get("/incidents/{number}/postmortem", response_class=HTMLResponse)
def postmortem_page(number: int, request: Request) -> Response:
    return postmortem_page_of(request, require_user(request), number)


@router.post("/incidents/{number}/postmortem/sections/{key}")
def save_section(number: int, key: str, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    body = text(form, "body")
    try:
        version = int(text(form, "version") or "0")
    except ValueError:
        return postmortem_page_of(request, who, number, 400, error="version: a number")
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = incident_of(session, who, number, act=True)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            postmortems.save_section(
                session,
                postmortems.get(session, incident.id),
                key,
                body=body,
                version=version,
                actor=who.actor(),
                now=runtime.clock.now(),
            )
    except StaleSection as exc:
        # Nothing typed is lost: the writer's text is shown again beside the text saved meanwhile.
        return postmortem_page_of(
            request,
            who,
            number,
            409,
            error=exc.detail,
            stale={**exc.extra.get("current", {}), "key": key, "mine": body},
        )
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        stale = {"key": key, "mine": body}
        return postmortem_page_of(request, who, number, exc.status_code, error=exc.detail, stale=stale)
    return RedirectResponse(
        f"/incidents/{number}/postmortem?{urlencode({'notice': 'Section saved'})}#section-{key}", status_code=303
    )


@router.post("/incidents/{number}/postmortem/status")
def move_postmortem(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    target = text(form, "status")
    try:
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=True)
            postmortems.move(
                session,
                postmortems.get(session, incident.id),
                target,
                reason=text(form, "reason"),
                actor=who.actor(),
                now=runtime.clock.now(),
            )
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except TocsinError as exc:
        return _back(number, "status", "/postmortem", error=exc.detail)
    return _back(number, "status", "/postmortem", notice=f"Postmortem {target.replace('_', ' ')}")


@router.post("/incidents/{number}/postmortem/approve")
def approve_postmortem(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=False)
            postmortems.approve(
                session, postmortems.get(session, incident.id), actor=who.actor(), now=runtime.clock.now()
            )
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except TocsinError as exc:
        return _back(number, "status", "/postmortem", error=exc.detail)
    return _back(number, "status", "/postmortem", notice="Approved")


@router.get("/incidents/{number}/postmortem.{fmt}")
def export_postmortem(number: int, fmt: str, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    if fmt not in export.FORMATS:
        return render("web/not_found.html", 404, who=who, what=f"A {fmt} export")
    with runtime.db.reader() as session:
        try:
            incident = incident_of(session, who, number, act=False)
            content = export.render(session, postmortems.get(session, incident.id), fmt)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"The postmortem of incident #{number}")
    name = export.filename(incident, fmt, now=runtime.clock.now())
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        content,
        media_type=export.FORMATS[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"', "X-Content-Type-Options": "nosniff"},
    )


@router.post("/incidents/{number}/action-items")
def add_item(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    due = text(form, "due")
    try:
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=True)
            spec = actions.ItemSpec(
                title=text(form, "title"),
                success_criterion=text(form, "success_criterion"),
                owner=text(form, "owner") or None,
                due_at=datetime.fromisoformat(f"{due}T17:00:00+00:00") if due else None,
                kind=text(form, "kind") or "prevent",
                priority=text(form, "priority") or "medium",
            )
            saved = actions.create(session, incident, spec, actor=who.actor(), now=runtime.clock.now())
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except ValueError:
        return _back(number, error="due: a date (YYYY-MM-DD)")
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    notice = "Action item added" + (f" (warnings: {'; '.join(saved.warnings)})" if saved.warnings else "")
    return _back(number, notice=notice)


@router.get("/action-items", response_class=HTMLResponse)
def items_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        rows = actions.open_items(session, who.viewer(session), see_all=runtime.settings.teams_see_all)
        names = users.names_of(session, [r.owner_user_id for r in rows if r.owner_user_id])
        team_names = {t.id: t.name for t in teams.list_teams(session)}
        by_team: dict[str, list[Any]] = {}
        by_person: dict[str, list[Any]] = {}
        for r in rows:
            entry = (r, actions.warnings_of(r, now))
            by_team.setdefault(team_names.get(r.team_id or 0, "No team"), []).append(entry)
            by_person.setdefault(str(names.get(r.owner_user_id or 0, "No owner")), []).append(entry)
        return render(
            "web/action_items.html",
            who=who,
            section="incidents",
            by_team=sorted(by_team.items()),
            by_person=sorted(by_person.items()),
            now=now,
        )
