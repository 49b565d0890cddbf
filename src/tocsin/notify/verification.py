"""Proving that a phone number belongs to the person who added it, before it is ever paged.

A six-digit code goes out by SMS through the outbox (a notification of kind "verify", the only kind an
unverified contact method receives). The code's hash, expiry and failed tries live in that row's payload, so
no extra table is needed; the text with the code is kept encrypted until it is sent, then dropped (ADR 0017).
The newest code for a contact method is the only one that counts. Five wrong tries
or ten minutes void a code. Confirming marks every phone method of the user with the same number verified (the
SMS and the voice method of one phone). Numbers an admin sets count as verified from the start.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.core.clock import utc
from tocsin.core.errors import Conflict, NotFound, RateLimited
from tocsin.core.numbers import is_ascii_digits
from tocsin.db.encrypted import keyring_of
from tocsin.notify import repository as repo
from tocsin.notify.models import ContactMethod, Notification
from tocsin.notify.reply_codes import PHONE_TYPES
from tocsin.notify.send_limits import DEFAULT, SendLimits, check_on_demand

CODE_LIFETIME = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_TRIES = 5


def _hash(cm_id: int, code: str) -> str:
    return hashlib.sha256(f"tocsin-verify:{cm_id}:{code}".encode()).hexdigest()


def _phone_method(session: Session, cm_id: int) -> ContactMethod:
    cm = repo.contact_method(session, cm_id)
    if cm is None:
        raise NotFound(f"contact method {cm_id} not found")
    if cm.type not in PHONE_TYPES:
        raise Conflict(f"only phone numbers (sms, voice) are verified; this is a {cm.type} contact method")
    return cm


def start(session: Session, cm_id: int, *, now: datetime, limits: SendLimits = DEFAULT) -> Notification:
    """Queue a new code to the number; at most one per minute, and within the hourly limits (``send_limits``)."""
    cm = _phone_method(session, cm_id)
    if cm.verified:
        raise Conflict(f"contact method {cm_id} is already verified")
    previous = repo.latest_of_kind(session, cm.id, "verify")
    if previous is not None and utc(previous.created_at) > now - RESEND_AFTER:
        raise RateLimited("a code was sent less than a minute ago; wait before asking for another", retry_after=60)
    check_on_demand(session, cm, now=now, limits=limits)
    code = f"{secrets.randbelow(1_000_000):06d}"
    n = Notification(
        idempotency_key=f"verify:{cm.id}:{now.timestamp():.6f}",
        kind="verify",
        incident_id=None,
        user_id=cm.user_id,
        contact_method_id=cm.id,
        status="pending",
        next_attempt_at=now,
        payload={
            "text": keyring_of(session).seal(f"Your Tocsin verification code is {code}. It expires in 10 minutes."),
            "code_hash": _hash(cm.id, code),
            "expires_at": (now + CODE_LIFETIME).isoformat(),
            "tries": 0,
        },
        created_at=now,
    )
    session.add(n)
    session.flush()
    return n


def confirm(session: Session, cm_id: int, code: str, *, now: datetime) -> str | None:
    """None when the number is now verified; else why not. A wrong code is counted in this transaction, so
    the caller commits before it reports the error (raising would roll the count back)."""
    cm = _phone_method(session, cm_id)
    if cm.verified:
        return None
    pending = repo.latest_of_kind(session, cm.id, "verify")
    if pending is None or pending.payload.get("used"):
        raise Conflict("no verification code is pending; ask for one first")
    payload = dict(pending.payload)
    if int(payload.get("tries", 0)) >= MAX_TRIES:
        raise Conflict("too many wrong codes; ask for a new one")
    if now >= datetime.fromisoformat(str(payload["expires_at"])):
        raise Conflict("the code expired; ask for a new one")
    given = code.strip()
    if not (is_ascii_digits(given) and hmac.compare_digest(_hash(cm.id, given), str(payload["code_hash"]))):
        payload["tries"] = int(payload.get("tries", 0)) + 1
        pending.payload = payload
        return f"wrong code ({MAX_TRIES - payload['tries']} tries left)"
    payload["used"] = True
    pending.payload = payload
    for other in repo.contact_methods_of(session, [cm.user_id])[cm.user_id]:
        if other.type in PHONE_TYPES and other.address == cm.address:
            other.verified = True
    return None
