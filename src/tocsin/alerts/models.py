from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.alerts.schemas import AlertStatus, IngestOutcome
from tocsin.db.base import Base, BigID, JSONType, vocabulary

OPEN_ALERT = "status <> 'resolved'"


class Alert(Base):
    """One alerting condition from one integration, identified there by its dedup key."""

    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open alert per (integration, dedup key): the database enforces dedup across nodes.
        Index(
            "uq_alerts_open_dedup",
            "integration_id",
            "dedup_key",
            unique=True,
            sqlite_where=text(OPEN_ALERT),
            postgresql_where=text(OPEN_ALERT),
        ),
        Index("ix_alerts_incident_id", "incident_id"),
        Index("ix_alerts_service_created", "service_id", "created_at"),
        Index("ix_alerts_service_group_key", "service_id", "group_key"),
        Index("ix_alerts_inhibits", "inhibits"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[AlertStatus] = mapped_column(vocabulary(AlertStatus, 16), default=AlertStatus.TRIGGERED)
    summary: Mapped[str] = mapped_column(String(1024))
    severity: Mapped[str] = mapped_column(String(16), default="error")
    source: Mapped[str] = mapped_column(String(255), default="")
    component: Mapped[str | None] = mapped_column(String(255))
    group: Mapped[str | None] = mapped_column(String(255))
    class_: Mapped[str | None] = mapped_column("class", String(255))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    event_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    last_event_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Why nobody was paged for this alert (rule, silence, inhibition, flapping), and by what; None: it paged.
    suppressed: Mapped[str | None] = mapped_column(String(16))
    suppressed_by: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    group_key: Mapped[str | None] = mapped_column(String(40))
    # Matched the source side of an inhibit rule when stored: while open, it may mute other alerts.
    inhibits: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Brought in by a drill (ADR 0025): its incident is a drill, and noise reports leave it out.
    drill: Mapped[bool] = mapped_column(default=False, server_default=false())


def counted_alert() -> ColumnElement[bool]:
    """Alerts that count in reports: a drill's never do (ADR 0025; ``incidents.models.counted`` for incidents)."""
    return Alert.drill.is_(False)


class AlertEvent(Base):
    """Every accepted inbound event, kept as received (normalised), with what it did. Nothing accepted is lost."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_integration_received", "integration_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[IngestOutcome] = mapped_column(vocabulary(IngestOutcome, 16))
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ChangeEvent(Base):
    """A deploy or configuration change reported by a sender; shown on the service's timeline, never paged."""

    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_service_at", "service_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(255), default="")
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")


class InboundDelivery(Base):
    """A sender's delivery id already accepted, so that its retries are answered without being applied twice."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("integration_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(index=True)
