"""Browser sign-in: password check, server-side sessions, and CSRF tokens bound to the session.

The cookie holds a random token; only its hash is stored, so a database dump cannot be replayed as a session.
A session lasts ``IDLE`` past its last use (sliding) and never longer than ``ABSOLUTE`` after sign-in.
The CSRF token is an HMAC of the session token, so it needs no storage and dies with the session.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.auth import repository as repo
from tocsin.auth.models import WebSession
from tocsin.core.errors import Unauthorized
from tocsin.core.ids import hash_token
from tocsin.users import repository as users_repo
from tocsin.users import second_factor
from tocsin.users.models import User
from tocsin.users.passwords import hash_password, needs_rehash, verify_password

IDLE = timedelta(hours=12)
ABSOLUTE = timedelta(days=7)
_TOUCH_EVERY = timedelta(minutes=5)


@functools.cache
def _dummy_hash() -> str:
    # Verifying against a real hash when the email is unknown keeps the answer time the same either way.
    return hash_password(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """What a sign-in must check the password against, read before the (slow) check and outside any transaction."""

    user_id: int | None
    password_hash: str


def password_to_check(session: Session, email: str) -> PasswordCheck:
    """The account's hash, or a dummy one for an unknown email or an account without a password."""
    user = users_repo.by_email(session, email.strip().lower())
    if user is None or not user.password_hash or user.deactivated_at is not None:
        return PasswordCheck(user_id=None, password_hash=_dummy_hash())
    return PasswordCheck(user_id=user.id, password_hash=user.password_hash)


def check_password(check: PasswordCheck, password: str) -> tuple[bool, str | None]:
    """Whether the password is right, and a fresh hash when the stored one was made with weaker parameters.
    Costs tens of milliseconds of CPU: run on the hashing pool."""
    ok = verify_password(check.password_hash, password) and check.user_id is not None
    if ok and needs_rehash(check.password_hash):
        return True, hash_password(password)
    return ok, None


def accept_password(session: Session, *, check: PasswordCheck, new_hash: str | None = None) -> User:
    """After a correct password: the user, with a stronger hash stored if one was made. Unauthorized if the
    account changed meanwhile (deactivated, password replaced)."""
    user = users_repo.get(session, check.user_id) if check.user_id is not None else None
    if user is None or user.deactivated_at is not None or user.password_hash != check.password_hash:
        raise Unauthorized("wrong email or password")
    if new_hash is not None:
        user.password_hash = new_hash
    return user


def open_session(
    session: Session,
    *,
    check: PasswordCheck,
    now: datetime,
    new_hash: str | None = None,
    ip: str = "",
    user_agent: str = "",
) -> tuple[User, str]:
    """After a correct password, for an account without a second factor: a new session token for the cookie."""
    user = accept_password(session, check=check, new_hash=new_hash)
    if second_factor.enabled(user):
        raise Unauthorized("this account needs a one-time code as well")
    return user, new_session(session, user_id=user.id, now=now, ip=ip, user_agent=user_agent)


def new_session(session: Session, *, user_id: int, now: datetime, ip: str = "", user_agent: str = "") -> str:
    token = secrets.token_urlsafe(32)
    repo.add_session(
        session,
        WebSession(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + IDLE,
            ip=ip[:64],
            user_agent=user_agent[:255],
        ),
    )
    repo.delete_expired(session, now)
    return token


def sign_in(session: Session, *, email: str, password: str, now: datetime) -> tuple[User, str]:
    """Check and open in one go, on the caller's thread (the CLI and tests; the console uses the steps above)."""
    check = password_to_check(session, email)
    ok, new_hash = check_password(check, password)
    if not ok:
        raise Unauthorized("wrong email or password")
    return open_session(session, check=check, now=now, new_hash=new_hash)


def user_of(session: Session, token: str, *, now: datetime) -> tuple[User, bool] | None:
    """The signed-in user, and whether the session should be touched (a write the caller may do later)."""
    found = repo.session_by_hash(session, hash_token(token))
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now or row.created_at + ABSOLUTE <= now or user.deactivated_at is not None:
        return None
    return user, now - row.last_seen_at > _TOUCH_EVERY


def touch(session: Session, token: str, *, now: datetime) -> None:
    found = repo.session_by_hash(session, hash_token(token))
    if found is not None:
        row, _ = found
        repo.touch(session, row.id, now, min(now + IDLE, row.created_at + ABSOLUTE))


def sign_out(session: Session, token: str) -> None:
    repo.delete_session(session, hash_token(token))


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, session_token), presented or "")
