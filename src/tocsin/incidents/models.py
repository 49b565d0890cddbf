from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, vocabulary
from tocsin.incidents.lifecycle import IncidentStatus, ResponseStatus
from tocsin.incidents.timeline import TimelineKind


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_created", "status", "created_at"),
        Index("ix_incidents_service_created", "service_id", "created_at"),
        Index("ix_incidents_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(1024))
    description: Mapped[str] = mapped_column(Text, default="")
    # RESTRICT: a service with incidents is archived, never deleted with its history (ADR 0012).
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    status: Mapped[IncidentStatus] = mapped_column(vocabulary(IncidentStatus, 16), default=IncidentStatus.TRIGGERED)
    urgency: Mapped[str] = mapped_column(String(8), default="high")
    severity: Mapped[str] = mapped_column(String(8), default="SEV3")
    priority: Mapped[str] = mapped_column(String(4), default="P3")
    alert_count: Mapped[int] = mapped_column(default=0)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    major: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where the people working it are (ADR 0020); ``status`` above is the paging state.
    response_status: Mapped[ResponseStatus] = mapped_column(
        vocabulary(ResponseStatus, 16), default=ResponseStatus.TRIAGE, server_default=ResponseStatus.TRIAGE.value
    )
    phase_model: Mapped[str] = mapped_column(String(16), default="default", server_default="default")
    # Milestones (incidents/milestones.py) besides acknowledged_at and resolved_at above.
    impact_started_at: Mapped[datetime | None]
    detected_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    impact_ended_at: Mapped[datetime | None]
    # Private incidents (ADR 0022): seen only by their participants, the team named here, and admins.
    private: Mapped[bool] = mapped_column(default=False, server_default=false())
    private_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    # The incident type (response.types; ADR 0021), by id; null behaves as Standard. RESTRICT: a type in use stays.
    type_id: Mapped[int | None] = mapped_column(ForeignKey("incident_types.id", ondelete="RESTRICT"), index=True)
    # A name from incident_categories (kept by name: the list is a vocabulary, see ADR 0021); "" for none.
    category: Mapped[str] = mapped_column(String(100), default="", server_default="")
    conference_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # A drill (ADR 0025): opened by a drill's event through the real path; never counted (``counted()``).
    drill: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Cost of the downtime, kept when impact ends (ADR 0025); None while it runs or when nothing is priced.
    downtime_cost: Mapped[float | None]


def counted() -> ColumnElement[bool]:
    """The one filter of every count, report and status page: drill incidents never count (ADR 0025)."""
    return Incident.drill.is_(False)


class IncidentParticipant(Base):
    """Someone added to an incident by hand: they see it while it is private (ADR 0022)."""

    __tablename__ = "incident_participants"
    __table_args__ = (UniqueConstraint("incident_id", "user_id", name="uq_incident_participants"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime]


class SeverityLevel(Base):
    """A severity an incident can have (SEV1 … SEV5 by default), with what it means; ``position`` orders them."""

    __tablename__ = "severity_levels"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(8), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)


class IncidentCategory(Base):
    """What kind of thing broke (hardware, software, network …): a configurable list of names."""

    __tablename__ = "incident_categories"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class AffectedService(Base):
    """A service an incident affects besides its primary one (``incidents.service_id``)."""

    __tablename__ = "incident_services"
    __table_args__ = (Index("ix_incident_services_service", "service_id", "incident_id"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    # RESTRICT like the primary: a service with incidents is archived, not deleted.
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"), primary_key=True)
    added_at: Mapped[datetime]


class TimelineEntry(Base):
    """Append-only history of an incident: who did what, when, and through which channel."""

    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[TimelineKind] = mapped_column(vocabulary(TimelineKind, 32))
    source: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Counter(Base):
    """Named monotonic counters (incident numbers); the row lock serialises allocation across nodes."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
