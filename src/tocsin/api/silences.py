"""/api/v1/silences: mute alerts matching label matchers for a while, or in recurring maintenance windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.alerts import silence_service as silences
from tocsin.alerts.noise_models import SilenceRow
from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import visible_service_ids
from tocsin.core.clock import utc
from tocsin.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["silences"], responses=PROBLEM_RESPONSES)


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[dict[str, Any]] = Field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    comment: str = Field(min_length=1, max_length=2000)
    service: str | None = None
    recurrence: str | None = Field(default=None, max_length=500, description="iCalendar RRULE")
    duration_seconds: int | None = Field(default=None, gt=0)
    name: str | None = Field(default=None, max_length=200)


class SilenceOut(BaseModel):
    id: int
    name: str | None
    matchers: list[dict[str, Any]]
    service_id: int | None
    starts_at: datetime
    ends_at: datetime | None
    recurrence: str | None
    duration_seconds: int | None
    author: str
    comment: str

    @classmethod
    def of(cls, row: SilenceRow) -> SilenceOut:
        return cls(
            id=row.id,
            name=row.name,
            matchers=row.matchers,
            service_id=row.service_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            recurrence=row.recurrence,
            duration_seconds=row.duration_seconds,
            author=row.author,
            comment=row.comment,
        )


def max_silence(runtime: Runtime) -> timedelta:
    return timedelta(days=runtime.settings.silence_max_days)


@router.get("/silences", response_model=list[SilenceOut], summary="Silences that are active or still to come")
def list_silences(runtime: RuntimeDep, principal: PrincipalDep, include_expired: bool = False) -> list[SilenceOut]:
    with runtime.db.reader() as session:
        rows = silences.list_silences(session, now=runtime.clock.now(), include_expired=include_expired)
        visible = visible_service_ids(session, principal, runtime)
        # Silences across services concern everyone: they stay listed whatever the viewer's teams.
        return [SilenceOut.of(r) for r in rows if visible is None or r.service_id is None or r.service_id in visible]


@router.post("/silences", response_model=SilenceOut, status_code=status.HTTP_201_CREATED)
def create_silence(body: SilenceIn, runtime: RuntimeDep, principal: ResponderDep) -> SilenceOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        row = silences.create_silence(
            session,
            matchers=body.matchers,
            starts_at=utc(body.starts_at) if body.starts_at else now,
            ends_at=utc(body.ends_at) if body.ends_at else None,
            author=principal.user.email,
            comment=body.comment,
            service=body.service,
            recurrence=body.recurrence,
            duration_seconds=body.duration_seconds,
            name=body.name,
            created_by_user_id=principal.user.id,
            now=now,
            by=principal.viewer(session),
            max_length=max_silence(runtime),
        )
        return SilenceOut.of(row)


@router.get("/silences/{silence_id}", response_model=SilenceOut)
def get_silence(silence_id: int, runtime: RuntimeDep, _: PrincipalDep) -> SilenceOut:
    with runtime.db.reader() as session:
        return SilenceOut.of(silences.get_silence(session, silence_id))


@router.put("/silences/{silence_id}", response_model=SilenceOut, summary="Rewrite a silence (extend, narrow, re-time)")
def replace_silence(silence_id: int, body: SilenceIn, runtime: RuntimeDep, principal: ResponderDep) -> SilenceOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        existing = silences.get_silence(session, silence_id)
        row = silences.create_silence(
            session,
            matchers=body.matchers,
            starts_at=utc(body.starts_at) if body.starts_at else existing.starts_at,
            ends_at=utc(body.ends_at) if body.ends_at else None,
            author=principal.user.email,
            comment=body.comment,
            service=body.service,
            recurrence=body.recurrence,
            duration_seconds=body.duration_seconds,
            name=existing.name,
            created_by_user_id=principal.user.id,
            now=now,
            existing=existing,
            by=principal.viewer(session),
            max_length=max_silence(runtime),
        )
        return SilenceOut.of(row)


@router.delete("/silences/{silence_id}", response_model=SilenceOut, summary="End a silence now")
def expire_silence(silence_id: int, runtime: RuntimeDep, principal: ResponderDep) -> SilenceOut:
    with runtime.db.unit_of_work() as session:
        row = silences.expire_silence(session, silence_id, now=runtime.clock.now(), by=principal.viewer(session))
        return SilenceOut.of(row)
