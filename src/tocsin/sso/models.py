from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class SsoIdentity(Base):
    """An account managed by the identity provider: the provider's subject it signs in as. Its team memberships
    and role follow the provider's groups at every sign-in (ADR 0037)."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]


class SsoTeamGrant(Base):
    """A team membership that the group mapping made: removed again when the group leaves the person's claims.
    Memberships made by hand have no such row and are never touched by sign-in."""

    __tablename__ = "sso_team_grants"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class OidcSignInState(Base):
    """A sign-in on its way through the provider: the state (only its SHA-256), the nonce the ID token must carry
    and the PKCE verifier. Deleted by the callback that redeems it, so each is usable once; short-lived."""

    __tablename__ = "oidc_sign_in_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500), default="/incidents")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
