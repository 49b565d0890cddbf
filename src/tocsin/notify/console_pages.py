"""The pages a signed-in person's open console shows as browser notifications (ADR 0013).

Not a contact method: the console cannot confirm that anyone saw a browser notification, so it records no
outcome and takes no part in escalation. It mirrors the pages that were delivered through the person's real
channels, for as long as a console is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.notify import repository as repo

# A console that reconnects finds the pages of the last few minutes; older ones are history, not news.
WINDOW = timedelta(minutes=15)
LIMIT = 50


@dataclass(frozen=True, slots=True)
class ConsolePage:
    id: int
    number: int
    title: str
    status: str
    urgency: str
    channel: str
    sent_at: datetime


def recent_pages(session: Session, user_id: int, *, now: datetime) -> list[ConsolePage]:
    """The person's pages delivered in the last ``WINDOW``, newest first."""
    return [
        ConsolePage(
            id=n.id,
            number=incident.number,
            title=incident.title,
            status=incident.status,
            urgency=incident.urgency,
            channel=channel,
            sent_at=n.sent_at or now,
        )
        for n, channel, incident in repo.delivered_pages_of(session, user_id, since=now - WINDOW, limit=LIMIT)
    ]
