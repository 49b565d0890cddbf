"""The response vocabulary of the configuration file (ADR 0021): incident roles, checklist templates, severities,
categories and incident types.

Like the rest of apply, entries are matched by name, created or updated, never deleted. They go through the same
use cases as the API, so what a type names (a role, a checklist, a severity, a team) must exist or come earlier in
the same file; otherwise the error names its place, such as ``incident_types[2]: unknown incident role(s) …``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config.plan import Change
from tocsin.config.schema import ChecklistItemSpec, ConfigFile
from tocsin.core.errors import TocsinError
from tocsin.incidents import taxonomy
from tocsin.response import roles, types
from tocsin.response import service as response
from tocsin.teams import service as teams


@contextmanager
def _at(path: str) -> Iterator[None]:
    try:
        yield
    except TocsinError as exc:
        raise type(exc)(f"{path}: {exc.detail}", errors=exc.errors) from None


def _record(changes: list[Change], kind: str, key: str, before: Any, after: Any) -> bool:
    if before is None:
        changes.append(Change(kind, key, "create"))
        return True
    if before == after:
        changes.append(Change(kind, key, "unchanged"))
        return False
    fields = tuple(sorted(k for k in after if before.get(k) != after.get(k)))
    changes.append(Change(kind, key, "update", fields))
    return True


def _items(items: list[ChecklistItemSpec | str]) -> list[dict[str, Any]]:
    return [
        {"title": i, "due_minutes": None} if isinstance(i, str) else {"title": i.title, "due_minutes": i.due_minutes}
        for i in items
    ]


def apply_response(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    stored_roles = {r.name: r for r in roles.list_roles(session)}
    for i, role in enumerate(config.incident_roles):
        old = stored_roles.get(role.name)
        wanted: dict[str, Any] = {
            "description": role.description,
            "instructions": role.instructions,
            "position": role.position,
        }
        before = None if old is None else {k: getattr(old, k) for k in wanted}
        if _record(changes, "incident_role", role.name, before, wanted):
            with _at(f"incident_roles[{i}]"):
                roles.save_role(
                    session,
                    role.name,
                    now=now,
                    description=role.description,
                    instructions=role.instructions,
                    position=role.position,
                )
    templates = {t.name: t for t in response.templates(session)}
    for i, template in enumerate(config.checklist_templates):
        found = templates.get(template.name)
        items = _items(template.items)
        wanted = {"description": template.description, "items": items}
        before = None if found is None else {"description": found.description, "items": found.items}
        if _record(changes, "checklist_template", template.name, before, wanted):
            with _at(f"checklist_templates[{i}]"):
                response.save_template(session, template.name, items, description=template.description, now=now)
    levels = {s.name: s for s in taxonomy.stored_severities(session)}
    for i, level in enumerate(config.severities):
        row = levels.get(level.name)
        wanted = {"description": level.description, "position": level.position}
        before = None if row is None else {"description": row.description, "position": row.position}
        if _record(changes, "severity", level.name, before, wanted):
            with _at(f"severities[{i}]"):
                taxonomy.save_severity(session, level.name, description=level.description, position=level.position)
    categories = {c.name: c for c in taxonomy.categories(session)}
    for i, category in enumerate(config.incident_categories):
        cat = categories.get(category.name)
        wanted = {"description": category.description}
        before = None if cat is None else {"description": cat.description}
        if _record(changes, "incident_category", category.name, before, wanted):
            with _at(f"incident_categories[{i}]"):
                taxonomy.save_category(session, category.name, description=category.description)
    team_names = {t.id: t.name for t in teams.list_teams(session)}
    kinds = {t.name: t for t in types.list_types(session)}
    for i, kind in enumerate(config.incident_types):
        wanted = kind.model_dump(exclude={"name"})
        existing = kinds.get(kind.name)
        before = None if existing is None else types.as_dict(existing, team_names)
        if _record(changes, "incident_type", kind.name, before, wanted):
            with _at(f"incident_types[{i}]"):
                spec = types.TypeSpec(
                    description=kind.description,
                    severity=kind.severity,
                    phase_model=kind.phase_model,
                    major=kind.major,
                    required_roles=tuple(kind.required_roles),
                    private=kind.private,
                    private_team=kind.private_team,
                    pages=kind.pages,
                    playbook=kind.playbook,
                    conference_url=kind.conference_url,
                    update_cadence_minutes=kind.update_cadence_minutes,
                    checklists=tuple(kind.checklists),
                    position=kind.position,
                )
                types.save_type(session, kind.name, spec, now=now)
    return changes


def export_response(session: Session) -> dict[str, Any]:
    """The sections as configuration (names, never ids); a section with nothing stored is left out."""
    team_names = {t.id: t.name for t in teams.list_teams(session)}
    sections: dict[str, Any] = {
        "incident_roles": [
            {"name": r.name, "description": r.description, "instructions": r.instructions, "position": r.position}
            for r in roles.list_roles(session)
        ],
        "checklist_templates": [
            {
                "name": t.name,
                "description": t.description,
                "items": [
                    {"title": item["title"], "due_minutes": item["due_minutes"]}
                    if item.get("due_minutes")
                    else item["title"]
                    for item in t.items
                ],
            }
            for t in response.templates(session)
        ],
        "severities": [
            {"name": s.name, "description": s.description, "position": s.position}
            for s in taxonomy.stored_severities(session)
        ],
        "incident_categories": [{"name": c.name, "description": c.description} for c in taxonomy.categories(session)],
        "incident_types": [{"name": t.name, **types.as_dict(t, team_names)} for t in types.list_types(session)],
    }
    return {key: value for key, value in sections.items() if value}
