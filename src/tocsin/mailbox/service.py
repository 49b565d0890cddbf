"""Keeping mail in the local outbox and reading it back: each person sees the mail addressed to them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from tocsin.core.errors import NotFound
from tocsin.mailbox import repository as repo
from tocsin.mailbox.models import OutboxMail
from tocsin.mailbox.reading import subject_of

Source = Literal["tocsin", "smtp"]


def keep(
    session: Session,
    *,
    raw: bytes,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
    source: Source,
    notification_id: int | None = None,
) -> list[OutboxMail]:
    """One row per recipient. A notification's message is kept once: the one resend of an interrupted send
    finds its copy (the same Message-ID a mail server would recognise) and adds nothing."""
    if notification_id is not None:
        kept = repo.of_notification(session, notification_id)
        if kept:
            return kept
    subject = subject_of(raw)
    rows = [
        OutboxMail(
            created_at=now,
            source=source,
            sender=sender[:320],
            recipient=address.strip().strip("<>").lower()[:320],
            subject=subject,
            message=raw,
            notification_id=notification_id,
        )
        for address in recipients
    ]
    session.add_all(rows)
    session.flush()
    return rows


def newest(session: Session, *, addresses: Collection[str] | None, limit: int = 200) -> list[OutboxMail]:
    """The newest mail, of these addresses only unless ``addresses`` is None (an administrator's view)."""
    wanted = None if addresses is None else {a.strip().lower() for a in addresses}
    return repo.newest(session, recipients=wanted, limit=limit)


def get(session: Session, mail_id: int, *, addresses: Collection[str] | None) -> OutboxMail:
    """One mail, if it is addressed to one of ``addresses`` (None: any); another person's mail is not found, as
    if it did not exist."""
    mail = repo.get(session, mail_id)
    if mail is None or (addresses is not None and mail.recipient not in {a.strip().lower() for a in addresses}):
        raise NotFound(f"no mail {mail_id} in the outbox")
    return mail
