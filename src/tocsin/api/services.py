"""/api/v1/services and /api/v1/integrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.admin import service as admin
from tocsin.api.deps import Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.oncall import seconds
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.schemas import Ref
from tocsin.api.scope import require_sees, sees
from tocsin.api.service_schemas import (
    IntegrationIn,
    IntegrationOut,
    IntegrationPatch,
    ServiceIn,
    ServiceOut,
    ServicePatch,
)
from tocsin.core.errors import InvalidInput
from tocsin.incidents import service as incidents
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.services.models import Integration, Service
from tocsin.teams import service as teams

router = APIRouter(prefix="/api/v1", tags=["services"], responses=PROBLEM_RESPONSES)

_VISIBLE_KEY_CHARS = 4


def _team_names(session: Session) -> dict[int, str]:
    return {t.id: t.name for t in teams.list_teams(session)}


def _service_out(service: Service, open_counts: dict[int, int], team_names: dict[int, str]) -> ServiceOut:
    team_id = service.team_id
    return ServiceOut(
        id=service.id,
        name=service.name,
        description=service.description,
        team=Ref(id=team_id, name=team_names.get(team_id, "")) if team_id is not None else None,
        urgency=service.urgency,
        auto_resolve=service.auto_resolve,
        ack_timeout_seconds=service.ack_timeout_seconds,
        tier=service.tier,
        downtime_cost_per_minute=service.downtime_cost_per_minute,
        escalation_policy_id=service.escalation_policy_id,
        open_incidents=open_counts.get(service.id, 0),
        created_at=service.created_at,
        archived_at=service.archived_at,
    )


def mask(key: str) -> str:
    return key[:_VISIBLE_KEY_CHARS] + "*" * max(len(key) - _VISIBLE_KEY_CHARS, 0)


def _integration_out(runtime: Runtime, viewer: Viewer, integration: Integration, service: Service) -> IntegrationOut:
    url = services.integration_url(runtime.settings.base_url, integration)
    key = integration.key
    full = access_policy.can_read_integration_key(viewer, service.team_id)
    if not full:
        # The key is a credential: anyone holding it can open incidents, and most URLs embed it.
        url = url.replace(key, mask(key))
        key = mask(key)
    return IntegrationOut(
        id=integration.id,
        service=Ref(id=integration.service_id, name=service.name),
        type=integration.type,
        name=integration.name,
        key=key,
        key_masked=not full,
        url=url,
        signed=bool(integration.signing_secret) or integration.type == "cloudwatch",
        signing_secret_set=bool(integration.signing_secret),
        sns_topic_arn=integration.sns_topic_arn,
        created_at=integration.created_at,
        archived_at=integration.archived_at,
    )


def _ack_timeout(value: int | str | None) -> int | None:
    if value is None:
        return None
    try:
        return seconds(value)
    except InvalidInput as exc:
        raise InvalidInput(f"ack_timeout: {exc.detail}") from None


def _team_id(session: Session, ref: str | None) -> int | None:
    return teams.get_team(session, ref).id if ref is not None else None


def _require_manage(session: Session, principal: Principal, service: Service) -> None:
    access.require_manage(session, principal.viewer(session), [service.team_id], f"service {service.name!r}")


@router.get("/services", response_model=list[ServiceOut], summary="Services, with their open incident counts")
def list_services(runtime: RuntimeDep, principal: PrincipalDep, include_archived: bool = False) -> list[ServiceOut]:
    with runtime.db.reader() as session:
        counts, names = incidents.open_counts_by_service(session, principal.viewer(session)), _team_names(session)
        found = services.list_services(session, include_archived=include_archived)
        return [_service_out(s, counts, names) for s in found if sees(session, principal, runtime, s.team_id)]


@router.post("/services", response_model=ServiceOut, status_code=status.HTTP_201_CREATED)
def create_service(body: ServiceIn, runtime: RuntimeDep, principal: ResponderDep) -> ServiceOut:
    with runtime.db.unit_of_work() as session:
        team_id = _team_id(session, body.team)
        access.require_manage(session, principal.viewer(session), [team_id], "the services of a team")
        service = services.create_service(
            session,
            name=body.name,
            now=runtime.clock.now(),
            description=body.description,
            team_id=team_id,
            urgency=body.urgency,
            auto_resolve=body.auto_resolve,
            ack_timeout_seconds=_ack_timeout(body.ack_timeout),
            tier=body.tier,
            downtime_cost_per_minute=body.downtime_cost_per_minute,
        )
        return _service_out(service, {}, _team_names(session))


@router.get("/services/{ref}", response_model=ServiceOut, summary="One service, by id or name")
def get_service(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> ServiceOut:
    with runtime.db.reader() as session:
        service = services.get_service(session, ref)
        require_sees(session, principal, runtime, service.team_id, f"service {ref}")
        return _service_out(
            service, incidents.open_counts_by_service(session, principal.viewer(session)), _team_names(session)
        )


@router.patch("/services/{ref}", response_model=ServiceOut)
def patch_service(ref: str, body: ServicePatch, runtime: RuntimeDep, principal: ResponderDep) -> ServiceOut:
    sent = body.model_fields_set
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        _require_manage(session, principal, service)
        changes: dict[str, Any] = {
            "name": body.name,
            "description": body.description,
            "urgency": body.urgency,
            "auto_resolve": body.auto_resolve,
        }
        if "team" in sent:
            changes["team_id"] = _team_id(session, body.team)
            # Handing a service to another team takes managing both (or being an admin).
            access.require_manage(session, principal.viewer(session), [changes["team_id"]], "the services of a team")
        if "ack_timeout" in sent:
            changes["ack_timeout_seconds"] = _ack_timeout(body.ack_timeout)
        if "tier" in sent:
            changes["tier"] = body.tier
        if "downtime_cost_per_minute" in sent:
            changes["downtime_cost_per_minute"] = body.downtime_cost_per_minute
        services.update_service(session, service, **changes)
        session.flush()
        return _service_out(
            service, incidents.open_counts_by_service(session, principal.viewer(session)), _team_names(session)
        )


@router.delete(
    "/services/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a service nothing refers to (409 when it has incidents or alerts: archive it instead)",
)
def delete_service(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        _require_manage(session, principal, service)
        services.delete_service(session, service)


@router.get("/services/{ref}/integrations", response_model=list[IntegrationOut], tags=["integrations"])
def list_integrations(
    ref: str, runtime: RuntimeDep, principal: PrincipalDep, include_archived: bool = False
) -> list[IntegrationOut]:
    with runtime.db.reader() as session:
        service = services.get_service(session, ref)
        require_sees(session, principal, runtime, service.team_id, f"service {ref}")
        viewer = principal.viewer(session)
        return [
            _integration_out(runtime, viewer, i, service)
            for i in services.list_integrations(session, service.id, include_archived=include_archived)
        ]


@router.post(
    "/services/{ref}/integrations",
    response_model=IntegrationOut,
    status_code=status.HTTP_201_CREATED,
    tags=["integrations"],
)
def create_integration(ref: str, body: IntegrationIn, runtime: RuntimeDep, principal: ResponderDep) -> IntegrationOut:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        _require_manage(session, principal, service)
        integration = services.add_integration(
            session,
            service,
            name=body.name,
            type=body.type,
            key=body.key,
            signing_secret=body.signing_secret,
            sns_topic_arn=body.sns_topic_arn,
            now=runtime.clock.now(),
        )
        return _integration_out(runtime, principal.viewer(session), integration, service)


@router.get("/integrations/{integration_id}", response_model=IntegrationOut, tags=["integrations"])
def get_integration(integration_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> IntegrationOut:
    with runtime.db.reader() as session:
        integration = services.get_integration(session, integration_id)
        service = services.get_service(session, integration.service_id)
        return _integration_out(runtime, principal.viewer(session), integration, service)


@router.patch("/integrations/{integration_id}", response_model=IntegrationOut, tags=["integrations"])
def patch_integration(
    integration_id: int, body: IntegrationPatch, runtime: RuntimeDep, principal: ResponderDep
) -> IntegrationOut:
    with runtime.db.unit_of_work() as session:
        integration = services.get_integration(session, integration_id)
        service = services.get_service(session, integration.service_id)
        _require_manage(session, principal, service)
        # Sent as null, a secret or topic is cleared; left out, it stays.
        cleared = {f: getattr(body, f) for f in ("signing_secret", "sns_topic_arn") if f in body.model_fields_set}
        services.update_integration(session, integration, name=body.name, key=body.key, **cleared)
        return _integration_out(runtime, principal.viewer(session), integration, service)


@router.post("/integrations/{integration_id}/archive", response_model=IntegrationOut, tags=["integrations"])
def archive_integration(integration_id: int, runtime: RuntimeDep, principal: ResponderDep) -> IntegrationOut:
    with runtime.db.unit_of_work() as session:
        integration = services.get_integration(session, integration_id)
        service = services.get_service(session, integration.service_id)
        _require_manage(session, principal, service)
        services.archive_integration(session, integration, now=runtime.clock.now())
        return _integration_out(runtime, principal.viewer(session), integration, service)


@router.post("/integrations/{integration_id}/unarchive", response_model=IntegrationOut, tags=["integrations"])
def unarchive_integration(integration_id: int, runtime: RuntimeDep, principal: ResponderDep) -> IntegrationOut:
    with runtime.db.unit_of_work() as session:
        integration = services.get_integration(session, integration_id)
        service = services.get_service(session, integration.service_id)
        _require_manage(session, principal, service)
        services.unarchive_integration(session, integration)
        return _integration_out(runtime, principal.viewer(session), integration, service)


@router.post("/services/{ref}/archive", response_model=ServiceOut, summary="Archive (409 while incidents are open)")
def archive_service(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> ServiceOut:
    with runtime.db.unit_of_work() as session:
        found = services.get_service(session, ref)
        _require_manage(session, principal, found)
        service = admin.archive_service(session, found, now=runtime.clock.now())
        return _service_out(
            service, incidents.open_counts_by_service(session, principal.viewer(session)), _team_names(session)
        )


@router.post("/services/{ref}/unarchive", response_model=ServiceOut)
def unarchive_service(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> ServiceOut:
    with runtime.db.unit_of_work() as session:
        found = services.get_service(session, ref)
        _require_manage(session, principal, found)
        service = admin.unarchive_service(session, found, now=runtime.clock.now())
        return _service_out(
            service, incidents.open_counts_by_service(session, principal.viewer(session)), _team_names(session)
        )


@router.delete(
    "/integrations/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["integrations"],
    summary="Delete an integration that brought in no alert (409 otherwise: archive it instead)",
)
def delete_integration(integration_id: int, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        integration = services.get_integration(session, integration_id)
        _require_manage(session, principal, services.get_service(session, integration.service_id))
        services.delete_integration(session, integration)
