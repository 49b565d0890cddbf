"""JSON shapes of services and integrations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.schemas import Ref
from tocsin.services.models import IntegrationType

_SIGNING_HELP = (
    "shared secret the sender signs each request with (grafana, sentry); write-only: never returned, see "
    "signing_secret_set"
)
_TOPIC_HELP = (
    "cloudwatch: the only SNS topic whose messages are taken; when unset, the first verified message's topic is kept"
)
ServiceUrgency = Literal["high", "low", "severity_based"]
Duration = int | str


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    team: str | None = Field(default=None, description="team id or name", min_length=1)
    urgency: ServiceUrgency = "high"
    auto_resolve: bool = True
    ack_timeout: Duration | None = Field(default=None, description='re-page an unresolved acknowledgement: "30m"')
    tier: int | None = Field(default=None, ge=1, le=5)
    downtime_cost_per_minute: float | None = Field(
        default=None, ge=0, le=1e9, description="cost of a minute of downtime (ADR 0025); null: the tier's default"
    )


class ServicePatch(BaseModel):
    """Only the fields sent are changed; ``team``, ``ack_timeout`` and ``tier`` are cleared by sending null."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    team: str | None = Field(default=None, description="team id or name", min_length=1)
    urgency: ServiceUrgency | None = None
    auto_resolve: bool | None = None
    ack_timeout: Duration | None = None
    tier: int | None = Field(default=None, ge=1, le=5)
    downtime_cost_per_minute: float | None = Field(default=None, ge=0, le=1e9)


class ServiceOut(BaseModel):
    id: int
    name: str
    description: str
    team: Ref | None
    urgency: str
    auto_resolve: bool
    ack_timeout_seconds: int | None
    tier: int | None
    downtime_cost_per_minute: float | None = None
    escalation_policy_id: int | None
    open_incidents: int
    created_at: datetime
    archived_at: datetime | None = None


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: IntegrationType
    name: str = Field(min_length=1, max_length=200)
    key: str | None = Field(
        default=None, description="explicit routing key (16-64 letters, digits, '-', '_'); generated when absent"
    )
    signing_secret: str | None = Field(default=None, min_length=1, max_length=255, description=_SIGNING_HELP)
    sns_topic_arn: str | None = Field(default=None, min_length=1, max_length=256, description=_TOPIC_HELP)


class IntegrationOut(BaseModel):
    id: int
    service: Ref
    type: str
    name: str
    key: str = Field(description="the routing key; masked unless the caller is an admin")
    key_masked: bool
    url: str = Field(description="the URL to configure in the sender")
    signed: bool = Field(description="whether requests must carry a valid signature")
    signing_secret_set: bool = Field(description="whether a signing secret is set (the secret itself is never shown)")
    sns_topic_arn: str | None = Field(default=None, description="cloudwatch: the SNS topic the integration takes")
    created_at: datetime
    archived_at: datetime | None = None


class IntegrationPatch(BaseModel):
    """Only the fields sent are changed; a new ``key`` replaces the old one at once (rotate a leaked key).

    ``signing_secret`` and ``sns_topic_arn`` are cleared by sending null.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    key: str | None = Field(default=None, description="new routing key (16-64 letters, digits, '-', '_')")
    signing_secret: str | None = Field(default=None, min_length=1, max_length=255, description=_SIGNING_HELP)
    sns_topic_arn: str | None = Field(default=None, min_length=1, max_length=256, description=_TOPIC_HELP)
