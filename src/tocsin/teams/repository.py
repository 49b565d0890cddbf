from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User


def get(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def by_name(session: Session, name: str) -> Team | None:
    return session.execute(select(Team).where(Team.name == name)).scalar_one_or_none()


def all_teams(session: Session) -> list[Team]:
    return list(session.execute(select(Team).order_by(Team.name)).scalars())


def members(session: Session, team_id: int) -> list[tuple[User, str]]:
    rows = session.execute(
        select(User, TeamMember.role)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id)
        .order_by(User.email)
    ).all()
    return [(u, r) for u, r in rows]


def membership(session: Session, team_id: int, user_id: int) -> TeamMember | None:
    return session.get(TeamMember, (team_id, user_id))


def remove_member(session: Session, team_id: int, user_id: int) -> None:
    # Through the unit of work, not a DELETE statement, so that the audit trail records it.
    member = session.get(TeamMember, (team_id, user_id))
    if member is not None:
        session.delete(member)


def team_ids_of_user(session: Session, user_id: int) -> list[int]:
    return list(session.execute(select(TeamMember.team_id).where(TeamMember.user_id == user_id)).scalars())


def active_member_ids(session: Session, team_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per team, its members that are not deactivated, ordered as ``members`` orders them (by email)."""
    wanted = list(set(team_ids))
    found: dict[int, list[int]] = {t: [] for t in wanted}
    if not wanted:
        return found
    stmt = (
        select(TeamMember.team_id, User.id)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id.in_(wanted), User.deactivated_at.is_(None))
        .order_by(User.email)
    )
    for team_id, user_id in session.execute(stmt).all():
        found[team_id].append(user_id)
    return found


def roles_of_user(session: Session, user_id: int) -> dict[int, str]:
    """Team id -> the user's role in it (``manager`` or ``member``)."""
    rows = session.execute(select(TeamMember.team_id, TeamMember.role).where(TeamMember.user_id == user_id)).all()
    return {team_id: role for team_id, role in rows}
