"""Deactivating people and archiving or deleting schedules and policies, with what each change leaves uncovered.

Nothing here deletes history: an object that incidents, pages or other configuration name is archived (or
deactivated) instead, and a hard delete is refused with the names of what still refers to it (ADR 0012).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.admin import repository as repo
from tocsin.alerts import routing_service as routing
from tocsin.core.errors import Conflict
from tocsin.core.numbers import ascii_int
from tocsin.escalation.models import EscalationPolicy
from tocsin.oncall import calculator as calc
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule
from tocsin.services import service as services
from tocsin.services.models import Service
from tocsin.users import repository as user_repo
from tocsin.users import service as users
from tocsin.users.models import User

IMPACT_HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class ScheduleImpact:
    """A schedule that names the user, and the periods in the horizon nobody would be on call without them."""

    schedule_id: int
    name: str
    gaps: list[tuple[datetime, datetime]]


@dataclass(frozen=True)
class PolicyImpact:
    """A policy that names the user directly; ``empty_steps`` (1-based) would page nobody at all."""

    policy_id: int
    name: str
    steps: list[int]
    empty_steps: list[int]


@dataclass(frozen=True)
class DeactivationImpact:
    user_id: int
    email: str
    schedules: list[ScheduleImpact] = field(default_factory=list)
    policies: list[PolicyImpact] = field(default_factory=list)


def deactivation_impact(session: Session, user: User, *, now: datetime) -> DeactivationImpact:
    """The schedules and policies naming the user, with the gaps their deactivation would open."""
    schedules: dict[int, Schedule] = {}
    for schedule, layer in repo.live_layers(session):
        if user.id in layer.user_ids:
            schedules[schedule.id] = schedule
    for schedule, _ in repo.live_overrides_of_user(session, user.id, now):
        schedules[schedule.id] = schedule
    end = now + IMPACT_HORIZON
    absent = user_repo.deactivated_ids(session) | {user.id}
    schedule_impacts = []
    for schedule in schedules.values():
        cal = oncall.to_calendar(
            schedule,
            oncall.layers(session, schedule),
            oncall.overrides(session, schedule, ending_after=now),
            absent,
        )
        schedule_impacts.append(ScheduleImpact(schedule.id, schedule.name, calc.gaps(cal, now, end)))

    active = user_repo.active_ids(session, _user_refs(session)) - {user.id}
    policies: dict[int, PolicyImpact] = {}
    for policy, step in repo.steps(session):
        refs = [str(t.get("ref")) for t in step.targets if t.get("kind") == "user"]
        if str(user.id) not in refs:
            continue
        impact = policies.setdefault(policy.id, PolicyImpact(policy.id, policy.name, [], []))
        impact.steps.append(step.position + 1)
        others = [t for t in step.targets if t.get("kind") != "user" or _as_int(t.get("ref")) in active]
        if not others:
            impact.empty_steps.append(step.position + 1)
    return DeactivationImpact(user.id, user.email, schedule_impacts, list(policies.values()))


def _as_int(value: object) -> int | None:
    return ascii_int(value)


def _user_refs(session: Session) -> set[int]:
    return {
        ref
        for _, step in repo.steps(session)
        for t in step.targets
        if t.get("kind") == "user" and (ref := _as_int(t.get("ref"))) is not None
    }


def deactivate_user(session: Session, user: User, *, now: datetime, dry_run: bool = False) -> DeactivationImpact:
    """Deactivate and report the gaps it opened; signed-in browsers are signed out in the same transaction.
    ``dry_run``: the same refusals and report, nothing changed."""
    users.ensure_admin_remains(session, user, "deactivate")
    impact = deactivation_impact(session, user, now=now)
    if dry_run:
        return impact
    users.deactivate_user(session, user, now=now)
    repo.end_web_sessions(session, user.id)
    return impact


def delete_user(session: Session, user: User, *, now: datetime) -> None:
    """Only someone nothing names (no incident, timeline entry, page, schedule or policy) is deleted."""
    users.ensure_admin_remains(session, user, "delete")
    if repo.user_history_count(session, user.id):
        raise Conflict(f"{user.email} appears in incident history; deactivate them instead of deleting them")
    impact = deactivation_impact(session, user, now=now)
    named = [f"schedule {s.name!r}" for s in impact.schedules] + [f"policy {p.name!r}" for p in impact.policies]
    if named:
        raise Conflict(f"{user.email} is named by {', '.join(named)}; take them out first, or deactivate them")
    session.delete(user)
    session.flush()


def policies_naming_schedule(session: Session, schedule: Schedule) -> list[str]:
    return sorted(
        {
            p.name
            for p, step in repo.steps(session, include_archived=True)
            if any(t.get("kind") == "schedule" and _as_int(t.get("ref")) == schedule.id for t in step.targets)
        }
    )


def delete_schedule(session: Session, schedule: Schedule) -> None:
    schedules.delete_schedule(session, schedule, named_by=policies_naming_schedule(session, schedule))


def archive_service(session: Session, service: Service, *, now: datetime) -> Service:
    """Archive the service, and have every process recompile its event rules: one routing to it is skipped."""
    services.archive_service(session, service, now=now)
    routing.bump(session, now)
    return service


def unarchive_service(session: Session, service: Service, *, now: datetime) -> Service:
    services.unarchive_service(session, service)
    routing.bump(session, now)
    return service


def archive_policy(session: Session, policy: EscalationPolicy, *, now: datetime) -> EscalationPolicy:
    """Refused while a live service escalates through it: its new incidents would page nobody."""
    using = repo.services_of_policy(session, policy.id, include_archived=False)
    if using:
        names = ", ".join(repr(s.name) for s in using)
        raise Conflict(f"escalation policy {policy.name!r} is used by services {names}; give them another first")
    if policy.archived_at is None:
        policy.archived_at = now
    session.flush()
    return policy


def unarchive_policy(session: Session, policy: EscalationPolicy) -> EscalationPolicy:
    policy.archived_at = None
    session.flush()
    return policy


def delete_policy(session: Session, policy: EscalationPolicy) -> None:
    """Running escalations keep their own snapshot, so only services (archived ones too) hold a policy back."""
    using = repo.services_of_policy(session, policy.id, include_archived=True)
    if using:
        names = ", ".join(repr(s.name) for s in using)
        raise Conflict(f"escalation policy {policy.name!r} is used by services {names}; archive it instead")
    session.delete(policy)
    session.flush()
