from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class HeartbeatMonitor(Base):
    """The expected pings of one heartbeat integration; ``due_at`` is when a missing ping becomes an incident.

    ``status``: ``new`` (never pinged, not watched yet), ``up``, ``down`` (an incident is open for it).
    """

    __tablename__ = "heartbeat_monitors"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), unique=True)
    period_seconds: Mapped[int]
    grace_seconds: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="new")
    last_ping_at: Mapped[datetime | None]
    last_start_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
