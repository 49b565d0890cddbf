"""Regulatory regimes (data, editable by admins), their classification on an incident (which start its clocks),
the submissions made to the regulator, and the reminders sent before each deadline (ADR 0032)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class Regime(Base):
    __tablename__ = "compliance_regimes"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    holidays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # [{"key", "title", "rules": [{"after": "PT4H", "anchor": "classification"}, …]}]; the earliest rule wins.
    deadlines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # Points before each deadline: "50%" of the window, "PT1H" before, "overdue".
    reminders: Mapped[list[str]] = mapped_column(JSONType, default=list)
    contact_user_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    contact_team_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # [{"title", "fill"}]: the content the regulator asks for, in its order; fill names what the draft pre-fills.
    headings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Classification(Base):
    """A regime applies to an incident: its moments start the regime's clocks."""

    __tablename__ = "compliance_classifications"
    __table_args__ = (UniqueConstraint("incident_id", "regime_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    regime_id: Mapped[int] = mapped_column(ForeignKey("compliance_regimes.id", ondelete="RESTRICT"), index=True)
    detected_at: Mapped[datetime]
    awareness_at: Mapped[datetime | None]
    classified_at: Mapped[datetime | None]
    determined_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    classified_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    classified_by: Mapped[str] = mapped_column(String(255), default="")
    # Every deadline met (a submission for each): the clock stops and no reminder is due.
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Submission(Base):
    __tablename__ = "compliance_submissions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    classification_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_classifications.id", ondelete="CASCADE"), index=True
    )
    deadline_key: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)
    late_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_by: Mapped[str] = mapped_column(String(255), default="")
    attachment_name: Mapped[str] = mapped_column(String(255), default="")
    attachment_type: Mapped[str] = mapped_column(String(100), default="")
    attachment_size: Mapped[int] = mapped_column(default=0)
    # Loaded only when the file itself is asked for: lists of submissions do not carry the files.
    attachment: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime]


class Reminder(Base):
    """One reminder point of one deadline, written when it comes due: unique, so it is sent once."""

    __tablename__ = "compliance_reminders"
    __table_args__ = (UniqueConstraint("classification_id", "deadline_key", "point", "deadline_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    classification_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_classifications.id", ondelete="CASCADE"), index=True
    )
    deadline_key: Mapped[str] = mapped_column(String(64))
    point: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime]
    due_at: Mapped[datetime]
    # sent, or skipped (a later point of the same deadline had come due too: only the latest is sent).
    status: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
