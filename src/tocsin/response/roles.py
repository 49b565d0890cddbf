"""Incident roles: the configurable list, assigning and handing over on an incident, and who held what when.

Kept apart from tasks: one concern each. Giving someone a role sends them its instructions through their own
contact methods (a notice, as the engine sends any message to one person).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.response import repository as repo
from tocsin.response import types
from tocsin.response.models import IncidentRole, RoleAssignment
from tocsin.users import service as users

DEFAULT_ROLES: tuple[tuple[str, str, str], ...] = (
    (
        "Incident Commander",
        "Leads the response and makes the calls.",
        "You lead this incident: keep the response moving, decide, delegate, and hand over explicitly if you leave.",
    ),
    (
        "Technical Lead",
        "Leads the investigation and the fix.",
        "You lead the technical work: form hypotheses, direct responders, and tell the commander what you find.",
    ),
    (
        "Communications Lead",
        "Keeps stakeholders and customers informed.",
        "You own updates: post to stakeholders and the status page on a steady cadence, and answer incoming asks.",
    ),
    ("Scribe", "Keeps the timeline.", "You keep the record: note decisions, actions and times in the timeline."),
)


def seed_defaults(session: Session, *, now: datetime) -> bool:
    """The default roles, once per database (at start-up and after migrating): deleting them later sticks."""
    if not incidents.first_time(session, "defaults:incident_roles"):
        return False
    for position, (name, description, instructions) in enumerate(DEFAULT_ROLES):
        if repo.role(session, name) is None:
            save_role(session, name, description=description, instructions=instructions, position=position, now=now)
    return True


def list_roles(session: Session) -> list[IncidentRole]:
    return repo.roles(session)


def get_role(session: Session, ref: int | str) -> IncidentRole:
    found = repo.role(session, int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref)
    if found is None:
        names = ", ".join(r.name for r in repo.roles(session))
        raise NotFound(f"no incident role {ref!r} (roles: {names or 'none defined'})")
    return found


def save_role(
    session: Session, name: str, *, now: datetime, description: str = "", instructions: str = "", position: int = 0
) -> IncidentRole:
    """Create the role, or change the description, instructions and place of the one with this name."""
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise InvalidInput("a role needs a name of at most 100 characters")
    found = repo.role(session, clean)
    if found is None:
        found = IncidentRole(name=clean, created_at=now)
        session.add(found)
    found.description, found.instructions, found.position, found.updated_at = description, instructions, position, now
    session.flush()
    return found


def delete_role(session: Session, ref: int | str) -> None:
    found = get_role(session, ref)
    if repo.role_in_use(session, found.id):
        raise Conflict(f"role {found.name!r} has been held on incidents; its history keeps it")
    session.delete(found)
    session.flush()


def assign(
    session: Session, incident_id: int, role_ref: int | str, user_ref: int | str, *, actor: Actor, now: datetime
) -> RoleAssignment:
    """Give a role on an incident to a person, handing it over from whoever held it; they get its instructions."""
    role = get_role(session, role_ref)
    try:
        user = users.get_user(session, user_ref)
    except NotFound:
        raise InvalidInput(f"no user {user_ref!r} to give the role to") from None
    if user.deactivated_at is not None:
        raise InvalidInput(f"{user.name} is deactivated and cannot hold a role")
    current = repo.holder(session, incident_id, role.id)
    if current is not None and current.user_id == user.id:
        raise Conflict(f"{user.name} already holds {role.name}")
    incident = incidents.get(session, incident_id)
    previous = None
    if current is not None:
        current.ended_at = now
        previous = current.user_id
    held = RoleAssignment(
        incident_id=incident_id, role_id=role.id, user_id=user.id, assigned_at=now, assigned_by_user_id=actor.user_id
    )
    session.add(held)
    verb = "handed over to" if previous is not None else "given to"
    incidents.record(
        session,
        incident_id,
        TimelineKind.ROLE_ASSIGNED,
        f"{role.name} {verb} {user.name}",
        actor=actor,
        now=now,
        role=role.name,
        changes={f"role:{role.name}": {"from": previous, "to": user.id}},
    )
    session.flush()
    types.close_assign_task(session, incident_id, role.name, actor=actor, now=now)
    text = f"You are {role.name} on incident #{incident.number} ({incident.title})."
    if role.instructions:
        text += " " + role.instructions
    notices.notify_user(session, user_id=user.id, key=f"role:{held.id}", text=text, now=now)
    return held


def release(session: Session, incident_id: int, role_ref: int | str, *, actor: Actor, now: datetime) -> None:
    role = get_role(session, role_ref)
    current = repo.holder(session, incident_id, role.id)
    if current is None:
        raise Conflict(f"nobody holds {role.name} on this incident")
    current.ended_at = now
    incidents.record(
        session,
        incident_id,
        TimelineKind.ROLE_RELEASED,
        f"{role.name} released",
        actor=actor,
        now=now,
        role=role.name,
        changes={f"role:{role.name}": {"from": current.user_id, "to": None}},
    )


def history(session: Session, incident_id: int) -> list[RoleAssignment]:
    """Every holding of every role on the incident, oldest first (current ones have no end)."""
    return repo.assignments(session, incident_id)


def current_holders(rows: Sequence[RoleAssignment]) -> dict[int, int]:
    """role id → user id of whoever holds it now."""
    return {r.role_id: r.user_id for r in rows if r.ended_at is None}
