"""Which open incident a new alert joins (pure).

By labels (Alertmanager's group_by): alerts of one service with the same values of the group-by labels join the
open incident of that group while it is younger than the window. By content: an alert with the same alert name,
or a summary similar enough, joins an open incident of the same service within the window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.alerts.rules.matchers import RuleError
from tocsin.alerts.rules.similarity import similarity, tokens


@dataclass(frozen=True, slots=True)
class GroupingRule:
    service_id: int
    group_by: tuple[str, ...] = ()
    window: timedelta = timedelta(minutes=30)
    by_content: bool = False
    threshold: float = 0.8


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """An open incident that can take more alerts, as seen by the grouping rules."""

    incident_id: int
    service_id: int
    created_at: datetime
    group_key: str | None
    alert_name: str
    words: frozenset[str]


def group_key(rule: GroupingRule, labels: Mapping[str, Any]) -> str | None:
    """A stable digest of the group-by label values; missing labels count as empty, as in Alertmanager."""
    if not rule.group_by:
        return None
    text = "\x1f".join(f"{name}={labels.get(name, '')}" for name in rule.group_by)
    return hashlib.sha256(f"{rule.service_id}\x1e{text}".encode()).hexdigest()[:40]


def alert_name(labels: Mapping[str, Any], summary: str) -> str:
    name = labels.get("alertname")
    return str(name) if name else summary


def choose(
    rule: GroupingRule,
    *,
    key: str | None,
    name: str,
    summary: str,
    candidates: Sequence[OpenGroup],
    now: datetime,
) -> tuple[OpenGroup, str] | None:
    """The open incident to join and why ("labels" or "content"), or None to open a new one."""
    recent = [c for c in candidates if c.service_id == rule.service_id and now - c.created_at <= rule.window]
    if key is not None:
        for c in recent:
            if c.group_key == key:
                return c, "labels"
    if rule.by_content:
        words = tokens(summary)
        for c in recent:
            if c.alert_name == name or similarity(words, c.words) >= rule.threshold:
                return c, "content"
    return None


def compile_grouping(service_id: int, spec: Mapping[str, Any]) -> GroupingRule:
    if not isinstance(spec, Mapping):
        raise RuleError("grouping must be an object")
    unknown = set(spec) - {"group_by", "window_seconds", "by_content", "threshold"}
    if unknown:
        raise RuleError(f"grouping: unknown key(s) {', '.join(sorted(unknown))}")
    group_by = spec.get("group_by") or []
    if not isinstance(group_by, list) or not all(isinstance(x, str) and x for x in group_by):
        raise RuleError("grouping: group_by must be a list of label names")
    window = spec.get("window_seconds", 1800)
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        raise RuleError("grouping: window_seconds must be a positive number of seconds")
    threshold = spec.get("threshold", 0.8)
    if not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        raise RuleError("grouping: threshold must be between 0 and 1")
    return GroupingRule(
        service_id=service_id,
        group_by=tuple(group_by),
        window=timedelta(seconds=window),
        by_content=bool(spec.get("by_content", False)),
        threshold=float(threshold),
    )
