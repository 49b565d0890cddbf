"""The service desk's tables: each service's desk settings, the reports people file, service requests and their
own timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, vocabulary
from tocsin.desk.flow import DeskMode, ReportKind, RequestStatus


class DeskSettings(Base):
    """How a service takes reports: what they become, and its public report link (only the token's hash is kept:
    the link is shown once, when an admin makes or rotates it)."""

    __tablename__ = "service_desk_settings"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    desk_mode: Mapped[DeskMode] = mapped_column(vocabulary(DeskMode, 16), default=DeskMode.CHOICE)
    public_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    public_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    public_token_rotated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Report(Base):
    """Who reported what, and what it became (an incident or a service request)."""

    __tablename__ = "desk_reports"
    __table_args__ = (Index("ix_desk_reports_service_created", "service_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # For people without an account (the public link); for users, their name and email when they reported.
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    reporter_email: Mapped[str] = mapped_column(String(320), default="")
    summary: Mapped[str] = mapped_column(String(500))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(String(8))
    urgency: Mapped[str] = mapped_column(String(8))
    priority: Mapped[str] = mapped_column(String(4))
    choice: Mapped[ReportKind | None] = mapped_column(vocabulary(ReportKind, 8))
    became: Mapped[ReportKind] = mapped_column(vocabulary(ReportKind, 8))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="SET NULL"))
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class ServiceRequest(Base):
    """A routine request (access, a password reset): its own simple flow, never paging unless asked."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_status_id", "status", "id"),
        Index("ix_service_requests_service", "service_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    status: Mapped[RequestStatus] = mapped_column(vocabulary(RequestStatus, 16), default=RequestStatus.NEW)
    requester_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_email: Mapped[str] = mapped_column(String(320), default="")
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    impact: Mapped[str] = mapped_column(String(8), default="low")
    urgency: Mapped[str] = mapped_column(String(8), default="low")
    priority: Mapped[str] = mapped_column(String(4), default="P5")
    # The incident it became (status converted), and the incident it came from (converted back into a request).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    from_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class RequestTimelineEntry(Base):
    """Append-only history of a service request."""

    __tablename__ = "service_request_timeline"
    __table_args__ = (Index("ix_service_request_timeline_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
