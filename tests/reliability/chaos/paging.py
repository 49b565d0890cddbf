"""Seeding paging setups whose every responder is a webhook to the test's sink, and reading back what happened.

Times are the system's: the workers under test run on the real clock, in other processes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.reliability.chaos.sink import WebhookSink
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import utc
from tocsin.db.session import Database
from tocsin.engine.listen import notify_work
from tocsin.escalation import service as escalation
from tocsin.escalation.models import Escalation
from tocsin.escalation.snapshot import PolicySnapshot
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.notify import contacts
from tocsin.notify.models import Notification, NotificationRule
from tocsin.services import service as services
from tocsin.users import service as users

RESPONDER = Actor(label="drill", source="api")
# A key the engine can still act on: a page that is due (or due again after an interruption), or being sent.
UNSETTLED = ("pending", "sending")

PageKey = tuple[int, int, int, int, int]  # (incident, step, cycle, user, contact method)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Responder:
    user_id: int
    contact_method_id: int


@dataclass(frozen=True, slots=True)
class PagingSetup:
    """One service whose policy pages one responder per step."""

    service_id: int
    integration_key: str
    responders: tuple[Responder, ...]
    delays: tuple[int, ...]
    repeat: int

    def expected_pages(self, incident_ids: list[int]) -> set[PageKey]:
        """What the policy implies: every step of every pass pages its responder on their one webhook."""
        return {
            (i, step, cycle, r.user_id, r.contact_method_id)
            for i in incident_ids
            for cycle in range(self.repeat + 1)
            for step, r in enumerate(self.responders)
        }


def _seed_one(
    s: Any, sink: WebhookSink, *, delays: list[int], repeat: int, name: str, at: datetime, silent: tuple[int, ...]
) -> PagingSetup:
    responders = []
    for step in range(len(delays)):
        user = users.create_user(s, email=f"{name}-{step}@example.com", name=f"{name} responder {step}", now=at)
        cm = contacts.add_contact_method(
            s,
            user_id=user.id,
            name="hook",
            type="webhook",
            address=sink.url(f"{name}/{step}"),
            secret=sink.secret,
            now=at,
        )
        if step not in silent:
            contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        responders.append(Responder(user.id, cm.id))
    policy = escalation.create_policy(
        s,
        name=f"{name} policy",
        steps=[([{"kind": "user", "ref": r.user_id}], d) for r, d in zip(responders, delays, strict=True)],
        repeat=repeat,
        now=at,
    )
    svc = services.create_service(s, name=f"{name} service", now=at)
    svc.escalation_policy_id = policy.id
    integration = services.add_integration(s, svc, name="events", type="pagerduty_v2", now=at)
    return PagingSetup(svc.id, integration.key, tuple(responders), tuple(delays), repeat)


# The per-contact-method throttle lets 5 pages through per 15 minutes; a drill that pages more than that would
# measure the throttle's bundling, not the engine. Each setup therefore serves only as many incidents as fit.
THROTTLE_ROOM = 5


@dataclass
class Fleet:
    """Many identical setups (their own responders each), filled with incidents a few at a time."""

    setups: list[PagingSetup]
    per_setup: int
    incidents: dict[int, PagingSetup]
    silent: tuple[int, ...] = ()

    def open(self, db: Database, count: int) -> list[int]:
        """Open ``count`` incidents in one transaction, as one ingest batch would, and wake the workers."""
        plan: list[tuple[PagingSetup, str]] = []
        used = len(self.incidents)
        for k in range(used, used + count):
            setup = self.setups[k // self.per_setup]
            plan.append((setup, f"drill-{uuid.uuid4().hex}"))
        with db.unit_of_work() as s:
            subs = [
                Submission(st.integration_key, [NormalizedEvent("trigger", key, summary="drill")]) for st, key in plan
            ]
            results = ingest_batch(s, subs, now=now())
            assert all(r.outcomes == ["created"] for r in results)
        if not db.is_sqlite:
            notify_work(db.url)
        keys = [key for _, key in plan]
        with db.reader() as s:
            rows = s.execute(select(Alert.dedup_key, Alert.incident_id).where(Alert.dedup_key.in_(keys))).all()
        by_key = {k: i for k, i in rows}
        ids = [by_key[key] for key in keys]
        for (setup, _), incident in zip(plan, ids, strict=True):
            self.incidents[incident] = setup
        return ids

    def expected_pages(self, ids: list[int] | None = None) -> set[PageKey]:
        wanted = self.incidents if ids is None else {i: self.incidents[i] for i in ids}
        return {key for i, st in wanted.items() for key in st.expected_pages([i]) if key[1] not in self.silent}


def fleet(
    db: Database,
    sink: WebhookSink,
    *,
    incidents: int,
    delays: list[int],
    repeat: int = 0,
    silent: tuple[int, ...] = (),
) -> Fleet:
    """Setups for ``incidents`` incidents. Responders of the ``silent`` steps have no notification rule: their step
    fires and waits its delay, but sends nothing."""
    per_setup = max(1, THROTTLE_ROOM // (repeat + 1))
    at = now()
    with db.unit_of_work() as s:
        setups = [
            _seed_one(s, sink, delays=delays, repeat=repeat, name=f"drill{g}", at=at, silent=silent)
            for g in range(-(-incidents // per_setup))
        ]
    return Fleet(setups, per_setup, {}, silent)


def acknowledge(db: Database, incident_id: int) -> tuple[datetime, set[int]]:
    """Acknowledge; returns when the commit was done, and the pages whose send had started by then.

    The set is read in the acknowledging transaction, after the incident row is locked: a send starts in a
    transaction that holds that same row, so a page not started by then can only be cancelled afterwards.
    """
    with db.unit_of_work() as s:
        incidents.acknowledge(s, incident_id, actor=RESPONDER, now=now())
        started = set(
            s.execute(
                select(Notification.id).where(
                    Notification.incident_id == incident_id, Notification.status.not_in(("pending", "cancelled"))
                )
            ).scalars()
        )
    return now(), started


def resolve(db: Database, incident_id: int) -> datetime:
    with db.unit_of_work() as s:
        incidents.resolve(s, incident_id, actor=RESPONDER, now=now())
    return now()


@dataclass(frozen=True, slots=True)
class Page:
    id: int
    key: PageKey
    status: str
    created_at: datetime
    ambiguous: int
    attempts: int


def pages(db: Database) -> dict[int, Page]:
    with db.reader() as s:
        rows = s.execute(select(Notification).where(Notification.kind == "page")).scalars().all()
    return {
        n.id: Page(
            id=n.id,
            key=(n.incident_id or 0, n.step_index, n.cycle, n.user_id, n.contact_method_id),
            status=n.status,
            created_at=utc(n.created_at),
            ambiguous=int(n.payload.get("ambiguous", 0)),
            attempts=n.attempts,
        )
        for n in rows
    }


def escalations(db: Database) -> dict[int, Escalation]:
    with db.reader() as s:
        return {e.incident_id: e for e in s.execute(select(Escalation)).scalars()}


def armed_for_step(db: Database, step: int) -> dict[int, datetime]:
    """Running escalations whose next step is ``step``: incident -> when that step is due."""
    with db.reader() as s:
        rows = s.execute(
            select(Escalation.incident_id, Escalation.next_fire_at).where(
                Escalation.status == "active", Escalation.step_index == step, Escalation.next_fire_at.is_not(None)
            )
        ).all()
    return {i: utc(t) for i, t in rows if t is not None}


def expected_from_snapshots(db: Database, ids: list[int]) -> set[PageKey]:
    """What the database says must be paged: each incident's frozen policy snapshot, its user targets, and those
    users' high-urgency rules (the drills use user targets only)."""
    with db.reader() as s:
        snaps = {
            e.incident_id: PolicySnapshot.from_dict(e.snapshot)
            for e in s.execute(select(Escalation).where(Escalation.incident_id.in_(ids))).scalars()
        }
        rules: dict[int, list[int]] = {}
        for r in s.execute(select(NotificationRule).where(NotificationRule.urgency == "high")).scalars():
            rules.setdefault(r.user_id, []).append(r.contact_method_id)
    expected: set[PageKey] = set()
    for incident, snap in snaps.items():
        for cycle in range(snap.repeat + 1):
            for step, spec in enumerate(snap.steps):
                for target in spec.targets:
                    assert target.kind == "user"
                    user = int(target.ref)
                    expected |= {(incident, step, cycle, user, cm) for cm in rules.get(user, [])}
    assert set(snaps) == set(ids), "an incident has no escalation"
    return expected


