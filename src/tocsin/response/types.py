"""Incident types: the configurable list, what a type sets on an incident that opens with it, and the reactions that
follow its opening (required roles become tasks, its checklists are added). ADR 0021.

The incident use cases read the types through ``TYPE_BOOK`` (registered in ``tocsin.wiring`` as the incident hooks'
type book), so that an incident opened by the ingest path below this package takes the type an event rule named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents import phases, taxonomy
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.repository import OpenedIncident
from tocsin.incidents.schemas import Actor, TypeDefaults
from tocsin.response import repository as repo
from tocsin.response import service as tasks
from tocsin.response.models import IncidentType, TaskStatus
from tocsin.teams import service as teams

STANDARD = "Standard"
FORENSICS = "Forensics"
FORENSICS_ITEMS = (
    "Preserve evidence",
    "Isolate affected hosts",
    "Collect logs",
    "Notify the security lead",
    "Document the chain of custody",
)


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """Everything a type is made of, as the API, the console and ``tocsin apply`` give it."""

    description: str = ""
    severity: str = "SEV3"
    phase_model: str = "default"
    major: bool = False
    required_roles: tuple[str, ...] = ()
    private: bool = False
    private_team: str | int | None = None
    pages: bool = True
    playbook: str = ""
    conference_url: str = ""
    update_cadence_minutes: int | None = None
    checklists: tuple[str, ...] = ()
    position: int = 0


DEFAULT_TYPES: tuple[tuple[str, TypeSpec], ...] = (
    (
        "Desktop sprint",
        TypeSpec(description="One user, low impact: the fast path; nobody is paged.", severity="SEV5", pages=False),
    ),
    (STANDARD, TypeSpec(description="The usual incident: pages the service's escalation policy.")),
    (
        "Big bang",
        TypeSpec(
            description="A major incident: all hands, a commander, stakeholder updates on a cadence.",
            severity="SEV1",
            major=True,
            required_roles=("Incident Commander",),
            update_cadence_minutes=30,
        ),
    ),
    (
        "Security (CyberSec)",
        TypeSpec(
            description="A security incident: NIST phases, private, the forensics checklist.",
            severity="SEV2",
            phase_model="nist",
            private=True,
            checklists=(FORENSICS,),
        ),
    ),
)


def seed_defaults(session: Session, *, now: datetime) -> bool:
    """The shipped types (with the Forensics checklist), severities and categories, once per database."""
    if not incidents.first_time(session, "defaults:incident_types"):
        return False
    taxonomy.seed_defaults(session, first=True)
    if repo.template(session, FORENSICS) is None:
        tasks.save_template(
            session, FORENSICS, list(FORENSICS_ITEMS), now=now, description="Evidence first, then containment."
        )
    roles = {r.name for r in repo.roles(session)}
    for position, (name, spec) in enumerate(DEFAULT_TYPES):
        if _named(session, name) is None:
            shipped = _with_position(spec, position, tuple(r for r in spec.required_roles if r in roles))
            save_type(session, name, shipped, now=now)
    return True


def _with_position(spec: TypeSpec, position: int, required_roles: tuple[str, ...]) -> TypeSpec:
    """The shipped spec in its place, naming only the roles that exist (a deleted default role is not revived)."""
    return dataclasses.replace(spec, position=position, required_roles=required_roles)


def _named(session: Session, name: str) -> IncidentType | None:
    return repo.incident_type(session, name)


def list_types(session: Session) -> list[IncidentType]:
    return repo.incident_types(session)


def get_type(session: Session, name: str) -> IncidentType:
    found = _named(session, name)
    if found is None:
        names = ", ".join(t.name for t in list_types(session))
        raise NotFound(f"no incident type {name!r} (types: {names or 'none defined'})")
    return found


def check_spec(session: Session, spec: TypeSpec) -> int | None:
    """Refuses a spec naming what does not exist (a 422 that names it); returns the private team's id."""
    taxonomy.check_severity(session, spec.severity)
    phases.check_model(spec.phase_model)
    known_roles = {r.name for r in repo.roles(session)}
    missing = [r for r in spec.required_roles if r not in known_roles]
    if missing:
        raise InvalidInput(
            f"unknown incident role(s) {', '.join(map(repr, missing))}; defined: {', '.join(sorted(known_roles))}"
        )
    known_lists = {t.name for t in repo.templates(session)}
    unknown = [c for c in spec.checklists if c not in known_lists]
    if unknown:
        raise InvalidInput(
            f"unknown checklist template(s) {', '.join(map(repr, unknown))}; defined: "
            f"{', '.join(sorted(known_lists)) or 'none'}"
        )
    if spec.conference_url:
        incidents.check_conference_url(spec.conference_url.replace("{number}", "1"))
    if spec.update_cadence_minutes is not None and not 1 <= spec.update_cadence_minutes <= 10_080:
        raise InvalidInput("the update cadence is a number of minutes from 1 to 10080")
    if len(spec.playbook) > 200:
        raise InvalidInput("a playbook name is limited to 200 characters")
    if spec.private_team is None or spec.private_team == "":
        return None
    try:
        return teams.get_team(session, spec.private_team).id
    except NotFound:
        raise InvalidInput(f"no team {spec.private_team!r} for the private incidents") from None


def save_type(session: Session, name: str, spec: TypeSpec, *, now: datetime) -> IncidentType:
    """Create the type, or change the one with this name; what it names must exist."""
    clean = name.strip()
    if not clean or len(clean) > 100 or not clean.isprintable():
        raise InvalidInput("an incident type needs a name of at most 100 characters")
    team_id = check_spec(session, spec)
    found = _named(session, clean)
    if found is None:
        found = IncidentType(name=clean, created_at=now)
        session.add(found)
    found.description = spec.description
    found.severity, found.phase_model, found.major = spec.severity, spec.phase_model, spec.major
    found.required_roles = list(dict.fromkeys(spec.required_roles))
    found.private, found.private_team_id, found.pages = spec.private, team_id, spec.pages
    found.playbook, found.conference_url = spec.playbook, spec.conference_url.strip()
    found.update_cadence_minutes = spec.update_cadence_minutes
    found.checklists = list(dict.fromkeys(spec.checklists))
    found.position, found.updated_at = spec.position, now
    session.flush()
    return found


