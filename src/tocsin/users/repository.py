from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from tocsin.db.tables import table_of
from tocsin.users.models import ApiToken, RecoveryCode, User


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.lower())).scalar_one_or_none()


def all_users(session: Session, *, include_deactivated: bool = True) -> list[User]:
    stmt = select(User).order_by(User.email)
    if not include_deactivated:
        stmt = stmt.where(User.deactivated_at.is_(None))
    return list(session.execute(stmt).scalars())


def active_admin_ids(session: Session) -> set[int]:
    """Locked on PostgreSQL: two transactions demoting the last two admins at once are taken in turn, and the
    second sees the first's change (SQLite writers are serialised already)."""
    stmt = select(User.id).where(User.role == "admin", User.deactivated_at.is_(None)).with_for_update()
    return set(session.execute(stmt).scalars())


def token_by_hash(session: Session, token_hash: str) -> tuple[ApiToken, User] | None:
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None


def tokens_of(session: Session, user_id: int | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(session.execute(stmt).scalars())


def token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


_USERS = table_of(User)
_NAMES = select(_USERS.c.id, _USERS.c.name).where(_USERS.c.id.in_(bindparam("ids", expanding=True)))
_ACTIVE_IDS = select(_USERS.c.id).where(
    _USERS.c.id.in_(bindparam("ids", expanding=True)), _USERS.c.deactivated_at.is_(None)
)


def names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row[0]: row[1] for row in session.execute(_NAMES, {"ids": wanted})}


def by_feed_token(session: Session, token: str) -> User | None:
    return session.execute(select(User).where(User.feed_token == token)).scalar_one_or_none()


def by_slack_user_id(session: Session, slack_user_id: str) -> User | None:
    return session.execute(select(User).where(User.slack_user_id == slack_user_id)).scalars().first()


_DEACTIVATED_IDS = select(_USERS.c.id).where(_USERS.c.deactivated_at.is_not(None))


def deactivated_ids(session: Session) -> set[int]:
    return {row[0] for row in session.execute(_DEACTIVATED_IDS)}


_NAMED_OR_DEACTIVATED = select(_USERS.c.id, _USERS.c.deactivated_at).where(
    or_(_USERS.c.id.in_(bindparam("ids", expanding=True)), _USERS.c.deactivated_at.is_not(None))
)


def activity(session: Session, ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """In one statement: those of ``ids`` that exist and are active, and every deactivated user."""
    wanted = set(ids)
    active: set[int] = set()
    deactivated: set[int] = set()
    for user_id, deactivated_at in session.execute(_NAMED_OR_DEACTIVATED, {"ids": list(wanted)}):
        if deactivated_at is not None:
            deactivated.add(user_id)
        elif user_id in wanted:
            active.add(user_id)
    return active, deactivated


def active_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """Those of these users that exist and are not deactivated."""
    wanted = list(set(ids))
    if not wanted:
        return set()
    return {row[0] for row in session.execute(_ACTIVE_IDS, {"ids": wanted})}


def recovery_codes(session: Session, user_id: int) -> list[RecoveryCode]:
    return list(session.execute(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).scalars())


def unused_recovery_code(session: Session, user_id: int, code_hash: str) -> RecoveryCode | None:
    stmt = select(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash, RecoveryCode.used_at.is_(None)
    )
    return session.execute(stmt).scalars().first()


def replace_recovery_codes(session: Session, user_id: int, code_hashes: list[str]) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in code_hashes)
    session.flush()