def incident_times(db: Database, ids: list[int]) -> dict[int, datetime]:
    with db.reader() as s:
        rows = s.execute(select(Incident.id, Incident.created_at).where(Incident.id.in_(ids))).all()
    return {i: utc(t) for i, t in rows}


def settled(db: Database) -> bool:
    """Nothing left for the engine: no running escalation, no page due or in flight."""
    with db.reader() as s:
        running = s.execute(select(Escalation.id).where(Escalation.status == "active").limit(1)).first()
        open_pages = s.execute(
            select(Notification.id)
            .where(
                Notification.status.in_(UNSETTLED)
                | ((Notification.status == "ambiguous") & Notification.next_attempt_at.is_not(None))
            )
            .limit(1)
        ).first()
    return running is None and open_pages is None


def row_state(db: Database, notification_id: int) -> dict[str, Any]:
    with db.reader() as s:
        n = s.get(Notification, notification_id)
        if n is None:
            return {}
        return {"status": n.status, "fence": n.fence, "owner": n.lease_owner}


def held_by(db: Database, owner: str) -> set[int]:
    """Pages whose lease this worker holds."""
    with db.reader() as s:
        return set(s.execute(select(Notification.id).where(Notification.lease_owner == owner)).scalars())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def describe(db: Database, expected: set[PageKey], sink: WebhookSink) -> str:
    """What is still missing, for a failure message."""
    rows = paging_rows = pages(db)
    delivered = {paging_rows[n].key for n in sink.by_notification() if n in paging_rows}
    statuses: dict[str, int] = {}
    for p in rows.values():
        statuses[p.status] = statuses.get(p.status, 0) + 1
    esc: dict[str, int] = {}
    for e in escalations(db).values():
        esc[e.status] = esc.get(e.status, 0) + 1
    missing = sorted(expected - delivered)
    with db.reader() as s:
        stuck = [
            (n.id, n.status, n.attempts, n.next_attempt_at, n.lease_owner, n.lease_until, n.last_error)
            for n in s.execute(
                select(Notification).where(Notification.status != "sent").order_by(Notification.id).limit(3)
            ).scalars()
        ]
    return (
        f"stuck rows {stuck}; "
        f"{len(missing)} of {len(expected)} pages not delivered (first: {missing[:5]}); "
        f"{len(expected - set(p.key for p in rows.values()))} never written; page statuses {statuses}; "
        f"escalations {esc}"
    )
