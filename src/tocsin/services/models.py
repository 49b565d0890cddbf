from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID
from tocsin.db.encrypted import EncryptedText

IntegrationType = Literal[
    "pagerduty_v2",
    "alertmanager",
    "grafana",
    "generic",
    "datadog",
    "cloudwatch",
    "sentry",
    "zabbix",
    "heartbeat",
    "email",
]
INTEGRATION_TYPES: tuple[str, ...] = get_args(IntegrationType)
# The types whose sender signs each request with a shared secret that Tocsin checks (``signing_secret``).
SECRET_SIGNED_TYPES = ("grafana", "sentry")


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    # Default urgency of incidents the service opens: "high" pages at once, "low" follows low-urgency rules.
    urgency: Mapped[str] = mapped_column(String(16), default="high")
    # Resolve the incident when every alert in it has resolved.
    auto_resolve: Mapped[bool] = mapped_column(default=True)
    # Re-trigger an acknowledged incident that is not resolved within this many seconds (None: never).
    ack_timeout_seconds: Mapped[int | None]
    tier: Mapped[int | None]
    # What a minute of this service's downtime costs (ADR 0025); None: its tier's default (``TierCost``).
    downtime_cost_per_minute: Mapped[float | None]
    escalation_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation_policies.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    # Archived: hidden from lists, its integrations refuse events; its incidents stay readable (ADR 0012).
    archived_at: Mapped[datetime | None]


class TierCost(Base):
    """The default cost of a minute of downtime of the services of a tier (ADR 0025)."""

    __tablename__ = "tier_costs"

    tier: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    cost_per_minute: Mapped[float]
    updated_at: Mapped[datetime]


class Integration(Base):
    """An inbound source bound to one service. Its key is the routing key senders put in URLs or payloads."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # Shared secret for senders that sign their requests (Grafana HMAC, Sentry, …); None: unsigned.
    signing_secret: Mapped[str | None] = mapped_column(EncryptedText())
    # CloudWatch: the SNS topic whose messages this integration takes, configured or recorded from the first
    # verified message; messages of any other topic are refused, so another AWS account's topic cannot use the key.
    sns_topic_arn: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
    # Archived: its key answers as unknown; the alerts it brought in stay.
    archived_at: Mapped[datetime | None]
