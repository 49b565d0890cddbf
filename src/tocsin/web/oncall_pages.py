"""On-call: who is on call now, and a schedule's next 14 days drawn layer by layer with overrides and gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin.api.oncall import max_override
from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.escalation import service as escalation
from tocsin.oncall import calculator as calc
from tocsin.oncall import service as oncall
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.scope import sees
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Bar:
    """One stretch of a timeline row, placed in percent of the window (SVG attributes, so no inline styles)."""

    label: str
    x: float
    width: float
    title: str
    kind: str  # "shift", "override" or "gap"


def _bars(
    pieces: list[tuple[str, datetime, datetime, str]], start: datetime, tz: ZoneInfo, names: dict[int, str]
) -> list[Bar]:
    total = WINDOW.total_seconds()
    out = []
    for user, a, b, kind in pieces:
        label = "nobody" if kind == "gap" else names.get(int(user), user)
        span = f"{a.astimezone(tz):%a %d %b %H:%M} to {b.astimezone(tz):%a %d %b %H:%M}"
        out.append(
            Bar(
                label=label,
                x=round((a - start).total_seconds() / total * 100, 3),
                width=round((b - a).total_seconds() / total * 100, 3),
                title=f"{label}: {span}",
                kind=kind,
            )
        )
    return out


@router.get("/oncall", response_class=HTMLResponse)
def oncall_now(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    see_all = runtime.settings.teams_see_all
    with runtime.db.reader() as session:
        schedules = [s for s in oncall.list_schedules(session) if sees(session, who, s.team_id, see_all=see_all)]
        on_call = {s.id: oncall.users_on_call(session, s.id, now) for s in schedules}
        policies = [p for p in escalation.list_policies(session) if sees(session, who, p.team_id, see_all=see_all)]
        first = {p.id: escalation.first_responders(session, p, now) for p in policies}
        ids = [int(u) for people in (*on_call.values(), *first.values()) for u in people if is_ascii_digits(str(u))]
        names = users.names_of(session, ids)
    return render(
        "web/oncall.html",
        who=who,
        section="oncall",
        schedules=schedules,
        on_call=on_call,
        policies=policies,
        first=first,
        names=names,
    )


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
def schedule_page(schedule_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    start = now.replace(minute=0, second=0, microsecond=0)
    end = start + WINDOW
    with runtime.db.reader() as session:
        try:
            schedule = oncall.get_schedule(session, schedule_id)
            if not sees(session, who, schedule.team_id, see_all=runtime.settings.teams_see_all):
                raise NotFound(f"schedule {schedule_id} not found")
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Schedule {schedule_id}")
        cal = oncall.load(session, schedule.id, around=(start, end))
        tz = ZoneInfo(schedule.timezone)
        final = calc.final_shifts(cal, start, end)
        holes = calc.gaps(cal, start, end)
        rows: list[tuple[str, list[tuple[str, datetime, datetime, str]]]] = []
        for layer in cal.layers:
            rows.append(
                (
                    f"Layer: {layer.name}",
                    [(s.user, s.start, s.end, "shift") for s in calc.layer_shifts(layer, tz, start, end)],
                )
            )
        override_rows = [o for o in cal.overrides if o.end > start and o.start < end]
        if override_rows:
            rows.append(
                ("Overrides", [(o.user, max(o.start, start), min(o.end, end), "override") for o in override_rows])
            )
        final_pieces = [(s.user, s.start, s.end, "override" if s.is_override else "shift") for s in final]
        final_pieces += [("", a, b, "gap") for a, b in holes]
        rows.append(("Final schedule", sorted(final_pieces, key=lambda p: p[1])))
        people = [u for u in users.list_users(session) if u.deactivated_at is None]
        names = {u.id: u.name for u in people}
        stored_overrides = oncall.overrides(session, schedule, ending_after=now)
    timeline = [(label, _bars(pieces, start, tz, names)) for label, pieces in rows]
    days = [(round(d / 14 * 100, 3), (start + timedelta(days=d)).astimezone(tz)) for d in range(14)]
    return render(
        "web/schedule.html",
        who=who,
        section="oncall",
        schedule=schedule,
        timeline=timeline,
        days=days,
        gaps=[(a.astimezone(tz), b.astimezone(tz)) for a, b in holes],
        people=people,
        names=names,
        overrides=stored_overrides,
        tz=tz,
        feed_url=f"{runtime.settings.base_url}/ical/schedules/{schedule.feed_token}.ics",
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


def _local(value: str, tz: ZoneInfo, field: str) -> datetime:
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: enter a date and time such as 2026-11-28T09:00") from None
    return naive.replace(tzinfo=tz) if naive.tzinfo is None else naive


@router.post("/schedules/{schedule_id}/overrides")
def create_override(schedule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    here = f"/schedules/{schedule_id}"
    try:
        with runtime.db.unit_of_work() as session:
            schedule = oncall.get_schedule(session, schedule_id)
            tz = ZoneInfo(schedule.timezone)
            user = str(form.get("user") or "")
            if not is_ascii_digits(user):
                raise InvalidInput("choose who covers")
            oncall.add_override(
                session,
                schedule,
                user_id=int(user),
                start=_local(str(form.get("start") or ""), tz, "start"),
                end=_local(str(form.get("end") or ""), tz, "end"),
                now=runtime.clock.now(),
                created_by_user_id=who.user.id,
                by=who.viewer(session),
                max_length=max_override(runtime),
            )
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    return RedirectResponse(f"{here}?{urlencode({'notice': 'Override created'})}", status_code=303)


@router.post("/schedules/{schedule_id}/overrides/{override_id}/delete")
def delete_override(schedule_id: int, override_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    here = f"/schedules/{schedule_id}"
    try:
        with runtime.db.unit_of_work() as session:
            schedule = oncall.get_schedule(session, schedule_id)
            oncall.delete_override(session, schedule, override_id, by=who.viewer(session))
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    return RedirectResponse(f"{here}?{urlencode({'notice': 'Override removed'})}", status_code=303)
