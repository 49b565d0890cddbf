"""Matchers on an event's fields and labels (pure).

A matcher is ``{"field": "labels.env", "op": "=", "value": "prod"}``. Fields are the normalised event's own
(``summary``, ``severity``, ``source`` …) or a dotted path into ``labels`` / ``details``. Regular expressions are
anchored at both ends, as Alertmanager's are, so ``api|web`` never matches ``grapevine``.

Patterns are RE2's (Alertmanager's syntax) and run on RE2, in time linear in the text: anyone who may write a
silence or a rule writes a pattern that every event is matched against, and a backtracking engine would let
``(a+)+b`` hold the ingest writer for minutes on one label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import re2  # type: ignore[import-untyped]

OPERATORS: Final = ("=", "!=", "=~", "!~", "exists", "not_exists", "<", "<=", ">", ">=")
EVENT_FIELDS: Final = ("summary", "severity", "source", "component", "group", "class", "dedup_key", "action")
NESTED_FIELDS: Final = ("labels", "details")
_NUMERIC: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
MISSING: Final = object()
_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the user's error, answered as such, not logged by RE2


class RuleError(ValueError):
    """A rule that cannot be compiled; the message names what is wrong."""


EventView = Mapping[str, Any]


def check_field(path: str) -> tuple[str, ...]:
    """Split a field path, refusing fields no event carries."""
    parts = tuple(path.split("."))
    root = parts[0]
    if root in EVENT_FIELDS and len(parts) == 1:
        return parts
    if root in NESTED_FIELDS and len(parts) >= 2 and all(parts[1:]):
        return parts
    allowed = ", ".join((*EVENT_FIELDS, "labels.<name>", "details.<path>"))
    raise RuleError(f"unknown field {path!r} (use one of {allowed})")


def lookup(view: EventView, parts: Sequence[str]) -> Any:
    value: Any = view
    for part in parts:
        if not isinstance(value, Mapping):
            return MISSING
        value = value.get(part, MISSING)
        if value is MISSING:
            return MISSING
    return value


@dataclass(frozen=True, slots=True)
class Matcher:
    field: str
    op: str
    value: Any
    parts: tuple[str, ...]
    pattern: Any = None  # a compiled RE2 pattern
    number: float | None = None

    def matches(self, view: EventView) -> bool:
        found = lookup(view, self.parts)
        op = self.op
        if op == "exists":
            return found is not MISSING and found is not None
        if op == "not_exists":
            return found is MISSING or found is None
        if found is MISSING or found is None:
            # Alertmanager treats a missing label as the empty string for (in)equality.
            found = ""
        if op == "=":
            return bool(_text(found) == self.value)
        if op == "!=":
            return bool(_text(found) != self.value)
        if op == "=~":
            assert self.pattern is not None
            return self.pattern.fullmatch(_text(found)) is not None
        if op == "!~":
            assert self.pattern is not None
            return self.pattern.fullmatch(_text(found)) is None
        assert self.number is not None
        try:
            actual = float(found)
        except (TypeError, ValueError):
            return False
        return _NUMERIC[op](actual, self.number)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in ("exists", "not_exists"):
            out["value"] = self.value if self.number is None else _plain_number(self.number)
        return out


def _plain_number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def compile_matcher(spec: Mapping[str, Any]) -> Matcher:
    if not isinstance(spec, Mapping):
        raise RuleError("a matcher is an object with field, op and value")
    unknown = set(spec) - {"field", "op", "value"}
    if unknown:
        raise RuleError(f"unknown matcher key(s): {', '.join(sorted(unknown))}")
    path = spec.get("field")
    if not isinstance(path, str) or not path:
        raise RuleError("a matcher needs a field")
    parts = check_field(path)
    op = spec.get("op", "=")
    if op not in OPERATORS:
        raise RuleError(f"unknown operator {op!r} for {path} (use one of {', '.join(OPERATORS)})")
    if op in ("exists", "not_exists"):
        return Matcher(field=path, op=op, value=None, parts=parts)
    if "value" not in spec or spec["value"] is None:
        raise RuleError(f"the matcher on {path} needs a value")
    raw = spec["value"]
    if op in _NUMERIC:
        if isinstance(raw, bool):
            raise RuleError(f"{path} {op} needs a number, not {raw!r}")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise RuleError(f"{path} {op} needs a number, not {raw!r}") from None
        return Matcher(field=path, op=op, value=raw, parts=parts, number=number)
    text = _text(raw)
    if op in ("=~", "!~"):
        try:
            pattern = re2.compile(text, options=_RE2_OPTIONS)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise RuleError(f"bad regular expression {text!r} for {path}: {reason} (RE2 syntax)") from None
        return Matcher(field=path, op=op, value=text, parts=parts, pattern=pattern)
    return Matcher(field=path, op=op, value=text, parts=parts)


def compile_matchers(specs: Sequence[Mapping[str, Any]]) -> tuple[Matcher, ...]:
    if not isinstance(specs, Sequence) or isinstance(specs, str):
        raise RuleError("matchers must be a list")
    return tuple(compile_matcher(s) for s in specs)


def all_match(matchers: Sequence[Matcher], view: EventView) -> bool:
    return all(m.matches(view) for m in matchers)


def event_view(
    *,
    summary: str,
    severity: str,
    source: str,
    labels: Mapping[str, Any],
    details: Mapping[str, Any],
    component: str | None = None,
    group: str | None = None,
    class_: str | None = None,
    dedup_key: str | None = None,
    action: str = "trigger",
) -> dict[str, Any]:
    return {
        "summary": summary,
        "severity": severity,
        "source": source,
        "component": component,
        "group": group,
        "class": class_,
        "dedup_key": dedup_key,
        "action": action,
        "labels": labels,
        "details": details,
    }


class CandidateIndex:
    """Narrows an ordered list of matcher sets to those that can match a view, without evaluating them all.

    Each set with an equality matcher is filed under that matcher's field and value; a view then only reaches
    the sets filed under its own values, plus the sets without any equality matcher. With hundreds of rules
    keyed on a label (team, service, alertname) this turns a scan into a few dictionary look-ups.
    """

    __slots__ = ("_always", "_by_field")

    def __init__(self, matcher_sets: Sequence[Sequence[Matcher]]) -> None:
        self._always: list[int] = []
        self._by_field: dict[tuple[str, ...], dict[str, list[int]]] = {}
        for index, matchers in enumerate(matcher_sets):
            key = next((m for m in matchers if m.op == "="), None)
            if key is None:
                self._always.append(index)
            else:
                self._by_field.setdefault(key.parts, {}).setdefault(key.value, []).append(index)

    def candidates(self, view: EventView) -> list[int]:
        found = list(self._always)
        for parts, table in self._by_field.items():
            value = lookup(view, parts)
            hits = table.get("" if value is MISSING or value is None else _text(value))
            if hits:
                found.extend(hits)
        if len(found) > 1:
            found.sort()
        return found
