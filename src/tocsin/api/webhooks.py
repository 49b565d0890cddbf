"""/api/v1/webhook-subscriptions: outbound webhooks of incident events, their delivery log, tests and
redeliveries. Reading is open to every principal (secrets to admins only); changes are for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from tocsin.access import policy as access_policy
from tocsin.access.policy import Viewer
from tocsin.api.deps import AdminDep, PrincipalDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.webhook_schemas import DeliveryOut, SubscriptionIn, SubscriptionOut, SubscriptionPatch
from tocsin.webhooks import service as webhooks
from tocsin.webhooks.models import WebhookSubscription

router = APIRouter(prefix="/api/v1/webhook-subscriptions", tags=["webhooks"], responses=PROBLEM_RESPONSES)


def _shown(viewer: Viewer, subscription: WebhookSubscription) -> SubscriptionOut:
    out = SubscriptionOut.of(subscription, show_secret=viewer.is_admin)
    out.url = access_policy.shown_webhook_url(viewer, subscription.owner_user_id, subscription.url)
    return out


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(runtime: RuntimeDep, principal: PrincipalDep) -> list[SubscriptionOut]:
    with runtime.db.reader() as session:
        viewer = principal.viewer(session)
        return [_shown(viewer, s) for s in webhooks.list_all(session)]


@router.post("", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
def create_subscription(body: SubscriptionIn, runtime: RuntimeDep, principal: AdminDep) -> SubscriptionOut:
    with runtime.db.unit_of_work() as session:
        subscription = webhooks.create(
            session,
            name=body.name,
            url=body.url,
            now=runtime.clock.now(),
            secret=body.secret,
            service_id=body.service_id,
            team_id=body.team_id,
            event_types=body.event_types,
            owner_user_id=body.owner_user_id if body.owner_user_id is not None else principal.user.id,
        )
        return SubscriptionOut.of(subscription, show_secret=True)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> SubscriptionOut:
    with runtime.db.reader() as session:
        return _shown(principal.viewer(session), webhooks.get(session, subscription_id))


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
def patch_subscription(
    subscription_id: int, body: SubscriptionPatch, runtime: RuntimeDep, _: AdminDep
) -> SubscriptionOut:
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        "name": body.name,
        "url": body.url,
        "secret": body.secret,
        "event_types": body.event_types,
        "enabled": body.enabled,
    }
    if "service_id" in sent:
        changes["service_id"] = body.service_id
    if "team_id" in sent:
        changes["team_id"] = body.team_id
    with runtime.db.unit_of_work() as session:
        subscription = webhooks.update(session, subscription_id, now=runtime.clock.now(), **changes)
        return SubscriptionOut.of(subscription, show_secret=True)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(subscription_id: int, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        webhooks.delete(session, subscription_id)


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryOut], summary="The delivery log, newest first")
def list_deliveries(
    subscription_id: int,
    runtime: RuntimeDep,
    _: PrincipalDep,
    before: int | None = Query(default=None, description="only deliveries with a smaller id (next page)"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[DeliveryOut]:
    with runtime.db.reader() as session:
        found = webhooks.deliveries(session, subscription_id, before_id=before, limit=limit)
        return [DeliveryOut.of(d.delivery, d.attempts) for d in found]


@router.post(
    "/{subscription_id}/test",
    response_model=DeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a webhook.test delivery",
)
def send_test(subscription_id: int, runtime: RuntimeDep, _: AdminDep) -> DeliveryOut:
    with runtime.db.unit_of_work() as session:
        return DeliveryOut.of(webhooks.send_test(session, subscription_id, now=runtime.clock.now()), [])


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again, with the same webhook-id",
)
def redeliver(subscription_id: int, delivery_id: int, runtime: RuntimeDep, _: AdminDep) -> DeliveryOut:
    with runtime.db.unit_of_work() as session:
        delivery = webhooks.redeliver(session, subscription_id, delivery_id, now=runtime.clock.now())
        return DeliveryOut.of(delivery, [])
