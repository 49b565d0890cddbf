"""Twilio's receipts for pages already handed over: a call that nobody answered, a text the carrier could not
deliver. Both are failures the outbox could not see when the API said 201; they are written on the timeline
and either try again (a call) or fall back to the user's next rule at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.notify import repository as repo
from tocsin.notify import service as notify
from tocsin.notify.models import NotificationStatus
from tocsin.notify.service import ENGINE
from tocsin.users import repository as user_repo

# A call not answered is tried again this often, at most this many times in all, while the incident still pages.
CALL_RETRY_AFTER = timedelta(minutes=1)
CALL_ATTEMPTS = 3
# Twilio's final call statuses that reached nobody, and ours for a call a voicemail picked up.
ANSWERED_BY_MACHINE = "answered-by-machine"
UNANSWERED = frozenset({"no-answer", "busy", "failed", "canceled", ANSWERED_BY_MACHINE})


def call_ended(session: Session, notification_id: int, call_status: str, *, now: datetime) -> bool:
    """Twilio's status callback for a paging call. An unanswered call is placed again (up to ``CALL_ATTEMPTS``)
    while the incident is still triggered, and the timeline says so; returns True when a new attempt was queued."""
    if call_status not in UNANSWERED:
        return False
    n = repo.get(session, notification_id)
    if n is None or n.kind != "page" or n.status != "sent" or n.incident_id is None:
        return False
    incident = incident_repo.get(session, n.incident_id, for_update=True)
    user = user_repo.get(session, n.user_id)
    who = user.name if user else str(n.user_id)
    again = incident is not None and incident.status == lifecycle.TRIGGERED and n.attempts < CALL_ATTEMPTS
    if again:
        n.status = NotificationStatus.PENDING
        n.next_attempt_at = now + CALL_RETRY_AFTER
        n.last_error = f"call {call_status}"
        message = (
            f"voice call to {who} {call_status.replace('-', ' ')}; calling again at {n.next_attempt_at:%H:%M:%S} UTC"
        )
    else:
        message = f"voice call to {who} {call_status.replace('-', ' ')}"
        if incident is not None and incident.status == lifecycle.TRIGGERED:
            message += "; giving up" + notify.fall_back(session, n, now)
    incident_repo.add_timeline(
        session,
        [
            timeline_row(
                n.incident_id,
                TimelineKind.NOTIFY_UNANSWERED,
                ENGINE,
                now,
                message,
                notification=n.id,
                attempt=n.attempts,
            )
        ],
    )
    return again


UNDELIVERED = frozenset({"undelivered", "failed"})


def text_undelivered(
    session: Session, notification_id: int, message_status: str, error_code: str, *, now: datetime
) -> bool:
    """Twilio's delivery receipt for a paging text. A text the carrier could not deliver is a failed page: the
    timeline says so and the user's next rule is brought forward; returns True when the page was marked failed."""
    if message_status not in UNDELIVERED:
        return False
    n = repo.get(session, notification_id)
    if n is None or n.kind != "page" or n.status != "sent" or n.incident_id is None:
        return False
    user = user_repo.get(session, n.user_id)
    code = f" (Twilio error {error_code})" if is_ascii_digits(error_code) else ""
    n.status = NotificationStatus.FAILED
    n.last_error = f"text {message_status}{code}"
    message = f"sms to {user.name if user else n.user_id} {message_status}{code}"
    incident = incident_repo.get(session, n.incident_id, for_update=True)
    if incident is not None and incident.status == lifecycle.TRIGGERED:
        message += notify.fall_back(session, n, now)
    incident_repo.add_timeline(
        session, [timeline_row(n.incident_id, TimelineKind.NOTIFY_FAILED, ENGINE, now, message, notification=n.id)]
    )
    return True
