"""Every rule in force, compiled, and the routing decision for one event (pure).

The ingest path and the route simulator both call ``route``: there is one evaluation, never two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.alerts.rules.flapping import FlapPolicy
from tocsin.alerts.rules.grouping import GroupingRule
from tocsin.alerts.rules.inhibition import InhibitRule
from tocsin.alerts.rules.matchers import event_view
from tocsin.alerts.rules.priority_matrix import MajorCriteria, PriorityMatrix
from tocsin.alerts.rules.routing import EventRule, first_match
from tocsin.alerts.rules.silences import Silence, first_covering
from tocsin.alerts.schemas import NormalizedEvent


@dataclass(slots=True)
class RuleSet:
    version: str = ""
    # Integration id → its rules in order; key None holds the global rules.
    event_rules: Mapping[int | None, tuple[EventRule, ...]] = field(default_factory=dict)
    inhibit_rules: tuple[InhibitRule, ...] = ()
    silences: tuple[Silence, ...] = ()
    grouping: Mapping[int, GroupingRule] = field(default_factory=dict)
    matrix: PriorityMatrix | None = None
    major: MajorCriteria | None = None
    flapping: FlapPolicy | None = None
    _chains: dict[int, tuple[EventRule, ...]] = field(default_factory=dict)

    def chain(self, integration_id: int) -> tuple[EventRule, ...]:
        """The integration's rules, then the global ones: the order they are tried in."""
        found = self._chains.get(integration_id)
        if found is None:
            found = self.event_rules.get(integration_id, ()) + self.event_rules.get(None, ())
            self._chains[integration_id] = found
        return found

    @property
    def rule_count(self) -> int:
        return sum(len(r) for r in self.event_rules.values())


@dataclass(slots=True)
class Decision:
    """What the rules make of one triggering event before grouping, inhibition and flapping are looked at."""

    view: dict[str, Any]
    service_id: int
    title: str
    severity: str
    rule: EventRule | None = None
    drop: bool = False
    suppress: bool = False
    urgency: str | None = None
    priority: str | None = None


def view_of(event: NormalizedEvent) -> dict[str, Any]:
    return event_view(
        summary=event.summary,
        severity=event.severity,
        source=event.source,
        labels=event.labels,
        details=event.details,
        component=event.component,
        group=event.group,
        class_=event.class_,
        dedup_key=event.dedup_key,
        action=event.action,
    )


def route(rules: RuleSet, event: NormalizedEvent, *, integration_id: int, service_id: int) -> Decision:
    view = view_of(event)
    decision = Decision(
        view=view, service_id=service_id, title=event.summary or "(no summary)", severity=event.severity
    )
    chain = rules.chain(integration_id)
    if not chain:
        return decision
    rule = first_match(chain, view)
    if rule is None:
        return decision
    act = rule.actions
    decision.rule = rule
    decision.drop = act.drop
    decision.suppress = act.suppress
    if act.service_id is not None:
        decision.service_id = act.service_id
    if act.severity is not None:
        decision.severity = act.severity
    if act.title is not None:
        decision.title = act.title.render(view) or decision.title
    decision.urgency = act.urgency
    decision.priority = act.priority
    return decision


def silence_for(rules: RuleSet, decision: Decision, now: datetime) -> Silence | None:
    if not rules.silences:
        return None
    return first_covering(rules.silences, decision.view, decision.service_id, now)
