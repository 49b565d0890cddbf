"""The incident field table (pure): every field a condition, a template or a ``set_field`` step may name, and how to
read it off an incident and its alerts. One table, so a new incident field is
one line here and works in conditions, templates and simulation alike.

Conditions use the event rules' matcher vocabulary (``alerts/rules/matchers.py``: =, !=, =~, !~ with RE2,
exists, not_exists, <, <=, >, >=) over a flat view of these fields, with ``labels.<name>`` for the labels of the
incident's alerts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tocsin.alerts.rules.matchers import Matcher, RuleError, all_match, compile_matcher


@dataclass(frozen=True, slots=True)
class Subject:
    """What conditions and templates read: the incident's columns, its service's name, its alerts' labels."""

    incident: Mapping[str, Any]
    service: str = ""
    labels: Mapping[str, Any] = field(default_factory=dict)
    url: str = ""


Reader = Callable[[Subject], Any]


def _column(name: str) -> Reader:
    return lambda s: s.incident.get(name)


# field name → how to read it. A new incident column is one line here.
FIELDS: Final[dict[str, Reader]] = {
    "number": _column("number"),
    "title": _column("title"),
    "description": _column("description"),
    "severity": _column("severity"),
    "priority": _column("priority"),
    "urgency": _column("urgency"),
    "status": _column("status"),
    "response_status": _column("response_status"),
    "major": _column("major"),
    "private": _column("private"),
    "type": _column("type"),
    "category": _column("category"),
    "drill": _column("drill"),
    "service": lambda s: s.service,
    "service_id": _column("service_id"),
    "url": lambda s: s.url,
}
# The fields a ``set_field`` step may change, and the values each takes (None: any text).
SETTABLE: Final[dict[str, tuple[str, ...] | None]] = {
    "severity": ("SEV1", "SEV2", "SEV3", "SEV4", "SEV5"),
    "priority": ("P1", "P2", "P3", "P4", "P5"),
    "urgency": ("high", "low"),
    "title": None,
    "response_status": ("investigating", "identified", "mitigated", "monitoring", "resolved", "closed"),
}


def view(subject: Subject) -> dict[str, Any]:
    """The flat view matchers and templates read."""
    out = {name: read(subject) for name, read in FIELDS.items()}
    out["labels"] = dict(subject.labels)
    return out


def check_field(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("."))
    if len(parts) == 1 and parts[0] in FIELDS:
        return parts
    if parts[0] == "labels" and len(parts) == 2 and parts[1]:
        return parts
    raise RuleError(f"unknown field {path!r} (use one of {', '.join(FIELDS)}, labels.<name>)")


def compile_condition(spec: Mapping[str, Any]) -> Matcher:
    """A matcher over the incident field table, with the event rules' operators and RE2 patterns."""
    if not isinstance(spec, Mapping):
        raise RuleError("a condition is an object with field, op and value")
    path = spec.get("field")
    if not isinstance(path, str) or not path:
        raise RuleError("a condition needs a field")
    parts = check_field(path)
    # The event rules' compiler checks operator, value and pattern; the field is ours.
    compiled = compile_matcher({**spec, "field": "summary"})
    return dataclasses.replace(compiled, field=path, parts=parts)


def compile_conditions(specs: Sequence[Mapping[str, Any]], where: str = "conditions") -> tuple[Matcher, ...]:
    """Every condition compiled; a fault raises RuleError naming its path (``conditions.1: …``)."""
    if not isinstance(specs, Sequence) or isinstance(specs, str):
        raise RuleError(f"{where}: must be a list")
    out = []
    for i, spec in enumerate(specs):
        try:
            out.append(compile_condition(spec))
        except RuleError as exc:
            raise RuleError(f"{where}.{i}: {exc}") from None
    return tuple(out)


def matches(matchers: Sequence[Matcher], subject_view: Mapping[str, Any]) -> bool:
    return all_match(matchers, subject_view)
