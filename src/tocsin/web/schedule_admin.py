"""Schedules for admins: create a schedule with its first layer, edit its layers (rotation, shift length, handoff
time, participants in order, restrictions, end), remove a layer. Validated by the API's schemas, applied by the same
service functions the API calls.

Times are typed in the schedule's time zone, as the schedule page shows them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, get_args
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.api.oncall import LayerIn, ScheduleIn, seconds
from tocsin.core.errors import Conflict, InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import format_duration
from tocsin.oncall.models import Schedule, ScheduleLayer
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, indexes, invalid, many, optional, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "schedules"
LOCAL = "%Y-%m-%dT%H:%M"
ROTATIONS = get_args(LayerIn.model_fields["rotation"].annotation)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SCHEDULE_IN = TypeAdapter(ScheduleIn)
_LAYERS_IN = TypeAdapter(list[LayerIn])
_LAYER_PATH = re.compile(r"^layers\.(\d+)(?=\.|:|$)")


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # The schedule's own check names the bad zone; until then times are read as UTC.
        return ZoneInfo("UTC")


def local_time(raw: str, tz: ZoneInfo) -> datetime | str:
    """A datetime-local value in the schedule's zone; anything else is passed on for the schema to explain."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _layer_data(form: FormData, index: int, tz: ZoneInfo) -> dict[str, Any] | None:
    """One layer of the form as the API's JSON; None for the spare layer left blank."""
    prefix = f"layers.{index}."
    people = [p for p in re.split(r"[\s,;]+", text(form, prefix + "users")) if p]
    start = text(form, prefix + "start")
    if not (text(form, prefix + "rotation") or people or start):
        return None
    data: dict[str, Any] = {"name": text(form, prefix + "name"), "rotation": text(form, prefix + "rotation")}
    data["users"] = people
    if start:
        data["start"] = local_time(start, tz)
    if end := optional(form, prefix + "end"):
        data["end"] = local_time(end, tz)
    if length := optional(form, prefix + "shift_length"):
        data["shift_length"] = length
    restrictions = []
    for row in indexes(form, prefix + "restrictions"):
        at = f"{prefix}restrictions.{row}."
        begin, until = text(form, at + "start"), text(form, at + "end")
        if not (begin or until):
            continue
        restriction: dict[str, Any] = {"start": begin, "end": until}
        if days := many(form, at + "days"):
            restriction["days"] = [int(d) if is_ascii_digits(d) else d for d in days]
        restrictions.append(restriction)
    data["restrictions"] = restrictions
    return data


def _layers_data(form: FormData, tz: ZoneInfo) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled layers, and for each the number of its fieldset on the form (blank ones are skipped)."""
    out, where = [], []
    for index in indexes(form, "layers"):
        data = _layer_data(form, index, tz)
        if data is not None:
            out.append(data)
            where.append(index)
    return out, where


def _renumbered(bad: FormInvalid, where: list[int]) -> FormInvalid:
    """Errors about the n-th filled layer, pinned to the fieldset it came from."""

    def fix(path: str) -> str:
        return _LAYER_PATH.sub(
            lambda m: f"layers.{where[int(m.group(1))]}" if int(m.group(1)) < len(where) else m.group(0), path
        )

    errors = {fix(path): message for path, message in bad.errors.items()}
    message = "; ".join(fix(part) for part in bad.message.split("; "))
    return FormInvalid(bad.status, message, errors)


def _specs(session: Session, layers: list[LayerIn]) -> list[dict[str, Any]]:
    """As the API builds them; a participant who does not exist is an error of that layer's field."""
    specs = []
    for position, layer in enumerate(layers):
        try:
            spec = oncall.layer_spec(
                session,
                name=layer.name,
                rotation=layer.rotation,
                start=layer.start,
                end=layer.end,
                users=layer.users,
                shift_length_seconds=seconds(layer.shift_length) if layer.shift_length is not None else None,
                restrictions=layer.restrictions,
            )
        except (NotFound, InvalidInput) as exc:
            raise FormInvalid(
                422, f"layers.{position}.users: {exc.detail}", {f"layers.{position}.users": exc.detail}
            ) from None
        specs.append(spec)
    return specs


def _form_values(schedule: Schedule, layers: list[ScheduleLayer], emails: dict[int, str]) -> dict[str, Any]:
    tz = zone_of(schedule.timezone)
    values: dict[str, Any] = {"name": schedule.name, "timezone": schedule.timezone}
    for i, layer in enumerate(layers):
        at = f"layers.{i}."
        values[at + "name"] = layer.name
        values[at + "rotation"] = layer.rotation
        values[at + "start"] = layer.start.astimezone(tz).strftime(LOCAL)
        if layer.end is not None:
            values[at + "end"] = layer.end.astimezone(tz).strftime(LOCAL)
        if layer.shift_length_seconds:
            values[at + "shift_length"] = format_duration(timedelta(seconds=layer.shift_length_seconds))
        values[at + "users"] = "\n".join(emails.get(u, str(u)) for u in layer.user_ids)
        for j, r in enumerate(layer.restrictions):
            values[f"{at}restrictions.{j}.start"] = str(r.get("start", ""))
            values[f"{at}restrictions.{j}.end"] = str(r.get("end", ""))
            values[f"{at}restrictions.{j}.days"] = [str(d) for d in r.get("days", [])]
    return values


