"""Inhibition (pure): while a source alert fires, target alerts with equal values of some labels are muted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.alerts.rules.matchers import EventView, Matcher, RuleError, all_match, compile_matchers


@dataclass(frozen=True, slots=True)
class InhibitRule:
    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Firing:
    """A firing alert that matched the source side of some rule when it was stored."""

    alert_id: int | None
    labels: Mapping[str, Any]
    view: EventView


def is_source(rules: Sequence[InhibitRule], view: EventView) -> bool:
    return any(all_match(r.source, view) for r in rules)


def inhibitor(
    rules: Sequence[InhibitRule], view: EventView, firing: Sequence[Firing]
) -> tuple[InhibitRule, Firing] | None:
    labels: Mapping[str, Any] = view.get("labels") or {}
    for rule in rules:
        if not all_match(rule.target, view):
            continue
        for source in firing:
            if source.view is view:
                continue  # an alert never inhibits itself
            if not all_match(rule.source, source.view):
                continue
            if all(str(source.labels.get(n, "")) == str(labels.get(n, "")) for n in rule.equal):
                return rule, source
    return None


def compile_inhibit(name: str, source: Any, target: Any, equal: Any) -> InhibitRule:
    if not name:
        raise RuleError("an inhibit rule needs a name")
    try:
        src, tgt = compile_matchers(source), compile_matchers(target)
    except RuleError as exc:
        raise RuleError(f"inhibit rule {name!r}: {exc}") from None
    if not src or not tgt:
        raise RuleError(f"inhibit rule {name!r}: needs source and target matchers")
    if not isinstance(equal, list) or not all(isinstance(x, str) and x for x in equal):
        raise RuleError(f"inhibit rule {name!r}: equal must be a list of label names")
    return InhibitRule(name=name, source=src, target=tgt, equal=tuple(equal))
