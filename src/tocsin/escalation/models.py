from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, vocabulary


class EscalationStatus(StrEnum):
    """Where an incident's escalation stands."""

    ACTIVE = "active"  # its timer pages the next step when due
    STOPPED = "stopped"  # the incident was acknowledged or resolved, or its paging paused (flapping)
    DONE = "done"  # the policy ran out of steps and repeats


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    # Extra passes over the whole policy after the first (0: run once).
    repeat: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    # Archived: new incidents of services still pointing at it are not escalated; running ones keep their snapshot.
    archived_at: Mapped[datetime | None]


class EscalationStep(Base):
    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    # Wait after this step fires before the next one.
    delay_seconds: Mapped[int] = mapped_column(default=0)
    # [{"kind": "user" | "schedule" | "team", "ref": "<id>"}]
    targets: Mapped[list[dict[str, Any]]] = mapped_column(default=list)


class Escalation(Base):
    """The running escalation of one incident: a durable timer with a lease and a fencing token."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_due", "status", "next_fire_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    # The policy as it was when the incident started; later edits do not change a running escalation.
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[EscalationStatus] = mapped_column(vocabulary(EscalationStatus, 16), default=EscalationStatus.ACTIVE)
    step_index: Mapped[int] = mapped_column(default=0)
    cycle: Mapped[int] = mapped_column(default=0)
    # Restarts (an acknowledgement that timed out) start a new run, so its pages get new idempotency keys.
    run: Mapped[int] = mapped_column(default=0)
    next_fire_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]
