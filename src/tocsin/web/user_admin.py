"""Users for admins: create a user (with an initial password to sign in with, if given) and edit name, email, role
and time zone. Validated by the API's schemas, applied by the same service functions the API calls."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from tocsin.api.people_schemas import Role, UserIn, UserPatch
from tocsin.core.errors import TocsinError
from tocsin.users import service as users
from tocsin.users.models import User
from tocsin.users.passwords import hash_password
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, as_form_values, invalid, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "users"
FIELDS = ("email", "name", "role", "timezone", "password")
# Shorter passwords are refused: an initial password is often typed by hand and shared once.
MIN_PASSWORD = 12
_USER_IN = TypeAdapter(UserIn)
_USER_PATCH = TypeAdapter(UserPatch)


def _form(who: WebUser, user: User | None, values: dict[str, Any], failed: FormInvalid | None = None) -> Response:
    return render(
        "web/user_form.html",
        failed.status if failed else 200,
        who=who,
        section="people",
        user=user,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        roles=[(r, r) for r in get_args(Role)],
        min_password=MIN_PASSWORD,
    )


def _password_hash(password: str) -> str | None:
    if not password:
        return None
    if len(password) < MIN_PASSWORD:
        raise FormInvalid(
            422,
            f"password: at least {MIN_PASSWORD} characters",
            {"password": f"at least {MIN_PASSWORD} characters"},
        )
    return hash_password(password)


@router.get("/people/new", response_class=HTMLResponse)
def new_user(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _form(who, None, {"role": "responder", "timezone": "UTC"})


@router.post("/people/new")
def create_user(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    # A field left empty is left out, as from a JSON body, so that the API's defaults apply.
    data = {k: text(form, k) for k in ("email", "name", "role", "timezone") if text(form, k)}
    try:
        body = validate(_USER_IN, data)
        # The password is not part of the API's body: it is checked after the fields the API knows.
        password_hash = _password_hash(str(form.get("password") or ""))
        with runtime.db.unit_of_work() as session:
            user = users.create_user(
                session,
                email=body.email,
                name=body.name,
                role=body.role,
                timezone=body.timezone,
                now=runtime.clock.now(),
                password_hash=password_hash,
            )
            user_id, name = user.id, user.name
    except (TocsinError, FormInvalid) as exc:
        values = values_of(form)
        values.pop("password", None)
        return _form(who, None, values, invalid(exc, FIELDS))
    notice = f"{name} can sign in now" if password_hash else f"{name} added without a password: no console sign-in yet"
    return RedirectResponse(f"/people/{user_id}?{urlencode({'notice': notice})}", status_code=303)


def _user(request: Request, user_id: int) -> User:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return users.get_user(session, user_id)


@router.get("/people/{user_id}/edit", response_class=HTMLResponse)
def edit_user(user_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    user = _user(request, user_id)
    stored = {"email": user.email, "name": user.name, "role": user.role, "timezone": user.timezone}
    return _form(who, user, as_form_values(stored))


@router.post("/people/{user_id}/edit")
def update_user(user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    user = _user(request, user_id)
    data = {k: text(form, k) for k in ("email", "name", "role", "timezone")}
    try:
        body = validate(_USER_PATCH, data)
        with runtime_of(request).db.unit_of_work() as session:
            stored = users.get_user(session, user_id)
            users.update_user(session, stored, name=body.name, email=body.email, role=body.role, timezone=body.timezone)
    except (TocsinError, FormInvalid) as exc:
        return _form(who, user, values_of(form), invalid(exc, FIELDS))
    target = "/me" if user_id == who.user.id else f"/people/{user_id}"
    return RedirectResponse(f"{target}?{urlencode({'notice': 'Saved'})}", status_code=303)
