"""A fixed data set, small enough to compute every figure by hand (see test_metrics and test_health).

The period is 2026-10-19 00:00 → 2026-11-02 00:00 UTC. Inside it Paris leaves summer time (25 October, 01:00 UTC)
and New York does (1 November, 06:00 UTC). Alice is in Paris, Bob in New York, Carol in Tokyo; Alice and Bob
share the team Core and a weekly rotation that starts with Alice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.db.session import Database
from tocsin.incidents.lifecycle import IncidentStatus, ResponseStatus
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.models import ContactMethod, Notification
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

SINCE = datetime(2026, 10, 19, tzinfo=UTC)
UNTIL = datetime(2026, 11, 2, tzinfo=UTC)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class DataSet:
    alice: int
    bob: int
    carol: int
    team: int
    api: int
    db_service: int
    numbers: dict[str, int]


def _incident(session: Session, number: int, service_id: int, created: datetime, **kw: Any) -> Incident:
    row = Incident(
        number=number,
        title=f"incident {number}",
        service_id=service_id,
        created_at=created,
        updated_at=created,
        status=kw.pop("status", IncidentStatus.TRIGGERED),
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def _entry(session: Session, incident: Incident, kind: TimelineKind, when: datetime, user_id: int | None) -> None:
    session.add(
        TimelineEntry(
            incident_id=incident.id,
            at=when,
            kind=kind,
            source="web" if user_id else "integration",
            actor_user_id=user_id,
            actor="someone" if user_id else "monitor",
            message="",
            data={},
        )
    )


def _page(session: Session, user_id: int, cm: int, incident: Incident, sent: datetime, n: int) -> None:
    session.add(
        Notification(
            idempotency_key=f"test:{user_id}:{incident.id}:{n}",
            kind="page",
            incident_id=incident.id,
            user_id=user_id,
            contact_method_id=cm,
            status="sent",
            created_at=sent,
            sent_at=sent,
            payload={},
        )
    )


def build(db: Database) -> DataSet:
    now = SINCE
    with db.unit_of_work() as s:
        alice = users.create_user(s, email="alice@example.com", name="Alice", role="responder", now=now)
        bob = users.create_user(s, email="bob@example.com", name="Bob", role="responder", now=now)
        carol = users.create_user(s, email="carol@example.com", name="Carol", role="responder", now=now)
        alice.timezone, bob.timezone, carol.timezone = "Europe/Paris", "America/New_York", "Asia/Tokyo"
        core = teams.create_team(s, name="Core", now=now)
        teams.set_member(s, core, alice)
        teams.set_member(s, core, bob, "manager")
        api = services.create_service(s, name="api", now=now, team_id=core.id, downtime_cost_per_minute=10.0)
        dbs = services.create_service(s, name="db", now=now)
        integration = services.add_integration(s, api, name="api-generic", type="generic", now=now)
        cms = {}
        for u in (alice, bob, carol):
            cm = ContactMethod(user_id=u.id, name="mail", type="email", address=u.email, created_at=now)
            s.add(cm)
            s.flush()
            cms[u.id] = cm.id
        schedule = oncall.create_schedule(s, name="Core", timezone="UTC", now=now, team_id=core.id)
        oncall.set_layers(s, schedule, [oncall.layer_spec(s, rotation="weekly", start=SINCE, users=[alice.id, bob.id])])
        # 1: impact 09:50, detected 09:58, acknowledged +5 min, mitigated +20 min, resolved +40 min by a person.
        i1 = _incident(
            s,
            1,
            api.id,
            at(10, 20, 10),
            severity="SEV1",
            priority="P1",
            assigned_user_id=alice.id,
            impact_started_at=at(10, 20, 9, 50),
            detected_at=at(10, 20, 9, 58),
            acknowledged_at=at(10, 20, 10, 5),
            mitigated_at=at(10, 20, 10, 20),
            resolved_at=at(10, 20, 10, 40),
            status=IncidentStatus.RESOLVED,
            response_status=ResponseStatus.RESOLVED,
            downtime_cost=500.0,
        )
        _entry(s, i1, TimelineKind.ESCALATED, at(10, 20, 10, 1), None)
        _entry(s, i1, TimelineKind.ESCALATED, at(10, 20, 10, 3), None)
        _entry(s, i1, TimelineKind.STAKEHOLDER_UPDATE, at(10, 20, 10, 15), alice.id)
        _entry(s, i1, TimelineKind.RESOLVED, at(10, 20, 10, 40), alice.id)
        # 2: first alert 11:57, detected 12:00; resolved by a person, reopened, resolved again at 13:30.
        i2 = _incident(
            s,
            2,
            api.id,
            at(10, 22, 12),
            severity="SEV2",
            priority="P2",
            assigned_user_id=alice.id,
            detected_at=at(10, 22, 12),
            acknowledged_at=at(10, 22, 12, 10),
            resolved_at=at(10, 22, 13, 30),
            status=IncidentStatus.RESOLVED,
            response_status=ResponseStatus.RESOLVED,
        )
        s.add(Alert(**_alert(i2, api.id, integration.id, at(10, 22, 11, 57))))
        _entry(s, i2, TimelineKind.RESOLVED, at(10, 22, 13), alice.id)
        _entry(s, i2, TimelineKind.REOPENED, at(10, 22, 13, 5), alice.id)
        _entry(s, i2, TimelineKind.RESOLVED, at(10, 22, 13, 30), alice.id)
        # 3: right after Paris's clocks went back; acknowledged after 30 min, still open.
        i3 = _incident(
            s,
            3,
            dbs.id,
            at(10, 26, 3),
            severity="SEV2",
            priority="P2",
            assigned_user_id=bob.id,
            acknowledged_at=at(10, 26, 3, 30),
            status=IncidentStatus.ACKNOWLEDGED,
        )
        _entry(s, i3, TimelineKind.ESCALATED, at(10, 26, 3, 5), None)
        # 4 (a drill), 5 (merged), 6 (canceled): never counted.
        _incident(s, 4, api.id, at(10, 21, 9), drill=True, acknowledged_at=at(10, 21, 9, 1))
        _incident(s, 5, api.id, at(10, 21, 9), response_status=ResponseStatus.MERGED, acknowledged_at=at(10, 21, 9, 1))
        _incident(
            s, 6, dbs.id, at(10, 21, 9), response_status=ResponseStatus.CANCELED, acknowledged_at=at(10, 21, 9, 1)
        )
        # 7: resolved by its monitor after two hours, never acknowledged.
        i7 = _incident(
            s,
            7,
            dbs.id,
            at(10, 28, 0),
            severity="SEV3",
            priority="P3",
            resolved_at=at(10, 28, 2),
            status=IncidentStatus.RESOLVED,
            response_status=ResponseStatus.RESOLVED,
        )
        _entry(s, i7, TimelineKind.RESOLVED, at(10, 28, 2), None)
        # Outside the period: not counted.
        _incident(s, 8, api.id, at(11, 2, 0), acknowledged_at=at(11, 2, 0, 1))
        # Alice (Paris): #1 on Tuesday 10:05 CEST, twice (one interruption, two pages); #2 on Saturday 22:30 CEST;
        # #3 on Monday 04:00 CET (the night of Sunday); #7 on Wednesday 01:00 CET (the night of Tuesday).
        _page(s, alice.id, cms[alice.id], i1, at(10, 20, 8, 5), 1)
        _page(s, alice.id, cms[alice.id], i1, at(10, 20, 8, 10), 2)
        _page(s, alice.id, cms[alice.id], i2, at(10, 24, 20, 30), 1)
        _page(s, alice.id, cms[alice.id], i3, at(10, 26, 3), 1)
        _page(s, alice.id, cms[alice.id], i7, at(10, 28, 0), 1)
        # Bob (New York): #1 on Tuesday 18:30 EDT (off hours), #3 on Sunday 12:00 EDT (weekend), #2 on Sunday
        # 1 November 07:00 EST: an hour after the clocks went back, so sleep hours (it would be 08:00 before).
        _page(s, bob.id, cms[bob.id], i1, at(10, 20, 22, 30), 1)
        _page(s, bob.id, cms[bob.id], i3, at(10, 25, 16), 1)
        _page(s, bob.id, cms[bob.id], i2, at(11, 1, 12), 1)
        # A cancelled page reached nobody.
        s.add(
            Notification(
                idempotency_key="test:cancelled",
                kind="page",
                incident_id=i3.id,
                user_id=carol.id,
                contact_method_id=cms[carol.id],
                status="cancelled",
                created_at=at(10, 26, 3),
                payload={},
            )
        )
        return DataSet(alice.id, bob.id, carol.id, core.id, api.id, dbs.id, {})


def _alert(incident: Incident, service_id: int, integration_id: int, when: datetime) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "integration_id": integration_id,
        "incident_id": incident.id,
        "dedup_key": f"k{incident.id}",
        "summary": "disk full",
        "created_at": when,
        "last_event_at": when,
    }


@pytest.fixture
def data(db: Database) -> DataSet:
    return build(db)
