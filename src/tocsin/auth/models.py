from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID
from tocsin.db.encrypted import EncryptedText


class InstanceSecret(Base):
    """Secrets generated on first start and shared by every node of one installation (in its database)."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(EncryptedText())


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie is stored; signing out deletes the row."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Shown on the Account page so a person can tell their sessions apart.
    ip: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="", server_default="")


class UsedResetLink(Base):
    """A password reset link already used: the links are stateless and signed, this makes each single-use."""

    __tablename__ = "used_reset_links"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(index=True)


class SignInAttempt(Base):
    """Recent password or code attempts of one address or account, shared by every node (ADR 0015).

    Keyed by the SHA-256 of the kind and the address or account typed, so that what people mistype into the email
    field (passwords, sometimes) is not kept."""

    __tablename__ = "sign_in_attempts"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(index=True)
