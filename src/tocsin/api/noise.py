"""/api/v1/noise (the noise report) and merging or splitting incidents by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tocsin.alerts import grouping_service, noise_report
from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident, visible_service_ids
from tocsin.core.clock import utc
from tocsin.incidents.models import Incident

router = APIRouter(prefix="/api/v1", tags=["noise"], responses=PROBLEM_RESPONSES)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: str = Field(min_length=1, description="incident id or #number")


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_ids: list[int] = Field(min_length=1)


@router.get("/noise", summary="Events → alerts → incidents → pages, and what kept the rest quiet")
def noise(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = 10,
) -> dict[str, Any]:
    end = utc(until) if until else runtime.clock.now() + timedelta(seconds=1)
    start = utc(since) if since else end - timedelta(days=7)
    with runtime.db.reader() as session:
        visible = visible_service_ids(session, principal, runtime)
        return noise_report.report(session, since=start, until=end, top=max(1, min(top, 100)), service_ids=visible)


def _brief(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "number": incident.number,
        "status": incident.status,
        "alert_count": incident.alert_count,
    }


@router.post("/incidents/{ref}/merge", summary="Move this incident's alerts into another and resolve this one")
def merge(ref: str, body: MergeIn, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        require_act_on_incident(session, principal, visible_incident(session, principal, runtime, ref))
        require_act_on_incident(session, principal, visible_incident(session, principal, runtime, body.into))
        into = grouping_service.merge(session, ref, body.into, actor=principal.actor(), now=runtime.clock.now())
        return {"into": _brief(into)}


@router.post("/incidents/{ref}/split", summary="Move some alerts of this incident into a new incident")
def split(ref: str, body: SplitIn, runtime: RuntimeDep, principal: ResponderDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        require_act_on_incident(session, principal, visible_incident(session, principal, runtime, ref))
        created = grouping_service.split(session, ref, body.alert_ids, actor=principal.actor(), now=runtime.clock.now())
        return {"created": _brief(created)}
