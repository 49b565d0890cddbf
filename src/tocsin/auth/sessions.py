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
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.auth import repository as repo
from tocsin.auth.models import WebSession
from tocsin.core.errors import Unauthorized
from tocsin.core.ids import hash_token
from tocsin.users import repository as users_repo
from tocsin.users.models import User
from tocsin.users.passwords import hash_password, needs_rehash, verify_password

IDLE = timedelta(hours=12)
ABSOLUTE = timedelta(days=7)
_TOUCH_EVERY = timedelta(minutes=5)


@functools.cache
def _dummy_hash() -> str:
    # Verifying against a real hash when the email is unknown keeps the answer time the same either way.
    return hash_password(secrets.token_hex(16))


def sign_in(session: Session, *, email: str, password: str, now: datetime) -> tuple[User, str]:
    """Returns the user and a new session token for the cookie, or raises Unauthorized (same message either way)."""
    user = users_repo.by_email(session, email.strip().lower())
    ok = verify_password(user.password_hash if user and user.password_hash else _dummy_hash(), password)
    if user is None or not ok or user.deactivated_at is not None:
        raise Unauthorized("wrong email or password")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    repo.add_session(
        session,
        WebSession(
            token_hash=hash_token(token), user_id=user.id, created_at=now, last_seen_at=now, expires_at=now + IDLE
        ),
    )
    repo.delete_expired(session, now)
    return user, token


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
