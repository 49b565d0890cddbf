"""A person's own account: their password and their signed-in browsers.

Checking a password is slow on purpose (Argon2): callers pass the process's hashing pool and attempt limiter, so
that these checks are bounded and backed off exactly like sign-in (see ``tocsin.auth.attempts``).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.audit import service as audit
from tocsin.auth import repository as repo
from tocsin.auth.attempts import AttemptLimiter, require_admission
from tocsin.auth.models import WebSession
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.ids import hash_token
from tocsin.users import repository as users_repo
from tocsin.users.hashing_pool import HashingPool
from tocsin.users.models import User
from tocsin.users.password_policy import check_new_password
from tocsin.users.passwords import hash_password, verify_password


def check_current_password(
    pool: HashingPool, limiter: AttemptLimiter, *, user: User, address: str, password: str
) -> None:
    """InvalidInput unless ``password`` is the user's; wrong guesses back off as sign-in's do."""
    require_admission(limiter, address=address, account=user.email)
    if not user.password_hash or not pool.call(verify_password, user.password_hash, password):
        raise InvalidInput("the current password is not right")
    limiter.succeeded(user.email, address)


def new_password_hash(
    pool: HashingPool, *, user: User, password: str, min_length: int, blocklist_file: str | None
) -> str:
    """The hash of an acceptable new password; InvalidInput naming what is wrong with it otherwise."""
    check_new_password(password, email=user.email, name=user.name, min_length=min_length, blocklist_file=blocklist_file)
    return pool.call(hash_password, password)


def set_password(
    session: Session, user_id: int, *, new_hash: str, keep_session: str | None = None, expected_hash: str | None = None
) -> int:
    """Store the new hash and end every session of the user but ``keep_session`` (a cookie token); returns how
    many ended. With ``expected_hash``, refuses (Conflict) if the password changed since it was checked."""
    user = users_repo.get(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if expected_hash is not None and user.password_hash != expected_hash:
        raise Conflict("the password was changed meanwhile; sign in again and retry")
    user.password_hash = new_hash
    return repo.delete_sessions_of(session, user_id, keep_hash=hash_token(keep_session) if keep_session else None)


def end_sessions(session: Session, user_id: int, *, keep_session: str | None = None) -> int:
    return repo.delete_sessions_of(session, user_id, keep_hash=hash_token(keep_session) if keep_session else None)


def sessions_of(session: Session, user_id: int, *, now: datetime) -> list[WebSession]:
    return repo.sessions_of(session, user_id, now)


def is_session(row: WebSession, token: str) -> bool:
    return row.token_hash == hash_token(token)


def revoke_session(session: Session, user_id: int, session_id: int) -> WebSession:
    row = repo.session_of(session, user_id, session_id)
    if row is None:
        raise NotFound(f"session {session_id} not found")
    repo.delete_session_by_id(session, row.id)
    return row


def temporary_password() -> str:
    """A password an administrator hands over, for one sign-in before the person sets their own."""
    return secrets.token_urlsafe(15)


def reset_password(session: Session, user_id: int, *, new_hash: str) -> int:
    """Set a password chosen by someone else (an admin) and end every session of the account; audited."""
    ended = set_password(session, user_id, new_hash=new_hash)
    audit.record(
        session, audit.PASSWORD_RESET, object_type="user", object_id=str(user_id), data={"sessions_ended": ended}
    )
    return ended
