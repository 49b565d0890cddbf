"""On-call use cases: who is on call, final shifts, gaps, overrides, schedule configuration and feeds."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.core.clock import utc
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.notify import notices
from tocsin.notify import service as notify
from tocsin.oncall import calculator as calc
from tocsin.oncall import ical
from tocsin.oncall import repository as repo
from tocsin.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.users import repository as user_repo
from tocsin.users.service import get_user, validate_timezone

ROTATIONS = ("daily", "weekly", "hourly", "custom")
PRODID = "-//Tocsin//On-call//EN"


def _restriction(raw: dict[str, Any]) -> calc.Restriction:
    days = raw.get("days")
    return calc.Restriction(
        start=time.fromisoformat(raw["start"]),
        end=time.fromisoformat(raw["end"]),
        days=tuple(int(d) for d in (range(7) if days is None else days)),
        timezone=raw.get("timezone") or None,
    )


def to_calendar(
    schedule: Schedule,
    layers: Sequence[ScheduleLayer],
    overrides: Sequence[ScheduleOverride],
    absent: Iterable[int] = (),
) -> calc.Schedule:
    """The pure calculator's view of a stored schedule (users are identified by their id as a string);
    ``absent`` users (deactivated) leave gaps where their turns were."""
    return calc.Schedule(
        absent=frozenset(str(u) for u in absent),
        name=schedule.name,
        timezone=schedule.timezone,
        layers=tuple(
            calc.Layer(
                name=layer.name,
                rotation=layer.rotation,  # type: ignore[arg-type]
                users=tuple(str(u) for u in layer.user_ids),
                start=layer.start,
                shift_length=timedelta(seconds=layer.shift_length_seconds) if layer.shift_length_seconds else None,
                restrictions=tuple(_restriction(r) for r in layer.restrictions),
                end=layer.end,
            )
            for layer in layers
        ),
        overrides=tuple(
            calc.Override(
                user=str(o.user_id),
                start=o.start,
                end=o.end,
                replaces=str(o.replaces_user_id) if o.replaces_user_id else None,
            )
            for o in overrides
        ),
    )


def load(session: Session, schedule_id: int, *, around: tuple[datetime, datetime] | None = None) -> calc.Schedule:
    schedule = repo.schedule(session, schedule_id)
    if schedule is None:
        raise NotFound(f"schedule {schedule_id} not found")
    start, end = around if around else (None, None)
    overrides = repo.overrides_of(session, schedule_id, ending_after=start, starting_before=end)
    return to_calendar(schedule, repo.layers_of(session, schedule_id), overrides, user_repo.deactivated_ids(session))


def users_on_call(session: Session, schedule_id: int, at: datetime) -> tuple[str, ...]:
    return users_on_call_many(session, [schedule_id], at)[schedule_id]


def users_on_call_many(
    session: Session, schedule_ids: Iterable[int], at: datetime, *, absent: set[int] | None = None
) -> dict[int, tuple[str, ...]]:
    """Who is on call at ``at`` in each of these schedules (nobody in a schedule that does not exist or is
    archived, nor a deactivated user), loaded with one query per table however many schedules are asked about."""
    wanted = set(schedule_ids)
    schedules = {sid: s for sid, s in repo.schedules_by_id(session, wanted).items() if s.archived_at is None}
    found: dict[int, tuple[str, ...]] = dict.fromkeys(wanted, ())
    if not schedules:
        return found
    layers = repo.layers_of_many(session, schedules)
    overrides = repo.overrides_of_many(
        session, schedules, ending_after=at, starting_before=at + timedelta(microseconds=1)
    )
    if absent is None:
        absent = user_repo.deactivated_ids(session)
    for sid, schedule in schedules.items():
        found[sid] = calc.on_call_at(to_calendar(schedule, layers[sid], overrides[sid], absent), at)
    return found


def shifts(session: Session, schedule_id: int, start: datetime, end: datetime) -> list[calc.Shift]:
    if end <= start:
        raise InvalidInput("the end of the range must come after its start")
    if end - start > timedelta(days=366):
        raise InvalidInput("a range is limited to one year")
    return calc.final_shifts(load(session, schedule_id, around=(start, end)), start, end)


def gaps(session: Session, schedule_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return calc.gaps(load(session, schedule_id, around=(start, end)), start, end)


def get_schedule(session: Session, ref: int | str) -> Schedule:
    found = repo.schedule(session, int(ref)) if is_ascii_digits(str(ref)) else repo.schedule_by_name(session, str(ref))
    if found is None:
        raise NotFound(f"schedule {ref} not found")
    return found


def list_schedules(session: Session, *, include_archived: bool = False) -> list[Schedule]:
    return repo.all_schedules(session, include_archived=include_archived)


def layers(session: Session, schedule: Schedule) -> list[ScheduleLayer]:
    return repo.layers_of(session, schedule.id)


def create_schedule(
    session: Session,
    *,
    name: str,
    timezone: str,
    now: datetime,
    team_id: int | None = None,
    description: str = "",
) -> Schedule:
    if not name.strip():
        raise InvalidInput("a schedule needs a name")
    if repo.schedule_by_name(session, name.strip()) is not None:
        raise Conflict(f"a schedule named {name!r} already exists")
    schedule = Schedule(
        name=name.strip(),
        timezone=validate_timezone(timezone),
        team_id=team_id,
        description=description,
        feed_token=new_feed_token(),
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def layer_spec(
    session: Session,
    *,
    rotation: str,
    start: datetime,
    users: Sequence[int | str],
    name: str = "",
    end: datetime | None = None,
    shift_length_seconds: int | None = None,
    restrictions: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A layer as ``set_layers`` takes it, from users named by id or email and times in any zone."""
    return {
        "name": name,
        "rotation": rotation,
        "start": utc(start),
        "end": utc(end) if end is not None else None,
        "users": [get_user(session, u).id for u in users],
        "shift_length_seconds": shift_length_seconds,
        "restrictions": list(restrictions),
    }


