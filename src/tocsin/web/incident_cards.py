"""What every form on an incident page's cards does around its own change: sign-in, CSRF, the incident as the
person may see it (else not found), the right to act on it, one transaction, and back to the page with a notice
or the error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, runtime_of
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

# (session, incident, who, now) → the notice shown on the page after the change.
Act = Callable[[Session, Incident, WebUser, datetime], str]


def back_to(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}?{urlencode(params)}", status_code=303)


def act_on_incident(request: Request, number: int, form: PostedForm, act: Act) -> Response:
    """Run ``act`` on incident ``number`` in one transaction and go back to its page."""
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            require_act_on_incident(session, who, incident)
            # Anything else not found (a role, a service, a request) is the form's mistake, shown on the page.
            notice = act(session, incident, who, runtime.clock.now())
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return back_to(number, error=exc.detail)
    runtime.wakeup.notify()
    return back_to(number, notice=notice)
