"""Private incidents (ADR 0022): the one place that answers "may this viewer see this incident", and the use cases
that make an incident private or public and add or remove its participants by hand.

A public incident is read as ADR 0016 says (everyone, or with ``teams_see_all`` off the members of its service's
team). A private one is read by admins, the members of the team named for it, and its participants (see
``incidents.participants``), whatever the service's team. Anyone else is told it does not exist, in the very words
an unknown incident gets. Lists and counts filter with the matching SQL clause (``repository.visible_clause``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access.policy import Viewer
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents import repository as repo
from tocsin.incidents.models import Incident, IncidentParticipant
from tocsin.incidents.schemas import Actor
from tocsin.incidents.service import get
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.services import repository as service_repo
from tocsin.teams import repository as team_repo
from tocsin.users import repository as user_repo

REASON_MAX = 2000


def _locked(session: Session, incident_id: int) -> Incident:
    incident = repo.get(session, incident_id, for_update=True)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


def may_see(session: Session, viewer: Viewer, incident: Incident, *, see_all: bool) -> bool:
    """Whether this viewer reads this incident (and everything about it: timeline, alerts, tasks, roles …)."""
    if viewer.is_admin:
        return True
    if incident.private:
        return viewer.member_of(incident.private_team_id) or repo.is_participant(session, incident, viewer.user_id)
    if see_all:
        return True
    service = service_repo.get(session, incident.service_id)
    return access_policy.can_see(viewer, [service.team_id if service else None], see_all=False)


def get_visible(session: Session, ref: int | str, viewer: Viewer, *, see_all: bool) -> Incident:
    """``incidents.service.get`` for a viewer: an incident they may not read is not found, with the very message an
    unknown one gets, so that its existence is never confirmed."""
    incident = get(session, ref)
    if not may_see(session, viewer, incident, see_all=see_all):
        raise NotFound(f"incident {ref} not found")
    return incident


def visible_ids(session: Session, ids: Sequence[int], viewer: Viewer, *, see_all: bool) -> list[int]:
    """Of these incident ids, the ones the viewer reads (for live updates)."""
    if viewer.is_admin:
        return sorted(set(ids))
    return repo.visible_ids(session, ids, viewer, see_all=see_all)


def private_team_id(session: Session, ref: int | str | None) -> int | None:
    """The team named for a private incident, by id or name; an unknown one is the request's mistake (422)."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return None
    team = None
    if isinstance(ref, int) or (ref.strip().isascii() and ref.strip().isdigit()):
        team = team_repo.get(session, int(ref))
    if team is None and isinstance(ref, str):
        team = team_repo.by_name(session, ref.strip())
    if team is None:
        raise InvalidInput(f"team {ref!r} does not exist", errors=[f"team: unknown team {ref!r}"])
    return team.id


def set_visibility(
    session: Session,
    incident_id: int,
    *,
    private: bool,
    team_id: int | None,
    reason: str,
    actor: Actor,
    now: datetime,
) -> Incident:
    """Make an incident private (with the team that sees it, or none) or public again; either way with a reason,
    kept in the timeline. Asking for what it already is changes nothing and is refused (409)."""
    why = reason.strip()
    if not why:
        raise InvalidInput("changing who sees an incident needs a reason", errors=["reason: required"])
    if len(why) > REASON_MAX:
        raise InvalidInput(f"a reason is limited to {REASON_MAX} characters", errors=["reason: too long"])
    if not private and team_id is not None:
        raise InvalidInput("a public incident names no private team", errors=["team: only for a private incident"])
    incident = _locked(session, incident_id)
    if incident.private == private and incident.private_team_id == team_id:
        state = "private" if private else "public"
        raise Conflict(f"incident #{incident.number} is already {state} with that team")
    previous = {"private": incident.private, "team_id": incident.private_team_id}
    incident.private = private
    incident.private_team_id = team_id
    incident.updated_at = now
    if private:
        team = team_repo.get(session, team_id) if team_id is not None else None
        seen_by = f"its participants, team {team.name!r} and admins" if team else "its participants and admins"
        message = f"Made private (seen by {seen_by}): {why}"
    else:
        message = f"Made public: {why}"
    repo.add_timeline(
        session,
        [
            timeline_row(
                incident.id,
                TimelineKind.VISIBILITY_CHANGED,
                actor,
                now,
                message,
                previous=previous,
                private=private,
                team_id=team_id,
                reason=why,
            )
        ],
    )
    return incident


def participants(session: Session, incident: Incident) -> set[int]:
    """User ids of everyone taking part, from every source."""
    return repo.participant_ids(session, incident)


def added_participants(session: Session, incident_id: int) -> list[IncidentParticipant]:
    return repo.added_participants(session, incident_id)


def add_participant(session: Session, incident_id: int, user_id: int, *, actor: Actor, now: datetime) -> Incident:
    """Add someone by hand: they see the incident while it is private. Adding someone already added is a 409."""
    user = user_repo.get(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.deactivated_at is not None:
        raise InvalidInput(f"user {user.name!r} is deactivated")
    incident = _locked(session, incident_id)
    if repo.get_added_participant(session, incident.id, user.id) is not None:
        raise Conflict(f"{user.name} is already a participant of incident #{incident.number}")
    repo.add_participant(
        session,
        IncidentParticipant(incident_id=incident.id, user_id=user.id, added_by_user_id=actor.user_id, added_at=now),
    )
    incident.updated_at = now
    row = timeline_row(
        incident.id, TimelineKind.PARTICIPANT_ADDED, actor, now, f"{user.name} added as a participant", user_id=user.id
    )
    repo.add_timeline(session, [row])
    return incident


def remove_participant(session: Session, incident_id: int, user_id: int, *, actor: Actor, now: datetime) -> Incident:
    """Remove someone added by hand (people taking part otherwise, by a role, a task or a page, stay)."""
    incident = _locked(session, incident_id)
    user = user_repo.get(session, user_id)
    if user is None or repo.get_added_participant(session, incident.id, user_id) is None:
        raise NotFound(f"user {user_id} was not added to incident #{incident.number} by hand")
    repo.remove_participant(session, incident.id, user_id)
    incident.updated_at = now
    row = timeline_row(
        incident.id,
        TimelineKind.PARTICIPANT_REMOVED,
        actor,
        now,
        f"{user.name} removed as a participant",
        user_id=user_id,
    )
    repo.add_timeline(session, [row])
    return incident
