"""/api/v1/analytics: response metrics, service reliability, on-call health and the analytics settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.analytics import export, metrics, periods, reliability
from tocsin.analytics import filters as analytics_filters
from tocsin.analytics import service as analytics
from tocsin.analytics import settings as analytics_settings
from tocsin.api.deps import AdminDep, PrincipalDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import visible_incident, visible_service_ids

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=PROBLEM_RESPONSES)

Since = Annotated[str | None, Query(description="start: 30d, 12h, 2w before now, or an ISO 8601 date")]
Until = Annotated[str | None, Query(description="end (default now): like since")]


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_start: int | None = Field(None, ge=0, le=24)
    business_end: int | None = Field(None, ge=0, le=24)
    sleep_start: int | None = Field(None, ge=0, le=24)
    sleep_end: int | None = Field(None, ge=0, le=24)
    weekly_interruptions: int | None = Field(None, ge=1, le=10_000)
    weekly_sleep_interruptions: int | None = Field(None, ge=1, le=10_000)
    digest_enabled: bool | None = None
    digest_weekday: int | None = Field(None, ge=0, le=6)
    digest_hour: int | None = Field(None, ge=0, le=23)


@router.get("/metrics", summary="Response metrics of a period: overall, by group, per week or month")
def response_metrics(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    since: Since = None,
    until: Until = None,
    by: Annotated[str | None, Query(description="service, team, type, severity, priority or category")] = None,
    bucket: Annotated[str | None, Query(description="week or month")] = None,
    service: str | None = None,
    team: str | None = None,
    severity: str | None = None,
    priority: str | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    p = periods.period(since, until, now=runtime.clock.now())
    group = periods.group_by(by)
    size = periods.bucket(bucket)
    with runtime.db.reader() as session:
        visible = analytics.visible(principal.viewer(session), see_all=runtime.settings.teams_see_all)
        where = analytics_filters.narrowing(session, service, team, severity, priority)
        body = metrics.report(session, p, by=group, bucket=size, visible=visible, where=where, now=runtime.clock.now())
    if format == "csv":
        return Response(
            export.to_csv(body),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tocsin-metrics.csv"'},
        )
    return body


@router.get("/reliability", summary="Incidents, downtime and its cost per service; the noisiest services and alerts")
def service_reliability(
    runtime: RuntimeDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    p = periods.period(since, until, now=runtime.clock.now())
    with runtime.db.reader() as session:
        visible = analytics.visible(principal.viewer(session), see_all=runtime.settings.teams_see_all)
        services = visible_service_ids(session, principal, runtime)
        return reliability.report(session, p, visible=visible, service_ids=services)


@router.get("/incidents/{ref}", summary="One incident's response figures and time in each phase")
def incident_metrics(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return analytics.incident(session, incident, now=runtime.clock.now())


@router.get("/health", summary="On-call health of everyone (admins)")
def health_everyone(
    runtime: RuntimeDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    p = periods.period(since, until, now=runtime.clock.now())
    with runtime.db.reader() as session:
        return analytics.everyone_health(session, p, viewer=principal.viewer(session))


@router.get("/health/teams/{team_id}", summary="On-call health of a team's members, and how evenly the load falls")
def health_team(
    team_id: int, runtime: RuntimeDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    p = periods.period(since, until, now=runtime.clock.now())
    with runtime.db.reader() as session:
        return analytics.team_health(session, team_id, p, viewer=principal.viewer(session))


@router.get("/health/people/{user_id}", summary="On-call health of one person")
def health_person(
    user_id: int, runtime: RuntimeDep, principal: PrincipalDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    p = periods.period(since, until, now=runtime.clock.now())
    with runtime.db.reader() as session:
        return analytics.person_health(session, user_id, p, viewer=principal.viewer(session))


@router.get("/settings", summary="Windows of the day and load thresholds of on-call health, the digest's time")
def get_settings(runtime: RuntimeDep, _: PrincipalDep) -> dict[str, Any]:
    with runtime.db.reader() as session:
        return analytics_settings.current(session).as_dict()


@router.patch("/settings", summary="Change the analytics settings (admins)")
def patch_settings(body: SettingsIn, runtime: RuntimeDep, _: AdminDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    with runtime.db.unit_of_work() as session:
        return analytics_settings.update(session, changes, now=runtime.clock.now()).as_dict()
