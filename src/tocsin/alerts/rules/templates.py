"""Safe title templates: ``{summary}`` and ``{labels.host}`` placeholders, nothing executable (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.alerts.rules.matchers import MISSING, EventView, RuleError, check_field, lookup

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_MAX = 1024


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    # Literal text and field paths, in order.
    parts: tuple[str | tuple[str, ...], ...]

    def render(self, view: EventView) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value: Any = lookup(view, part)
            if value is None or value is MISSING:
                continue
            out.append(value if isinstance(value, str) else str(value))
        return "".join(out)[:_MAX]


def compile_template(text: str) -> Template:
    if len(text) > _MAX:
        raise RuleError(f"a title template is limited to {_MAX} characters")
    parts: list[str | tuple[str, ...]] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[pos : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1) is None:
            raise RuleError(f"unbalanced brace at character {match.start() + 1} of the title template")
        else:
            parts.append(check_field(match.group(1).strip()))
        pos = match.end()
    parts.append(text[pos:])
    return Template(source=text, parts=tuple(p for p in parts if p != ""))


def placeholders(template: Template) -> Sequence[str]:
    return [".".join(p) for p in template.parts if not isinstance(p, str)]
