"""Users and API tokens."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tocsin.core.ids import hash_token, new_api_token
from tocsin.core.numbers import ascii_int
from tocsin.users import repository as repo
from tocsin.users.models import ROLES, TOKEN_SCOPES, ApiToken, User


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None
    return name


def validate_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        raise InvalidInput(f"not an email address: {email!r}")
    return email


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    now: datetime,
    role: str = "responder",
    timezone: str = "UTC",
    password_hash: str | None = None,
) -> User:
    email = validate_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if repo.by_email(session, email) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        timezone=validate_timezone(timezone),
        password_hash=password_hash,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    name: str | None = None,
    role: str | None = None,
    timezone: str | None = None,
    email: str | None = None,
) -> User:
    if name is not None and name.strip():
        user.name = name.strip()
    if email is not None:
        email = validate_email(email)
        if email != user.email:
            if repo.by_email(session, email) is not None:
                raise Conflict(f"a user with email {email} already exists")
            user.email = email
    if role is not None:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if role != "admin":
            ensure_admin_remains(session, user, "demote")
        user.role = role
    if timezone is not None:
        user.timezone = validate_timezone(timezone)
    return user


def ensure_admin_remains(session: Session, user: User, action: str) -> None:
    """Every path that demotes, deactivates or deletes a user comes through here: the last active admin stays."""
    if user.role != "admin" or user.deactivated_at is not None:
        return
    if repo.active_admin_ids(session) <= {user.id}:
        raise Conflict(f"cannot {action} {user.email}: this is the last active admin; make someone else admin first")


def deactivate_user(session: Session, user: User, *, now: datetime) -> User:
    """From now on the user cannot sign in, their tokens and sessions are refused, and nobody pages them."""
    ensure_admin_remains(session, user, "deactivate")
    if user.deactivated_at is None:
        user.deactivated_at = now
    session.flush()
    return user


def reactivate_user(session: Session, user: User) -> User:
    user.deactivated_at = None
    session.flush()
    return user


def get_user(session: Session, ref: int | str) -> User:
    user = repo.by_email(session, ref) if isinstance(ref, str) and "@" in ref else None
    if user is None and ascii_int(ref) is not None:
        user = repo.get(session, int(ref))
    if user is None:
        raise NotFound(f"user {ref} not found")
    return user


def list_users(session: Session, *, include_deactivated: bool = True) -> list[User]:
    return repo.all_users(session, include_deactivated=include_deactivated)


def create_token(
    session: Session,
    user: User,
    *,
    name: str,
    now: datetime,
    scope: str = "admin",
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is not stored and cannot be shown again."""
    if scope not in TOKEN_SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(TOKEN_SCOPES)}")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput("expires_at needs a time zone (for example 2027-01-31T00:00:00Z)")
        if expires_at <= now:
            raise InvalidInput("expires_at must be in the future")
    secret = new_api_token()
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:200],
        token_hash=hash_token(secret),
        prefix=secret[: len("tocsin_") + 4],
        created_at=now,
        scope=scope,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret


def authenticate_token(session: Session, secret: str, *, now: datetime | None = None) -> tuple[ApiToken, User]:
    found = repo.token_by_hash(session, hash_token(secret))
    if found is None:
        raise Unauthorized("unknown API token")
    token, user = found
    if token.revoked_at is not None:
        raise Unauthorized("this API token was revoked")
    if now is not None and token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized(f"this API token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one")
    if user.deactivated_at is not None:
        raise Unauthorized("this user is deactivated")
    return token, user


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    return repo.tokens_of(session, user_id)


def revoke_token(session: Session, token_id: int, *, by: User, now: datetime) -> ApiToken:
    token = repo.token(session, token_id)
    if token is None or (token.user_id != by.id and by.role != "admin"):
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def revoke_tokens_of(session: Session, user_id: int, *, now: datetime) -> int:
    """Revoke every token of the user still in force; how many were."""
    revoked = 0
    for token in repo.tokens_of(session, user_id):
        if token.revoked_at is None:
            token.revoked_at = now
            revoked += 1
    session.flush()
    return revoked


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    token = repo.token(session, token_id)
    if token is not None:
        token.last_used_at = now


def names_of(session: Session, ids: list[int]) -> dict[int, str]:
    return repo.names(session, ids)
