from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class DrillScenario(Base):
    """What a drill sends: a saved generic event (``payload``) or an incident type's name, to one service."""

    __tablename__ = "drill_scenarios"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # RESTRICT: a service with drill scenarios is archived, never deleted under them (ADR 0012).
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    # Fields of a generic event (summary, severity, source, component, group, class, labels, details).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # An incident type by name (the types are configured elsewhere; the name is kept as given).
    incident_type: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DrillRun(Base):
    """One drill: its scenario, its incident, when it ran, and its report once it ended."""

    __tablename__ = "drill_runs"
    __table_args__ = (Index("ix_drill_runs_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("drill_scenarios.id", ondelete="SET NULL"))
    # Kept as it was when the drill ran: a scenario may be renamed or removed later.
    scenario_name: Mapped[str] = mapped_column(String(200))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    started_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None]
    # Computed when it ends (``report.build``): who was paged, who answered, steps fired and skipped.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
