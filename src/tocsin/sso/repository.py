"""Queries for provider identities, the memberships the group mapping made, and sign-ins in flight."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.sso.models import OidcSignInState, SsoIdentity, SsoTeamGrant


def add_state(session: Session, row: OidcSignInState) -> None:
    session.add(row)
    session.flush()


def take_state(session: Session, state_hash: str) -> OidcSignInState | None:
    """The state row, deleted in the same statement's transaction: of two concurrent callbacks with one state,
    only the one whose delete removed the row gets it."""
    row = session.get(OidcSignInState, state_hash)
    if row is None:
        return None
    result = session.execute(delete(OidcSignInState).where(OidcSignInState.state_hash == state_hash))
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    session.expunge(row)
    return row


def delete_expired_states(session: Session, now: datetime) -> int:
    result = session.execute(delete(OidcSignInState).where(OidcSignInState.expires_at < now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def identity(session: Session, issuer: str, subject: str) -> SsoIdentity | None:
    stmt = select(SsoIdentity).where(SsoIdentity.issuer == issuer, SsoIdentity.subject == subject)
    return session.execute(stmt).scalar_one_or_none()


def identity_of_user(session: Session, user_id: int) -> SsoIdentity | None:
    return session.execute(select(SsoIdentity).where(SsoIdentity.user_id == user_id)).scalar_one_or_none()


def add_identity(session: Session, row: SsoIdentity) -> None:
    session.add(row)
    session.flush()


def granted_team_ids(session: Session, user_id: int) -> set[int]:
    return set(session.execute(select(SsoTeamGrant.team_id).where(SsoTeamGrant.user_id == user_id)).scalars())


def add_grant(session: Session, team_id: int, user_id: int) -> None:
    session.add(SsoTeamGrant(team_id=team_id, user_id=user_id))
    session.flush()


def delete_grant(session: Session, team_id: int, user_id: int) -> None:
    session.execute(delete(SsoTeamGrant).where(SsoTeamGrant.team_id == team_id, SsoTeamGrant.user_id == user_id))