def delete_type(session: Session, name: str) -> None:
    found = get_type(session, name)
    used = repo.type_in_use(session, found.id)
    if used:
        raise Conflict(f"incident type {found.name!r} is used by {used} incident(s)")
    session.delete(found)
    session.flush()


def defaults_for(kind: IncidentType) -> TypeDefaults:
    """What the type sets on an incident that opens with it (the private flag is for the visibility rules)."""
    return TypeDefaults(
        id=kind.id,
        name=kind.name,
        severity=kind.severity,
        phase_model=kind.phase_model,
        major=kind.major,
        private=kind.private,
        private_team_id=kind.private_team_id,
        pages=kind.pages,
        checklists=tuple(kind.checklists),
        conference_url=kind.conference_url,
        required_roles=tuple(kind.required_roles),
    )


class _Book:
    """The types as the incident use cases read them (``incidents.hooks.TypeBook``)."""

    def find(self, session: Session, name: str) -> TypeDefaults | None:
        found = _named(session, name)
        return defaults_for(found) if found is not None else None

    def of_id(self, session: Session, type_id: int) -> TypeDefaults | None:
        found = repo.incident_type(session, type_id)
        return defaults_for(found) if found is not None else None

    def names(self, session: Session) -> list[str]:
        return [t.name for t in list_types(session)]

    def silent_ids(self, session: Session) -> list[int]:
        return repo.silent_type_ids(session)


TYPE_BOOK = _Book()


def cadences(session: Session) -> dict[int, int]:
    """type id → minutes between stakeholder updates, for the types that set a cadence."""
    return {t.id: t.update_cadence_minutes for t in list_types(session) if t.update_cadence_minutes}


def names_by_id(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in list_types(session)}


def change_type(session: Session, incident_id: int, name: str, *, actor: Actor, now: datetime) -> Incident:
    """Give the incident another type (kept in the timeline); the new type's required roles nobody holds become
    tasks. Severity, phases and the rest stay as they are."""
    kind = incidents.find_type(session, name)
    before = incidents.get(session, incident_id).type_id
    incident = incidents.set_type(session, incident_id, kind, actor=actor, now=now)
    if before != kind.id:
        _role_tasks(session, incident_id, kind, actor=actor, now=now)
    return incident


# --- reactions to an incident's opening ----------------------------------------------------------------------


def assign_task_title(role: str) -> str:
    return f"Assign {role}"


def _role_tasks(session: Session, incident_id: int, kind: TypeDefaults, *, actor: Actor, now: datetime) -> None:
    if not kind.required_roles:
        return
    held = {a.role_id for a in repo.assignments(session, incident_id) if a.ended_at is None}
    open_titles = {t.title for t in repo.tasks_of(session, incident_id) if t.status == TaskStatus.OPEN}
    for role in repo.roles(session):
        title = assign_task_title(role.name)
        if role.name in kind.required_roles and role.id not in held and title not in open_titles:
            tasks.add_task(session, incident_id, title, actor=actor, now=now)


def on_opened(session: Session, opened: Sequence[OpenedIncident], now: datetime) -> None:
    """Incidents opened with a type: a task per required role nobody holds, and the type's checklists."""
    typed = [i for i in opened if i.type_id is not None]
    if not typed:
        return
    actor = Actor(label="incident type", source="engine")
    for item in typed:
        assert item.type_id is not None
        kind = TYPE_BOOK.of_id(session, item.type_id)
        if kind is None:
            continue
        _role_tasks(session, item.id, kind, actor=actor, now=now)
        for checklist in kind.checklists:
            if repo.template(session, checklist) is not None:
                tasks.add_checklist(session, item.id, checklist, actor=actor, now=now)


def close_assign_task(session: Session, incident_id: int, role: str, *, actor: Actor, now: datetime) -> None:
    """The role is held now: its open "Assign <role>" task closes itself."""
    title = assign_task_title(role)
    for task in repo.tasks_of(session, incident_id):
        if task.status == TaskStatus.OPEN and task.title == title:
            tasks.close_task(session, incident_id, task.id, TaskStatus.DONE, actor=actor, now=now)


def needing_holders(session: Session, incident: Incident) -> list[str]:
    """The required roles of the incident's type that nobody holds now."""
    kind = incidents.type_of(session, incident)
    if kind is None or not kind.required_roles:
        return []
    names = {r.id: r.name for r in repo.roles(session)}
    held = {names.get(a.role_id) for a in repo.assignments(session, incident.id) if a.ended_at is None}
    return [r for r in kind.required_roles if r not in held]


def as_dict(kind: IncidentType, team_names: dict[int, str] | None = None) -> dict[str, Any]:
    """The type as configuration (``tocsin export``, the API): names, never ids."""
    team = kind.private_team_id
    return {
        "description": kind.description,
        "severity": kind.severity,
        "phase_model": kind.phase_model,
        "major": kind.major,
        "required_roles": list(kind.required_roles),
        "private": kind.private,
        "private_team": (team_names or {}).get(team, str(team)) if team is not None else None,
        "pages": kind.pages,
        "playbook": kind.playbook,
        "conference_url": kind.conference_url,
        "update_cadence_minutes": kind.update_cadence_minutes,
        "checklists": list(kind.checklists),
        "position": kind.position,
    }
