"""Stakeholder groups (who hears about which incidents), the updates written to them, and the delivery of each
update to each plain email address (people who are users hear through their own contact methods)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class StakeholderGroup(Base):
    __tablename__ = "stakeholder_groups"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    user_ids: Mapped[list[int]] = mapped_column(default=list)
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Subscriptions: empty lists match every service / type; no severity matches every severity.
    service_ids: Mapped[list[int]] = mapped_column(default=list)
    type_ids: Mapped[list[int]] = mapped_column(default=list)
    min_severity: Mapped[str | None] = mapped_column(String(8))
    private_ok: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StakeholderUpdate(Base):
    __tablename__ = "stakeholder_updates"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    drill: Mapped[bool] = mapped_column(default=False)
    groups: Mapped[list[str]] = mapped_column(JSONType, default=list)
    recipients: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class StakeholderDelivery(Base):
    """One update to one plain email address: pending until the engine sends it (a unique row, claimed once)."""

    __tablename__ = "stakeholder_deliveries"
    __table_args__ = (UniqueConstraint("update_id", "address"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("stakeholder_updates.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
