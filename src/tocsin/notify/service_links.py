"""Redeeming a one-click link: check the signature and expiry, then record its nonce so it works only once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.auth.links import LinkClaims, read_token
from tocsin.core.errors import Conflict
from tocsin.notify.models import UsedLinkToken


def link_was_used(session: Session, nonce: str) -> bool:
    return session.get(UsedLinkToken, nonce) is not None


def use_link(session: Session, secret: bytes, token: str, now: datetime) -> LinkClaims:
    """The claims of ``token``, after marking it used in this transaction.

    Unauthorized for a tampered, expired or malformed token; Conflict if it was used before. The caller acts
    on the claims in the same transaction, so if that action fails and rolls back, the link stays usable.
    """
    claims = read_token(secret, token, now=now)
    if link_was_used(session, claims.nonce):
        raise Conflict("this link was already used")
    try:
        # A savepoint, so that losing a race leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(UsedLinkToken(nonce=claims.nonce, used_at=now))
    except IntegrityError:
        raise Conflict("this link was already used") from None
    return claims
