"""The send cycle of webhook deliveries, for the engine: claim, prepare (fence checked), record the answer.

A delivery is prepared in a transaction that checks the claim's fence, sent outside any transaction, and its
outcome recorded only if the fence is still the claimer's. A worker that dies between the send and the record
leaves the row leased; the next claimer sends it again with the same webhook-id, which receivers deduplicate on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from tocsin.db.claims import Claim
from tocsin.notify import notices
from tocsin.notify.providers.webhook import WebhookAnswer
from tocsin.webhooks import repository as repo
from tocsin.webhooks.models import WebhookAttempt
from tocsin.webhooks.rules import excerpt, retry_delay


class Poster(Protocol):
    def post_signed(self, address: str, msg_id: str, secrets: str | None, body: bytes) -> WebhookAnswer: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    claim: Claim
    url: str
    secret: str
    message_id: str
    body: str


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim(session, now=now, owner=owner, limit=limit, lease_until=now + lease)


def prepare(session: Session, c: Claim, *, now: datetime, lease: timedelta) -> Prepared | None:
    """What to send for a claim, or None when it is no longer ours or its subscription no longer takes it.

    The lease starts again here: a batch's sends go one after another, and the last of them must not find its
    lease spent by the slow receivers before it."""
    delivery = repo.lock_claimed(session, c)
    if delivery is None or delivery.status != "pending":
        return None
    delivery.lease_until = now + lease
    subscription = repo.get_subscription(session, delivery.subscription_id)
    if subscription is None or not subscription.enabled:
        delivery.status = "dropped"
        delivery.next_attempt_at = None
        delivery.last_error = "subscription disabled"
        return None
    return Prepared(c, subscription.url, subscription.secret, delivery.message_id, delivery.body)


def record(session: Session, prepared: Prepared, answer: WebhookAnswer, *, now: datetime) -> str:
    """Store an attempt's outcome; returns the delivery's status ('stale' when another worker holds it now)."""
    delivery = repo.lock_claimed(session, prepared.claim)
    if delivery is None:
        return "stale"
    result = answer.result
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.lease_owner = None
    delivery.lease_until = None
    outcome = "delivered" if result.outcome == "delivered" else "retry"
    if result.outcome == "delivered":
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        delay = retry_delay(delivery.attempts)
        if delay is not None:
            delivery.next_attempt_at = now + delay
        else:
            outcome = "failed"
            delivery.status = "failed"
            delivery.next_attempt_at = None
            _disable(session, delivery.subscription_id, delivery.attempts, result.error, now=now)
    repo.add_attempt(
        session,
        WebhookAttempt(
            delivery_id=delivery.id,
            at=now,
            attempt=delivery.attempts,
            outcome=outcome,
            status_code=result.status_code,
            request_excerpt=excerpt(prepared.body),
            response_excerpt=excerpt(answer.response_excerpt),
            error=excerpt(result.error) if result.error else None,
        ),
    )
    return delivery.status


def _disable(session: Session, subscription_id: int, attempts: int, error: str | None, *, now: datetime) -> None:
    """Retries spent: stop sending to this URL, and tell the owner (through their own contact methods)."""
    subscription = repo.get_subscription(session, subscription_id)
    if subscription is None or not subscription.enabled:
        return
    reason = f"disabled after {attempts} failed attempts over about a day" + (f"; last: {error}" if error else "")
    subscription.enabled = False
    subscription.disabled_reason = excerpt(reason, 1000)
    subscription.updated_at = now
    repo.drop_pending(session, subscription.id, "subscription disabled")
    if subscription.owner_user_id is not None:
        notices.notify_user(
            session,
            user_id=subscription.owner_user_id,
            key=f"webhook-disabled:{subscription.id}:{int(now.timestamp())}",
            text=f"Webhook subscription '{subscription.name}' ({subscription.url}) was {reason}. "
            "Fix the receiver, then enable it again.",
            now=now,
        )


def next_due(session: Session) -> datetime | None:
    return repo.next_due(session)


def recover_worker(session: Session, owner: str) -> int:
    return repo.release_claims_of(session, owner)


def prune(session: Session, *, before: datetime, limit: int) -> int:
    return repo.prune_settled(session, before=before, limit=limit)
