"""Where a new alert goes once routed: muted (rule, silence, inhibition, with the reason recorded on it),
into an open incident (grouping), or into a new incident of its own (``Pending``, opened in bulk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.alerts.noise_batch import BatchNoise, TraceEntry
from tocsin.alerts.rules.grouping import OpenGroup, alert_name, choose, group_key
from tocsin.alerts.rules.inhibition import inhibitor
from tocsin.alerts.rules.ruleset import Decision, RuleSet, silence_for
from tocsin.alerts.rules.similarity import tokens
from tocsin.alerts.schemas import IngestOutcome
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.services.repository import ServiceFacts


@dataclass(slots=True)
class Pending:
    """A trigger that opens a new incident; the incidents are created in bulk once the batch is walked."""

    alert: Alert
    service: ServiceFacts
    decision: Decision
    flapping: bool = False
    # Later alerts of the same batch that were grouped into this incident.
    members: list[Alert] = field(default_factory=list)
    group: OpenGroup | None = None


def suppression(
    session: Session,
    alert: Alert,
    decision: Decision,
    rule_name: str | None,
    now: datetime,
    noise: BatchNoise,
    entry: TraceEntry | None,
) -> IngestOutcome | None:
    """The reason this alert pages nobody (rule, silence, inhibition), recorded on the alert; None: it may page."""
    rules = noise.rules
    if decision.suppress:
        alert.suppressed, alert.suppressed_by = "rule", {"rule": rule_name}
        outcome = IngestOutcome.SUPPRESSED
    elif (silence := silence_for(rules, decision, now)) is not None:
        alert.suppressed, alert.suppressed_by = "silence", {"silence_id": silence.id}
        if entry is not None:
            entry.silence_id = silence.id
        outcome = IngestOutcome.SILENCED
    elif rules.inhibit_rules and (hit := _inhibitor(session, decision, noise)) is not None:
        alert.suppressed, alert.suppressed_by = "inhibition", hit
        if entry is not None:
            entry.inhibited_by = hit
        outcome = IngestOutcome.INHIBITED
    else:
        return None
    if entry is not None:
        entry.outcome = outcome
    return outcome


def _inhibitor(session: Session, decision: Decision, noise: BatchNoise) -> dict[str, Any] | None:
    candidates = noise.rules.inhibit_candidates(decision.view)
    if not candidates:
        return None
    firing = noise.firing()
    hit = inhibitor(candidates, decision.view, [f for f, _ in firing])
    if hit is None:
        return None
    rule, source = hit
    source_alert = next(a for f, a in firing if f is source)
    if source_alert.id is None:
        session.add(source_alert)
        session.flush()
    return {"rule": rule.name, "alert_id": source_alert.id, "summary": source_alert.summary}


def join_group(
    session: Session,
    alert: Alert,
    decision: Decision,
    service: ServiceFacts,
    pending: list[Pending],
    now: datetime,
    noise: BatchNoise,
    entry: TraceEntry | None,
) -> bool:
    rule = noise.rules.grouping[service.id]
    alert.group_key = group_key(rule, alert.labels or {})
    name = alert_name(alert.labels or {}, alert.summary)
    in_batch = [p.group for p in pending if p.group is not None and p.service.id == service.id]
    candidates = in_batch + noise.open_groups(service.id)
    chosen = choose(rule, key=alert.group_key, name=name, summary=alert.summary, candidates=candidates, now=now)
    if chosen is None:
        return False
    group, why = chosen
    if group.incident_id < 0:
        pending[-group.incident_id - 1].members.append(alert)
    else:
        incident = incident_repo.get(session, group.incident_id)
        if incident is None or not lifecycle.is_open(incident.status):
            return False
        alert.incident_id = incident.id
        incident.alert_count += 1
        incident.updated_at = now
        session.add(alert)
        session.flush()
        incident_repo.add_timeline(
            session,
            [
                timeline_row(
                    incident.id,
                    TimelineKind.ALERT_GROUPED,
                    Actor(label="grouping", source="integration"),
                    now,
                    f"Alert grouped by {why}: {alert.summary}",
                    alert_id=alert.id,
                    by=why,
                )
            ],
        )
    if entry is not None:
        entry.outcome, entry.grouped_into, entry.grouped_by = "grouped", group.incident_id, why
    return True


def remember_group(p: Pending, rules: RuleSet, index: int, now: datetime) -> None:
    """A new incident of this batch is itself a group later alerts of the batch may join."""
    rule = rules.grouping.get(p.service.id)
    if rule is None:
        return
    p.alert.group_key = group_key(rule, p.alert.labels or {})
    p.group = OpenGroup(
        incident_id=-index,
        service_id=p.service.id,
        created_at=now,
        group_key=p.alert.group_key,
        alert_name=alert_name(p.alert.labels or {}, p.alert.summary),
        words=tokens(p.alert.summary),
    )
