"""Forgotten passwords: ask for a reset link by email, then choose a new password from it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.auth import accounts, reset_links
from tocsin.auth.attempts import require_admission
from tocsin.core.errors import InvalidInput, RateLimited, TocsinError, Unauthorized
from tocsin.notify.reset_mail import send_reset_link
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, runtime_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

SENT = "If an account has that address, a link to choose a new password is on its way to it."


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/login/forgot", response_class=HTMLResponse)
def forgot_page() -> Response:
    return render("web/forgot_password.html", error="", notice="", email="")


@router.post("/login/forgot", response_class=HTMLResponse)
def ask_for_link(request: Request, form: PostedForm) -> Response:
    email = str(form.get("email") or "").strip()[:320]
    runtime = runtime_of(request)
    try:
        # Each request mails someone: counted like a password attempt, per address and per account.
        require_admission(runtime.attempts, address=_address(request), account=f"reset:{email.lower()}")
    except RateLimited as exc:
        wait = {"Retry-After": str(exc.extra.get("retry_after") or 1)}
        return render("web/forgot_password.html", 429, wait, error=exc.detail.capitalize(), notice="", email=email)
    with runtime.db.reader() as session:
        try:
            user = users.get_user(session, email) if "@" in email else None
        except TocsinError:
            user = None
    if user is not None and user.deactivated_at is None:
        send_reset_link(
            runtime.providers,
            runtime.link_secret(),
            user=user,
            base_url=runtime.settings.base_url,
            now=runtime.clock.now(),
            valid_minutes=runtime.settings.password_reset_link_minutes,
        )
    # The same answer whether the account exists or not.
    return render("web/forgot_password.html", error="", notice=SENT, email="")


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(token: str, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        with runtime.db.reader() as session:
            reset_links.usable(session, runtime.link_secret(), token, now=runtime.clock.now())
    except Unauthorized as exc:
        return render("web/reset_password.html", 401, token=token, error=exc.detail.capitalize() + ".", usable=False)
    return render(
        "web/reset_password.html", token=token, error="", usable=True, min_length=runtime.settings.password_min_length
    )


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset_with_link(token: str, request: Request, form: PostedForm) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    now = runtime.clock.now()
    new = str(form.get("new_password") or "")
    try:
        with runtime.db.reader() as session:
            user, nonce = reset_links.usable(session, runtime.link_secret(), token, now=now)
        if new != str(form.get("confirm_password") or ""):
            raise InvalidInput("the new password and its confirmation differ")
        new_hash = accounts.new_password_hash(
            runtime.hashing,
            user=user,
            password=new,
            min_length=settings.password_min_length,
            blocklist_file=settings.password_blocklist_file,
        )
        with runtime.db.unit_of_work() as session:
            reset_links.use(session, nonce, now=now)
            accounts.reset_password(session, user.id, new_hash=new_hash)
    except TocsinError as exc:
        return render(
            "web/reset_password.html",
            exc.status_code,
            token=token,
            error=exc.detail.capitalize() + ".",
            usable=exc.status_code != 401,
            min_length=settings.password_min_length,
        )
    return render("web/login.html", next="/incidents", error="", email=user.email, notice="Password set. Sign in.")
