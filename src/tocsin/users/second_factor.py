"""An optional second factor for password sign-in: time-based one-time passwords (RFC 6238) and recovery codes.

Enrolment stores a fresh secret, which counts only once the person has confirmed it with a code from their app.
Confirming also makes ten recovery codes, shown once and stored as SHA-256 hashes; each works a single time in
place of a code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput
from tocsin.users import repository as repo
from tocsin.users.models import User

ISSUER = "Tocsin"
RECOVERY_CODES = 10


def _code_hash(code: str) -> str:
    return hashlib.sha256(b"tocsin-recovery:" + code.strip().lower().replace("-", "").encode()).hexdigest()


def enabled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def start(session: Session, user: User) -> str:
    """A new, unconfirmed secret for the user (replacing an unconfirmed one); Conflict when one is in force."""
    row = repo.get(session, user.id)
    assert row is not None
    if enabled(row):
        raise Conflict("two-step sign-in is already on; turn it off first to enrol a new device")
    row.totp_secret = pyotp.random_base32()
    return row.totp_secret


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed in, or from a QR code made of it)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (30 s) whose code ``code`` is, one step either side of now to absorb a phone clock a little
    off; only steps after ``after``, so that a code once used is not accepted again."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def confirm(session: Session, user: User, code: str, *, now: datetime) -> list[str]:
    """Turn the second factor on with a first code; returns the recovery codes (shown only now)."""
    row = repo.get(session, user.id)
    assert row is not None
    if row.totp_secret is None:
        raise Conflict("start the enrolment first")
    if enabled(row):
        raise Conflict("two-step sign-in is already on")
    step = _matching_step(row.totp_secret, code, now, None)
    if step is None:
        raise InvalidInput("that code is not right; check the time on your phone and try the current code")
    row.totp_confirmed_at = now
    row.totp_last_step = step
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    repo.replace_recovery_codes(session, row.id, [_code_hash(c) for c in codes])
    return codes


def check(session: Session, user_id: int, code: str, *, now: datetime) -> bool:
    """Whether ``code`` is the user's current one-time password, not used before, or one of their unused recovery
    codes (which is then used up)."""
    row = repo.get(session, user_id)
    if row is None or not enabled(row) or row.totp_secret is None:
        return False
    step = _matching_step(row.totp_secret, code, now, row.totp_last_step)
    if step is not None:
        row.totp_last_step = step
        return True
    recovery = repo.unused_recovery_code(session, user_id, _code_hash(code))
    if recovery is None:
        return False
    recovery.used_at = now
    return True


def disable(session: Session, user: User) -> None:
    row = repo.get(session, user.id)
    assert row is not None
    row.totp_secret = None
    row.totp_confirmed_at = None
    row.totp_last_step = None
    repo.replace_recovery_codes(session, row.id, [])


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return sum(1 for r in repo.recovery_codes(session, user_id) if r.used_at is None)
