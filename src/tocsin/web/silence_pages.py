"""Silences and maintenance windows in the console: list them by state, create, rewrite and end one. Forms are
validated by the API's schema and applied by the same service functions, with the same roles (responders and
admins change silences; everyone signed in reads them)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from starlette.datastructures import FormData

from tocsin.alerts import silence_service as silences
from tocsin.alerts.noise_models import SilenceRow
from tocsin.api.silences import SilenceIn, max_silence
from tocsin.core.clock import utc
from tocsin.core.errors import TocsinError
from tocsin.services import service as services
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of, shown_as_page
from tocsin.web.forms import (
    FormInvalid,
    as_form_values,
    json_field,
    optional,
    pinned,
    text,
    validate,
    values_of,
)
from tocsin.web.scope import visible_service_ids
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
FIELDS = ("name", "comment", "matchers", "service", "starts_at", "ends_at", "recurrence", "duration_seconds")
_SILENCE_IN = TypeAdapter(SilenceIn)
STATES = ("active", "upcoming", "ended")
# The service's refusals do not start with a field name; these words tell which field they are about.
_FIELD_OF_REFUSAL = (
    ("unknown service", "service"),
    ("comment", "comment"),
    ("has passed", "ends_at"),
    ("needs an end", "ends_at"),
    ("must end after", "ends_at"),
    ("RRULE", "recurrence"),
    ("duration", "duration_seconds"),
    ("matcher", "matchers"),
    ("field", "matchers"),
    ("operator", "matchers"),
    ("regular expression", "matchers"),
    ("needs a number", "matchers"),
)


def _body(form: FormData, *, with_name: bool) -> SilenceIn:
    data: dict[str, Any] = {
        "matchers": json_field(form, "matchers", []),
        "starts_at": optional(form, "starts_at"),
        "ends_at": optional(form, "ends_at"),
        "comment": text(form, "comment"),
        "service": optional(form, "service"),
        "recurrence": optional(form, "recurrence"),
        "duration_seconds": optional(form, "duration_seconds"),
    }
    if with_name:
        data["name"] = optional(form, "name")
    return validate(_SILENCE_IN, data)


def _form(
    request: Request, who: WebUser, row: SilenceRow | None, values: dict[str, Any], failed: FormInvalid | None = None
) -> Response:
    with runtime_of(request).db.reader() as session:
        service_names = [(s.name, s.name) for s in services.list_services(session)]
    return render(
        "web/silence_form.html",
        failed.status if failed else 200,
        who=who,
        section="silences",
        silence=row,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        services=service_names,
    )


def _stored_values(row: SilenceRow, service_name: str | None) -> dict[str, str | list[str]]:
    return as_form_values(
        {
            "name": row.name,
            "comment": row.comment,
            "matchers": json.dumps(row.matchers, indent=2) if row.matchers else None,
            "service": service_name,
            "starts_at": f"{row.starts_at:%Y-%m-%dT%H:%M:%S}",
            "ends_at": f"{row.ends_at:%Y-%m-%dT%H:%M:%S}" if row.ends_at else None,
            "recurrence": row.recurrence,
            "duration_seconds": row.duration_seconds,
        }
    )


@router.get("/silences", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        visible = visible_service_ids(session, who, see_all=runtime.settings.teams_see_all)
        rows = [
            r
            for r in silences.list_silences(session, now=now, include_expired=True)
            if visible is None or r.service_id is None or r.service_id in visible
        ]
        names = {s.id: s.name for s in services.list_services(session)}
    grouped: dict[str, list[SilenceRow]] = {state: [] for state in STATES}
    for row in rows:
        grouped[silences.state_of(row, now)].append(row)
    return render(
        "web/silences.html",
        who=who,
        section="silences",
        grouped=grouped,
        service_names=names,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/silences/new", response_class=HTMLResponse)
def new_page(request: Request) -> Response:
    who = require_responder(request)
    return _form(request, who, None, {})


@router.post("/silences/new")
def create(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    try:
        body = _body(form, with_name=True)
        with runtime.db.unit_of_work() as session:
            row = silences.create_silence(
                session,
                matchers=body.matchers,
                starts_at=utc(body.starts_at) if body.starts_at else now,
                ends_at=utc(body.ends_at) if body.ends_at else None,
                author=who.user.email,
                comment=body.comment,
                service=body.service,
                recurrence=body.recurrence,
                duration_seconds=body.duration_seconds,
                name=body.name,
                created_by_user_id=who.user.id,
                now=now,
                by=who.viewer(session),
                max_length=max_silence(runtime),
            )
            silence_id = row.id
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, None, values_of(form), pinned(exc, _FIELD_OF_REFUSAL, FIELDS))
    return RedirectResponse(f"/silences?notice=Silence+{silence_id}+created", status_code=303)


def _silence(request: Request, silence_id: int) -> tuple[SilenceRow, str | None]:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        row = silences.get_silence(session, silence_id)
        service = services.get_service(session, row.service_id) if row.service_id is not None else None
        return row, service.name if service else None


@router.get("/silences/{silence_id}/edit", response_class=HTMLResponse)
def edit_page(silence_id: int, request: Request) -> Response:
    who = require_responder(request)
    row, service_name = _silence(request, silence_id)
    return _form(request, who, row, _stored_values(row, service_name))


@router.post("/silences/{silence_id}/edit")
def update(silence_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    row, _ = _silence(request, silence_id)
    now = runtime.clock.now()
    try:
        # As PUT /api/v1/silences/{id}: the silence keeps its name and, when none is given, its start.
        body = _body(form, with_name=False)
        with runtime.db.unit_of_work() as session:
            existing = silences.get_silence(session, silence_id)
            silences.create_silence(
                session,
                matchers=body.matchers,
                starts_at=utc(body.starts_at) if body.starts_at else existing.starts_at,
                ends_at=utc(body.ends_at) if body.ends_at else None,
                author=who.user.email,
                comment=body.comment,
                service=body.service,
                recurrence=body.recurrence,
                duration_seconds=body.duration_seconds,
                name=existing.name,
                created_by_user_id=who.user.id,
                now=now,
                existing=existing,
                by=who.viewer(session),
                max_length=max_silence(runtime),
            )
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, row, values_of(form), pinned(exc, _FIELD_OF_REFUSAL, FIELDS))
    return RedirectResponse(f"/silences?notice=Silence+{silence_id}+saved", status_code=303)


@router.post("/silences/{silence_id}/end")
def end(silence_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        silences.expire_silence(session, silence_id, now=runtime.clock.now(), by=who.viewer(session))
    return RedirectResponse(f"/silences?notice=Silence+{silence_id}+ended", status_code=303)
