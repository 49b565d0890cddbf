"""The incident page's Roles and Responders cards (their forms post here), a person's skills, and /experts.

The incident page calls ``incident_context`` once for what both cards show; each form posts to this module's own
route and redirects back to the incident (Post/Redirect/Get), like the page's other actions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.escalation import service as escalation
from tocsin.incidents.models import Incident
from tocsin.oncall import service as oncall
from tocsin.response import responders, roles, skills
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_user, runtime_of
from tocsin.web.incident_cards import act_on_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def incident_context(session: Session, incident: Incident, who: WebUser) -> dict[str, Any]:
    """What the Roles and Responders cards show: roles with holder and history, who is engaged, the requests."""
    role_rows = roles.list_roles(session)
    history = roles.history(session, incident.id)
    requests = responders.requests_on(session, incident.id)
    people = users.names_of(
        session, [h.user_id for h in history] + [r.user_id for r in requests] + [incident.assigned_user_id or 0]
    )
    holders = roles.current_holders(history)
    names = {r.id: r.name for r in role_rows}
    return {
        "role_cards": [(r, holders.get(r.id)) for r in role_rows],
        "role_history": [(names.get(h.role_id, "?"), h) for h in history],
        "role_people": people,
        "engaged": responders.engaged(session, incident),
        "responder_requests": requests,
        "responder_schedules": oncall.list_schedules(session),
        "responder_policies": escalation.list_policies(session),
        "known_skills": skills.known_skills(session),
    }


@router.post("/incidents/{number}/roles")
def role_action(number: int, request: Request, form: PostedForm) -> Response:
    action, role, user = str(form.get("action") or ""), str(form.get("role") or ""), str(form.get("user") or "")

    def act(session: Session, incident: Incident, who: WebUser, now: Any) -> str:
        if action == "assign":
            if not user:
                raise InvalidInput("choose who gets the role")
            held = roles.assign(session, incident.id, role, user, actor=who.actor(), now=now)
            return f"{role} given to {users.get_user(session, held.user_id).name}"
        if action == "release":
            roles.release(session, incident.id, role, actor=who.actor(), now=now)
            return f"{role} released"
        raise InvalidInput(f"unknown action {action!r}")

    return act_on_incident(request, number, form, act)


@router.post("/incidents/{number}/responders")
def responder_action(number: int, request: Request, form: PostedForm) -> Response:
    action = str(form.get("action") or "")

    def act(session: Session, incident: Incident, who: WebUser, now: Any) -> str:
        if action == "add":
            kind, _, ref = str(form.get("target") or "").partition(":")
            if kind == "skill":
                ref = str(form.get("skill") or "")
            if kind not in ("user", "schedule", "policy", "skill") or not ref:
                raise InvalidInput("choose a person, a schedule, an escalation policy or a skill to ask")
            target = responders.Target(**{kind: ref}, on_call_first=bool(form.get("on_call_first")))
            made = responders.request(
                session, incident.id, target, message=str(form.get("message") or ""), actor=who.actor(), now=now
            )
            asked = users.names_of(session, [r.user_id for r in made])
            return "Asked " + ", ".join(asked.values())
        request_id = str(form.get("request") or "")
        if not is_ascii_digits(request_id):
            raise InvalidInput("choose a request")
        row = responders.get_request(session, incident.id, int(request_id), for_update=True)
        if action in ("accept", "decline"):
            responders.answer_request(session, row, action == "accept", actor=who.actor(), via="web", now=now)
            return f"Request {'accepted' if action == 'accept' else 'declined'}"
        if action == "cancel":
            responders.cancel(session, row, actor=who.actor(), now=now)
            return "Request withdrawn"
        raise InvalidInput(f"unknown action {action!r}")

    return act_on_incident(request, number, form, act)


@router.post("/people/{user_id}/skills")
def set_skills(user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    if user_id != who.user.id and not who.is_admin:
        raise PageError(403, "you can only set your own skills")
    runtime = runtime_of(request)
    target = "/me" if user_id == who.user.id else f"/people/{user_id}"
    text = str(form.get("skills") or "")
    try:
        with runtime.db.unit_of_work() as session:
            user = users.get_user(session, user_id)
            saved = skills.set_skills(session, user, [s for s in text.replace(",", " ").split() if s])
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"User {user_id}")
    except TocsinError as exc:
        return RedirectResponse(f"{target}?{urlencode({'error': exc.detail})}", status_code=303)
    notice = "Skills saved: " + (", ".join(saved) or "none")
    return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)


def skills_context(session: Session, user_id: int) -> dict[str, Any]:
    return {"skills": skills.skills_of(session, user_id)}


@router.get("/experts", response_class=HTMLResponse)
def experts_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    skill = request.query_params.get("skill", "").strip()[:50]
    error = ""
    with runtime.db.reader() as session:
        found: list[skills.Expert] = []
        if skill:
            try:
                found = skills.experts(session, skill, now=runtime.clock.now())
            except InvalidInput as exc:
                error = exc.detail
        known = skills.known_skills(session)
    return render("web/experts.html", who=who, section="people", skill=skill, experts=found, known=known, error=error)
