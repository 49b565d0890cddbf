"""Services and integrations for admins: create and edit a service, add, rename, archive, restore and remove
integrations, rotate a key, set or clear a signing secret. Forms are validated by the API's schemas and applied by
the same service functions the API calls."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.api.oncall import ServicePolicyIn, seconds
from tocsin.api.service_schemas import IntegrationIn, ServiceIn, ServicePatch, ServiceUrgency
from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.core.ids import new_integration_key
from tocsin.escalation import service as escalation
from tocsin.services import service as services
from tocsin.services.models import SECRET_SIGNED_TYPES, Integration, IntegrationType, Service
from tocsin.teams import service as teams
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, as_form_values, invalid, optional, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "services and their integrations"
SERVICE_FIELDS = (
    "name",
    "description",
    "team",
    "urgency",
    "auto_resolve",
    "ack_timeout",
    "tier",
    "downtime_cost_per_minute",
)
_SERVICE_IN = TypeAdapter(ServiceIn)
_SERVICE_PATCH = TypeAdapter(ServicePatch)
_POLICY_IN = TypeAdapter(ServicePolicyIn)
_INTEGRATION_IN = TypeAdapter(IntegrationIn)


def _ack_timeout(value: int | str | None) -> int | None:
    if value is None:
        return None
    try:
        return seconds(value)
    except InvalidInput as exc:
        raise InvalidInput(f"ack_timeout: {exc.detail}") from None


def _service_data(form: FormData) -> dict[str, Any]:
    """The form as the API's JSON body: empty optional fields are left out or cleared, the checkbox is a bool."""
    return {
        "name": text(form, "name"),
        "description": text(form, "description"),
        "team": optional(form, "team"),
        "urgency": text(form, "urgency") or "high",
        "auto_resolve": form.get("auto_resolve") is not None,
        "ack_timeout": optional(form, "ack_timeout"),
        "tier": optional(form, "tier"),
        "downtime_cost_per_minute": optional(form, "downtime_cost_per_minute"),
    }


def _choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    return {
        "team": [(str(t.id), t.name) for t in teams.list_teams(session)],
        "escalation_policy": [(str(p.id), p.name) for p in escalation.list_policies(session)],
        "urgency": [(u, u.replace("_", " ")) for u in get_args(ServiceUrgency)],
        "tier": [(str(n), f"tier {n}") for n in range(1, 6)],
        "type": [(t, t) for t in get_args(IntegrationType)],
    }


def _service_form(
    request: Request, who: WebUser, service: Service | None, values: dict[str, Any], failed: FormInvalid | None = None
) -> Response:
    with runtime_of(request).db.reader() as session:
        choices = _choices(session)
    return render(
        "web/service_form.html",
        failed.status if failed else 200,
        who=who,
        section="services",
        service=service,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        choices=choices,
    )


def _stored_values(service: Service) -> dict[str, Any]:
    return as_form_values(
        {
            "name": service.name,
            "description": service.description,
            "team": service.team_id,
            "urgency": service.urgency,
            "auto_resolve": service.auto_resolve,
            "ack_timeout": service.ack_timeout_seconds,
            "tier": service.tier,
            "downtime_cost_per_minute": service.downtime_cost_per_minute,
            "escalation_policy": service.escalation_policy_id,
        }
    )


def _set_policy(session: Session, service: Service, form: FormData) -> None:
    # Validated and applied as PUT /api/v1/services/{ref}/escalation-policy does.
    ref = validate(_POLICY_IN, {"escalation_policy": optional(form, "escalation_policy")}).escalation_policy
    policy = escalation.get_policy(session, ref) if ref else None
    service.escalation_policy_id = policy.id if policy else None


def _team_id(session: Session, ref: str | None) -> int | None:
    return teams.get_team(session, ref).id if ref is not None else None