def set_layers(session: Session, schedule: Schedule, specs: Sequence[dict[str, Any]]) -> None:
    """Replace the layers of a schedule. Each spec: name, rotation, start, users (ids), shift_length_seconds,
    restrictions, end."""
    rows = []
    for position, spec in enumerate(specs):
        rotation = spec.get("rotation")
        if rotation not in ROTATIONS:
            raise InvalidInput(f"layer {position + 1}: rotation must be one of {', '.join(ROTATIONS)}")
        users = [int(u) for u in spec.get("users", [])]
        if not users:
            raise InvalidInput(f"layer {position + 1}: needs at least one user")
        for uid in users:
            if user_repo.get(session, uid) is None:
                raise InvalidInput(f"layer {position + 1}: user {uid} does not exist")
        length = spec.get("shift_length_seconds")
        if rotation in ("hourly", "custom") and not length:
            raise InvalidInput(f"layer {position + 1}: a {rotation} rotation needs a shift length")
        if length is not None and length <= 0:
            raise InvalidInput(f"layer {position + 1}: the shift length must be positive")
        start, end = spec.get("start"), spec.get("end")
        if not isinstance(start, datetime) or start.utcoffset() is None:
            raise InvalidInput(f"layer {position + 1}: start must be a date-time with a zone offset")
        if end is not None and end <= start:
            raise InvalidInput(f"layer {position + 1}: end must come after start")
        for r in spec.get("restrictions") or []:
            try:
                _restriction(r)
            except (KeyError, ValueError, TypeError, AttributeError):
                raise InvalidInput(
                    f"layer {position + 1}: a restriction is {{start: 'HH:MM', end: 'HH:MM', days: [0-6], "
                    f"timezone: optional IANA zone}}, not {r!r}"
                ) from None
        rows.append(
            ScheduleLayer(
                schedule_id=schedule.id,
                position=position,
                name=spec.get("name") or f"layer {position + 1}",
                rotation=rotation,
                shift_length_seconds=length,
                start=start,
                end=end,
                user_ids=users,
                restrictions=list(spec.get("restrictions") or []),
            )
        )
    for old in repo.layers_of(session, schedule.id):
        session.delete(old)
    session.flush()
    session.add_all(rows)
    session.flush()


def add_override(
    session: Session,
    schedule: Schedule,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    replaces_user_id: int | None = None,
    created_by_user_id: int | None = None,
    by: Viewer | None = None,
    max_length: timedelta | None = None,
) -> ScheduleOverride:
    """``by`` is who sets it from the console or the API, held to the guardrails of ADR 0016 (the CLI passes
    nobody); ``max_length`` is the longest override they may set."""
    if by is not None:
        require_act_on_overrides(session, by, schedule)
    if end <= start:
        raise InvalidInput("an override must end after it starts")
    if user_repo.get(session, user_id) is None:
        raise InvalidInput(f"user {user_id} does not exist")
    if by is not None:
        _guard(session, by, user_id=user_id, start=start, end=end, max_length=max_length, now=now)
    if replaces_user_id is not None and user_repo.get(session, replaces_user_id) is None:
        raise InvalidInput(f"user {replaces_user_id} (the one replaced) does not exist")
    if replaces_user_id == user_id:
        raise InvalidInput("an override cannot replace its own user")
    override = ScheduleOverride(
        schedule_id=schedule.id,
        user_id=user_id,
        replaces_user_id=replaces_user_id,
        start=start,
        end=end,
        created_by_user_id=created_by_user_id,
        created_at=now,
    )
    session.add(override)
    session.flush()
    if by is not None:
        _announce(session, by, schedule, override, now=now, what="set")
    return override


