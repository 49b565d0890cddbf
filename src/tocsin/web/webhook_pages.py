"""Webhook subscriptions in the console: list, create (the signing secret is shown once, to the admin who made it),
edit, delete, send a test, read the delivery log and redeliver. Forms are validated by the API's schemas and
applied by the same service functions; as in the API, everyone signed in reads and only admins change."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.access import policy as access_policy
from tocsin.api.webhook_schemas import SubscriptionIn, SubscriptionPatch
from tocsin.core.errors import TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, require_user, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, as_form_values, optional, pinned, text, validate, values_of
from tocsin.web.templating import render
from tocsin.webhooks import service as webhooks
from tocsin.webhooks.models import WebhookSubscription

router = APIRouter(include_in_schema=False)
WHAT = "webhook subscriptions"
PAGE = 50
_IN = TypeAdapter(SubscriptionIn)
_PATCH = TypeAdapter(SubscriptionPatch)
# The service's refusals do not start with a field name; these words tell which field they are about.
_FIELD_OF_REFUSAL = (
    ("url", "url"),
    ("event type", "event_types"),
    ("secret", "secret"),
    ("name", "name"),
    ("team", "team_id"),
    ("service", "service_id"),
)


def _event_types(form: FormData) -> list[str]:
    return [t for t in re.split(r"[\s,]+", text(form, "event_types")) if t]


def _data(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name"),
        "url": text(form, "url"),
        "service_id": optional(form, "service_id"),
        "team_id": optional(form, "team_id"),
        "event_types": _event_types(form),
    }


def _choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    return {
        "service_id": [(str(s.id), s.name) for s in services.list_services(session)],
        "team_id": [(str(t.id), t.name) for t in teams.list_teams(session)],
    }


def _form(
    request: Request,
    who: WebUser,
    subscription: WebhookSubscription | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    values.pop("secret", None)  # a secret is not written back into the page
    with runtime_of(request).db.reader() as session:
        choices = _choices(session)
    return render(
        "web/webhook_form.html",
        failed.status if failed else 200,
        who=who,
        section="webhooks",
        subscription=subscription,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        choices=choices,
    )


def _subscription(request: Request, subscription_id: int) -> WebhookSubscription:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return webhooks.get(session, subscription_id)


def _back_to(subscription_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/webhooks/{subscription_id}?{urlencode({'notice': notice})}", status_code=303)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if is_ascii_digits(raw) else None


def _names(session: Session) -> dict[str, dict[str, str]]:
    choices = _choices(session)
    return {"service": dict(choices["service_id"]), "team": dict(choices["team_id"])}


@router.get("/webhooks", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        rows = webhooks.list_all(session)
        names = _names(session)
        viewer = who.viewer(session)
        urls = {r.id: access_policy.shown_webhook_url(viewer, r.owner_user_id, r.url) for r in rows}
    return render(
        "web/webhooks.html",
        who=who,
        section="webhooks",
        rows=rows,
        urls=urls,
        names=names,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/webhooks/new", response_class=HTMLResponse)
def new_page(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _form(request, who, None, {})


@router.post("/webhooks/new")
def create(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        body = validate(_IN, {**_data(form), "secret": optional(form, "secret")})
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
                owner_user_id=who.user.id,
            )
            created = (subscription.id, subscription.name, subscription.secret)
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, None, values_of(form), pinned(exc, _FIELD_OF_REFUSAL))
    # Shown here and nowhere else in the console: the page is not cached, and the log and lists leave it out.
    sub_id, name, secret = created
    return render("web/webhook_created.html", 201, who=who, section="webhooks", id=sub_id, name=name, secret=secret)


@router.get("/webhooks/{subscription_id}", response_class=HTMLResponse)
def detail_page(subscription_id: int, request: Request) -> Response:
    who = require_user(request)
    with shown_as_page(), runtime_of(request).db.reader() as session:
        subscription = webhooks.get(session, subscription_id)
        log = webhooks.deliveries(session, subscription_id, before_id=_before(request), limit=PAGE)
        names = _names(session)
        url = access_policy.shown_webhook_url(who.viewer(session), subscription.owner_user_id, subscription.url)
    return render(
        "web/webhook.html",
        who=who,
        section="webhooks",
        s=subscription,
        url=url,
        log=log,
        older=log[-1].delivery.id if len(log) == PAGE else None,
        names=names,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/webhooks/{subscription_id}/edit", response_class=HTMLResponse)
def edit_page(subscription_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    s = _subscription(request, subscription_id)
    values = as_form_values(
        {
            "name": s.name,
            "url": s.url,
            "service_id": s.service_id,
            "team_id": s.team_id,
            "event_types": " ".join(s.event_types) or None,
            "enabled": s.enabled,
        }
    )
    return _form(request, who, s, values)


@router.post("/webhooks/{subscription_id}/edit")
def update(subscription_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    subscription = _subscription(request, subscription_id)
    try:
        # Every field is on the form, so every field is "sent": an empty service or team clears the scope.
        body = validate(_PATCH, {**_data(form), "enabled": form.get("enabled") is not None})
        with runtime.db.unit_of_work() as session:
            webhooks.update(
                session,
                subscription_id,
                now=runtime.clock.now(),
                name=body.name,
                url=body.url,
                service_id=body.service_id,
                team_id=body.team_id,
                event_types=body.event_types,
                enabled=body.enabled,
            )
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, subscription, values_of(form), pinned(exc, _FIELD_OF_REFUSAL))
    return _back_to(subscription_id, "Subscription saved")


@router.post("/webhooks/{subscription_id}/delete")
def delete(subscription_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        name = webhooks.get(session, subscription_id).name
        webhooks.delete(session, subscription_id)
    return RedirectResponse(f"/webhooks?{urlencode({'notice': f'Subscription {name} deleted'})}", status_code=303)


@router.post("/webhooks/{subscription_id}/test")
def send_test(subscription_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        webhooks.send_test(session, subscription_id, now=runtime.clock.now())
    return _back_to(subscription_id, "Test delivery queued: it shows in the log below once sent")


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver")
def redeliver(subscription_id: int, delivery_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        webhooks.redeliver(session, subscription_id, delivery_id, now=runtime.clock.now())
    return _back_to(subscription_id, f"Delivery {delivery_id} queued again")
