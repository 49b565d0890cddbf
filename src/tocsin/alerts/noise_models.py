"""Tables of the routing and noise-reduction rules: event rules, inhibit rules, silences, grouping, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class EventRuleRow(Base):
    """One routing rule. ``integration_id`` None: a global rule, tried after the integration's own."""

    __tablename__ = "event_rules"
    __table_args__ = (Index("ix_event_rules_integration_position", "integration_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InhibitRuleRow(Base):
    __tablename__ = "inhibit_rules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source_matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    target_matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    equal: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]


class SilenceRow(Base):
    """A silence, or (with ``recurrence``) a recurring maintenance window of a service."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # Silences managed in the configuration file carry a name; ad-hoc ones usually do not.
    name: Mapped[str | None] = mapped_column(String(200), unique=True)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    recurrence: Mapped[str | None] = mapped_column(String(500))
    duration_seconds: Mapped[int | None]
    author: Mapped[str] = mapped_column(String(320), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class GroupingRuleRow(Base):
    __tablename__ = "grouping_rules"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    group_by: Mapped[list[str]] = mapped_column(JSONType, default=list)
    window_seconds: Mapped[int] = mapped_column(default=1800)
    by_content: Mapped[bool] = mapped_column(default=False)
    threshold: Mapped[float] = mapped_column(default=0.8)


class NoiseSetting(Base):
    """Named settings (priority matrix, major-incident criteria, flapping) and the rules' version token."""

    __tablename__ = "noise_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
