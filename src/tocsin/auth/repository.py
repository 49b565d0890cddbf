"""Queries for browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tocsin.auth.models import WebSession
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
