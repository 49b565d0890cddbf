from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, bindparam, case, cast, insert, select, true, update
from sqlalchemy.orm import Session

from tocsin.db.claims import Claim, DueRows, fenced_rows, lock_fenced
from tocsin.db.rows import RowWriter
from tocsin.db.session import ESCALATION_WORK, note_new_work
from tocsin.db.tables import table_of
from tocsin.escalation.models import Escalation, EscalationPolicy, EscalationStatus, EscalationStep
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.services.models import Service

_ESCALATIONS = table_of(Escalation)
ACTIVE = _ESCALATIONS.c.status == EscalationStatus.ACTIVE
# An incident's first page (step 0 of the first pass) goes ahead of any backlog of later steps and repeats: after
# a stall, someone hears about the new incident before the old ones page again.
FIRST_PAGE_FIRST = case((and_(_ESCALATIONS.c.step_index == 0, _ESCALATIONS.c.cycle == 0), 0), else_=1)
DUE = DueRows(_ESCALATIONS, due_column=_ESCALATIONS.c.next_fire_at, ready=ACTIVE, first=FIRST_PAGE_FIRST)


def policy(session: Session, policy_id: int) -> EscalationPolicy | None:
    return session.get(EscalationPolicy, policy_id)


def policy_by_name(session: Session, name: str) -> EscalationPolicy | None:
    return session.execute(select(EscalationPolicy).where(EscalationPolicy.name == name)).scalar_one_or_none()


def all_policies(session: Session, *, include_archived: bool = True) -> list[EscalationPolicy]:
    stmt = select(EscalationPolicy).order_by(EscalationPolicy.name)
    if not include_archived:
        stmt = stmt.where(EscalationPolicy.archived_at.is_(None))
    return list(session.execute(stmt).scalars())


def steps_of(session: Session, policy_ids: Iterable[int]) -> dict[int, list[EscalationStep]]:
    wanted = list(set(policy_ids))
    found: dict[int, list[EscalationStep]] = {pid: [] for pid in wanted}
    if not wanted:
        return found
    stmt = select(EscalationStep).where(EscalationStep.policy_id.in_(wanted)).order_by(EscalationStep.position)
    for step in session.execute(stmt).scalars():
        found[step.policy_id].append(step)
    return found


class ServicePolicy(NamedTuple):
    """A service's escalation policy as plain values; ``steps`` are (targets, delay in seconds), in order."""

    policy_id: int
    name: str
    repeat: int
    steps: list[tuple[list[dict[str, Any]], int]]


_SERVICES = table_of(Service)
_POLICIES = table_of(EscalationPolicy)
_STEPS = table_of(EscalationStep)
# Built once: every batch of new incidents runs it, and one plain join costs less than three ORM queries.
_POLICY_STEPS_OF_SERVICES = (
    select(
        _SERVICES.c.id, _POLICIES.c.id, _POLICIES.c.name, _POLICIES.c.repeat, _STEPS.c.targets, _STEPS.c.delay_seconds
    )
    .join(_POLICIES, _POLICIES.c.id == _SERVICES.c.escalation_policy_id)
    .join(_STEPS, _STEPS.c.policy_id == _POLICIES.c.id)
    # An archived policy escalates no new incident; running ones keep their snapshot.
    .where(_SERVICES.c.id.in_(bindparam("ids", expanding=True)), _POLICIES.c.archived_at.is_(None))
    .order_by(_SERVICES.c.id, _STEPS.c.position)
)


def policies_of_services(session: Session, service_ids: Iterable[int]) -> dict[int, ServicePolicy]:
    """The policy of each of these services that has one with at least one step, by service id."""
    found: dict[int, ServicePolicy] = {}
    for service_id, policy_id, name, repeat, targets, delay in session.execute(
        _POLICY_STEPS_OF_SERVICES, {"ids": list(set(service_ids))}
    ):
        policy = found.get(service_id)
        if policy is None:
            policy = found[service_id] = ServicePolicy(policy_id, name, repeat, [])
        policy.steps.append((targets, delay))
    return found


_ADD_ESCALATIONS = insert(table_of(Escalation))


