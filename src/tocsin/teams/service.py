from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import ascii_int
from tocsin.teams import repository as repo
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User

MEMBER_ROLES = ("manager", "member")


def create_team(session: Session, *, name: str, now: datetime, description: str = "") -> Team:
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name")
    if repo.by_name(session, name) is not None:
        raise Conflict(f"a team named {name!r} already exists")
    team = Team(name=name, description=description, created_at=now)
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, ref: int | str) -> Team:
    team = repo.get(session, number) if (number := ascii_int(ref)) is not None else None
    if team is None and isinstance(ref, str):
        team = repo.by_name(session, ref)
    if team is None:
        raise NotFound(f"team {ref} not found")
    return team


def update_team(session: Session, team: Team, *, name: str | None = None, description: str | None = None) -> Team:
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("a team needs a name")
        if name != team.name and repo.by_name(session, name) is not None:
            raise Conflict(f"a team named {name!r} already exists")
        team.name = name
    if description is not None:
        team.description = description
    session.flush()
    return team


def delete_team(session: Session, team: Team) -> None:
    """Memberships go with the team; services, schedules and policies it owned are kept, without a team."""
    session.delete(team)
    session.flush()


def list_teams(session: Session) -> list[Team]:
    return repo.all_teams(session)


def set_member(session: Session, team: Team, user: User, role: str = "member") -> None:
    if role not in MEMBER_ROLES:
        raise InvalidInput(f"team role must be one of {', '.join(MEMBER_ROLES)}")
    existing = repo.membership(session, team.id, user.id)
    if existing is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id, role=role))
    else:
        existing.role = role
    session.flush()


def remove_member(session: Session, team: Team, user: User) -> None:
    repo.remove_member(session, team.id, user.id)


def members(session: Session, team: Team) -> list[tuple[User, str]]:
    return repo.members(session, team.id)


def team_ids_of(session: Session, user: User) -> list[int]:
    return repo.team_ids_of_user(session, user.id)
