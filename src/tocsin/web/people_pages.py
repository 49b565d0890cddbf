"""People: users and teams, a person's contact methods and notification rules, and one's own profile page
(my on-call shifts, my open incidents, my calendar feed, my API tokens)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import NotFound, TocsinError
from tocsin.incidents import lifecycle
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter
from tocsin.notify import contacts, push_keys
from tocsin.notify.send_limits import SendLimits
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import format_duration
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.users.models import User
from tocsin.web import responder_pages
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_user, runtime_of
from tocsin.web.contact_pages import may_change, shown_address
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/people", response_class=HTMLResponse)
def people(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        everyone = users.list_users(session)
        team_rows = [(t, teams.members(session, t)) for t in teams.list_teams(session)]
    return render("web/people.html", who=who, section="people", everyone=everyone, teams=team_rows)


def _contacts(session: Session, user: User, who: WebUser) -> dict[str, Any]:
    methods = contacts.contact_methods(session, user.id)
    by_id = {m.id: m for m in methods}
    whole = may_change(who, user.id)
    rules = [
        {
            "id": r.id,
            "urgency": r.urgency,
            "method": by_id.get(r.contact_method_id),
            "after": format_duration(timedelta(seconds=r.delay_seconds)),
        }
        for r in sorted(contacts.rules(session, user.id), key=lambda r: (r.urgency, r.delay_seconds))
    ]
    addresses = {m.id: shown_address(m, whole) for m in methods}
    return {
        "methods": methods,
        "rules": rules,
        "addresses": addresses,
        "may_change": whole,
        **responder_pages.skills_context(session, user.id),
    }


@router.get("/people/{user_id}", response_class=HTMLResponse)
def person(user_id: int, request: Request) -> Response:
    who = require_user(request)
    if user_id == who.user.id:
        return RedirectResponse("/me", status_code=303)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            user = users.get_user(session, user_id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"User {user_id}")
        context = _contacts(session, user, who)
    return render(
        "web/person.html",
        who=who,
        section="people",
        user=user,
        mine=False,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
        **context,
    )


@router.get("/me", response_class=HTMLResponse)
def me(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        context = _contacts(session, who.user, who)
        shifts = oncall.upcoming_shifts_of(session, who.user.id, now, now + timedelta(days=14))
        mine, _ = incidents.list_incidents(
            session,
            IncidentFilter(statuses=(lifecycle.TRIGGERED, lifecycle.ACKNOWLEDGED), assigned_user_id=who.user.id),
            limit=50,
        )
        tokens = [t for t in users.list_tokens(session, who.user.id) if t.revoked_at is None]
    with runtime.db.unit_of_work() as session:
        feed = oncall.user_feed_token(session, who.user.id)
        push_key = push_keys.vapid_keys(session).public_key
    new_token = request.cookies.get("tocsin_new_token") if request.query_params.get("token") == "new" else None
    response = render(
        "web/person.html",
        who=who,
        section="me",
        user=who.user,
        mine=True,
        shifts=shifts,
        my_incidents=mine,
        tokens=tokens,
        new_token=new_token,
        feed_url=f"{runtime.settings.base_url}/ical/users/{feed}.ics",
        push_key=push_key,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
        **context,
    )
    if new_token:
        response.delete_cookie("tocsin_new_token", path="/me")
    return response


def _back(user_id: int, who: WebUser, **params: str) -> RedirectResponse:
    target = "/me" if user_id == who.user.id else f"/people/{user_id}"
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=303)


@router.post("/people/{user_id}/contact-methods/{method_id}/test")
def send_test(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    if user_id != who.user.id and not who.is_admin:
        raise PageError(403, "You can send test notifications only to your own contact methods.")
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            method = next((m for m in contacts.contact_methods(session, user_id) if m.id == method_id), None)
            if method is None:
                raise NotFound(f"contact method {method_id} not found")
            contacts.send_test(session, method.id, now=runtime.clock.now(), limits=SendLimits.of(runtime.settings))
    except TocsinError as exc:
        return _back(user_id, who, error=exc.detail)
    runtime.wakeup.notify()
    return _back(user_id, who, notice=f"Test notification queued to {method.name}; it appears within seconds.")


@router.post("/me/tokens")
def create_token(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    name = str(form.get("name") or "").strip() or "web"
    with runtime.db.unit_of_work() as session:
        _, secret = users.create_token(session, who.user, name=name, now=runtime.clock.now())
    # The token is shown exactly once: it travels to the next page in a short-lived cookie, never in a URL.
    response = RedirectResponse("/me?token=new#tokens", status_code=303)
    secure = runtime.settings.base_url.startswith("https://")
    response.set_cookie(
        "tocsin_new_token", secret, max_age=60, httponly=True, samesite="strict", secure=secure, path="/me"
    )
    return response


@router.post("/me/tokens/{token_id}/revoke")
def revoke_token(token_id: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            users.revoke_token(session, token_id, by=who.user, now=runtime.clock.now())
    except TocsinError as exc:
        return _back(who.user.id, who, error=exc.detail)
    return _back(who.user.id, who, notice="Token revoked")
