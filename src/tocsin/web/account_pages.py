"""The Account page: change one's password, see and end one's signed-in sessions."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin.audit import service as audit
from tocsin.auth import accounts
from tocsin.auth.attempts import require_admission
from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.users import second_factor
from tocsin.users import service as users
from tocsin.users.passwords import hash_password
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
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    who: WebUser,
    *,
    status: int = 200,
    error: str = "",
    headers: dict[str, str] | None = None,
    **extra: object,
) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        rows = accounts.sessions_of(session, who.user.id, now=runtime.clock.now())
        current = {row.id for row in rows if accounts.is_session(row, who.token)}
        user = users.get_user(session, who.user.id)
        recovery_left = second_factor.unused_recovery_codes(session, user.id)
    return render(
        "web/account.html",
        status,
        headers,
        who=who,
        section="account",
        sessions=rows,
        current=current,
        error=error,
        notice=request.query_params.get("notice", ""),
        min_length=runtime.settings.password_min_length,
        second_factor_on=second_factor.enabled(user),
        recovery_left=recovery_left,
        **extra,
    )


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/account?{urlencode({'notice': notice})}", status_code=303)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request) -> Response:
    return _page(request, require_user(request))


@router.post("/account/password")
def change_password(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    settings = runtime.settings
    current = str(form.get("current_password") or "")
    new = str(form.get("new_password") or "")
    try:
        if new != str(form.get("confirm_password") or ""):
            return _page(request, who, status=422, error="The new password and its confirmation differ.")
        accounts.check_current_password(
            runtime.hashing,
            runtime.attempts,
            user=who.user,
            address=_address(request),
            password=current,
        )
        new_hash = accounts.new_password_hash(
            runtime.hashing,
            user=who.user,
            password=new,
            min_length=settings.password_min_length,
            blocklist_file=settings.password_blocklist_file,
        )
        with runtime.db.unit_of_work() as session:
            # This browser stays signed in; every other session of the account ends.
            ended = accounts.set_password(
                session, who.user.id, new_hash=new_hash, keep_session=who.token, expected_hash=who.user.password_hash
            )
            audit.record(
                session,
                audit.PASSWORD_CHANGED,
                object_type="user",
                object_id=str(who.user.id),
                data={"sessions_ended": ended},
            )
    except TocsinError as exc:
        retry = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry)} if retry else None
        return _page(request, who, status=exc.status_code, error=exc.detail.capitalize() + ".", headers=headers)
    return _back(f"Password changed. {ended} other session(s) signed out.")


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(session_id: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        accounts.revoke_session(session, who.user.id, session_id)
        audit.record(session, audit.SESSION_REVOKED, object_type="user", object_id=str(who.user.id))
    return _back("Session signed out.")


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        ended = accounts.end_sessions(session, who.user.id, keep_session=who.token)
        audit.record(
            session, audit.SESSION_REVOKED, object_type="user", object_id=str(who.user.id), data={"ended": ended}
        )
    return _back(f"{ended} other session(s) signed out.")


@router.post("/account/second-factor/start")
def start_second_factor(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        secret = second_factor.start(session, who.user)
    uri = second_factor.provisioning_uri(secret, who.user.email)
    return _page(request, who, enrolling={"secret": secret, "uri": uri})


@router.post("/account/second-factor/confirm")
def confirm_second_factor(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        require_admission(runtime.attempts, address=_address(request), account=f"second-step:{who.user.id}")
        with runtime.db.unit_of_work() as session:
            codes = second_factor.confirm(session, who.user, str(form.get("code") or "")[:64], now=runtime.clock.now())
            audit.record(session, audit.SECOND_FACTOR_ON, object_type="user", object_id=str(who.user.id))
    except TocsinError as exc:
        return _page(request, who, status=exc.status_code, error=exc.detail.capitalize() + ".")
    runtime.attempts.succeeded(f"second-step:{who.user.id}", _address(request))
    return _page(request, who, recovery_codes=codes)


@router.post("/account/second-factor/disable")
def disable_second_factor(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    try:
        require_admission(runtime.attempts, address=_address(request), account=f"second-step:{who.user.id}")
        with runtime.db.unit_of_work() as session:
            if not second_factor.check(session, who.user.id, str(form.get("code") or "")[:64], now=now):
                raise InvalidInput("that code is not right; a current code or a recovery code is needed")
            second_factor.disable(session, who.user)
            audit.record(session, audit.SECOND_FACTOR_OFF, object_type="user", object_id=str(who.user.id))
    except TocsinError as exc:
        return _page(request, who, status=exc.status_code, error=exc.detail.capitalize() + ".")
    runtime.attempts.succeeded(f"second-step:{who.user.id}", _address(request))
    return _back("Two-step sign-in is off.")


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/people/{user_id}/reset-password", response_class=HTMLResponse)
def admin_reset_password(user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, "other people's passwords")
    check_csrf(request, who, form)
    if form.get("confirm") != "yes":
        raise PageError(422, "Tick the box to confirm the reset.")
    runtime = runtime_of(request)
    with shown_as_page():
        with runtime.db.reader() as session:
            user = users.get_user(session, user_id)
        password = accounts.temporary_password()
        new_hash = runtime.hashing.call(hash_password, password)
        with runtime.db.unit_of_work() as session:
            ended = accounts.reset_password(session, user.id, new_hash=new_hash)
    return render(
        "web/password_reset.html", who=who, section="people", user=user, password=password, sessions_ended=ended
    )
