"""A small, safe template language (pure): ``{{incident.title}}``, ``{{incident.labels.env}}``,
``{{callback.url}}``. Nothing but placeholders: no expressions, no loops, no attribute access beyond the field
table, so a template can neither run code nor read what the field table does not offer. Unknown fields are refused
when the template is saved, with where they are."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from tocsin.response.fields import FIELDS

_PLACEHOLDER: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_\-]+)*$")
CONTEXTS: Final = ("incident", "callback", "run")
_OTHER: Final = {"callback": ("url",), "run": ("id", "workflow")}


class TemplateError(ValueError):
    """A template that names something it cannot have; the message says what and where."""


def placeholders(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template)]


def check(template: str, where: str, *, allow: tuple[str, ...] = CONTEXTS) -> None:
    """Refuse unknown fields: ``where`` (a config path) and the placeholder are named."""
    if not isinstance(template, str):
        raise TemplateError(f"{where}: must be text")
    for name in placeholders(template):
        parts = name.split(".")
        if not _NAME.match(name) or len(parts) < 2:
            raise TemplateError(f"{where}: {{{{{name}}}}} is not a placeholder (write {{{{incident.title}}}})")
        root = parts[0]
        if root not in allow:
            raise TemplateError(f"{where}: unknown placeholder {{{{{name}}}}} (use {', '.join(allow)})")
        if root == "incident":
            ok = (len(parts) == 2 and parts[1] in FIELDS) or (len(parts) == 3 and parts[1] == "labels")
            if not ok:
                raise TemplateError(
                    f"{where}: unknown field {name!r} (incident fields: {', '.join(FIELDS)}, labels.<name>)"
                )
        elif len(parts) != 2 or parts[1] not in _OTHER[root]:
            raise TemplateError(
                f"{where}: unknown field {name!r} (use {', '.join(root + '.' + f for f in _OTHER[root])})"
            )


def _value(name: str, values: Mapping[str, Any]) -> Any:
    current: Any = values
    for part in name.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part, "")
    return current


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(template: str, values: Mapping[str, Any], *, json_strings: bool = False) -> str:
    """Fill the placeholders; with ``json_strings`` each value is escaped to sit inside a JSON string."""

    def one(match: re.Match[str]) -> str:
        text = _text(_value(match.group(1), values))
        return json.dumps(text, ensure_ascii=False)[1:-1] if json_strings else text

    return _PLACEHOLDER.sub(one, template)