def add_escalations(session: Session, rows: list[dict[str, object]]) -> None:
    if rows:
        session.execute(_ADD_ESCALATIONS, rows)
        if any(r.get("next_fire_at") is not None for r in rows):
            note_new_work(session, ESCALATION_WORK)


def of_incident(session: Session, incident_id: int, *, for_update: bool = False) -> Escalation | None:
    stmt = select(Escalation).where(Escalation.incident_id == incident_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def stop(session: Session, incident_id: int, now: datetime) -> None:
    session.execute(
        update(Escalation)
        .where(Escalation.incident_id == incident_id, Escalation.status == EscalationStatus.ACTIVE)
        .values(
            status=EscalationStatus.STOPPED,
            next_fire_at=None,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            fence=Escalation.fence + 1,
        )
        .execution_options(synchronize_session=False)
    )


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return DUE.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def release_claims_of(session: Session, owner: str) -> int:
    return DUE.release_owned(session, owner=owner)


# The incidents of some escalations (parameter ``ids``): the services lock them with ``incidents.repository``.
INCIDENT_IDS = select(_ESCALATIONS.c.incident_id).where(_ESCALATIONS.c.id.in_(bindparam("ids", expanding=True)))


# What firing changes of an escalation; the fence is changed only by claims and by firing by hand.
_FIRING_CHANGES = ("status", "step_index", "cycle", "next_fire_at", "lease_owner", "lease_until", "updated_at")


@dataclass(slots=True)
class EscalationRow:
    """An escalation as firing reads and changes it, without a mapped object; ``save_rows`` writes what changed."""

    id: int
    incident_id: int
    # The policy snapshot as stored (JSON text): parsed snapshots are shared by the escalations of one policy.
    snapshot: str
    status: EscalationStatus
    step_index: int
    cycle: int
    run: int
    next_fire_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    fence: int
    updated_at: datetime
    loaded: tuple[Any, ...] = field(default=(), repr=False, compare=False)


_CLAIMED_ROWS = fenced_rows(
    _ESCALATIONS,
    [
        cast(_ESCALATIONS.c[name], Text) if name == "snapshot" else _ESCALATIONS.c[name]
        for name in EscalationRow.__dataclass_fields__
        if name != "loaded"
    ],
)
_WRITER = RowWriter(_ESCALATIONS, _FIRING_CHANGES)


def lock_claimed_rows(session: Session, claims: Iterable[Claim]) -> dict[int, EscalationRow]:
    """Those of the claimed escalations whose fence is still the claimer's, locked for this transaction, by id."""
    return {
        values[0]: _WRITER.remember(EscalationRow(*values)) for values in lock_fenced(session, _CLAIMED_ROWS, claims)
    }


def save_rows(session: Session, rows: Iterable[EscalationRow]) -> None:
    """Write back what firing changed in these rows (``RowWriter``)."""
    _WRITER.save(session, rows)


def next_fire(session: Session) -> datetime | None:
    return DUE.next_due(session)


def unarmed_incidents(session: Session, limit: int = 100, *, silent_types: Sequence[int] = ()) -> list[Incident]:
    """Triggered incidents of services with a policy, but without any escalation row (leaving out incidents of the
    ``silent_types``, which do not page)."""
    stmt = (
        select(Incident)
        .join(Service, Service.id == Incident.service_id)
        .outerjoin(Escalation, Escalation.incident_id == Incident.id)
        .where(
            Incident.status == IncidentStatus.TRIGGERED,
            Service.escalation_policy_id.is_not(None),
            Escalation.id.is_(None),
            Incident.type_id.is_(None) | Incident.type_id.not_in(silent_types) if silent_types else true(),
        )
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def stalled(session: Session, limit: int = 100) -> list[Escalation]:
    """Active escalations that lost their timer (no next_fire_at) while their incident still pages."""
    stmt = (
        select(Escalation)
        .join(Incident, Incident.id == Escalation.incident_id)
        .where(
            Escalation.status == EscalationStatus.ACTIVE,
            Escalation.next_fire_at.is_(None),
            Incident.status == IncidentStatus.TRIGGERED,
        )
        .limit(limit)
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())
