"""Helpers of the learning tests: incident events handed to their consumers at once, people with a contact method,
incidents declared and resolved through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.api.conftest import declare, ok
from tests.conftest import ApiHarness
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.users import service as users


def deliver_events(api: ApiHarness) -> int:
    """Every incident event committed so far, handed to its consumers (the engine's events module, no pause)."""
    module = EventDeliveryModule(api.runtime.db, api.runtime.consumers, owner="tests")
    total = 0
    for _ in range(20):
        handled = module.run_once(api.clock.now())
        total += handled
        if handled == 0:
            return total
    raise AssertionError("events still flowing after 20 passes")


def person(api: ApiHarness, email: str, role: str = "responder") -> int:
    now = api.clock.now()
    with api.runtime.db.unit_of_work() as s:
        user = users.create_user(s, email=email, name=email.split("@")[0].title(), role=role, now=now)
        cm = contacts.add_contact_method(s, user_id=user.id, name="email", type="email", address=email, now=now)
        contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        return user.id


def incident(api: ApiHarness, service_id: int, title: str = "Checkout is down", **fields: Any) -> dict[str, Any]:
    return declare(api, service_id, title, **fields)


def resolve(api: ApiHarness, ref: int) -> dict[str, Any]:
    found: dict[str, Any] = ok(api.post(f"/api/v1/incidents/{ref}/resolve", json={}))
    return found


def notices(api: ApiHarness, prefix: str) -> list[Notification]:
    with api.runtime.db.reader() as s:
        rows = s.scalars(select(Notification).where(Notification.idempotency_key.like(f"notice:{prefix}%")))
        return list(rows)


def timeline(api: ApiHarness, incident_id: int, kind: str) -> list[str]:
    with api.runtime.db.reader() as s:
        stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id, TimelineEntry.kind == kind)
        return [e.message for e in s.scalars(stmt.order_by(TimelineEntry.id))]


def number_of(api: ApiHarness, incident_id: int) -> int:
    with api.runtime.db.reader() as s:
        row = s.get(Incident, incident_id)
        assert row is not None
        return row.number
