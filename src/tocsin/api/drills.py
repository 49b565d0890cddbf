"""/api/v1/drill-scenarios, /api/v1/drills (start, end, report) and /api/v1/tier-costs (ADR 0025)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, Principal, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.schemas import IncidentOut
from tocsin.api.scope import require_act_on_incident, require_act_on_service, sees, visible_service_ids
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.drills import service as drills
from tocsin.drills.models import DrillRun, DrillScenario
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.response import impact
from tocsin.runtime import Runtime
from tocsin.services import service as services

router = APIRouter(prefix="/api/v1", tags=["drills"], responses=PROBLEM_RESPONSES)


class ScenarioOut(BaseModel):
    id: int
    name: str
    service_id: int
    service: str
    payload: dict[str, Any] | None
    incident_type: str | None
    description: str

    @classmethod
    def of(cls, row: DrillScenario, service_names: dict[int, str]) -> ScenarioOut:
        return cls(
            id=row.id,
            name=row.name,
            service_id=row.service_id,
            service=service_names.get(row.service_id, ""),
            payload=row.payload,
            incident_type=row.incident_type,
            description=row.description,
        )


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200, description="service id or name")
    payload: dict[str, Any] | None = Field(
        default=None, description="a generic event's fields (summary, severity, source, labels, details …)"
    )
    incident_type: str | None = Field(default=None, max_length=100, description="an incident type, by name")
    description: str = Field(default="", max_length=2000)


class DrillOut(BaseModel):
    id: int
    scenario: str
    incident_id: int | None
    incident_number: int | None
    started_at: datetime
    ended_at: datetime | None
    report: dict[str, Any] | None


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, max_length=200, description="scenario name or id")


class TierCostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost_per_minute: float | None = Field(
        ge=0, le=services.MAX_COST_PER_MINUTE, description="default cost of a minute of downtime; null clears it"
    )


class TierCostsOut(BaseModel):
    currency: str
    tiers: dict[str, float]


def _drill_out(session: Session, run: DrillRun) -> DrillOut:
    number = incidents.get(session, run.incident_id).number if run.incident_id is not None else None
    return DrillOut(
        id=run.id,
        scenario=run.scenario_name,
        incident_id=run.incident_id,
        incident_number=number,
        started_at=run.started_at,
        ended_at=run.ended_at,
        report=run.report,
    )


def _sees_run(session: Session, principal: Principal, runtime: Runtime, run: DrillRun) -> bool:
    if run.incident_id is None:
        return principal.is_admin
    service = services.get_service(session, incidents.get(session, run.incident_id).service_id)
    return sees(session, principal, runtime, service.team_id)


def with_cost(session: Session, runtime: Runtime, incident: Incident, out: IncidentOut) -> IncidentOut:
    """One incident's representation with the cost of its downtime (running, or kept once impact ended)."""
    cost = impact.cost_of(session, incident, now=runtime.clock.now())
    if cost is None:
        return out
    return out.model_copy(
        update={
            "downtime_cost": cost.amount,
            "downtime_cost_final": cost.final,
            "currency": runtime.settings.downtime_currency,
        }
    )


@router.get("/drill-scenarios", response_model=list[ScenarioOut], summary="The drill scenarios")
def list_scenarios(runtime: RuntimeDep, _: PrincipalDep) -> list[ScenarioOut]:
    with runtime.db.reader() as session:
        rows = drills.scenarios(session)
        names = services.names_of(session, [r.service_id for r in rows])
        return [ScenarioOut.of(r, names) for r in rows]


@router.put("/drill-scenarios/{name}", response_model=ScenarioOut, summary="Create or change a drill scenario")
def put_scenario(name: str, body: ScenarioIn, runtime: RuntimeDep, _: AdminDep) -> ScenarioOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        found = drills.find_scenario(session, name)
        if found is None:
            saved = drills.create_scenario(
                session,
                drills.ScenarioSpec(
                    name=name,
                    service=body.service,
                    payload=body.payload,
                    incident_type=body.incident_type,
                    description=body.description,
                ),
                now=now,
            )
        else:
            saved = drills.update_scenario(
                session,
                found.id,
                now=now,
                service=body.service,
                payload=body.payload,
                incident_type=body.incident_type,
                description=body.description,
            )
        return ScenarioOut.of(saved, services.names_of(session, [saved.service_id]))


@router.delete("/drill-scenarios/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_scenario(name: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        drills.delete_scenario(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/drills", response_model=list[DrillOut], summary="Drills, newest first")
def list_drills(runtime: RuntimeDep, principal: PrincipalDep) -> list[DrillOut]:
    with runtime.db.reader() as session:
        visible = visible_service_ids(session, principal, runtime)
        out = []
        for run in drills.runs(session):
            if visible is not None and not _sees_run(session, principal, runtime, run):
                continue
            out.append(_drill_out(session, run))
        return out


@router.post(
    "/drills",
    response_model=DrillOut,
    status_code=status.HTTP_201_CREATED,
    summary="Start a drill: the scenario's event goes through the real path and pages, marked DRILL",
)
def start_drill(body: StartIn, runtime: RuntimeDep, principal: ResponderDep) -> DrillOut:
    with runtime.db.unit_of_work() as session:
        try:
            scenario = drills.get_scenario(session, body.scenario)
        except NotFound:
            raise InvalidInput(f"no drill scenario {body.scenario!r}") from None
        require_act_on_service(session, principal, scenario.service_id)
        run = drills.start(session, scenario.id, actor=principal.actor(), now=runtime.clock.now())
        return _drill_out(session, run)


@router.get("/drills/{drill_id}", response_model=DrillOut, summary="A drill and, once ended, its report")
def get_drill(drill_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> DrillOut:
    with runtime.db.reader() as session:
        run = drills.get_run(session, drill_id)
        if not _sees_run(session, principal, runtime, run):
            raise NotFound(f"drill {drill_id} not found")
        return _drill_out(session, run)


@router.post("/drills/{drill_id}/end", response_model=DrillOut, summary="End a drill: resolves its incident")
def end_drill(drill_id: str, runtime: RuntimeDep, principal: ResponderDep) -> DrillOut:
    with runtime.db.unit_of_work() as session:
        run = drills.get_run(session, drill_id)
        if not _sees_run(session, principal, runtime, run):
            raise NotFound(f"drill {drill_id} not found")
        if run.incident_id is not None:
            require_act_on_incident(session, principal, incidents.get(session, run.incident_id))
        run = drills.end(session, run.id, actor=principal.actor(), now=runtime.clock.now())
        return _drill_out(session, run)


@router.get("/tier-costs", response_model=TierCostsOut, summary="Default cost of a minute of downtime per tier")
def tier_costs(runtime: RuntimeDep, _: PrincipalDep) -> TierCostsOut:
    with runtime.db.reader() as session:
        costs = services.tier_costs(session)
    return TierCostsOut(currency=runtime.settings.downtime_currency, tiers={str(k): v for k, v in costs.items()})


@router.put("/tier-costs/{tier}", response_model=TierCostsOut, summary="Set or clear a tier's default cost")
def put_tier_cost(
    tier: Annotated[int, Path(ge=1, le=5)], body: TierCostIn, runtime: RuntimeDep, _: AdminDep
) -> TierCostsOut:
    with runtime.db.unit_of_work() as session:
        costs = services.set_tier_cost(session, tier, body.cost_per_minute, now=runtime.clock.now())
    return TierCostsOut(currency=runtime.settings.downtime_currency, tiers={str(k): v for k, v in costs.items()})