def require_act_on_overrides(session: Session, by: Viewer, schedule: Schedule) -> None:
    access.require_act(session, by, [schedule.team_id], f"overrides of schedule {schedule.name!r}")


def _guard(
    session: Session,
    by: Viewer,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
    max_length: timedelta | None,
    now: datetime,
) -> None:
    """Someone who is not an admin puts on call only people who can acknowledge, for a bounded time."""
    if by.is_admin:
        return
    user = user_repo.get(session, user_id)
    if user is not None and user.role not in ("admin", "responder"):
        raise InvalidInput(
            f"{user.email} is an observer and could not acknowledge a page; only admins may put them on call",
            errors=["user: observer"],
        )
    if max_length is not None:
        access_policy.check_duration(by, start, end, limit=max_length, what="an override", now=now)


def _announce(
    session: Session, by: Viewer, schedule: Schedule, override: ScheduleOverride, *, now: datetime, what: str
) -> None:
    """The team owning the schedule learns of an override set by someone who does not manage it."""
    if schedule.team_id is None or not access_policy.needs_notice(by, schedule.team_id):
        return
    on_call = user_repo.get(session, override.user_id)
    setter = user_repo.get(session, by.user_id)
    notices.notify_team(
        session,
        team_id=schedule.team_id,
        key=f"override:{override.id}:{what}:{int(now.timestamp())}",
        text=(
            f"{setter.name if setter else 'Someone'} {what} an override on schedule {schedule.name!r}: "
            f"{on_call.name if on_call else override.user_id} on call from {override.start.isoformat()} "
            f"to {override.end.isoformat()}"
        ),
        now=now,
        skip_user_id=by.user_id,
    )


def update_override(
    session: Session,
    schedule: Schedule,
    override_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    user_id: int | None = None,
    by: Viewer | None = None,
    max_length: timedelta | None = None,
    now: datetime | None = None,
) -> ScheduleOverride:
    if by is not None:
        require_act_on_overrides(session, by, schedule)
    override = repo.override(session, override_id)
    if override is None or override.schedule_id != schedule.id:
        raise NotFound(f"override {override_id} not found")
    new_start, new_end = start or override.start, end or override.end
    if new_end <= new_start:
        raise InvalidInput("an override must end after it starts")
    if by is not None:
        moment = now if now is not None else new_start
        _guard(
            session,
            by,
            user_id=user_id if user_id is not None else override.user_id,
            start=new_start,
            end=new_end,
            max_length=max_length,
            now=moment,
        )
    if user_id is not None:
        if user_repo.get(session, user_id) is None:
            raise InvalidInput(f"user {user_id} does not exist")
        if user_id == override.replaces_user_id:
            raise InvalidInput("an override cannot replace its own user")
        override.user_id = user_id
    override.start, override.end = new_start, new_end
    session.flush()
    if by is not None and now is not None:
        _announce(session, by, schedule, override, now=now, what="changed")
    return override


def delete_override(session: Session, schedule: Schedule, override_id: int, *, by: Viewer | None = None) -> None:
    if by is not None:
        require_act_on_overrides(session, by, schedule)
    override = repo.override(session, override_id)
    if override is None or override.schedule_id != schedule.id:
        raise NotFound(f"override {override_id} not found")
    session.delete(override)


def overrides(session: Session, schedule: Schedule, *, ending_after: datetime | None = None) -> list[ScheduleOverride]:
    return repo.overrides_of(session, schedule.id, ending_after=ending_after)


def _domain(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "tocsin.local"


# Feeds compute from a start on a fixed grid, then drop what ended before the wanted start. A shift that began
# before the wanted start thus keeps its real start (or a grid point, for shifts longer than the grid step), and
# with it its UID, from one fetch to the next as the window slides.
FEED_GRID = timedelta(days=28)
_GRID_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)


