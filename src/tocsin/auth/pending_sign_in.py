"""The step between a right password and the one-time code, for accounts with a second factor.

The browser carries a short-lived signed note, ``user_id.expires.tag``, between the two forms. The tag covers the
account's password hash, so a note dies when the password changes, and nothing is stored on the server.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.core.errors import Unauthorized
from tocsin.users import repository as users_repo
from tocsin.users.models import User

LIFETIME = timedelta(minutes=5)


def _tag(secret: bytes, payload: str, password_hash: str) -> str:
    message = f"tocsin-second-step:{payload}:{password_hash}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def make(secret: bytes, user: User, *, now: datetime) -> str:
    payload = f"{user.id}.{int((now + LIFETIME).timestamp())}"
    return f"{payload}.{_tag(secret, payload, user.password_hash or '')}"


def user_id_of(note: str) -> int:
    """The account a note names, unchecked (to count attempts against it before any work)."""
    head = note.split(".", 1)[0]
    if not head.isdigit() or len(note) > 200:
        raise Unauthorized("this sign-in step is malformed; sign in again")
    return int(head)


def redeem(session: Session, secret: bytes, note: str, *, now: datetime) -> User:
    """The user a genuine, unexpired note was made for; Unauthorized otherwise."""
    parts = note.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise Unauthorized("this sign-in step is malformed; sign in again")
    user = users_repo.get(session, int(parts[0]))
    payload = f"{parts[0]}.{parts[1]}"
    if user is None or not hmac.compare_digest(parts[2], _tag(secret, payload, user.password_hash or "")):
        raise Unauthorized("this sign-in step is not valid; sign in again")
    if now >= datetime.fromtimestamp(int(parts[1]), UTC):
        raise Unauthorized("this sign-in step expired; sign in again")
    if user.deactivated_at is not None:
        raise Unauthorized("wrong email or password")
    return user
