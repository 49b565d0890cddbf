"""Sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.audit import origin as audit_origin
from tocsin.audit import service as audit
from tocsin.auth import sessions
from tocsin.core.errors import Unauthorized
from tocsin.web.auth import COOKIE, PostedForm, check_csrf, require_user, runtime_of, set_session_cookie, signed_in
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//evil.example" and absolute URLs would turn sign-in into an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/incidents"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    target = _safe_next(request.query_params.get("next"))
    if signed_in(request) is not None:
        return RedirectResponse(target, status_code=303)
    return render("web/login.html", next=target, error="", email="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    runtime = runtime_of(request)

    def attempt() -> str:
        with runtime.db.unit_of_work() as session:
            user, token = sessions.sign_in(session, email=email, password=password, now=runtime.clock.now())
            origin = audit_origin.current()
            if origin is not None:
                origin.signed_in(user_id=user.id, label=user.name)
            audit.record(session, audit.SIGN_IN, object_type="user", object_id=str(user.id))
        return token

    def record_failure() -> None:
        # The page does not say whether the email exists; the audit trail keeps what was tried.
        with runtime.db.unit_of_work() as session:
            audit.record(session, audit.SIGN_IN_FAILED, object_type="user", data={"email": email[:255]})

    try:
        # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
        token = await run_in_threadpool(attempt)
    except Unauthorized as exc:
        await run_in_threadpool(record_failure)
        return render("web/login.html", 401, next=target, error=exc.detail.capitalize(), email=email)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout")
def logout(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        sessions.sign_out(session, who.token)
        audit.record(session, audit.SIGN_OUT, object_type="user", object_id=str(who.user.id))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
