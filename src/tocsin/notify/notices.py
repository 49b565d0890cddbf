"""Notices: a message to one person that is not about paging (a webhook subscription disabled, …), sent by the
engine through the person's first contact method like any other message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.notify import repository as repo
from tocsin.teams import repository as team_repo
from tocsin.users import repository as user_repo


def notify_user(session: Session, *, user_id: int, key: str, text: str, now: datetime) -> bool:
    """Queue ``text`` to ``user_id``; one message per ``key`` whoever asks. False when the user cannot be reached
    (gone, deactivated, without a contact method)."""
    user = user_repo.get(session, user_id)
    if user is None or user.deactivated_at is not None:
        return False
    rules = sorted(repo.rules_of(session, [user_id])[user_id], key=lambda r: (r.urgency != "high", r.delay_seconds))
    methods = repo.contact_methods_of(session, [user_id])[user_id]
    cm_id = rules[0].contact_method_id if rules else (methods[0].id if methods else None)
    if cm_id is None:
        return False
    row = {
        "idempotency_key": f"notice:{key}"[:200],
        "kind": "notice",
        "incident_id": None,
        "user_id": user_id,
        "contact_method_id": cm_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "fence": 0,
        "payload": {"text": text},
        "created_at": now,
    }
    return repo.add_notifications(session, [row]) == 1


def notify_team(session: Session, *, team_id: int, key: str, text: str, now: datetime, skip_user_id: int | None) -> int:
    """Queue ``text`` to every active member of ``team_id`` but ``skip_user_id`` (who did what is announced);
    the number of people it will reach."""
    member_ids = team_repo.active_member_ids(session, [team_id])[team_id]
    return sum(
        notify_user(session, user_id=uid, key=f"{key}:{uid}", text=text, now=now)
        for uid in member_ids
        if uid != skip_user_id
    )
