"""The organisation's analytics settings (one row), the weekly digests already sent, and the facts kept per incident."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class AnalyticsSettings(Base):
    """Windows of the day and load thresholds for on-call health; one row (id 1), defaults when absent."""

    __tablename__ = "analytics_settings"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    business_start: Mapped[int] = mapped_column(default=8)
    business_end: Mapped[int] = mapped_column(default=18)
    sleep_start: Mapped[int] = mapped_column(default=22)
    sleep_end: Mapped[int] = mapped_column(default=8)
    # Interruptions in a week above which someone's load is flagged; sleep interruptions likewise.
    weekly_interruptions: Mapped[int] = mapped_column(default=15)
    weekly_sleep_interruptions: Mapped[int] = mapped_column(default=3)
    # The weekly digest: 0 = Monday … 6 = Sunday, at this UTC hour; off when digest_enabled is false.
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    digest_weekday: Mapped[int] = mapped_column(default=0)
    digest_hour: Mapped[int] = mapped_column(default=8)
    updated_at: Mapped[datetime]


class DigestRun(Base):
    """One row per week the digest went out: the unique week keeps a second process from sending it twice."""

    __tablename__ = "analytics_digest_runs"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)
    sent_at: Mapped[datetime]
    recipients: Mapped[int] = mapped_column(default=0)


# The response statuses whose time a fact keeps (``in_<status>``; the rest end the response in every phase model),
# and its durations, in the order rows and facts carry them.
TIMED_STATUSES: Final = ("triage", "investigating", "identified", "mitigated", "monitoring", "resolved")
FACT_DURATIONS: Final = ("created", "ack", "mitigate", "resolve", "detect", "downtime")


class IncidentFacts(Base):
    """What the metrics read of one incident and its timeline, kept by the ``analytics`` incident events consumer
    and its backfill (ADR 0038): its durations, the counts of its timeline entries and the seconds spent in each
    timed response status, so that a period's figures need not walk every timeline entry of every incident.
    ``stamp`` is the incident's ``updated_at`` when the row was written; a row whose stamp no longer matches is
    not trusted."""

    __tablename__ = "analytics_incident_facts"

    incident_id: Mapped[int] = mapped_column(BigID, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    stamp: Mapped[datetime]
    computed_at: Mapped[datetime]
    # Creation (seconds since the epoch) and durations in seconds, as analytics.repository.duration_columns.
    created: Mapped[float] = mapped_column(Float)
    ack: Mapped[float | None] = mapped_column(Float)
    mitigate: Mapped[float | None] = mapped_column(Float)
    resolve: Mapped[float | None] = mapped_column(Float)
    detect: Mapped[float | None] = mapped_column(Float)
    downtime: Mapped[float | None] = mapped_column(Float)
    escalations: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    first_update: Mapped[float | None] = mapped_column(Float)
    auto_resolved: Mapped[bool | None]
    phase_model: Mapped[str] = mapped_column(String(16))
    # Seconds spent in each timed response status over the moves already left (NULL for none).
    in_triage: Mapped[float | None] = mapped_column(Float)
    in_investigating: Mapped[float | None] = mapped_column(Float)
    in_identified: Mapped[float | None] = mapped_column(Float)
    in_mitigated: Mapped[float | None] = mapped_column(Float)
    in_monitoring: Mapped[float | None] = mapped_column(Float)
    in_resolved: Mapped[float | None] = mapped_column(Float)
    # The timed status the incident is still in and since when (seconds since the epoch): it counts until now.
    open_status: Mapped[str | None] = mapped_column(String(16))
    open_since: Mapped[float | None] = mapped_column(Float)
