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
from tocsin.alerts.rules.inhibition import InhibitRule, is_source
from tocsin.alerts.rules.matchers import CandidateIndex, EventView, event_view
from tocsin.alerts.rules.priority_matrix import MajorCriteria, PriorityMatrix
from tocsin.alerts.rules.routing import EventRule
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
    _chains: dict[int, tuple[tuple[EventRule, ...], CandidateIndex]] = field(default_factory=dict)
    _silence_index: CandidateIndex | None = None
    _inhibit_index: CandidateIndex | None = None
    _source_index: CandidateIndex | None = None

    def chain(self, integration_id: int) -> tuple[tuple[EventRule, ...], CandidateIndex]:
        """The integration's rules, then the global ones (the order they are tried in), and their index."""
        found = self._chains.get(integration_id)
        if found is None:
            rules = self.event_rules.get(integration_id, ()) + self.event_rules.get(None, ())
            found = (rules, CandidateIndex([r.matchers for r in rules]))
            self._chains[integration_id] = found
        return found

    def first_rule(self, integration_id: int, view: EventView) -> EventRule | None:
        rules, index = self.chain(integration_id)
        if not rules:
            return None
        for i in index.candidates(view):
            if rules[i].matches(view):
                return rules[i]
        return None

    def silence_candidates(self, view: EventView) -> list[Silence]:
        if self._silence_index is None:
            self._silence_index = CandidateIndex([s.matchers for s in self.silences])
        return [self.silences[i] for i in self._silence_index.candidates(view)]

    def inhibit_candidates(self, view: EventView) -> list[InhibitRule]:
        """Rules whose target side may match this view."""
        if self._inhibit_index is None:
            self._inhibit_index = CandidateIndex([r.target for r in self.inhibit_rules])
        return [self.inhibit_rules[i] for i in self._inhibit_index.candidates(view)]

    def is_inhibit_source(self, view: EventView) -> bool:
        """Whether this view matches the source side of some inhibit rule (so it may mute others)."""
        if not self.inhibit_rules:
            return False
        if self._source_index is None:
            self._source_index = CandidateIndex([r.source for r in self.inhibit_rules])
        return is_source([self.inhibit_rules[i] for i in self._source_index.candidates(view)], view)

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
    # Names for the incident the alert opens (ADR 0021); names the types and categories do not know are left out.
    incident_type: str | None = None
    category: str | None = None


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
    rule = rules.first_rule(integration_id, view)
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
    if act.incident_type is not None:
        decision.incident_type = act.incident_type.render(view).strip() or None
    if act.category is not None:
        decision.category = act.category.render(view).strip() or None
    return decision


def silence_for(rules: RuleSet, decision: Decision, now: datetime) -> Silence | None:
    if not rules.silences:
        return None
    return first_covering(rules.silence_candidates(decision.view), decision.view, decision.service_id, now)
