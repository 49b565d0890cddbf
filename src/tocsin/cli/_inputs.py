"""Reading what a command is given: matchers in short form, rule documents (YAML or JSON), and times."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tocsin.core.clock import utc
from tocsin.core.errors import InvalidInput
from tocsin.oncall.durations import parse_duration

MATCH_HELP = (
    "A matcher FIELD OP VALUE (repeat): labels.env=prod, severity!=info, labels.host=~'web-.*', "
    "'labels.team exists'; operators = != =~ !~ < <= > >= exists not_exists"
)
TIME_HELP = "ISO 8601 (2026-11-02T09:00, UTC unless it names an offset), 'now', or relative to now: +2h, -1d"
# Longest operators first, so that "!=" is not read as "!" then "=".
_SHORT = re.compile(r"^\s*(?P<field>[^\s=!~<>]+)\s*(?P<op>=~|!~|!=|<=|>=|=|<|>)\s*(?P<value>.*?)\s*$")
_UNARY = re.compile(r"^\s*(?P<field>\S+)\s+(?P<op>exists|not_exists)\s*$")


def matcher(text: str) -> dict[str, Any]:
    """``labels.env=prod`` as the API's ``{"field": "labels.env", "op": "=", "value": "prod"}``."""
    unary = _UNARY.match(text)
    if unary:
        return {"field": unary["field"], "op": unary["op"]}
    short = _SHORT.match(text)
    if short is None:
        raise InvalidInput(f"not a matcher: {text!r} (use FIELD OP VALUE, e.g. labels.env=prod)")
    return {"field": short["field"], "op": short["op"], "value": short["value"]}


def matchers(texts: list[str] | None) -> list[dict[str, Any]] | None:
    """None when no matcher was given (so an edit keeps the stored ones)."""
    return [matcher(t) for t in texts] if texts else None


def shown(found: list[dict[str, Any]], empty: str) -> str:
    """Matchers as they are typed: ``labels.env=prod, labels.team exists``."""
    parts = (
        f"{m['field']} {m['op']}" if m["op"] in ("exists", "not_exists") else f"{m['field']}{m['op']}{m.get('value')}"
        for m in found
    )
    return ", ".join(parts) or empty


def document(path: Path) -> dict[str, Any]:
    """A YAML or JSON file holding one mapping (JSON is read as the YAML it also is)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InvalidInput(f"{path} is not valid YAML or JSON{where}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{path} must hold a mapping (the fields of the rule)")
    return raw


def time_value(raw: str | None, base: datetime) -> datetime | str | None:
    """'now' and +2h/-1d relative to ``base``; anything else is left for the API's schema to read or refuse."""
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() == "now":
        return base
    if text[:1] in "+-":
        try:
            offset = parse_duration(text[1:])
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        return base + offset if text[0] == "+" else base - offset
    return text


def iso_time(raw: str) -> datetime:
    """An ISO 8601 date and time, UTC unless it names an offset."""
    try:
        return utc(datetime.fromisoformat(raw.strip().replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"not a date and time: {raw!r} (use ISO 8601, e.g. 2026-12-01T10:00)") from None
