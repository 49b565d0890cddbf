"""Sign-in and sign-out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tocsin.audit import origin as audit_origin
from tocsin.audit import service as audit
from tocsin.auth import pending_sign_in, sessions
from tocsin.auth.attempts import require_admission
from tocsin.core.errors import InvalidInput, RateLimited, Unauthorized, Unavailable
from tocsin.users import second_factor
from tocsin.users.models import User
from tocsin.web.auth import COOKIE, PostedForm, check_csrf, require_user, runtime_of, set_session_cookie, signed_in
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//evil.example" and absolute URLs would turn sign-in into an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/incidents"


def sso_name(request: Request) -> str | None:
    """The provider named on the "Sign in with …" button, None without single sign-on (ADR 0037)."""
    settings = runtime_of(request).settings
    return settings.oidc_display_name if settings.oidc_enabled else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    target = _safe_next(request.query_params.get("next"))
    if signed_in(request) is not None:
        return RedirectResponse(target, status_code=303)
    return render("web/login.html", next=target, error="", email="", sso=sso_name(request))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    runtime = runtime_of(request)
    now = runtime.clock.now()

    def look_up() -> sessions.PasswordCheck:
        with runtime.db.reader() as session:
            return sessions.password_to_check(session, email)

    def next_step(check: sessions.PasswordCheck, new_hash: str | None) -> tuple[str, str]:
        """("session", cookie token), or ("code", a note for the one-time code form)."""
        with runtime.db.unit_of_work() as session:
            user = sessions.accept_password(session, check=check, new_hash=new_hash)
            if second_factor.enabled(user):
                return "code", pending_sign_in.make(runtime.link_secret(), user, now=now)
            return "session", _signed_in(request, session, user, now)

    def record_failure() -> None:
        # The page does not say whether the email exists; the audit trail keeps what was tried.
        with runtime.db.unit_of_work() as session:
            audit.record(session, audit.SIGN_IN_FAILED, object_type="user", data={"email": email[:255]})

    try:
        # Counted before anything is read or hashed: a refused attempt costs neither a query nor a hash.
        await run_in_threadpool(require_admission, runtime.attempts, address=client_address(request), account=email)
        check = await run_in_threadpool(look_up)
        # argon2 takes tens of milliseconds of CPU: on its own small pool, never the loop or the shared threads.
        ok, new_hash = await runtime.hashing.run(sessions.check_password, check, password)
        if not ok:
            raise Unauthorized("wrong email or password")
        step, token = await run_in_threadpool(next_step, check, new_hash)
    except (RateLimited, Unavailable) as exc:
        wait = {"Retry-After": str(exc.extra.get("retry_after") or 1)}
        return render(
            "web/login.html",
            exc.status_code,
            wait,
            next=target,
            error=exc.detail.capitalize(),
            email=email,
            sso=sso_name(request),
        )
    except Unauthorized as exc:
        await run_in_threadpool(record_failure)
        return render(
            "web/login.html", 401, next=target, error=exc.detail.capitalize(), email=email, sso=sso_name(request)
        )
    await run_in_threadpool(runtime.attempts.succeeded, email, client_address(request))
    if step == "code":
        return render("web/login_code.html", next=target, note=token, error="")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, token)
    return response


def _signed_in(request: Request, session: Session, user: User, now: datetime) -> str:
    token = sessions.new_session(
        session, user_id=user.id, now=now, ip=client_address(request), user_agent=request.headers.get("user-agent", "")
    )
    origin = audit_origin.current()
    if origin is not None:
        origin.signed_in(user_id=user.id, label=user.name)
    audit.record(session, audit.SIGN_IN, object_type="user", object_id=str(user.id))
    return token


@router.post("/login/code", response_class=HTMLResponse)
def login_code(request: Request, form: PostedForm) -> Response:
    note = str(form.get("note") or "")
    code = str(form.get("code") or "")[:64]
    target = _safe_next(str(form.get("next") or ""))
    runtime = runtime_of(request)
    now = runtime.clock.now()
    try:
        account = f"second-step:{pending_sign_in.user_id_of(note)}"
        require_admission(runtime.attempts, address=client_address(request), account=account)
        with runtime.db.unit_of_work() as session:
            user = pending_sign_in.redeem(session, runtime.link_secret(), note, now=now)
            if not second_factor.check(session, user.id, code, now=now):
                raise InvalidInput("that code is not right; try the current one from your app, or a recovery code")
            token = _signed_in(request, session, user, now)
    except RateLimited as exc:
        wait = {"Retry-After": str(exc.extra.get("retry_after") or 1)}
        return render("web/login_code.html", 429, wait, next=target, note=note, error=exc.detail.capitalize())
    except InvalidInput as exc:
        return render("web/login_code.html", 401, next=target, note=note, error=exc.detail.capitalize())
    except Unauthorized as exc:
        return render("web/login.html", 401, next=target, error=exc.detail.capitalize(), email="")
    runtime.attempts.succeeded(account, client_address(request))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, token)
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


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
