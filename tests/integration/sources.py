"""What the tests of the inbound sources share: an integration of a type, and what got stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.incidents.models import Incident


def integration_key(api: ApiHarness, type: str, *, secret: str | None = None, name: str = "shop") -> str:
    with api.runtime.db.unit_of_work() as s:
        _, integration = make_service(s, api.clock.now(), name=name, type=type)
        integration.signing_secret = secret
        return integration.key


@dataclass
class Stored:
    events: int
    alerts: list[tuple[str, str, str]]  # dedup key, status, summary
    incidents: list[str]  # statuses


def stored(api: ApiHarness) -> Stored:
    with api.runtime.db.reader() as s:
        events = s.execute(select(func.count()).select_from(AlertEvent)).scalar_one()
        alerts = [(a.dedup_key, a.status, a.summary) for a in s.execute(select(Alert).order_by(Alert.id)).scalars()]
        incidents = list(s.execute(select(Incident.status).order_by(Incident.id)).scalars())
    return Stored(events=events, alerts=alerts, incidents=incidents)
