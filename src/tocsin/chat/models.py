"""A war room per incident and platform, worked by the engine (a durable row with a lease), and the links between
chat accounts and Tocsin users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class ChatRoom(Base):
    """One room of one incident on one platform (unique: never two). ``status`` moves requested → creating → open
    → archived (or failed); ``creating`` left behind by a dead worker is an ambiguous outcome: the next claim looks
    the room up by name before creating it again. ``due_at`` is when the engine next has something to do here."""

    __tablename__ = "chat_rooms"
    __table_args__ = (
        UniqueConstraint("incident_id", "platform"),
        Index("ix_chat_rooms_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    private: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    room_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(Text, default="")
    summary_ref: Mapped[str | None] = mapped_column(String(255))
    summary_text: Mapped[str] = mapped_column(Text, default="")
    # Chat accounts invited (done), and those whose invite was sent without its answer recorded (checked against
    # the room's members before any is sent again).
    invited: Mapped[list[str]] = mapped_column(JSONType, default=list)
    inviting: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Accounts removed on request (account → when, ISO 8601): not invited again until the person is added to the
    # incident anew (a role or an accepted responder request after that time). ``removing``: asked for and not yet
    # confirmed; the engine checks each against the room's members before it removes them.
    removed: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    removing: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # When the conversation was exported to ``chat_exports`` (with the archive, when the setting asks for it).
    exported_at: Mapped[datetime | None]
    archive_at: Mapped[datetime | None]
    notice_sent_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChatLink(Base):
    """A chat account known to belong to a Tocsin user (linked by hand, or found by the account's email)."""

    __tablename__ = "chat_links"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class ChatAutoRule(Base):
    """Open a room on ``platform`` for every incident of these severities or types (empty list: any)."""

    __tablename__ = "chat_auto_rules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    severities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]


class ChatExport(Base):
    """The whole conversation of one room, exported once when the room was archived: ``time author: message``
    lines, oldest first; ``cut`` when older messages were left out to keep within the size limit."""

    __tablename__ = "chat_exports"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    messages: Mapped[int] = mapped_column(default=0)
    cut: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
