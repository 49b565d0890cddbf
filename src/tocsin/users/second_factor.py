"""An optional second factor for password sign-in: time-based one-time passwords (RFC 6238) and recovery codes.

Enrolment stores a fresh secret, which counts only once the person has confirmed it with a code from their app.
Confirming also makes ten recovery codes, shown once and stored as SHA-256 hashes; each works a single time in
place of a code.
"""

from __future__ import annotations

import hashlib
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


def code_ok(secret: str, code: str, now: datetime) -> bool:
    code = code.strip().replace(" ", "")
    # One step either side absorbs a phone clock a little off.
    return len(code) == 6 and code.isdigit() and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)


def confirm(session: Session, user: User, code: str, *, now: datetime) -> list[str]:
    """Turn the second factor on with a first code; returns the recovery codes (shown only now)."""
    row = repo.get(session, user.id)
    assert row is not None
    if row.totp_secret is None:
        raise Conflict("start the enrolment first")
    if enabled(row):
        raise Conflict("two-step sign-in is already on")
    if not code_ok(row.totp_secret, code, now):
        raise InvalidInput("that code is not right; check the time on your phone and try the current code")
    row.totp_confirmed_at = now
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    repo.replace_recovery_codes(session, row.id, [_code_hash(c) for c in codes])
    return codes


def check(session: Session, user_id: int, code: str, *, now: datetime) -> bool:
    """Whether ``code`` is the user's current one-time password or one of their unused recovery codes (which is
    then used up)."""
    row = repo.get(session, user_id)
    if row is None or not enabled(row) or row.totp_secret is None:
        return False
    if code_ok(row.totp_secret, code, now):
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
    repo.replace_recovery_codes(session, row.id, [])


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return sum(1 for r in repo.recovery_codes(session, user_id) if r.used_at is None)
