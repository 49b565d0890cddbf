"""Archive, deactivate and delete: schedules, escalation policies and users (ADR 0012).

Services and integrations have theirs beside their other routes in ``api/services.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.admin import contacts
from tocsin.admin import service as admin
from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.oncall import (
    ContactMethodOut,
    Duration,
    GapOut,
    OverrideOut,
    PolicyOut,
    RuleOut,
    ScheduleOut,
    _policy_out,
    _schedule_out,
    max_override,
    own_or_admin,
    require_manage_policy,
    require_manage_schedule,
    seconds,
)
from tocsin.api.people_schemas import UserOut
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.core.clock import utc
from tocsin.escalation import service as escalation
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.users import service as users

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)


class SchedulePatch(BaseModel):
    """Only the fields sent are changed; layers are replaced with ``PUT /schedules/{ref}/layers``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)


class ScheduleImpactOut(BaseModel):
    id: int
    name: str
    gaps: list[GapOut] = Field(description="periods in the next 14 days nobody would be on call")


class PolicyImpactOut(BaseModel):
    id: int
    name: str
    steps: list[int] = Field(description="steps (from 1) that name the user")
    empty_steps: list[int] = Field(description="steps (from 1) that would page nobody")


class DeactivationOut(BaseModel):
    user: UserOut
    dry_run: bool
    schedules: list[ScheduleImpactOut]
    policies: list[PolicyImpactOut]


class OverridePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, description="id or email of who is on call instead")
    start: datetime | None = None
    end: datetime | None = None


class ContactMethodPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    address: str | None = Field(default=None, min_length=1, max_length=2048)
    disabled: bool | None = None


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urgency: Literal["high", "low"] | None = None
    contact_method_id: int | None = None
    delay: Duration | None = None


# --- schedules ---------------------------------------------------------------------------------------------------


@router.patch("/schedules/{ref}", response_model=ScheduleOut, tags=["schedules"])
def patch_schedule(ref: str, body: SchedulePatch, runtime: RuntimeDep, principal: ResponderDep) -> ScheduleOut:
    with runtime.db.unit_of_work() as session:
        found = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, found)
        schedule = schedules.update_schedule(
            session,
            found,
            name=body.name,
            description=body.description,
            timezone=body.timezone,
        )
        return _schedule_out(runtime, session, schedule)


@router.post("/schedules/{ref}/archive", response_model=ScheduleOut, tags=["schedules"])
def archive_schedule(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> ScheduleOut:
    with runtime.db.unit_of_work() as session:
        found = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, found)
        schedule = schedules.archive_schedule(session, found, now=runtime.clock.now())
        return _schedule_out(runtime, session, schedule)


@router.post("/schedules/{ref}/unarchive", response_model=ScheduleOut, tags=["schedules"])
def unarchive_schedule(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> ScheduleOut:
    with runtime.db.unit_of_work() as session:
        found = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, found)
        schedule = schedules.unarchive_schedule(session, found)
        return _schedule_out(runtime, session, schedule)


