"""Postmortem review meetings in the console (ADR 0029): scheduling one from the postmortem page (an iCalendar
invitation is mailed to the owner, the reviewers and the people chosen) and recording who attended and what was
decided. Times are typed in UTC, as every time in the console is shown."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.learning import meetings
from tocsin.learning import service as postmortems
from tocsin.web.auth import PageError, PostedForm, check_csrf, require_responder, runtime_of
from tocsin.web.forms import many, text
from tocsin.web.learning_pages import incident_of, postmortem_page_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def _back(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}/postmortem?{urlencode(params)}#meetings", status_code=303)


def _starts_at(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("starts at: a date and time such as 2026-12-08T15:00 (UTC)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _minutes(value: str) -> int:
    if not value.strip().isascii() or not value.strip().isdigit():
        raise InvalidInput("minutes: a whole number from 5 to 600")
    return int(value.strip())


@router.post("/incidents/{number}/postmortem/meetings")
def schedule_meeting(number: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        starts_at = _starts_at(text(form, "starts_at"))
        minutes = _minutes(text(form, "minutes") or "60")
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=True)
            meetings.schedule(
                session,
                postmortems.get(session, incident.id),
                starts_at=starts_at,
                minutes=minutes,
                location=text(form, "location"),
                participants=many(form, "participants"),
                actor=who.actor(),
                now=runtime.clock.now(),
            )
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"The postmortem of incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        typed: dict[str, object] = {name: text(form, name) for name in ("starts_at", "minutes", "location")}
        typed["participants"] = many(form, "participants")
        return postmortem_page_of(request, who, number, exc.status_code, error=exc.detail, meeting_typed=typed)
    runtime.wakeup.notify()
    return _back(number, notice=f"Review scheduled for {starts_at:%Y-%m-%d %H:%M} UTC; invitations are on their way")


@router.post("/incidents/{number}/postmortem/meetings/{meeting_id}")
def record_meeting(number: int, meeting_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            incident = incident_of(session, who, number, act=True)
            row = meetings.get(session, postmortems.get(session, incident.id), meeting_id)
            meetings.record(session, row, attended=many(form, "attended"), decisions=text(form, "decisions"))
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Review meeting {meeting_id} of incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        typed = {"meeting": meeting_id, "attended": many(form, "attended"), "decisions": text(form, "decisions")}
        return postmortem_page_of(request, who, number, exc.status_code, error=exc.detail, meeting_typed=typed)
    return _back(number, notice="Attendance and decisions recorded")