def _back_to(service_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/services/{service_id}?{urlencode({'notice': notice})}", status_code=303)


@router.get("/services/new", response_class=HTMLResponse)
def new_service(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _service_form(request, who, None, {"urgency": "high", "auto_resolve": "on"})


@router.post("/services/new")
def create_service(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        body = validate(_SERVICE_IN, _service_data(form))
        with runtime.db.unit_of_work() as session:
            service = services.create_service(
                session,
                name=body.name,
                now=runtime.clock.now(),
                description=body.description,
                team_id=_team_id(session, body.team),
                urgency=body.urgency,
                auto_resolve=body.auto_resolve,
                ack_timeout_seconds=_ack_timeout(body.ack_timeout),
                tier=body.tier,
                downtime_cost_per_minute=body.downtime_cost_per_minute,
            )
            _set_policy(session, service, form)
            service_id = service.id
    except (TocsinError, FormInvalid) as exc:
        return _service_form(request, who, None, values_of(form), invalid(exc, SERVICE_FIELDS))
    return _back_to(service_id, "Service created")


def _service(request: Request, service_id: int) -> Service:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return services.get_service(session, service_id)


@router.get("/services/{service_id}/edit", response_class=HTMLResponse)
def edit_service(service_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    service = _service(request, service_id)
    return _service_form(request, who, service, _stored_values(service))


@router.post("/services/{service_id}/edit")
def update_service(service_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    service = _service(request, service_id)
    try:
        # Every field is on the form, so every field is "sent": an empty team, timeout or tier clears it.
        body = validate(_SERVICE_PATCH, _service_data(form))
        with runtime.db.unit_of_work() as session:
            stored = services.get_service(session, service_id)
            services.update_service(
                session,
                stored,
                name=body.name,
                description=body.description,
                team_id=_team_id(session, body.team),
                urgency=body.urgency,
                auto_resolve=body.auto_resolve,
                ack_timeout_seconds=_ack_timeout(body.ack_timeout),
                tier=body.tier,
                downtime_cost_per_minute=body.downtime_cost_per_minute,
            )
            _set_policy(session, stored, form)
    except (TocsinError, FormInvalid) as exc:
        return _service_form(request, who, service, values_of(form), invalid(exc, SERVICE_FIELDS))
    return _back_to(service_id, "Service saved")


# --- integrations ------------------------------------------------------------------------------------------------


def _integration(request: Request, service_id: int, integration_id: int) -> tuple[Service, Integration]:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        service = services.get_service(session, service_id)
        integration = services.get_integration(session, integration_id)
        if integration.service_id != service.id:
            raise NotFound(f"integration {integration_id} not found in service {service.name!r}")
    return service, integration


def _integration_form(
    request: Request,
    who: WebUser,
    service: Service,
    integration: Integration | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    return render(
        "web/integration_form.html",
        failed.status if failed else 200,
        who=who,
        section="services",
        service=service,
        integration=integration,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        types=[(t, t) for t in get_args(IntegrationType)],
        signed_types=SECRET_SIGNED_TYPES,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/services/{service_id}/integrations/new", response_class=HTMLResponse)
def new_integration(service_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _integration_form(request, who, _service(request, service_id), None, {})


@router.post("/services/{service_id}/integrations/new")
def create_integration(service_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    service = _service(request, service_id)
    data = {
        "type": text(form, "type"),
        "name": text(form, "name"),
        "key": optional(form, "key"),
        "signing_secret": optional(form, "signing_secret"),
    }
    try:
        body = validate(_INTEGRATION_IN, data)
        with runtime.db.unit_of_work() as session:
            services.add_integration(
                session,
                services.get_service(session, service_id),
                name=body.name,
                type=body.type,
                key=body.key,
                signing_secret=body.signing_secret,
                now=runtime.clock.now(),
            )
    except (TocsinError, FormInvalid) as exc:
        values = values_of(form)
        values.pop("signing_secret", None)  # a secret is not written back into the page
        return _integration_form(request, who, service, None, values, invalid(exc, tuple(data)))
    return _back_to(service_id, f"Integration {data['name']} added")


@router.get("/services/{service_id}/integrations/{integration_id}/edit", response_class=HTMLResponse)
def edit_integration(service_id: int, integration_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    service, integration = _integration(request, service_id, integration_id)
    return _integration_form(request, who, service, integration, {"name": integration.name})


@router.post("/services/{service_id}/integrations/{integration_id}/edit")
def rename_integration(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    service, integration = _integration(request, service_id, integration_id)
    try:
        with runtime_of(request).db.unit_of_work() as session:
            stored = services.get_integration(session, integration_id)
            services.update_integration(session, stored, name=text(form, "name"))
    except TocsinError as exc:
        return _integration_form(request, who, service, integration, values_of(form), invalid(exc, ("name",)))
    return _back_to(service_id, "Integration renamed")


@router.post("/services/{service_id}/integrations/{integration_id}/rotate-key")
def rotate_key(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    _integration(request, service_id, integration_id)
    with runtime_of(request).db.unit_of_work() as session:
        services.update_integration(
            session, services.get_integration(session, integration_id), key=new_integration_key()
        )
    return _back_to(service_id, "New key made: the old key and the URLs that carry it no longer work")


@router.post("/services/{service_id}/integrations/{integration_id}/signing-secret")
def set_signing_secret(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    """A new secret (the sender must sign with it from now on), or none with ``clear``: unsigned requests pass."""
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    service, integration = _integration(request, service_id, integration_id)
    secret = None if form.get("clear") else optional(form, "signing_secret")
    if secret is None and not form.get("clear"):
        failed = invalid(InvalidInput("type the new secret, or clear it"), ("signing_secret",))
        return _integration_form(request, who, service, integration, {"name": integration.name}, failed)
    try:
        with runtime_of(request).db.unit_of_work() as session:
            stored = services.get_integration(session, integration_id)
            services.update_integration(session, stored, signing_secret=secret)
    except TocsinError as exc:
        # The typed secret is not written back into the page.
        failed = invalid(exc, ("signing_secret",))
        return _integration_form(request, who, service, integration, {"name": integration.name}, failed)
    return _back_to(service_id, "Signing secret cleared" if secret is None else "Signing secret set")


@router.post("/services/{service_id}/integrations/{integration_id}/remove")
def remove_integration(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    _, integration = _integration(request, service_id, integration_id)
    with runtime_of(request).db.unit_of_work() as session:
        services.delete_integration(session, services.get_integration(session, integration_id))
    return _back_to(service_id, f"Integration {integration.name} removed")


@router.post("/services/{service_id}/integrations/{integration_id}/archive")
def archive_integration(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    """As POST /api/v1/integrations/{id}/archive: its key stops taking events, the alerts it brought in stay."""
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    _, integration = _integration(request, service_id, integration_id)
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        services.archive_integration(
            session, services.get_integration(session, integration_id), now=runtime.clock.now()
        )
    return _back_to(service_id, f"Integration {integration.name} archived: its key no longer takes events")


@router.post("/services/{service_id}/integrations/{integration_id}/unarchive")
def unarchive_integration(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    _, integration = _integration(request, service_id, integration_id)
    with runtime_of(request).db.unit_of_work() as session:
        services.unarchive_integration(session, services.get_integration(session, integration_id))
    return _back_to(service_id, f"Integration {integration.name} restored")
