"""/api/v1 schedules, on-call, overrides, escalation policies, contact methods and notification rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.api.deps import Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES, RATE_LIMITED
from tocsin.api.scope import require_act_on_incident, require_sees, sees, visible_incident
from tocsin.core.clock import utc
from tocsin.core.errors import Forbidden, InvalidInput
from tocsin.escalation import service as escalation
from tocsin.escalation.models import EscalationPolicy
from tocsin.incidents import service as incidents
from tocsin.notify import contacts
from tocsin.notify import service as notify
from tocsin.notify.send_limits import SendLimits
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import parse_duration
from tocsin.oncall.models import Schedule
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", tags=["on-call"], responses=PROBLEM_RESPONSES)

Duration = int | str
GAP_HORIZON = timedelta(days=14)


def seconds(value: Duration) -> int:
    """Durations are given as "30s", "5m", "1h30m" or a number of seconds."""
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput("a duration must not be negative")
        return value
    try:
        return int(parse_duration(value).total_seconds())
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


# --- schemas -----------------------------------------------------------------------------------------------------


class LayerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    rotation: Literal["daily", "weekly", "hourly", "custom"]
    start: datetime
    users: list[str] = Field(min_length=1, description="user ids or emails, in rotation order")
    shift_length: Duration | None = None
    restrictions: list[dict[str, Any]] = []
    end: datetime | None = None


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    description: str = ""
    layers: list[LayerIn] = []
    team: str | None = Field(default=None, min_length=1, description="owning team (id or name); its managers edit it")


class LayerOut(BaseModel):
    name: str
    rotation: str
    start: datetime
    end: datetime | None
    users: list[int]
    shift_length_seconds: int | None
    restrictions: list[dict[str, Any]]


class GapOut(BaseModel):
    start: datetime
    end: datetime


class ScheduleOut(BaseModel):
    id: int
    name: str
    timezone: str
    description: str
    layers: list[LayerOut]
    ical_url: str
    on_call_now: list[int]
    gaps: list[GapOut] = Field(description=f"periods with nobody on call in the next {GAP_HORIZON.days} days")
    has_gaps: bool
    archived_at: datetime | None = None


class ShiftOut(BaseModel):
    user_id: int
    start: datetime
    end: datetime
    layer: str | None
    is_override: bool


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    start: datetime
    end: datetime
    replaces: str | None = None


class OverrideOut(BaseModel):
    id: int
    user_id: int
    replaces_user_id: int | None
    start: datetime
    end: datetime


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["user", "schedule", "team"]
    ref: str


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetIn] = Field(min_length=1)
    delay: Duration = 0


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    repeat: int = Field(default=0, ge=0, le=9)
    steps: list[StepIn] = Field(min_length=1)
    team: str | None = Field(default=None, min_length=1, description="owning team (id or name); its managers edit it")


class PolicyOut(BaseModel):
    id: int
    name: str
    description: str
    repeat: int
    steps: list[dict[str, Any]]
    archived_at: datetime | None = None
    team_id: int | None = None


class ContactMethodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    type: str
    address: str = Field(min_length=1, max_length=2048)
    secret: str | None = None


class ContactMethodOut(BaseModel):
    id: int
    name: str
    type: str
    address: str
    verified: bool
    disabled: bool


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urgency: Literal["high", "low"]
    contact_method_id: int
    delay: Duration = 0

    @field_validator("delay")
    @classmethod
    def _delay(cls, v: Duration) -> Duration:
        seconds(v)
        return v


class RuleOut(BaseModel):
    id: int
    urgency: str
    contact_method_id: int
    delay_seconds: int


class OnCallEntry(BaseModel):
    schedule: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None
    users: list[dict[str, Any]]


# --- helpers -----------------------------------------------------------------------------------------------------


def _user_id(session: Any, ref: str) -> int:
    return users.get_user(session, ref).id


def _layer_specs(session: Any, layers: list[LayerIn]) -> list[dict[str, Any]]:
    return [
        oncall.layer_spec(
            session,
            name=layer.name,
            rotation=layer.rotation,
            start=layer.start,
            end=layer.end,
            users=layer.users,
            shift_length_seconds=seconds(layer.shift_length) if layer.shift_length is not None else None,
            restrictions=layer.restrictions,
        )
        for layer in layers
    ]


def _schedule_out(runtime: Any, session: Any, schedule: Any) -> ScheduleOut:
    now = runtime.clock.now()
    gaps = [GapOut(start=a, end=b) for a, b in oncall.gaps(session, schedule.id, now, now + GAP_HORIZON)]
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        timezone=schedule.timezone,
        description=schedule.description,
        layers=[
            LayerOut(
                name=layer.name,
                rotation=layer.rotation,
                start=layer.start,
                end=layer.end,
                users=layer.user_ids,
                shift_length_seconds=layer.shift_length_seconds,
                restrictions=layer.restrictions,
            )
            for layer in oncall.layers(session, schedule)
        ],
        ical_url=f"{runtime.settings.base_url}/ical/schedules/{schedule.feed_token}.ics",
        on_call_now=[int(u) for u in oncall.users_on_call(session, schedule.id, now)],
        gaps=gaps,
        has_gaps=bool(gaps),
        archived_at=schedule.archived_at,
    )


def _targets(session: Any, step: StepIn) -> list[dict[str, Any]]:
    return escalation.resolve_targets(session, [(t.kind, t.ref) for t in step.targets])


def _policy_out(session: Any, policy: Any) -> PolicyOut:
    return PolicyOut(
        id=policy.id,
        name=policy.name,
        description=policy.description,
        repeat=policy.repeat,
        steps=[{"targets": s.targets, "delay_seconds": s.delay_seconds} for s in escalation.steps_of(session, policy)],
        archived_at=policy.archived_at,
        team_id=policy.team_id,
    )


def team_id_of(session: Session, ref: str | None) -> int | None:
    return teams.get_team(session, ref).id if ref is not None else None


def require_manage_schedule(session: Session, principal: Principal, schedule: Schedule) -> None:
    access.require_manage(session, principal.viewer(session), [schedule.team_id], f"schedule {schedule.name!r}")


def require_manage_policy(session: Session, principal: Principal, policy: EscalationPolicy) -> None:
    what = f"escalation policy {policy.name!r}"
    access.require_manage(session, principal.viewer(session), [policy.team_id], what)


# --- schedules ---------------------------------------------------------------------------------------------------


@router.get("/schedules", response_model=list[ScheduleOut])
def list_schedules(runtime: RuntimeDep, principal: PrincipalDep, include_archived: bool = False) -> list[ScheduleOut]:
    with runtime.db.reader() as session:
        found = oncall.list_schedules(session, include_archived=include_archived)
        return [_schedule_out(runtime, session, s) for s in found if sees(session, principal, runtime, s.team_id)]


@router.post("/schedules", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
def create_schedule(body: ScheduleIn, runtime: RuntimeDep, principal: ResponderDep) -> ScheduleOut:
    with runtime.db.unit_of_work() as session:
        team_id = team_id_of(session, body.team)
        access.require_manage(session, principal.viewer(session), [team_id], "the schedules of a team")
        schedule = oncall.create_schedule(
            session,
            name=body.name,
            timezone=body.timezone,
            description=body.description,
            now=runtime.clock.now(),
            team_id=team_id,
        )
        oncall.set_layers(session, schedule, _layer_specs(session, body.layers))
        return _schedule_out(runtime, session, schedule)


@router.get("/schedules/{ref}", response_model=ScheduleOut)
def get_schedule(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> ScheduleOut:
    with runtime.db.reader() as session:
        schedule = oncall.get_schedule(session, ref)
        require_sees(session, principal, runtime, schedule.team_id, f"schedule {ref}")
        return _schedule_out(runtime, session, schedule)


@router.put("/schedules/{ref}/layers", response_model=ScheduleOut)
def set_layers(ref: str, body: list[LayerIn], runtime: RuntimeDep, principal: ResponderDep) -> ScheduleOut:
    with runtime.db.unit_of_work() as session:
        schedule = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, schedule)
        oncall.set_layers(session, schedule, _layer_specs(session, body))
        return _schedule_out(runtime, session, schedule)


def _seen_schedule(session: Session, principal: Principal, runtime: Runtime, ref: str) -> Schedule:
    schedule = oncall.get_schedule(session, ref)
    require_sees(session, principal, runtime, schedule.team_id, f"schedule {ref}")
    return schedule


@router.get("/schedules/{ref}/shifts", response_model=list[ShiftOut], summary="The final schedule over a range")
def shifts(
    ref: str, runtime: RuntimeDep, principal: PrincipalDep, start: datetime | None = None, end: datetime | None = None
) -> list[ShiftOut]:
    begin = utc(start) if start else runtime.clock.now()
    finish = utc(end) if end else begin + timedelta(days=14)
    with runtime.db.reader() as session:
        schedule = _seen_schedule(session, principal, runtime, ref)
        return [
            ShiftOut(user_id=int(s.user), start=s.start, end=s.end, layer=s.layer, is_override=s.is_override)
            for s in oncall.shifts(session, schedule.id, begin, finish)
        ]


@router.get("/schedules/{ref}/gaps", response_model=list[GapOut], summary="Periods with nobody on call")
def gaps(
    ref: str, runtime: RuntimeDep, principal: PrincipalDep, days: Annotated[int, Query(ge=1, le=90)] = 14
) -> list[GapOut]:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        schedule = _seen_schedule(session, principal, runtime, ref)
        return [GapOut(start=a, end=b) for a, b in oncall.gaps(session, schedule.id, now, now + timedelta(days=days))]


@router.get("/schedules/{ref}/overrides", response_model=list[OverrideOut])
def list_overrides(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[OverrideOut]:
    with runtime.db.reader() as session:
        schedule = _seen_schedule(session, principal, runtime, ref)
        return [
            OverrideOut(id=o.id, user_id=o.user_id, replaces_user_id=o.replaces_user_id, start=o.start, end=o.end)
            for o in oncall.overrides(session, schedule, ending_after=runtime.clock.now())
        ]


def max_override(runtime: Runtime) -> timedelta:
    return timedelta(days=runtime.settings.override_max_days)


@router.post("/schedules/{ref}/overrides", response_model=OverrideOut, status_code=status.HTTP_201_CREATED)
def create_override(ref: str, body: OverrideIn, runtime: RuntimeDep, principal: ResponderDep) -> OverrideOut:
    with runtime.db.unit_of_work() as session:
        schedule = oncall.get_schedule(session, ref)
        o = oncall.add_override(
            session,
            schedule,
            user_id=_user_id(session, body.user),
            start=utc(body.start),
            end=utc(body.end),
            replaces_user_id=_user_id(session, body.replaces) if body.replaces else None,
            created_by_user_id=principal.user.id,
            now=runtime.clock.now(),
            by=principal.viewer(session),
            max_length=max_override(runtime),
        )
        return OverrideOut(id=o.id, user_id=o.user_id, replaces_user_id=o.replaces_user_id, start=o.start, end=o.end)


@router.delete("/schedules/{ref}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_override(ref: str, override_id: int, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        schedule = oncall.get_schedule(session, ref)
        oncall.delete_override(session, schedule, override_id, by=principal.viewer(session))


@router.get("/oncall", response_model=list[OnCallEntry], summary="Who is on call now, per schedule and policy")
def on_call_now(runtime: RuntimeDep, principal: PrincipalDep, at: datetime | None = None) -> list[OnCallEntry]:
    when = utc(at) if at else runtime.clock.now()
    with runtime.db.reader() as session:
        out: list[OnCallEntry] = []
        for schedule in oncall.list_schedules(session):
            if not sees(session, principal, runtime, schedule.team_id):
                continue
            ids = [int(u) for u in oncall.users_on_call(session, schedule.id, when)]
            names = users.names_of(session, ids)
            out.append(
                OnCallEntry(
                    schedule={"id": schedule.id, "name": schedule.name},
                    users=[{"id": i, "name": names.get(i, "")} for i in ids],
                )
            )
        for policy in escalation.list_policies(session):
            if not sees(session, principal, runtime, policy.team_id):
                continue
            ids = [int(u) for u in escalation.first_responders(session, policy, when)]
            names = users.names_of(session, ids)
            out.append(
                OnCallEntry(
                    policy={"id": policy.id, "name": policy.name},
                    users=[{"id": i, "name": names.get(i, "")} for i in ids],
                )
            )
        return out


# --- escalation policies -----------------------------------------------------------------------------------------


@router.get("/escalation-policies", response_model=list[PolicyOut], tags=["escalation"])
def list_policies(runtime: RuntimeDep, principal: PrincipalDep, include_archived: bool = False) -> list[PolicyOut]:
    with runtime.db.reader() as session:
        found = escalation.list_policies(session, include_archived=include_archived)
        return [_policy_out(session, p) for p in found if sees(session, principal, runtime, p.team_id)]


@router.post("/escalation-policies", response_model=PolicyOut, status_code=status.HTTP_201_CREATED, tags=["escalation"])
def create_policy(body: PolicyIn, runtime: RuntimeDep, principal: ResponderDep) -> PolicyOut:
    with runtime.db.unit_of_work() as session:
        team_id = team_id_of(session, body.team)
        access.require_manage(session, principal.viewer(session), [team_id], "the escalation policies of a team")
        policy = escalation.create_policy(
            session,
            team_id=team_id,
            name=body.name,
            description=body.description,
            repeat=body.repeat,
            now=runtime.clock.now(),
            steps=[(_targets(session, s), seconds(s.delay)) for s in body.steps],
        )
        return _policy_out(session, policy)


@router.get("/escalation-policies/{ref}", response_model=PolicyOut, tags=["escalation"])
def get_policy(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> PolicyOut:
    with runtime.db.reader() as session:
        policy = escalation.get_policy(session, ref)
        require_sees(session, principal, runtime, policy.team_id, f"escalation policy {ref}")
        return _policy_out(session, policy)


@router.put(
    "/escalation-policies/{ref}",
    response_model=PolicyOut,
    tags=["escalation"],
    summary="Replace the steps; running escalations keep the snapshot they started with",
)
def update_policy(ref: str, body: PolicyIn, runtime: RuntimeDep, principal: ResponderDep) -> PolicyOut:
    with runtime.db.unit_of_work() as session:
        policy = escalation.get_policy(session, ref)
        require_manage_policy(session, principal, policy)
        if "team" in body.model_fields_set:
            team_id = team_id_of(session, body.team)
            access.require_manage(session, principal.viewer(session), [team_id], "the escalation policies of a team")
            policy.team_id = team_id
        policy.description = body.description
        escalation.set_steps(
            session, policy, repeat=body.repeat, steps=[(_targets(session, s), seconds(s.delay)) for s in body.steps]
        )
        return _policy_out(session, policy)


class ServicePolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    escalation_policy: str | None


@router.put("/services/{ref}/escalation-policy", tags=["escalation"])
def set_service_policy(ref: str, body: ServicePolicyIn, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        access.require_manage(session, principal.viewer(session), [service.team_id], f"service {service.name!r}")
        policy = escalation.get_policy(session, body.escalation_policy) if body.escalation_policy else None
        service.escalation_policy_id = policy.id if policy else None
        return {"service_id": service.id, "escalation_policy_id": service.escalation_policy_id}


@router.post("/incidents/{ref}/escalate", tags=["incidents"], summary="Page the next step now")
def escalate(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        found = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, found)
        incident = incidents.escalate_now(session, found.id, actor=principal.actor(), now=runtime.clock.now())
        result = {"id": incident.id, "number": incident.number, "status": incident.status}
    runtime.wakeup.notify()
    return result


@router.get("/incidents/{ref}/notifications", tags=["incidents"])
def incident_notifications(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    with runtime.db.reader() as session:
        found = visible_incident(session, principal, runtime, ref)
        return [
            {
                "id": n.id,
                "user_id": n.user_id,
                "contact_method_id": n.contact_method_id,
                "kind": n.kind,
                "step": n.step_index,
                "cycle": n.cycle,
                "status": n.status,
                "attempts": n.attempts,
                "next_attempt_at": n.next_attempt_at,
                "sent_at": n.sent_at,
                "last_error": n.last_error,
            }
            for n in notify.notifications_of(session, found.id)
        ]


# --- contact methods and rules -----------------------------------------------------------------------------------


def own_or_admin(principal: Any, user_id: int) -> None:
    if principal.user.id != user_id and not principal.is_admin:
        raise Forbidden("you can only change your own contact methods and rules")


@router.get("/users/{ref}/contact-methods", response_model=list[ContactMethodOut], tags=["people"])
def list_contact_methods(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[ContactMethodOut]:
    with runtime.db.reader() as session:
        user = users.get_user(session, ref)
        viewer = principal.viewer(session)
        out = []
        for cm in contacts.contact_methods(session, user.id):
            shown = ContactMethodOut.model_validate(cm, from_attributes=True)
            shown.address = access_policy.shown_contact_address(viewer, cm.user_id, cm.type, cm.address)
            out.append(shown)
        return out


@router.post("/users/{ref}/contact-methods", response_model=ContactMethodOut, status_code=201, tags=["people"])
def add_contact_method(
    ref: str, body: ContactMethodIn, runtime: RuntimeDep, principal: PrincipalDep
) -> ContactMethodOut:
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, ref)
        own_or_admin(principal, user.id)
        cm = contacts.add_contact_method(
            session,
            user_id=user.id,
            name=body.name,
            type=body.type,
            address=body.address,
            secret=body.secret,
            now=runtime.clock.now(),
            # A phone number must be confirmed with a code before it is paged, unless an admin set it.
            verified=body.type not in ("sms", "voice") or principal.is_admin,
            limits=SendLimits.of(runtime.settings),
        )
        return ContactMethodOut.model_validate(cm, from_attributes=True)


@router.post(
    "/contact-methods/{cm_id}/test",
    status_code=202,
    tags=["people"],
    summary="Send a test notification to one contact method",
    responses=RATE_LIMITED,
)
def test_contact_method(cm_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        n = contacts.send_test(session, cm_id, now=runtime.clock.now(), limits=SendLimits.of(runtime.settings))
        own_or_admin(principal, n.user_id)
        result = {"notification_id": n.id, "status": n.status}
    runtime.wakeup.notify()
    return result


@router.get("/users/{ref}/notification-rules", response_model=list[RuleOut], tags=["people"])
def list_rules(ref: str, runtime: RuntimeDep, _: PrincipalDep) -> list[RuleOut]:
    with runtime.db.reader() as session:
        user = users.get_user(session, ref)
        return [RuleOut.model_validate(r, from_attributes=True) for r in contacts.rules(session, user.id)]


@router.post("/users/{ref}/notification-rules", response_model=RuleOut, status_code=201, tags=["people"])
def add_rule(ref: str, body: RuleIn, runtime: RuntimeDep, principal: PrincipalDep) -> RuleOut:
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, ref)
        own_or_admin(principal, user.id)
        rule = contacts.add_rule(
            session,
            user_id=user.id,
            urgency=body.urgency,
            contact_method_id=body.contact_method_id,
            delay_seconds=seconds(body.delay),
        )
        return RuleOut.model_validate(rule, from_attributes=True)


# --- a person's on-call ------------------------------------------------------------------------------------------


class UserShiftOut(BaseModel):
    schedule: dict[str, Any]
    start: datetime
    end: datetime
    layer: str | None
    is_override: bool
    current: bool


class UserOnCallOut(BaseModel):
    user: dict[str, Any]
    on_call_now: bool
    shifts: list[UserShiftOut] = Field(description="shifts under way or starting in the next 14 days")
    handoff_notifications: bool
    ical_url: str | None = Field(description="the personal feed; shown to the person and to admins only")


class OnCallPreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handoff_notifications: bool


def _user_ical_url(runtime: Any, token: str) -> str:
    return f"{runtime.settings.base_url}/ical/users/{token}.ics"


@router.get("/users/{ref}/oncall", response_model=UserOnCallOut, tags=["people"])
def user_on_call(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> UserOnCallOut:
    """A person's current and upcoming shifts across every schedule, over the next 14 days."""
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        user = users.get_user(session, ref)
        found = oncall.upcoming_shifts_of(session, user.id, now, now + GAP_HORIZON)
        own = principal.user.id == user.id or principal.is_admin
        shifts = [
            UserShiftOut(
                schedule={"id": schedule.id, "name": schedule.name},
                start=s.start,
                end=s.end,
                layer=s.layer,
                is_override=s.is_override,
                current=s.start <= now < s.end,
            )
            for schedule, s in found
        ]
        return UserOnCallOut(
            user={"id": user.id, "name": user.name},
            on_call_now=any(s.current for s in shifts),
            shifts=shifts,
            handoff_notifications=user.handoff_notifications,
            ical_url=_user_ical_url(runtime, user.feed_token) if own and user.feed_token else None,
        )


