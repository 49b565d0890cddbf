"""Postmortem templates: the blameless default in code, others in the ``postmortem_templates`` table (the API,
``tocsin apply``). A template is an ordered list of sections, each a key, a title and a hint for the writer."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.learning import repository as repo
from tocsin.learning.models import PostmortemTemplate

DEFAULT: Final = "blameless"
KEY: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_SECTIONS: Final = 40
# Sections whose content is structured (``data``) as well as text, and whose draft is filled from the incident.
FIVE_WHYS: Final = "five_whys"
TIMELINE: Final = "timeline"


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    hint: str = ""


BLAMELESS: Final = (
    Section("summary", "Summary", "What happened, in two or three sentences, for someone who was not there."),
    Section("impact", "Impact", "Who was affected, for how long, and what it cost."),
    Section(TIMELINE, "Timeline", "The moments that mattered, picked from the incident's timeline."),
    Section(
        "root_cause",
        "Root cause and contributing factors",
        "The conditions that made this possible; systems and processes, not people.",
    ),
    Section(FIVE_WHYS, "Five whys", "Ask why until the answer is something you can change."),
    Section("detection", "Detection", "How we found out, and how we could have found out sooner."),
    Section("resolution", "Resolution and recovery", "What stopped the impact, and what brought us back."),
    Section("went_well", "What went well", ""),
    Section("went_badly", "What went badly", ""),
    Section("got_lucky", "Where we got lucky", ""),
    Section("action_items", "Action items", "What we will change; each item has an owner and a due date."),
    Section("lessons", "Lessons learned", ""),
)


def check_sections(raw: Sequence[Mapping[str, Any]]) -> list[Section]:
    if not raw or len(raw) > MAX_SECTIONS:
        raise InvalidInput(f"sections: 1 to {MAX_SECTIONS} sections")
    found: list[Section] = []
    for n, item in enumerate(raw):
        key = str(item.get("key") or "").strip()
        title = str(item.get("title") or "").strip()
        if not KEY.match(key):
            raise InvalidInput(f"sections[{n}].key: lowercase letters, digits and _ (up to 64), got {key!r}")
        if not title or len(title) > 200:
            raise InvalidInput(f"sections[{n}].title: 1 to 200 characters")
        if any(s.key == key for s in found):
            raise InvalidInput(f"sections[{n}].key: {key!r} appears twice")
        found.append(Section(key, title, str(item.get("hint") or "")[:2000]))
    return found


def sections_of(session: Session, name: str) -> list[Section]:
    row = repo.template(session, name)
    if row is not None:
        return [Section(s["key"], s["title"], s.get("hint", "")) for s in row.sections]
    if name == DEFAULT:
        return list(BLAMELESS)
    raise InvalidInput(f"template: unknown postmortem template {name!r}")


def names(session: Session) -> list[str]:
    return sorted({DEFAULT, *(t.name for t in repo.templates(session))})


def list_templates(session: Session) -> list[dict[str, Any]]:
    rows = {t.name: t for t in repo.templates(session)}
    found = []
    for name in names(session):
        row = rows.get(name)
        sections = sections_of(session, name)
        found.append(
            {
                "name": name,
                "description": row.description if row else "The blameless default",
                "sections": [{"key": s.key, "title": s.title, "hint": s.hint} for s in sections],
                "builtin": row is None,
            }
        )
    return found


def save_template(
    session: Session, name: str, *, description: str, sections: Sequence[Mapping[str, Any]], now: datetime
) -> PostmortemTemplate:
    name = (name or "").strip()
    if not KEY.match(name.replace("-", "_")) or len(name) > 100:
        raise InvalidInput("name: lowercase letters, digits, - and _")
    checked = check_sections(sections)
    row = repo.template(session, name)
    values = [{"key": s.key, "title": s.title, "hint": s.hint} for s in checked]
    if row is None:
        row = PostmortemTemplate(
            name=name, description=description[:2000], sections=values, created_at=now, updated_at=now
        )
        session.add(row)
    else:
        row.description, row.sections, row.updated_at = description[:2000], values, now
    session.flush()
    return row


def delete_template(session: Session, name: str, *, in_use: bool) -> None:
    row = repo.template(session, name)
    if row is None:
        raise NotFound(f"postmortem template {name!r} not found")
    if in_use:
        raise Conflict(f"postmortem template {name!r} is named by a rule")
    session.delete(row)
    session.flush()
