"""Webhook subscription use cases: create, change, delete, send a test, redeliver, read the delivery log. Each takes
a session and never commits."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.db.session import WEBHOOK_WORK, note_new_work
from tocsin.notify.providers.webhook import SECRET_PREFIX, decode_secret
from tocsin.services import repository as service_repo
from tocsin.teams import repository as team_repo
from tocsin.users import repository as user_repo
from tocsin.webhooks import repository as repo
from tocsin.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tocsin.webhooks.rules import TEST_EVENT, check_event_types

_UNSET: Any = object()


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _check_name(name: str) -> str:
    if not name.strip() or len(name) > 100:
        raise InvalidInput("name must be 1 to 100 characters")
    return name.strip()


def _check_url(url: str) -> str:
    value = url.strip()
    if not (value.startswith("https://") or value.startswith("http://")) or len(value) > 2048:
        raise InvalidInput("url must be an absolute http(s) URL of at most 2048 characters")
    return value


def _check_secret(secret: str) -> str:
    try:
        for part in secret.split():
            decode_secret(part)
    except ValueError as exc:
        raise InvalidInput(f"secret: {exc}") from None
    if not secret.split():
        raise InvalidInput("secret must not be empty")
    return " ".join(secret.split())


def _check_types(types: Sequence[str]) -> list[str]:
    try:
        return check_event_types(types)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _check_scope(session: Session, service_id: int | None, team_id: int | None) -> None:
    if service_id is not None and team_id is not None:
        raise InvalidInput("a subscription is scoped to a service or to a team, not both")
    if service_id is not None and service_repo.get(session, service_id) is None:
        raise InvalidInput(f"service {service_id} does not exist")
    if team_id is not None and team_repo.get(session, team_id) is None:
        raise InvalidInput(f"team {team_id} does not exist")


def create(
    session: Session,
    *,
    name: str,
    url: str,
    now: datetime,
    secret: str | None = None,
    service_id: int | None = None,
    team_id: int | None = None,
    event_types: Sequence[str] = (),
    owner_user_id: int | None = None,
) -> WebhookSubscription:
    name = _check_name(name)
    _check_scope(session, service_id, team_id)
    if owner_user_id is not None and user_repo.get(session, owner_user_id) is None:
        raise InvalidInput(f"user {owner_user_id} does not exist")
    return repo.add_subscription(
        session,
        WebhookSubscription(
            name=name,
            url=_check_url(url),
            secret=_check_secret(secret) if secret is not None else new_secret(),
            service_id=service_id,
            team_id=team_id,
            event_types=_check_types(event_types),
            enabled=True,
            disabled_reason=None,
            owner_user_id=owner_user_id,
            created_at=now,
            updated_at=now,
        ),
    )


def get(session: Session, subscription_id: int) -> WebhookSubscription:
    subscription = repo.get_subscription(session, subscription_id)
    if subscription is None:
        raise NotFound(f"webhook subscription {subscription_id} not found")
    return subscription


def list_all(session: Session) -> list[WebhookSubscription]:
    return repo.list_subscriptions(session)


def update(
    session: Session,
    subscription_id: int,
    *,
    now: datetime,
    name: str | None = None,
    url: str | None = None,
    secret: str | None = None,
    service_id: int | None = _UNSET,
    team_id: int | None = _UNSET,
    event_types: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> WebhookSubscription:
    """Change what is given; enabling a disabled subscription clears why it was disabled."""
    subscription = get(session, subscription_id)
    if name is not None:
        subscription.name = _check_name(name)
    if url is not None:
        subscription.url = _check_url(url)
    if secret is not None:
        subscription.secret = _check_secret(secret)
    if service_id is not _UNSET or team_id is not _UNSET:
        new_service = subscription.service_id if service_id is _UNSET else service_id
        new_team = subscription.team_id if team_id is _UNSET else team_id
        _check_scope(session, new_service, new_team)
        subscription.service_id, subscription.team_id = new_service, new_team
    if event_types is not None:
        subscription.event_types = _check_types(event_types)
    if enabled is not None and enabled != subscription.enabled:
        subscription.enabled = enabled
        subscription.disabled_reason = None if enabled else "disabled by hand"
    subscription.updated_at = now
    return subscription


def delete(session: Session, subscription_id: int) -> None:
    repo.delete_subscription(session, get(session, subscription_id))


def body_of(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    """A Standard Webhooks body: type, timestamp, data."""
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data}, separators=(",", ":"), default=str)


def send_test(session: Session, subscription_id: int, *, now: datetime) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery; the engine sends it like any other, with the same retries."""
    subscription = get(session, subscription_id)
    if not subscription.enabled:
        raise Conflict(f"webhook subscription {subscription_id} is disabled; enable it first")
    token = secrets.token_hex(8)
    delivery = repo.add_delivery(
        session,
        WebhookDelivery(
            subscription_id=subscription.id,
            event_id=None,
            incident_id=None,
            event_type=TEST_EVENT,
            message_id=f"test.{subscription.id}.{token}",
            body=body_of(TEST_EVENT, now, {"subscription": {"id": subscription.id, "name": subscription.name}}),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            fence=0,
            created_at=now,
        ),
    )
    note_new_work(session, WEBHOOK_WORK)
    return delivery


def redeliver(session: Session, subscription_id: int, delivery_id: int, *, now: datetime) -> WebhookDelivery:
    """Send a delivery again, with the same webhook-id and body and a fresh retry schedule."""
    subscription = get(session, subscription_id)
    delivery = repo.get_delivery(session, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        raise NotFound(f"delivery {delivery_id} of webhook subscription {subscription_id} not found")
    if not subscription.enabled:
        raise Conflict(f"webhook subscription {subscription_id} is disabled; enable it first")
    if delivery.status == "pending":
        raise Conflict(f"delivery {delivery_id} is still pending")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    note_new_work(session, WEBHOOK_WORK)
    return delivery


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def deliveries(
    session: Session, subscription_id: int, *, before_id: int | None = None, limit: int = 50
) -> list[LoggedDelivery]:
    """The subscription's deliveries, newest first, each with its attempts."""
    get(session, subscription_id)
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    found = repo.deliveries_of(session, subscription_id, before_id=before_id, limit=limit)
    attempts = repo.attempts_of(session, [d.id for d in found])
    return [LoggedDelivery(d, attempts[d.id]) for d in found]