@router.put("/users/{ref}/oncall/preferences", response_model=UserOnCallOut, tags=["people"])
def set_on_call_preferences(
    ref: str, body: OnCallPreferencesIn, runtime: RuntimeDep, principal: PrincipalDep
) -> UserOnCallOut:
    """Opt in to (or out of) a message when an on-call shift of yours begins."""
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, ref)
        own_or_admin(principal, user.id)
        oncall.set_handoff_notifications(session, user.id, enabled=body.handoff_notifications)
    return user_on_call(ref, runtime, principal)


@router.post("/users/{ref}/oncall/ical-url", tags=["people"], summary="Create (or, with rotate, replace) the feed")
def user_ical_url(ref: str, runtime: RuntimeDep, principal: PrincipalDep, rotate: bool = False) -> dict[str, str]:
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, ref)
        own_or_admin(principal, user.id)
        token = oncall.user_feed_token(session, user.id, rotate=rotate)
    return {"ical_url": _user_ical_url(runtime, token)}


@router.post("/schedules/{ref}/ical-url", summary="Replace a schedule's feed URL (the old one stops working)")
def rotate_schedule_ical_url(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, str]:
    with runtime.db.unit_of_work() as session:
        schedule = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, schedule)
        token = oncall.rotate_schedule_feed_token(session, schedule)
    return {"ical_url": f"{runtime.settings.base_url}/ical/schedules/{token}.ics"}
