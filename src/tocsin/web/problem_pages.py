"""Problems in the console (ADR 0029): the list with a form to open one, a problem's own page (its fields, its
status, the incidents linked to it and its action items, each editable by responders), and opening one from a
postmortem. Every form answers a refusal on the same page with what was typed, in the service's words."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.learning import problems
from tocsin.learning import service as postmortems
from tocsin.learning.models import Problem
from tocsin.services import service as services
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.forms import listed, text
from tocsin.web.learning_pages import incident_of
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
FIELDS = ("title", "description", "root_cause", "workaround", "services", "pattern", "incidents")


def _spec(form: FormData) -> problems.ProblemSpec:
    return problems.ProblemSpec(
        title=text(form, "title"),
        description=text(form, "description"),
        root_cause=text(form, "root_cause"),
        workaround=text(form, "workaround"),
        services=listed(form, "services"),
        pattern=text(form, "pattern"),
    )


def _see_all(who: WebUser) -> bool:
    return who.runtime.settings.teams_see_all if who.runtime is not None else True


def _acted_on(session: Session, who: WebUser, refs: list[str]) -> list[Incident]:
    """The incidents named (by number, with or without #), each one the person may act on; an unknown or unseen one
    is named in the error."""
    see_all = _see_all(who)
    found = []
    for ref in dict.fromkeys(refs):
        number = ref.lstrip("#")
        try:
            incident = visible_incident(session, who, f"#{number}", see_all=see_all)
        except NotFound:
            raise InvalidInput(f"incidents: no incident #{number}") from None
        require_act_on_incident(session, who, incident)
        found.append(incident)
    return found


def _visible(session: Session, who: WebUser, problem_id: int) -> Problem:
    return problems.get_visible(session, problem_id, who.viewer(session), see_all=_see_all(who))


def _list(request: Request, who: WebUser, status: int = 200, **extra: Any) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        rows = problems.list_visible(session, who.viewer(session), see_all=runtime.settings.teams_see_all)
        linked = {r.id: problems.linked_incident_ids(session, r.id) for r in rows}
        return render(
            "web/problems.html",
            status,
            who=who,
            section="incidents",
            rows=rows,
            linked=linked,
            typed=extra.pop("typed", {}),
            error=extra.pop("error", ""),
            **extra,
        )


@router.get("/problems", response_class=HTMLResponse)
def problems_page(request: Request) -> Response:
    return _list(request, require_user(request))


@router.post("/problems")
def open_problem(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            linked = _acted_on(session, who, listed(form, "incidents"))
            now = runtime.clock.now()
            row = problems.create(session, _spec(form), incidents_linked=linked, actor=who.actor(), now=now)
            problem_id = row.id
    except Forbidden as exc:
        return _list(request, who, 403, error=exc.detail, typed={f: text(form, f) for f in FIELDS})
    except TocsinError as exc:
        return _list(request, who, exc.status_code, error=exc.detail, typed={f: text(form, f) for f in FIELDS})
    return _to(problem_id, notice="Problem opened")


def _to(problem_id: int, anchor: str = "", **params: str) -> RedirectResponse:
    return RedirectResponse(f"/problems/{problem_id}?{urlencode(params)}{anchor}", status_code=303)


def _page(request: Request, who: WebUser, problem_id: int, status: int = 200, **extra: Any) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            row = _visible(session, who, problem_id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Problem #{problem_id}")
        shown = []
        for incident_id in problems.linked_incident_ids(session, row.id):
            try:
                shown.append(visible_incident(session, who, incident_id, see_all=runtime.settings.teams_see_all))
            except NotFound:
                continue
        names = {s.id: s.name for s in services.list_services(session, include_archived=True)}
        typed = extra.pop("typed", None) or {
            "title": row.title,
            "description": row.description,
            "root_cause": row.root_cause,
            "workaround": row.workaround,
            "services": ", ".join(names.get(i, str(i)) for i in row.service_ids),
            "pattern": row.pattern,
        }
        return render(
            "web/problem.html",
            status,
            who=who,
            section="incidents",
            problem=row,
            incidents=sorted(shown, key=lambda i: -i.number),
            items=problems.action_items(session, row),
            moves=sorted(t for s, t in problems.MOVES if s == row.status),
            typed=typed,
            notice=request.query_params.get("notice", "")[:200],
            error=extra.pop("error", request.query_params.get("error", "")[:300]),
            **extra,
        )


@router.get("/problems/{problem_id}", response_class=HTMLResponse)
def problem_page(problem_id: int, request: Request) -> Response:
    return _page(request, require_user(request), problem_id)


@router.post("/problems/{problem_id}")
def edit_problem(problem_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    typed = {f: text(form, f) for f in FIELDS}
    try:
        with runtime.db.unit_of_work() as session:
            problems.edit(session, _visible(session, who, problem_id), _spec(form), now=runtime.clock.now())
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Problem #{problem_id}")
    except TocsinError as exc:
        return _page(request, who, problem_id, exc.status_code, error=exc.detail, typed=typed)
    return _to(problem_id, "#fields", notice="Problem saved")


@router.post("/problems/{problem_id}/status")
def move_problem(problem_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    target = text(form, "status")
    try:
        with runtime.db.unit_of_work() as session:
            problems.move(
                session, _visible(session, who, problem_id), target, actor=who.actor(), now=runtime.clock.now()
            )
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Problem #{problem_id}")
    except TocsinError as exc:
        return _page(request, who, problem_id, exc.status_code, error=exc.detail)
    return _to(problem_id, "#status", notice=f"Problem {target.replace('_', ' ')}")


@router.post("/problems/{problem_id}/incidents")
def link_incident(problem_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    refs = listed(form, "incident")
    try:
        if len(refs) != 1:
            raise InvalidInput("incident: one incident number")
        with runtime.db.unit_of_work() as session:
            row = _visible(session, who, problem_id)
            (incident,) = _acted_on(session, who, refs)
            added = problems.link(session, row, incident, now=runtime.clock.now())
            number = incident.number
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Problem #{problem_id}")
    except Forbidden as exc:
        return _page(request, who, problem_id, 403, error=exc.detail)
    except TocsinError as exc:
        return _page(request, who, problem_id, exc.status_code, error=exc.detail)
    notice = f"Incident #{number} linked" if added else f"Incident #{number} was already linked"
    return _to(problem_id, "#incidents", notice=notice)


@router.post("/incidents/{number}/postmortem/problem")
def problem_from_postmortem(number: int, request: Request, form: PostedForm) -> Response:
    """A problem carrying the postmortem's root cause, linked to its incident, taking its open action items."""
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=True)
            row = problems.from_postmortem(
                session, postmortems.get(session, incident.id), actor=who.actor(), now=runtime.clock.now()
            )
            problem_id = row.id
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"The postmortem of incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return RedirectResponse(
            f"/incidents/{number}/postmortem?{urlencode({'error': exc.detail})}#status", status_code=303
        )
    return _to(problem_id, notice=f"Problem opened from the postmortem of incident #{number}")
