from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class IncidentEvent(Base):
    """One change of an incident. ``seq`` is given after commit by the sequencer, in the order rows became
    visible; consumers read by ``seq``, so a row whose transaction committed late is never skipped."""

    __tablename__ = "incident_events"
    __table_args__ = (
        Index(
            "ix_incident_events_unsequenced",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
        Index("ix_incident_events_incident", "incident_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    # {field: [old, new]} for the fields the change touched; {} when it touched none (a note, a page sent).
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EventSequencer(Base):
    """A single row: the last ``seq`` given. Its row lock makes sequencing one at a time across workers."""

    __tablename__ = "event_sequencer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class EventConsumer(Base):
    """A registered consumer's cursor: every event up to ``position`` (a ``seq``) has been handled. The lease and
    fence are those of ``db/claims``: one worker at a time moves a cursor, and a stalled one moves nothing."""

    __tablename__ = "event_consumers"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    due_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]
