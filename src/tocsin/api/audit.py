"""/api/v1/audit: the audit trail for admins, a page at a time or streamed as JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from tocsin.api.deps import AdminDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.origin import Channel
from tocsin.audit.repository import AuditFilter
from tocsin.core.clock import utc
from tocsin.core.errors import BadRequest

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=PROBLEM_RESPONSES)

NDJSON = "application/x-ndjson"


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    token_id: int | None
    channel: str
    ip: str
    user_agent: str
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls.model_validate(audit.as_record(entry))


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


def audit_filter(
    actor_user_id: Annotated[int | None, Query(description="The acting user's id")] = None,
    actor: Annotated[str | None, Query(max_length=255, description="The actor's label, exactly")] = None,
    token_id: int | None = None,
    channel: Channel | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    start, end = (utc(since) if since else None), (utc(until) if until else None)
    if start is not None and end is not None and end <= start:
        raise BadRequest("'until' must be later than 'since'")
    return AuditFilter(
        actor_user_id=actor_user_id,
        actor=actor,
        token_id=token_id,
        channel=channel,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=start,
        until=end,
    )


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_model=AuditPage, summary="Audit trail, newest first (admins)")
def list_audit(
    runtime: RuntimeDep,
    _: AdminDep,
    flt: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> AuditPage:
    with runtime.db.reader() as session:
        rows, next_cursor = audit.list_entries(session, flt, limit=limit, cursor=cursor)
        return AuditPage(items=[AuditEntryOut.of(e) for e in rows], next_cursor=next_cursor)


@router.get(
    "/audit/export",
    summary="The audit trail as JSON lines, oldest first (admins)",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}}},
)
def export_audit(runtime: RuntimeDep, _: AdminDep, flt: FilterDep) -> StreamingResponse:
    def lines() -> Iterator[bytes]:
        for record in audit.iter_export(runtime.db.reader, flt):
            yield orjson.dumps(record) + b"\n"

    return StreamingResponse(
        lines(), media_type=NDJSON, headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'}
    )
