"""Tracker connections in the console, for admins: the list with each connection's webhook address and secret,
a form to add one, delete, and the newest remote issues with their last error. Forms are validated by the API's
schemas and applied by the same service functions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from tocsin.api.tracker_schemas import ConnectionIn
from tocsin.core.errors import TocsinError
from tocsin.trackers import service as trackers
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, optional, pinned, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "tracker connections"
_IN = TypeAdapter(ConnectionIn)
_FIELD_OF_REFUSAL = (
    ("base_url", "base_url"),
    ("project", "project"),
    ("basic auth", "username"),
    ("token", "token"),
    ("named", "name"),
)


def _page(request: Request, who: WebUser, values: dict[str, Any], failed: FormInvalid | None = None) -> Response:
    values.pop("token", None)  # a credential is not written back into the page
    with shown_as_page(), runtime_of(request).db.reader() as session:
        rows = trackers.list_connections(session)
        issues = trackers.list_issues(session, limit=20)
        names = {c.id: c.name for c in rows}
    return render(
        "web/trackers.html",
        failed.status if failed else 200,
        who=who,
        section="trackers",
        rows=rows,
        issues=issues,
        names=names,
        base_url=runtime_of(request).settings.base_url,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/trackers", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _page(request, who, {"kind": "jira", "api_version": "3", "issue_type": "Task"})


@router.post("/trackers/new")
def create(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    username = optional(form, "username")
    data = {
        "name": text(form, "name"),
        "kind": text(form, "kind"),
        "base_url": text(form, "base_url"),
        "project": text(form, "project"),
        "token": text(form, "token"),
        "auth_scheme": "basic" if username else "bearer",
        "username": username,
        "issue_type": text(form, "issue_type") or "Task",
        "api_version": text(form, "api_version") or "3",
    }
    try:
        body = validate(_IN, data)
        with runtime.db.unit_of_work() as session:
            trackers.create_connection(session, trackers.ConnectionSpec(**body.model_dump()), now=runtime.clock.now())
    except (TocsinError, FormInvalid) as exc:
        return _page(request, who, values_of(form), pinned(exc, _FIELD_OF_REFUSAL))
    return RedirectResponse("/trackers?notice=Connection+added", status_code=303)


@router.post("/trackers/{connection_id}/delete")
def delete(connection_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        trackers.delete_connection(session, connection_id)
    return RedirectResponse("/trackers?notice=Connection+deleted", status_code=303)