def _feed_shifts(cal: calc.Schedule, start: datetime, end: datetime) -> list[calc.Shift]:
    anchor = _GRID_ORIGIN + ((start - _GRID_ORIGIN) // FEED_GRID) * FEED_GRID - FEED_GRID
    return [s for s in calc.final_shifts(cal, anchor, end) if s.end > start]


def _feed_calendar(session: Session, schedule: Schedule, start: datetime, end: datetime) -> calc.Schedule:
    anchor = start - 2 * FEED_GRID
    return to_calendar(
        schedule,
        repo.layers_of(session, schedule.id),
        repo.overrides_of(session, schedule.id, ending_after=anchor, starting_before=end),
    )


def schedule_feed(
    session: Session,
    token: str,
    *,
    start: datetime,
    end: datetime,
    base_url: str,
    now: datetime | None = None,
) -> bytes | None:
    """A schedule's final shifts over [start, end) as iCalendar; None for an unknown token."""
    schedule = repo.schedule_by_feed_token(session, token)
    if schedule is None:
        return None
    found = _feed_shifts(_feed_calendar(session, schedule, start, end), start, end)
    names = user_repo.names(session, [int(s.user) for s in found])
    entries = [(f"schedule-{schedule.id}", s, f"On call: {names.get(int(s.user), s.user)}") for s in found]
    return ical.feed(
        f"On call: {schedule.name}",
        entries,
        prodid=PRODID,
        domain=_domain(base_url),
        stamp=now or start,
    )


def user_feed(
    session: Session,
    token: str,
    *,
    start: datetime,
    end: datetime,
    base_url: str,
    now: datetime | None = None,
) -> bytes | None:
    """One person's shifts across every schedule as iCalendar; None for an unknown token."""
    user = user_repo.by_feed_token(session, token)
    if user is None:
        return None
    entries = []
    for schedule in repo.all_schedules(session, include_archived=False):
        for s in _feed_shifts(_feed_calendar(session, schedule, start, end), start, end):
            if s.user == str(user.id):
                entries.append((f"schedule-{schedule.id}", s, f"On call: {schedule.name}"))
    entries.sort(key=lambda e: e[1].start)
    return ical.feed(
        f"On call: {user.name}",
        entries,
        prodid=PRODID,
        domain=_domain(base_url),
        stamp=now or start,
    )


def user_feed_token(session: Session, user_id: int, *, rotate: bool = False) -> str:
    """The secret of a person's iCalendar feed, made on first use; ``rotate`` replaces a leaked one."""
    user = user_repo.get(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.feed_token is None or rotate:
        user.feed_token = new_feed_token()
    return user.feed_token


def rotate_schedule_feed_token(session: Session, schedule: Schedule) -> str:
    """Replace a schedule's feed secret: the old URL stops working at once."""
    schedule.feed_token = new_feed_token()
    return schedule.feed_token


def new_feed_token() -> str:
    # 32 random bytes: 256 bits, far past guessing, in 43 URL-safe characters.
    return secrets.token_urlsafe(32)


def set_handoff_notifications(session: Session, user_id: int, *, enabled: bool) -> None:
    user = user_repo.get(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    user.handoff_notifications = enabled


def upcoming_shifts_of(
    session: Session, user_id: int, start: datetime, end: datetime
) -> list[tuple[Schedule, calc.Shift]]:
    """A person's final shifts overlapping [start, end), across schedules; a shift under way keeps its real
    start (looking back up to a month) rather than being cut at ``start``."""
    out = []
    for schedule in repo.all_schedules(session, include_archived=False):
        for s in _feed_shifts(_feed_calendar(session, schedule, start, end), start, end):
            if s.user == str(user_id):
                out.append((schedule, s))
    return sorted(out, key=lambda pair: (pair[1].start, pair[0].name))


def announce_handoffs(session: Session, *, since: datetime, now: datetime) -> int:
    """Queue a message for each person whose shift began in (since, now] and who asked to be told."""
    sent = 0
    for schedule in repo.all_schedules(session, include_archived=False):
        cal = load(session, schedule.id, around=(since, now + timedelta(microseconds=1)))
        for handoff in calc.next_handoffs(cal, since, now):
            for user in handoff.to_users:
                if user in handoff.from_users:
                    continue
                sent += notify.notify_handoff(
                    session,
                    user_id=int(user),
                    schedule_name=schedule.name,
                    schedule_id=schedule.id,
                    at=handoff.at,
                    now=now,
                )
    return sent


def next_handoff_after(session: Session, now: datetime, *, until: datetime) -> datetime | None:
    """The first instant in (now, until] at which someone goes on call in any schedule."""
    soonest: datetime | None = None
    for schedule in repo.all_schedules(session, include_archived=False):
        cal = load(session, schedule.id, around=(now, until + timedelta(microseconds=1)))
        for handoff in calc.next_handoffs(cal, now, until):
            if set(handoff.to_users) - set(handoff.from_users):
                if soonest is None or handoff.at < soonest:
                    soonest = handoff.at
                break
    return soonest