def _page(
    request: Request,
    who: WebUser,
    schedule: Schedule | None,
    values: dict[str, Any],
    layer_names: list[str],
    failed: FormInvalid | None = None,
) -> Response:
    """The create form (one layer) or the layers form (every layer, and one spare)."""
    with runtime_of(request).db.reader() as session:
        people = [(u.email, u.name) for u in users.list_users(session) if u.deactivated_at is None]
    count = max(indexes(values, "layers"), default=-1) + 1
    slots = max(count, len(layer_names) + (1 if schedule else 0), 1)
    # Every window a layer has, and one empty to add another.
    rows = {i: max(indexes(values, f"layers.{i}.restrictions"), default=-1) + 2 for i in range(slots)}
    return render(
        "web/schedule_form.html",
        failed.status if failed else 200,
        who=who,
        section="oncall",
        schedule=schedule,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        slots=slots,
        rows=rows,
        layer_names=layer_names,
        rotations=[(r, r) for r in ROTATIONS],
        days=list(enumerate(DAYS)),
        people=people,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/schedules/new", response_class=HTMLResponse)
def new_schedule(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _page(request, who, None, {"timezone": "UTC"}, [])


@router.post("/schedules/new")
def create_schedule(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    zone = text(form, "timezone") or "UTC"
    layers, where = _layers_data(form, zone_of(zone))
    data = {"name": text(form, "name"), "timezone": zone, "description": text(form, "description"), "layers": layers}
    try:
        body = validate(_SCHEDULE_IN, data)
        with runtime.db.unit_of_work() as session:
            schedule = oncall.create_schedule(
                session, name=body.name, timezone=body.timezone, description=body.description, now=runtime.clock.now()
            )
            oncall.set_layers(session, schedule, _specs(session, body.layers))
            schedule_id = schedule.id
    except FormInvalid as bad:
        failed = _renumbered(bad, where)
    except TocsinError as exc:
        failed = invalid(exc, ("name", "timezone", "description"))
    else:
        return RedirectResponse(
            f"/schedules/{schedule_id}?{urlencode({'notice': 'Schedule created'})}", status_code=303
        )
    return _page(request, who, None, values_of(form), [], failed)


def _stored(request: Request, schedule_id: int) -> tuple[Schedule, list[ScheduleLayer], dict[int, str]]:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        schedule = oncall.get_schedule(session, schedule_id)
        layers = oncall.layers(session, schedule)
        emails = {u.id: u.email for u in users.list_users(session)}
    return schedule, layers, emails


@router.get("/schedules/{schedule_id}/layers", response_class=HTMLResponse)
def edit_layers(schedule_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    schedule, layers, emails = _stored(request, schedule_id)
    return _page(request, who, schedule, _form_values(schedule, layers, emails), [layer.name for layer in layers])


@router.post("/schedules/{schedule_id}/layers")
def save_layers(schedule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    schedule, stored, _ = _stored(request, schedule_id)
    layers, where = _layers_data(form, zone_of(schedule.timezone))
    try:
        # The API's PUT takes the bare list; on the page the layers are fields of the schedule.
        body = validate(_LAYERS_IN, layers, prefix=("layers",))
        with runtime_of(request).db.unit_of_work() as session:
            oncall.set_layers(session, oncall.get_schedule(session, schedule_id), _specs(session, body))
    except FormInvalid as bad:
        failed = _renumbered(bad, where)
    except TocsinError as exc:
        failed = invalid(exc)
    else:
        return RedirectResponse(f"/schedules/{schedule_id}?{urlencode({'notice': 'Layers saved'})}", status_code=303)
    values = {"name": schedule.name, "timezone": schedule.timezone, **values_of(form)}
    return _page(request, who, schedule, values, [layer.name for layer in stored], failed)


@router.post("/schedules/{schedule_id}/layers/{number}/delete")
def delete_layer(schedule_id: int, number: int, request: Request, form: PostedForm) -> Response:
    """Remove the number-th layer. Layers are stored anew on every change, so the form names the layer it saw:
    a page older than the last change cannot remove another layer than the one it showed."""
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    seen = text(form, "name")
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        schedule = oncall.get_schedule(session, schedule_id)
        layers = oncall.layers(session, schedule)
        if not 1 <= number <= len(layers):
            raise NotFound(f"schedule {schedule.name!r} has no layer {number}")
        if layers[number - 1].name != seen:
            raise Conflict(f"layer {number} is now {layers[number - 1].name!r}, not {seen!r}: reload the page")
        kept = [
            {
                "name": layer.name,
                "rotation": layer.rotation,
                "start": layer.start,
                "end": layer.end,
                "users": list(layer.user_ids),
                "shift_length_seconds": layer.shift_length_seconds,
                "restrictions": list(layer.restrictions),
            }
            for position, layer in enumerate(layers, start=1)
            if position != number
        ]
        oncall.set_layers(session, schedule, kept)
    notice = f"Layer {seen} removed"
    return RedirectResponse(f"/schedules/{schedule_id}/layers?{urlencode({'notice': notice})}", status_code=303)