@router.delete(
    "/schedules/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["schedules"],
    summary="Delete a schedule no policy names (409 otherwise: archive it instead)",
)
def delete_schedule(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        found = oncall.get_schedule(session, ref)
        require_manage_schedule(session, principal, found)
        admin.delete_schedule(session, found)


# --- escalation policies -----------------------------------------------------------------------------------------


@router.post(
    "/escalation-policies/{ref}/archive",
    response_model=PolicyOut,
    tags=["escalation"],
    summary="Archive (409 while a live service uses it)",
)
def archive_policy(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> PolicyOut:
    with runtime.db.unit_of_work() as session:
        found = escalation.get_policy(session, ref)
        require_manage_policy(session, principal, found)
        policy = admin.archive_policy(session, found, now=runtime.clock.now())
        return _policy_out(session, policy)


@router.post("/escalation-policies/{ref}/unarchive", response_model=PolicyOut, tags=["escalation"])
def unarchive_policy(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> PolicyOut:
    with runtime.db.unit_of_work() as session:
        found = escalation.get_policy(session, ref)
        require_manage_policy(session, principal, found)
        return _policy_out(session, admin.unarchive_policy(session, found))


@router.delete(
    "/escalation-policies/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["escalation"],
    summary="Delete a policy no service uses (409 otherwise: archive it instead)",
)
def delete_policy(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        found = escalation.get_policy(session, ref)
        require_manage_policy(session, principal, found)
        admin.delete_policy(session, found)


# --- users -------------------------------------------------------------------------------------------------------


def _deactivation_out(impact: admin.DeactivationImpact, user: UserOut, *, dry_run: bool) -> DeactivationOut:
    return DeactivationOut(
        user=user,
        dry_run=dry_run,
        schedules=[
            ScheduleImpactOut(id=s.schedule_id, name=s.name, gaps=[GapOut(start=a, end=b) for a, b in s.gaps])
            for s in impact.schedules
        ],
        policies=[
            PolicyImpactOut(id=p.policy_id, name=p.name, steps=p.steps, empty_steps=p.empty_steps)
            for p in impact.policies
        ],
    )


@router.post(
    "/users/{ref}/deactivate",
    response_model=DeactivationOut,
    tags=["people"],
    summary="Deactivate (dry_run: only show the schedules and policies naming the user, and the gaps it opens)",
)
def deactivate_user(ref: str, runtime: RuntimeDep, _: AdminDep, dry_run: bool = False) -> DeactivationOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        user = users.get_user(session, ref)
        impact = admin.deactivate_user(session, user, now=now, dry_run=dry_run)
        return _deactivation_out(impact, UserOut.model_validate(user), dry_run=dry_run)


@router.post("/users/{ref}/reactivate", response_model=UserOut, tags=["people"])
def reactivate_user(ref: str, runtime: RuntimeDep, _: AdminDep) -> UserOut:
    with runtime.db.unit_of_work() as session:
        return UserOut.model_validate(users.reactivate_user(session, users.get_user(session, ref)))


@router.delete(
    "/users/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["people"],
    summary="Delete someone nothing names (409 otherwise: deactivate them instead)",
)
def delete_user(ref: str, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        admin.delete_user(session, users.get_user(session, ref), now=runtime.clock.now())


@router.patch("/schedules/{ref}/overrides/{override_id}", response_model=OverrideOut, tags=["schedules"])
def patch_override(
    ref: str, override_id: int, body: OverridePatch, runtime: RuntimeDep, principal: ResponderDep
) -> OverrideOut:
    with runtime.db.unit_of_work() as session:
        override = oncall.update_override(
            session,
            oncall.get_schedule(session, ref),
            override_id,
            start=utc(body.start) if body.start else None,
            end=utc(body.end) if body.end else None,
            user_id=users.get_user(session, body.user).id if body.user is not None else None,
            by=principal.viewer(session),
            max_length=max_override(runtime),
            now=runtime.clock.now(),
        )
        return OverrideOut.model_validate(override, from_attributes=True)


# --- contact methods and notification rules ----------------------------------------------------------------------


@router.patch("/contact-methods/{cm_id}", response_model=ContactMethodOut, tags=["people"])
def patch_contact_method(
    cm_id: int, body: ContactMethodPatch, runtime: RuntimeDep, principal: PrincipalDep
) -> ContactMethodOut:
    with runtime.db.unit_of_work() as session:
        cm = contacts.get_contact_method(session, cm_id)
        own_or_admin(principal, cm.user_id)
        contacts.update_contact_method(
            session,
            cm,
            name=body.name,
            address=body.address,
            disabled=body.disabled,
            # As when it was added: a number its owner sets must be confirmed with a code.
            confirmed=principal.is_admin,
        )
        return ContactMethodOut.model_validate(cm, from_attributes=True)


@router.delete(
    "/contact-methods/{cm_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["people"],
    summary="Delete a contact method never paged (409 otherwise: disable it instead)",
)
def delete_contact_method(cm_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    with runtime.db.unit_of_work() as session:
        cm = contacts.get_contact_method(session, cm_id)
        own_or_admin(principal, cm.user_id)
        contacts.delete_contact_method(session, cm)


@router.patch("/notification-rules/{rule_id}", response_model=RuleOut, tags=["people"])
def patch_rule(rule_id: int, body: RulePatch, runtime: RuntimeDep, principal: PrincipalDep) -> RuleOut:
    with runtime.db.unit_of_work() as session:
        rule = contacts.get_rule(session, rule_id)
        own_or_admin(principal, rule.user_id)
        contacts.update_rule(
            session,
            rule,
            urgency=body.urgency,
            contact_method_id=body.contact_method_id,
            delay_seconds=seconds(body.delay) if body.delay is not None else None,
        )
        return RuleOut.model_validate(rule, from_attributes=True)


@router.delete("/notification-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["people"])
def delete_rule(rule_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    with runtime.db.unit_of_work() as session:
        rule = contacts.get_rule(session, rule_id)
        own_or_admin(principal, rule.user_id)
        contacts.delete_rule(session, rule)
