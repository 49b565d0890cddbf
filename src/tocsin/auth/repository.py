"""Queries for browser sessions, used reset links and sign-in attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.auth.models import SignInAttempt, UsedResetLink, WebSession
from tocsin.users.models import User


def add_session(session: Session, row: WebSession) -> None:
    session.add(row)
    session.flush()


def session_by_hash(session: Session, token_hash: str) -> tuple[WebSession, User] | None:
    row = session.execute(
        select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def delete_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def touch(session: Session, session_id: int, now: datetime, expires_at: datetime) -> None:
    row = session.get(WebSession, session_id)
    if row is not None:
        row.last_seen_at = now
        row.expires_at = expires_at


def sessions_of(session: Session, user_id: int, now: datetime) -> list[WebSession]:
    stmt = (
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.expires_at > now)
        .order_by(WebSession.last_seen_at.desc())
    )
    return list(session.execute(stmt).scalars())


def session_of(session: Session, user_id: int, session_id: int) -> WebSession | None:
    row = session.get(WebSession, session_id)
    return row if row is not None and row.user_id == user_id else None


def delete_sessions_of(session: Session, user_id: int, *, keep_hash: str | None = None) -> int:
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_hash is not None:
        stmt = stmt.where(WebSession.token_hash != keep_hash)
    result = session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_session_by_id(session: Session, session_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.id == session_id))


def reset_link_used(session: Session, nonce: str) -> bool:
    return session.get(UsedResetLink, nonce) is not None


def mark_reset_link_used(session: Session, nonce: str, now: datetime) -> bool:
    """True when this call recorded the nonce; False when it was recorded already (two concurrent uses)."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(UsedResetLink) if dialect == "postgresql" else sqlite_insert(UsedResetLink)
    result = session.execute(ins.values(nonce=nonce, used_at=now).on_conflict_do_nothing(index_elements=["nonce"]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lock_attempts(session: Session, key_hashes: Sequence[str], *, since: datetime) -> dict[str, SignInAttempt]:
    """The attempt rows of these keys, created empty where missing and locked until the transaction ends, so that
    concurrent attempts on one key are counted one after the other on every node."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(SignInAttempt) if dialect == "postgresql" else sqlite_insert(SignInAttempt)
    for key_hash in key_hashes:
        session.execute(
            ins.values(key_hash=key_hash, attempts=0, last_at=since).on_conflict_do_nothing(index_elements=["key_hash"])
        )
    stmt = select(SignInAttempt).where(SignInAttempt.key_hash.in_(key_hashes)).order_by(SignInAttempt.key_hash)
    return {row.key_hash: row for row in session.scalars(stmt.with_for_update())}


def attempt_row(session: Session, key_hash: str) -> SignInAttempt | None:
    return session.get(SignInAttempt, key_hash, with_for_update=True)


def delete_attempts(session: Session, key_hash: str) -> None:
    session.execute(delete(SignInAttempt).where(SignInAttempt.key_hash == key_hash))


def forget_quiet_attempts(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(SignInAttempt).where(SignInAttempt.last_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
