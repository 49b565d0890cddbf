"""Event rules: ordered matchers and the actions of the first rule that matches (pure).

Rules of the event's integration are tried first, in their order, then the global ones; the first match wins.
A rule can route to another service, set urgency, severity or priority, rewrite the title, name the incident type and
category of the incident the alert opens (templates over the alert's fields, ADR 0021), or drop the event (kept in
the event log, no alert) or suppress it (an alert is stored, nobody is paged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tocsin.alerts.rules.matchers import EventView, Matcher, RuleError, all_match, compile_matchers
from tocsin.alerts.rules.templates import Template, compile_template

URGENCIES: Final = ("high", "low")
SEVERITIES: Final = ("critical", "error", "warning", "info")
PRIORITIES: Final = ("P1", "P2", "P3", "P4", "P5")
ACTION_KEYS: Final = (
    "service",
    "urgency",
    "severity",
    "priority",
    "title",
    "incident_type",
    "category",
    "drop",
    "suppress",
)


@dataclass(frozen=True, slots=True)
class Actions:
    service_id: int | None = None
    service: str | None = None
    urgency: str | None = None
    severity: str | None = None
    priority: str | None = None
    title: Template | None = None
    # The incident type and category by name, rendered from the alert's fields ("{labels.kind}" or plain text).
    incident_type: Template | None = None
    category: Template | None = None
    drop: bool = False
    suppress: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("service", "urgency", "severity", "priority"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("title", "incident_type", "category"):
            template = getattr(self, key)
            if template is not None:
                out[key] = template.source
        if self.drop:
            out["drop"] = True
        if self.suppress:
            out["suppress"] = True
        return out


@dataclass(frozen=True, slots=True)
class EventRule:
    name: str
    integration_id: int | None
    matchers: tuple[Matcher, ...]
    actions: Actions
    position: int = 0

    def matches(self, view: EventView) -> bool:
        return all_match(self.matchers, view)


def _one_of(rule: str, key: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise RuleError(f"rule {rule!r}: {key} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _name_template(value: Any, limit: int) -> Template | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise RuleError(f"incident_type and category are names or templates of at most {limit} characters")
    return compile_template(value)


def compile_actions(rule: str, spec: Mapping[str, Any], service_ids: Mapping[str, int]) -> Actions:
    if not isinstance(spec, Mapping):
        raise RuleError(f"rule {rule!r}: actions must be an object")
    unknown = set(spec) - set(ACTION_KEYS)
    if unknown:
        raise RuleError(f"rule {rule!r}: unknown action(s) {', '.join(sorted(unknown))}")
    service = spec.get("service")
    service_id = None
    if service is not None:
        if service not in service_ids:
            raise RuleError(f"rule {rule!r}: unknown service {service!r}")
        service_id = service_ids[service]
    try:
        title = compile_template(str(spec["title"])) if spec.get("title") else None
        incident_type = _name_template(spec.get("incident_type"), 100)
        category = _name_template(spec.get("category"), 100)
    except RuleError as exc:
        raise RuleError(f"rule {rule!r}: {exc}") from None
    drop, suppress = bool(spec.get("drop", False)), bool(spec.get("suppress", False))
    if drop and suppress:
        raise RuleError(f"rule {rule!r}: drop and suppress exclude each other")
    return Actions(
        service_id=service_id,
        service=service,
        urgency=_one_of(rule, "urgency", spec["urgency"], URGENCIES) if spec.get("urgency") else None,
        severity=_one_of(rule, "severity", spec["severity"], SEVERITIES) if spec.get("severity") else None,
        priority=_one_of(rule, "priority", spec["priority"], PRIORITIES) if spec.get("priority") else None,
        title=title,
        incident_type=incident_type,
        category=category,
        drop=drop,
        suppress=suppress,
    )


def compile_rule(
    *,
    name: str,
    matchers: Sequence[Mapping[str, Any]],
    actions: Mapping[str, Any],
    service_ids: Mapping[str, int],
    integration_id: int | None = None,
    position: int = 0,
) -> EventRule:
    if not name or not name.strip():
        raise RuleError("an event rule needs a name")
    try:
        compiled = compile_matchers(matchers)
    except RuleError as exc:
        raise RuleError(f"rule {name!r}: {exc}") from None
    return EventRule(
        name=name,
        integration_id=integration_id,
        matchers=compiled,
        actions=compile_actions(name, actions, service_ids),
        position=position,
    )


def first_match(rules: Sequence[EventRule], view: EventView) -> EventRule | None:
    for rule in rules:
        if rule.matches(view):
            return rule
    return None
