"""The audit page (admins): who changed what, signed in or failed to, with filters; and its JSON lines export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from tocsin.audit import service as audit
from tocsin.audit.origin import CHANNELS
from tocsin.audit.repository import AuditFilter
from tocsin.core.clock import utc
from tocsin.core.errors import TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.web.auth import PageError, WebUser, require_user, runtime_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

_FIELDS = ("actor", "channel", "object_type", "object_id", "since", "until")


def _admin(request: Request) -> WebUser:
    who = require_user(request)
    if not who.is_admin:
        raise PageError(403, "The audit trail is for admins.")
    return who


def _time(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise PageError(400, f"'{name}' is not a date and time (use e.g. 2026-11-02T09:00).") from None


def _filter(values: dict[str, str]) -> AuditFilter:
    actor = values["actor"]
    if actor and not is_ascii_digits(actor):
        raise PageError(400, "'actor' is a user id (a number).")
    if values["channel"] and values["channel"] not in CHANNELS:
        raise PageError(400, f"'channel' is one of {', '.join(CHANNELS)}.")
    since, until = _time(values["since"], "since"), _time(values["until"], "until")
    if since is not None and until is not None and until <= since:
        raise PageError(400, "'until' must be later than 'since'.")
    return AuditFilter(
        actor_user_id=int(actor) if actor else None,
        channel=values["channel"] or None,
        object_type=values["object_type"] or None,
        object_id=values["object_id"] or None,
        since=since,
        until=until,
    )


def _values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in _FIELDS}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    who = _admin(request)
    values = _values(request)
    flt = _filter(values)
    runtime = runtime_of(request)
    try:
        with runtime.db.reader() as session:
            rows, next_cursor = audit.list_entries(
                session, flt, limit=100, cursor=request.query_params.get("cursor") or None
            )
    except TocsinError as exc:
        raise PageError(exc.status_code, exc.detail.capitalize() + ".") from None
    query = urlencode({k: v for k, v in values.items() if v})
    return render(
        "web/audit.html",
        who=who,
        section="audit",
        entries=rows,
        values=values,
        channels=CHANNELS,
        next_cursor=next_cursor,
        query=query,
    )


@router.get("/audit/export.jsonl")
def audit_export(request: Request) -> Response:
    _admin(request)
    flt = _filter(_values(request))
    runtime = runtime_of(request)

    def lines() -> Iterator[bytes]:
        for record in audit.iter_export(runtime.db.reader, flt):
            yield orjson.dumps(record) + b"\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"', "Cache-Control": "no-store"},
    )
