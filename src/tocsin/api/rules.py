"""/api/v1/event-rules, /api/v1/inhibit-rules, /api/v1/noise-settings, /api/v1/grouping and /api/v1/route-test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.access import service as access
from tocsin.alerts import routing_service as routing
from tocsin.alerts import simulation
from tocsin.alerts.noise_models import EventRuleRow, InhibitRuleRow
from tocsin.alerts.schemas import NormalizedEvent
from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.core.clock import utc
from tocsin.core.errors import BadRequest
from tocsin.integrations import alertmanager, generic, grafana, pagerduty_v2
from tocsin.services import service as services

router = APIRouter(prefix="/api/v1", tags=["routing"], responses=PROBLEM_RESPONSES)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventRuleIn(_In):
    name: str = Field(min_length=1, max_length=200)
    integration_key: str | None = None
    position: int | None = None
    enabled: bool = True
    matchers: list[dict[str, Any]] = Field(default_factory=list)
    actions: dict[str, Any] = Field(default_factory=dict)


class EventRuleOut(BaseModel):
    id: int
    name: str
    integration_id: int | None
    position: int
    enabled: bool
    matchers: list[dict[str, Any]]
    actions: dict[str, Any]

    @classmethod
    def of(cls, row: EventRuleRow) -> EventRuleOut:
        return cls(
            id=row.id,
            name=row.name,
            integration_id=row.integration_id,
            position=row.position,
            enabled=row.enabled,
            matchers=row.matchers,
            actions=row.actions,
        )


class InhibitRuleIn(_In):
    name: str = Field(min_length=1, max_length=200)
    source: list[dict[str, Any]]
    target: list[dict[str, Any]]
    equal: list[str] = Field(default_factory=list)


class InhibitRuleOut(BaseModel):
    id: int
    name: str
    source: list[dict[str, Any]]
    target: list[dict[str, Any]]
    equal: list[str]

    @classmethod
    def of(cls, row: InhibitRuleRow) -> InhibitRuleOut:
        return cls(id=row.id, name=row.name, source=row.source_matchers, target=row.target_matchers, equal=row.equal)


class NoiseSettingsIn(_In):
    priority_matrix: dict[str, Any] | None = None
    major_incident: dict[str, Any] | None = None
    flapping: dict[str, Any] | None = None


class GroupingIn(_In):
    group_by: list[str] = Field(default_factory=list)
    window_seconds: int = 1800
    by_content: bool = False
    threshold: float = 0.8


class RouteTestIn(_In):
    payload: dict[str, Any]
    integration_key: str | None = None
    at: datetime | None = None


@router.get("/event-rules", response_model=list[EventRuleOut], summary="Event rules, in evaluation order")
def list_event_rules(runtime: RuntimeDep, _: PrincipalDep) -> list[EventRuleOut]:
    with runtime.db.reader() as session:
        return [EventRuleOut.of(r) for r in routing.list_event_rules(session)]


@router.put("/event-rules", response_model=EventRuleOut, summary="Create or replace an event rule by name")
def put_event_rule(body: EventRuleIn, runtime: RuntimeDep, _: AdminDep) -> EventRuleOut:
    with runtime.db.unit_of_work() as session:
        row = routing.put_event_rule(
            session,
            name=body.name,
            matchers=body.matchers,
            actions=body.actions,
            integration_key=body.integration_key,
            position=body.position,
            enabled=body.enabled,
            now=runtime.clock.now(),
        )
        return EventRuleOut.of(row)


@router.delete("/event-rules/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_event_rule(name: str, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        routing.delete_event_rule(session, name, now=runtime.clock.now())


@router.get("/inhibit-rules", response_model=list[InhibitRuleOut])
def list_inhibit_rules(runtime: RuntimeDep, _: PrincipalDep) -> list[InhibitRuleOut]:
    with runtime.db.reader() as session:
        return [InhibitRuleOut.of(r) for r in routing.list_inhibit_rules(session)]


@router.put("/inhibit-rules", response_model=InhibitRuleOut, summary="Create or replace an inhibit rule by name")
def put_inhibit_rule(body: InhibitRuleIn, runtime: RuntimeDep, _: AdminDep) -> InhibitRuleOut:
    with runtime.db.unit_of_work() as session:
        row = routing.put_inhibit_rule(
            session, name=body.name, source=body.source, target=body.target, equal=body.equal, now=runtime.clock.now()
        )
        return InhibitRuleOut.of(row)


@router.delete("/inhibit-rules/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_inhibit_rule(name: str, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        routing.delete_inhibit_rule(session, name, now=runtime.clock.now())


@router.get("/noise-settings", summary="Priority matrix, major-incident criteria and flapping (null: off)")
def get_settings(runtime: RuntimeDep, _: PrincipalDep) -> dict[str, Any]:
    with runtime.db.reader() as session:
        return routing.settings(session)


@router.put("/noise-settings", summary="Replace the priority matrix, major-incident criteria and flapping")
def put_settings(body: NoiseSettingsIn, runtime: RuntimeDep, _: AdminDep) -> dict[str, Any]:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        routing.set_priority_matrix(session, body.priority_matrix, now=now)
        routing.set_major_criteria(session, body.major_incident, now=now)
        routing.set_flapping(session, body.flapping, now=now)
        return routing.settings(session)


@router.put("/services/{ref}/grouping", summary="Group a service's alerts by labels and/or content")
def put_grouping(ref: str, body: GroupingIn, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        access.require_manage(session, principal.viewer(session), [service.team_id], f"service {service.name!r}")
        routing.set_grouping(session, service_id=service.id, spec=body.model_dump(), now=runtime.clock.now())
        return {"service": service.name, **body.model_dump()}


@router.delete("/services/{ref}/grouping", status_code=status.HTTP_204_NO_CONTENT)
def delete_grouping(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> None:
    with runtime.db.unit_of_work() as session:
        service = services.get_service(session, ref)
        access.require_manage(session, principal.viewer(session), [service.team_id], f"service {service.name!r}")
        routing.set_grouping(session, service_id=service.id, spec=None, now=runtime.clock.now())


def parse_payload(kind: str, payload: dict[str, Any], integration_key: str) -> list[NormalizedEvent]:
    """Read a payload in the wire format of an integration type, as its inbound endpoint would."""
    if kind == "pagerduty_v2":
        # The integration was named: a PagerDuty event need not repeat it as its routing key.
        return [pagerduty_v2.parse_event({"routing_key": integration_key, **payload})]
    if kind == "alertmanager":
        return alertmanager.parse(payload)
    if kind == "grafana":
        return grafana.parse(payload)
    if kind == "generic":
        return [generic.parse(payload)]
    raise BadRequest(f"cannot simulate events of integration type {kind!r}")


def simulate_payload(
    session: Any, payload: dict[str, Any], integration_key: str | None, at: datetime
) -> list[dict[str, Any]]:
    key = integration_key or pagerduty_v2.routing_key_of(payload)
    if not key:
        raise BadRequest("give integration_key (or a PagerDuty payload with its routing_key)")
    events = parse_payload(routing.integration_type(session, key), payload, key)
    return [o.to_dict() for o in simulation.simulate(session, integration_key=key, events=events, at=at)]


@router.post("/route-test", summary="What Tocsin would do with this payload; nothing is stored")
def route_test(body: RouteTestIn, runtime: RuntimeDep, _: PrincipalDep) -> dict[str, Any]:
    at = utc(body.at) if body.at else runtime.clock.now()
    with runtime.db.reader() as session:
        return {"at": at.isoformat(), "events": simulate_payload(session, body.payload, body.integration_key, at)}
