"""A schedule's name, time zone and description (admins), and one override's person and times (responders), as
PATCH /api/v1/schedules/{ref} and PATCH /api/v1/schedules/{ref}/overrides/{id} change them: validated by the same
schemas, applied by the same service functions.

Override times are typed in the schedule's time zone, as the schedule page shows them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from tocsin.api.admin import OverridePatch, SchedulePatch
from tocsin.api.oncall import max_override
from tocsin.core.clock import utc
from tocsin.core.errors import NotFound, TocsinError
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ScheduleOverride
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, require_responder, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, invalid, on_field, text, validate, values_of
from tocsin.web.schedule_admin import LOCAL, local_time, zone_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
_SCHEDULE_PATCH = TypeAdapter(SchedulePatch)
_OVERRIDE_PATCH = TypeAdapter(OverridePatch)


def _back(schedule_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/schedules/{schedule_id}?{urlencode({'notice': notice})}", status_code=303)


# --- the schedule ------------------------------------------------------------------------------------------------


def _schedule(request: Request, schedule_id: int) -> Schedule:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return oncall.get_schedule(session, schedule_id)


def _schedule_form(
    who: WebUser, schedule: Schedule, values: dict[str, Any], failed: FormInvalid | None = None
) -> Response:
    return render(
        "web/schedule_edit.html",
        failed.status if failed else 200,
        who=who,
        section="oncall",
        schedule=schedule,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
    )


@router.get("/schedules/{schedule_id}/edit", response_class=HTMLResponse)
def edit_schedule(schedule_id: int, request: Request) -> Response:
    who = require_admin(request, "schedules")
    schedule = _schedule(request, schedule_id)
    values = {"name": schedule.name, "timezone": schedule.timezone, "description": schedule.description}
    return _schedule_form(who, schedule, values)


@router.post("/schedules/{schedule_id}/edit")
def update_schedule(schedule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, "schedules")
    check_csrf(request, who, form)
    schedule = _schedule(request, schedule_id)
    data = {"name": text(form, "name"), "timezone": text(form, "timezone"), "description": text(form, "description")}
    try:
        body = validate(_SCHEDULE_PATCH, data)
        with runtime_of(request).db.unit_of_work() as session:
            stored = oncall.get_schedule(session, schedule_id)
            on_field("name", lambda: schedules.update_schedule(session, stored, name=body.name))
            on_field("timezone", lambda: schedules.update_schedule(session, stored, timezone=body.timezone))
            schedules.update_schedule(session, stored, description=body.description)
    except (TocsinError, FormInvalid) as exc:
        return _schedule_form(who, schedule, values_of(form), invalid(exc))
    return _back(schedule_id, "Schedule saved")


# --- overrides ---------------------------------------------------------------------------------------------------


def _stored_override(request: Request, schedule_id: int, override_id: int) -> tuple[Schedule, ScheduleOverride]:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        schedule = oncall.get_schedule(session, schedule_id)
        found = next((o for o in oncall.overrides(session, schedule) if o.id == override_id), None)
        if found is None:
            raise NotFound(f"override {override_id} not found in schedule {schedule.name!r}")
    return schedule, found


def _override_form(
    request: Request,
    who: WebUser,
    schedule: Schedule,
    override: ScheduleOverride,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    with runtime_of(request).db.reader() as session:
        people = [(str(u.id), f"{u.name} ({u.email})") for u in users.list_users(session) if u.deactivated_at is None]
    return render(
        "web/override_form.html",
        failed.status if failed else 200,
        who=who,
        section="oncall",
        schedule=schedule,
        override=override,
        people=people,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
    )


@router.get("/schedules/{schedule_id}/overrides/{override_id}/edit", response_class=HTMLResponse)
def edit_override(schedule_id: int, override_id: int, request: Request) -> Response:
    who = require_responder(request)
    schedule, override = _stored_override(request, schedule_id, override_id)
    tz = zone_of(schedule.timezone)
    values = {
        "user": str(override.user_id),
        "start": override.start.astimezone(tz).strftime(LOCAL),
        "end": override.end.astimezone(tz).strftime(LOCAL),
    }
    return _override_form(request, who, schedule, override, values)


@router.post("/schedules/{schedule_id}/overrides/{override_id}/edit")
def update_override(schedule_id: int, override_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    schedule, override = _stored_override(request, schedule_id, override_id)
    tz = zone_of(schedule.timezone)
    data = {"user": text(form, "user"), "start": local_time(text(form, "start"), tz)}
    data["end"] = local_time(text(form, "end"), tz)
    try:
        body = validate(_OVERRIDE_PATCH, data)
        if not body.user:
            raise FormInvalid(422, "user: choose who covers", {"user": "choose who covers"})
        covering = body.user
        runtime = runtime_of(request)
        with runtime.db.unit_of_work() as session:
            stored = oncall.get_schedule(session, schedule_id)
            viewer, limit, now = who.viewer(session), max_override(runtime), runtime.clock.now()

            def change_user() -> None:
                covering_id = users.get_user(session, covering).id
                oncall.update_override(
                    session, stored, override_id, user_id=covering_id, by=viewer, max_length=limit, now=now
                )

            on_field("user", change_user)
            start, end = utc(body.start) if body.start else None, utc(body.end) if body.end else None
            on_field(
                "end",
                lambda: oncall.update_override(
                    session, stored, override_id, start=start, end=end, by=viewer, max_length=limit, now=now
                ),
            )
    except (TocsinError, FormInvalid) as exc:
        return _override_form(request, who, schedule, override, values_of(form), invalid(exc))
    return _back(schedule_id, "Override saved")
