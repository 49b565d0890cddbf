"""Queries of the war rooms and chat links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.chat.models import ChatAutoRule, ChatExport, ChatLink, ChatRoom
from tocsin.db.claims import Claim, DueRows, lock_if_fenced
from tocsin.db.tables import table_of
from tocsin.users.models import User

_ROOMS = table_of(ChatRoom)
ACTIVE = ("requested", "creating", "open")
ROOM_CLAIMS = DueRows(_ROOMS, due_column=_ROOMS.c.due_at, ready=_ROOMS.c.status.in_(ACTIVE))


def room(session: Session, incident_id: int, platform: str) -> ChatRoom | None:
    stmt = select(ChatRoom).where(ChatRoom.incident_id == incident_id, ChatRoom.platform == platform)
    return session.scalars(stmt).one_or_none()


def rooms_of(session: Session, incident_id: int) -> list[ChatRoom]:
    return list(session.scalars(select(ChatRoom).where(ChatRoom.incident_id == incident_id).order_by(ChatRoom.id)))


def rooms_of_many(session: Session, incident_ids: Sequence[int]) -> list[ChatRoom]:
    if not incident_ids:
        return []
    return list(session.scalars(select(ChatRoom).where(ChatRoom.incident_id.in_(sorted(set(incident_ids))))))


def by_room_id(session: Session, platform: str, room_id: str) -> ChatRoom | None:
    stmt = select(ChatRoom).where(ChatRoom.platform == platform, ChatRoom.room_id == room_id)
    return session.scalars(stmt).first()


def lock_room(session: Session, room_id: int) -> ChatRoom:
    return session.execute(select(ChatRoom).where(ChatRoom.id == room_id).with_for_update()).scalar_one()


def exports_of(session: Session, incident_id: int) -> list[ChatExport]:
    return list(session.scalars(select(ChatExport).where(ChatExport.incident_id == incident_id)))


def export_of(session: Session, incident_id: int, platform: str) -> ChatExport | None:
    stmt = select(ChatExport).where(ChatExport.incident_id == incident_id, ChatExport.platform == platform)
    return session.scalars(stmt).first()


def add(session: Session, row: ChatRoom | ChatLink | ChatAutoRule | ChatExport) -> None:
    session.add(row)
    session.flush()


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return ROOM_CLAIMS.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def lock(session: Session, claim: Claim) -> ChatRoom | None:
    found: ChatRoom | None = lock_if_fenced(session, ChatRoom, claim)
    return found


def next_due(session: Session) -> datetime | None:
    return ROOM_CLAIMS.next_due(session)


def link_of(session: Session, platform: str, external_id: str) -> ChatLink | None:
    stmt = select(ChatLink).where(ChatLink.platform == platform, ChatLink.external_id == external_id)
    return session.scalars(stmt).one_or_none()


def names_of_accounts(session: Session, platform: str, accounts: Sequence[str]) -> dict[str, str]:
    """The names of the Tocsin users linked to these accounts of the platform, in one query."""
    if not accounts:
        return {}
    stmt = (
        select(ChatLink.external_id, User.name)
        .join(User, User.id == ChatLink.user_id)
        .where(ChatLink.platform == platform, ChatLink.external_id.in_(sorted(set(accounts))))
    )
    return {account: name for account, name in session.execute(stmt)}


def links_of_users(session: Session, platform: str, user_ids: Sequence[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    stmt = select(ChatLink.user_id, ChatLink.external_id).where(
        ChatLink.platform == platform, ChatLink.user_id.in_(sorted(set(user_ids)))
    )
    return {uid: ext for uid, ext in session.execute(stmt)}


def auto_rules(session: Session) -> list[ChatAutoRule]:
    return list(session.scalars(select(ChatAutoRule).order_by(ChatAutoRule.id)))
