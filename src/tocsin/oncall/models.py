from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    # Secret path segment of the schedule's iCalendar feed.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    # Archived: hidden from lists and pages nobody; running escalations naming it find nobody on call.
    archived_at: Mapped[datetime | None]


class ScheduleLayer(Base):
    """One rotation. ``position`` 0 is the lowest layer; higher layers override lower ones."""

    __tablename__ = "schedule_layers"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    rotation: Mapped[str] = mapped_column(String(16))
    shift_length_seconds: Mapped[int | None]
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    # Ordered user ids of the rotation.
    user_ids: Mapped[list[int]] = mapped_column("users", default=list)
    # [{"days": [0..6], "start": "09:00", "end": "17:00"}], in the schedule's zone.
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)


class ScheduleOverride(Base):
    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_schedule_end", "schedule_id", "end"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    replaces_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
