"""JSON shapes of webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tocsin.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, description="whsec_<base64>; generated when left out")
    service_id: int | None = Field(default=None, description="only this service's incidents")
    team_id: int | None = Field(default=None, description="only the incidents of this team's services")
    event_types: list[str] = Field(default_factory=list, description="e.g. incident.resolved; empty: every type")
    owner_user_id: int | None = Field(default=None, description="told when the subscription is disabled")


class SubscriptionPatch(BaseModel):
    """Only the fields sent are changed; ``service_id`` and ``team_id`` are cleared by sending null."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    secret: str | None = None
    service_id: int | None = None
    team_id: int | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None


class SubscriptionOut(BaseModel):
    id: int
    name: str
    url: str
    secret: str | None = Field(description="shown to admins only")
    service_id: int | None
    team_id: int | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    owner_user_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: WebhookSubscription, *, show_secret: bool) -> SubscriptionOut:
        return cls(
            id=s.id,
            name=s.name,
            url=s.url,
            secret=s.secret if show_secret else None,
            service_id=s.service_id,
            team_id=s.team_id,
            event_types=list(s.event_types),
            enabled=s.enabled,
            disabled_reason=s.disabled_reason,
            owner_user_id=s.owner_user_id,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    at: datetime
    outcome: str
    status_code: int | None
    request_excerpt: str
    response_excerpt: str
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: int | None
    incident_id: int | None
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptOut]

    @classmethod
    def of(cls, d: WebhookDelivery, log: list[WebhookAttempt]) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            incident_id=d.incident_id,
            event_type=d.event_type,
            webhook_id=d.message_id,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            log=[AttemptOut.model_validate(a) for a in log],
        )
