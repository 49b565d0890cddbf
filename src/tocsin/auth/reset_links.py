"""Signed, expiring, single-use password reset links.

They reuse the action links' format and signing (``tocsin.auth.links``) under a key of their own, derived from the
link-signing key for this purpose only: a reset token is never a valid action link, nor the reverse. The format's
incident and action fields are unused (zero and the first action). A link's nonce is recorded when it is used,
which makes it single-use; its expiry is signed into it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.auth import links
from tocsin.auth import repository as repo
from tocsin.core.errors import Unauthorized
from tocsin.users import repository as users_repo
from tocsin.users.models import User


def _key(link_secret: bytes) -> bytes:
    return hmac.new(link_secret, b"tocsin/password-reset/v1", hashlib.sha256).digest()


def make(link_secret: bytes, *, user_id: int, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """The token for the link, and its nonce."""
    nonce = links.new_nonce()
    token = links.make_token(
        _key(link_secret),
        incident_id=0,
        user_id=user_id,
        action=links.ACTIONS[0],
        expires_at=now + lifetime,
        nonce=nonce,
    )
    return token, nonce


def usable(session: Session, link_secret: bytes, token: str, *, now: datetime) -> tuple[User, str]:
    """The user a genuine, unexpired, unused link was made for, and its nonce; Unauthorized otherwise."""
    claims = links.read_token(_key(link_secret), token, now=now)
    if repo.reset_link_used(session, claims.nonce):
        raise Unauthorized("this link was already used; ask for a new one")
    user = users_repo.get(session, claims.user_id)
    if user is None or user.deactivated_at is not None:
        raise Unauthorized("this link is not valid")
    return user, claims.nonce


def use(session: Session, nonce: str, *, now: datetime) -> None:
    """Mark the link used; Unauthorized if another request used it first."""
    if not repo.mark_reset_link_used(session, nonce, now):
        raise Unauthorized("this link was already used; ask for a new one")
