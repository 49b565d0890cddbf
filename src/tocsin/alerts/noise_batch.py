"""What one ingest batch knows about noise: the rules in force and the few look-ups they need, each made at most
once per batch (firing inhibitors, open groups per service, recent state changes per key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts import noise_repository as repo
from tocsin.alerts.models import Alert
from tocsin.alerts.rules.grouping import OpenGroup, alert_name
from tocsin.alerts.rules.inhibition import Firing
from tocsin.alerts.rules.matchers import event_view
from tocsin.alerts.rules.ruleset import RuleSet
from tocsin.alerts.rules.similarity import tokens


def alert_view(alert: Alert) -> dict[str, Any]:
    return event_view(
        summary=alert.summary,
        severity=alert.severity,
        source=alert.source,
        labels=alert.labels or {},
        details=alert.details or {},
        component=alert.component,
        group=alert.group,
        class_=alert.class_,
        dedup_key=alert.dedup_key,
    )


@dataclass(slots=True)
class TraceEntry:
    """How one event was handled; filled only when the caller asks (the route simulator)."""

    integration_id: int
    dedup_key: str
    outcome: str = ""
    rule: str | None = None
    service_id: int | None = None
    alert: Alert | None = None
    grouped_into: int | None = None
    grouped_by: str | None = None
    silence_id: int | None = None
    inhibited_by: dict[str, Any] | None = None
    flapping: bool = False


@dataclass(slots=True)
class BatchNoise:
    session: Session
    rules: RuleSet
    now: datetime
    trace: list[TraceEntry] | None = None
    _firing: list[tuple[Firing, Alert]] | None = None
    _groups: dict[int, list[OpenGroup]] = field(default_factory=dict)
    _changes: dict[tuple[int, str], int] | None = None

    def firing(self) -> list[tuple[Firing, Alert]]:
        if self._firing is None:
            self._firing = []
            for alert in repo.firing_inhibitors(self.session):
                view = alert_view(alert)
                self._firing.append((Firing(alert_id=alert.id, labels=alert.labels or {}, view=view), alert))
        return self._firing

    def add_firing(self, alert: Alert, view: dict[str, Any]) -> None:
        self.firing().append((Firing(alert_id=None, labels=alert.labels or {}, view=view), alert))

    def open_groups(self, service_id: int) -> list[OpenGroup]:
        found = self._groups.get(service_id)
        if found is None:
            rule = self.rules.grouping[service_id]
            found = [
                OpenGroup(
                    incident_id=incident_id,
                    service_id=sid,
                    created_at=created_at,
                    group_key=key,
                    alert_name=alert_name(labels or {}, summary),
                    words=tokens(summary),
                )
                for incident_id, sid, created_at, key, labels, summary in repo.open_group_members(
                    self.session, [service_id], self.now - rule.window
                )
            ]
            self._groups[service_id] = found
        return found

    def load_changes(self, keys: Sequence[tuple[int, str]]) -> None:
        if self.rules.flapping is None:
            self._changes = {}
            return
        self._changes = repo.state_changes_since(self.session, keys, self.now - self.rules.flapping.window)

    def changes(self, key: tuple[int, str]) -> int:
        return (self._changes or {}).get(key, 0)

    def count_change(self, key: tuple[int, str]) -> None:
        if self._changes is not None and self.rules.flapping is not None:
            self._changes[key] = self._changes.get(key, 0) + 1
