"""Data to benchmark against, made with Tocsin's own services (and one bench-only SQL helper for due times)."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.escalation.models import Escalation
from tocsin.notify import contacts
from tocsin.services import service as services
from tocsin.users import service as users

CHUNK = 1000
PAGES_PER_PERSON = 4  # under the default throttle of 5 pages per contact method in 15 minutes


def _now() -> datetime:
    return datetime.now(UTC)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class IngestWorld:
    routing_key: str  # PagerDuty Events v2
    alertmanager_key: str


def ingest_world(url: str) -> IngestWorld:
    """A service without an escalation policy: ingest alone is measured, the engine has nothing to page."""
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            now = _now()
            service = services.create_service(s, name="bench-ingest", now=now)
            pd = services.add_integration(s, service, name="bench-pd", type="pagerduty_v2", now=now)
            am = services.add_integration(s, service, name="bench-am", type="alertmanager", now=now)
            return IngestWorld(routing_key=pd.key, alertmanager_key=am.key)
    finally:
        db.dispose()


@dataclass(frozen=True)
class PagingWorld:
    keys: list[str]  # one PagerDuty routing key per service
    secrets: list[str]  # the webhook signing secret of person i (who gets /hook/i)


def paging_world(url: str, *, people: int, webhook_base: str, name: str = "bench") -> PagingWorld:
    """``people`` services, each with a policy paging its own person by a signed webhook at once; returns the
    services' routing keys and the people's webhook secrets.

    One person per service keeps each contact method under the default throttle (5 pages in 15 minutes) when
    events are spread evenly over the keys, so every page goes out as its own message.
    """
    db = Database(url)
    keys: list[str] = []
    hook_secrets: list[str] = []
    try:
        with db.unit_of_work() as s:
            now = _now()
            for i in range(people):
                user = users.create_user(s, email=f"{name}-{i}@example.com", name=f"Responder {i}", now=now)
                cm = contacts.add_contact_method(
                    s,
                    user_id=user.id,
                    name="hook",
                    type="webhook",
                    address=f"{webhook_base}/hook/{i}",
                    secret=new_secret(),
                    now=now,
                )
                hook_secrets.append(cm.secret or "")
                contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
                policy = escalation.create_policy(
                    s, name=f"{name}-policy-{i}", steps=[([{"kind": "user", "ref": user.id}], 300)], now=now
                )
                service = services.create_service(s, name=f"{name}-service-{i}", now=now)
                service.escalation_policy_id = policy.id
                keys.append(services.add_integration(s, service, name="pd", type="pagerduty_v2", now=now).key)
        return PagingWorld(keys=keys, secrets=hook_secrets)
    finally:
        db.dispose()


def trigger(summary: str) -> NormalizedEvent:
    return NormalizedEvent(
        action="trigger", dedup_key=uuid.uuid4().hex, summary=summary, severity="critical", source="bench"
    )


def open_incidents(url: str, keys: Sequence[str], count: int) -> None:
    """Open ``count`` incidents through the real ingest service, spread round-robin over the routing keys."""
    db = Database(url)
    try:
        for first in range(0, count, CHUNK):
            subs = [
                Submission(integration_key=keys[i % len(keys)], events=[trigger(f"bench {i}")])
                for i in range(first, min(count, first + CHUNK))
            ]
            with db.unit_of_work() as s:
                ingest_batch(s, subs, now=_now())
    finally:
        db.dispose()


@dataclass(frozen=True)
class DueTimer:
    escalation_id: int
    incident_id: int
    due_at: datetime


def spread_due_times(url: str, *, start: datetime, window: timedelta, due: int, later: timedelta) -> list[DueTimer]:
    """Bench-only: move armed timers so that ``due`` of them fall due evenly over ``window`` from ``start`` and
    the rest at ``start + later`` (a backlog that must not slow the due ones down)."""
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            pairs = list(s.execute(select(Escalation.id, Escalation.incident_id).order_by(Escalation.id)))
            s.execute(update(Escalation).values(next_fire_at=start + later))
            timers = [
                DueTimer(esc_id, incident_id, start + window * (n / max(1, due)))
                for n, (esc_id, incident_id) in enumerate(pairs[:due])
            ]
            if timers:
                s.execute(update(Escalation), [{"id": t.escalation_id, "next_fire_at": t.due_at} for t in timers])
        return timers
    finally:
        db.dispose()


def count_active_escalations(url: str) -> int:
    db = Database(url)
    try:
        with db.reader() as s:
            return int(s.execute(select(func.count()).select_from(Escalation)).scalar_one())
    finally:
        db.dispose()
