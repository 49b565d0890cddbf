from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID

ROLES = ("admin", "responder", "observer")
# What an API token may do, within its user's role: read only; read and act on incidents; all the role allows.
TOKEN_SCOPES = ("read-only", "incidents", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    role: Mapped[str] = mapped_column(String(16), default="responder")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Tell the user when an on-call shift of theirs begins.
    handoff_notifications: Mapped[bool] = mapped_column(default=False)
    slack_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Secret path segment of the user's personal iCalendar feed.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]
    # Time-based one-time passwords (RFC 6238): the secret is set at enrolment, in force once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None]
    # The time step of the last code accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    scope: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    expires_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
