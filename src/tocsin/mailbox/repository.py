from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.mailbox.models import OutboxMail


def of_notification(session: Session, notification_id: int) -> list[OutboxMail]:
    stmt = select(OutboxMail).where(OutboxMail.notification_id == notification_id).order_by(OutboxMail.id)
    return list(session.execute(stmt).scalars())


def newest(session: Session, *, recipients: Collection[str] | None, limit: int) -> list[OutboxMail]:
    """Newest first; ``recipients`` None means every recipient's mail."""
    stmt = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if recipients is not None:
        stmt = stmt.where(OutboxMail.recipient.in_(list(recipients)))
    return list(session.execute(stmt).scalars())


def get(session: Session, mail_id: int) -> OutboxMail | None:
    return session.get(OutboxMail, mail_id)
