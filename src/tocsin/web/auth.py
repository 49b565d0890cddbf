"""Who is signed in, for the HTML pages: the session cookie, the login redirect and the CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.alerts import silence_service
from tocsin.audit import origin as audit_origin
from tocsin.auth import sessions
from tocsin.core.errors import TocsinError
from tocsin.incidents.schemas import Actor
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.users.models import User

COOKIE = "tocsin_session"


class LoginRequired(Exception):
    """Raised by pages when nobody is signed in; answered with a redirect to the sign-in page."""


class PageError(Exception):
    """An error shown to a person as an HTML page (the JSON API answers problem+json instead)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ActiveSilence:
    """A silence muting alerts now, as the banner on every page names it."""

    id: int
    label: str
    ends_at: datetime | None


@dataclass(frozen=True)
class WebUser:
    user: User
    token: str
    csrf: str
    runtime: Runtime | None = field(default=None, repr=False, compare=False)

    @cached_property
    def silenced(self) -> tuple[ActiveSilence, ...]:
        """What is muted now, for the banner: read when a page is rendered, not on every signed-in request
        (live updates, redirects after a form)."""
        if self.runtime is None:
            return ()
        now = self.runtime.clock.now()
        with self.runtime.db.reader() as session:
            teams = access.visible_team_ids(self.viewer(session), see_all=self.runtime.settings.teams_see_all)
            # Another team's silence is not named to those who may not read that team's objects (ADR 0016).
            hidden = set() if teams is None else services.service_ids_outside(session, teams)
            return tuple(
                ActiveSilence(id=row.id, label=row.name or row.comment, ends_at=ends_at)
                for row, ends_at in silence_service.active_now(session, now=now)
                if row.service_id not in hidden
            )

    def actor(self) -> Actor:
        return Actor(label=self.user.name, source="web", user_id=self.user.id)

    def viewer(self, session: Session) -> Viewer:
        """Who this is in which team, for the access decisions of ``tocsin.access``."""
        return access.viewer_of(session, self.user)

    @property
    def can_act(self) -> bool:
        return self.user.role in ("admin", "responder")

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


@contextmanager
def shown_as_page() -> Iterator[None]:
    """A refusal (a missing object, a conflict) met while serving a page is shown as a page, not as the API's
    problem+json."""
    try:
        yield
    except TocsinError as exc:
        raise PageError(exc.status_code, exc.detail) from None


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def signed_in(request: Request) -> WebUser | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        found = sessions.user_of(session, token, now=now)
        if found is None:
            return None
    user, stale = found
    origin = audit_origin.current()
    if origin is not None:
        origin.signed_in(user_id=user.id, label=user.name)
    if stale:
        with runtime.db.unit_of_work() as session:
            sessions.touch(session, token, now=now)
    csrf = sessions.csrf_token(runtime.link_secret(), token)
    return WebUser(user=user, token=token, csrf=csrf, runtime=runtime)


def require_user(request: Request) -> WebUser:
    who = signed_in(request)
    if who is None:
        raise LoginRequired
    return who


def require_admin(request: Request, what: str) -> WebUser:
    """The signed-in admin; anyone else gets a 403 page naming what they tried to change."""
    who = require_user(request)
    if not who.is_admin:
        raise PageError(403, f"Only admins can change {what}.")
    return who


def require_responder(request: Request) -> WebUser:
    who = require_user(request)
    if not who.can_act:
        raise PageError(403, "Your role can look at incidents but not act on them.")
    return who


async def _posted_form(request: Request) -> FormData:
    # The body arrives on the event loop; the handler that uses the form runs in the thread pool (it reads the
    # database, which must never block the loop).
    return await request.form()


# A sync page handler's posted form: ``form: PostedForm``, then ``check_csrf(request, who, form)``.
PostedForm = Annotated[FormData, Depends(_posted_form)]


def check_csrf(request: Request, who: WebUser, form: FormData) -> None:
    """Refuse a form whose CSRF token is missing or not this session's."""
    field = form.get("csrf")
    presented = request.headers.get("x-csrf-token") or (field if isinstance(field, str) else "")
    if not sessions.csrf_ok(runtime_of(request).link_secret(), who.token, presented):
        raise PageError(403, "This form expired or came from another site. Reload the page and try again.")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    secure = request.url.scheme == "https" or runtime_of(request).settings.base_url.startswith("https://")
    lifetime = int(sessions.ABSOLUTE.total_seconds())
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/", max_age=lifetime)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        # The page reads the database (who is signed in, the silence banner): in a thread, never on the loop.
        return await run_in_threadpool(_error_page, request, exc)


def _error_page(request: Request, exc: PageError) -> Response:
    from tocsin.web.templating import render

    return render("web/error.html", exc.status, who=signed_in(request), message=exc.message)
