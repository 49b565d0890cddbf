"""Team-scoped access with the database: who the viewer is in which team, and the checks with team names in
their refusals. The decisions themselves are ``access.policy``'s."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from tocsin.access import policy
from tocsin.access.policy import Viewer
from tocsin.teams import repository as team_repo
from tocsin.users.models import User


def viewer_of(session: Session, user: User) -> Viewer:
    return Viewer(user_id=user.id, role=user.role, teams=team_repo.roles_of_user(session, user.id))


def _names(session: Session, team_ids: Iterable[int | None]) -> list[str]:
    names = []
    for team_id in {t for t in team_ids if t is not None}:
        team = team_repo.get(session, team_id)
        if team is not None:
            names.append(team.name)
    return names


def require_manage(session: Session, viewer: Viewer, team_ids: Iterable[int | None], what: str) -> None:
    ids = list(team_ids)
    if not policy.can_manage(viewer, ids):
        policy.require_manage(viewer, ids, what, _names(session, ids))


def require_act(session: Session, viewer: Viewer, team_ids: Iterable[int | None], what: str) -> None:
    ids = list(team_ids)
    if not policy.can_act(viewer, ids):
        policy.require_act(viewer, ids, what, _names(session, ids))


def visible_team_ids(viewer: Viewer, *, see_all: bool) -> set[int] | None:
    """The teams whose objects the viewer reads, None for all of them (objects of no team are always read)."""
    if see_all or viewer.is_admin:
        return None
    return set(viewer.teams)
