"""The organisation's analytics settings (one row) and the weekly digests already sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
