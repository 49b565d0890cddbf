"""The route simulator: what Tocsin would do with an event, computed by the real ingest code and rolled back.

The caller passes a session that is never committed (a reader); the real ``ingest_batch`` runs inside it, and
its trace says which rule matched, where the alert went, and why it would or would not page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts.noise_batch import TraceEntry
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.errors import InvalidInput
from tocsin.escalation import service as escalation
from tocsin.incidents import repository as incident_repo
from tocsin.services import repository as service_repo
from tocsin.users import repository as user_repo


@dataclass(slots=True)
class Outcome:
    dedup_key: str
    outcome: str
    rule: str | None = None
    service: str | None = None
    priority: str | None = None
    urgency: str | None = None
    title: str | None = None
    major: bool = False
    grouped_into: int | None = None
    grouped_by: str | None = None
    silenced_by: int | None = None
    inhibited_by: dict[str, Any] | None = None
    flapping: bool = False
    pages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dedup_key": self.dedup_key,
            "outcome": self.outcome,
            "rule": self.rule,
            "service": self.service,
            "priority": self.priority,
            "urgency": self.urgency,
            "title": self.title,
            "major": self.major,
            "grouped_into": self.grouped_into,
            "grouped_by": self.grouped_by,
            "silenced_by": self.silenced_by,
            "inhibited_by": self.inhibited_by,
            "flapping": self.flapping,
            "would_page": self.pages,
        }


def simulate(session: Session, *, integration_key: str, events: list[NormalizedEvent], at: datetime) -> list[Outcome]:
    """Run the events through ingestion at ``at`` inside ``session``; the caller must not commit it."""
    if service_repo.integration_by_key(session, integration_key) is None:
        raise InvalidInput(f"unknown integration key {integration_key!r}")
    if not events:
        raise InvalidInput("the payload holds no events")
    session.autoflush = True
    trace: list[TraceEntry] = []
    ingest_batch(session, [Submission(integration_key=integration_key, events=events)], now=at, trace=trace)
    session.flush()
    return [_describe(session, entry, at) for entry in trace]


def _describe(session: Session, entry: TraceEntry, at: datetime) -> Outcome:
    out = Outcome(dedup_key=entry.dedup_key, outcome=entry.outcome, rule=entry.rule, flapping=entry.flapping)
    service = service_repo.get(session, entry.service_id) if entry.service_id is not None else None
    out.service = service.name if service is not None else None
    out.silenced_by = entry.silence_id
    out.inhibited_by = entry.inhibited_by
    alert = entry.alert
    incident = None
    if alert is not None and alert.incident_id is not None:
        incident = incident_repo.get(session, alert.incident_id)
    if entry.outcome == "grouped" and incident is not None:
        out.grouped_into, out.grouped_by = incident.number, entry.grouped_by
    if incident is not None:
        out.priority, out.urgency, out.title, out.major = (
            incident.priority,
            incident.urgency,
            incident.title,
            incident.major,
        )
    if entry.outcome == "created" and service is not None and service.escalation_policy_id is not None:
        policy = escalation.get_policy(session, service.escalation_policy_id)
        ids = escalation.first_responders(session, policy, at)
        names = {u.id: u.name for u in (user_repo.get(session, int(i)) for i in ids) if u is not None}
        out.pages = [names.get(int(i), i) for i in ids]
    return out
