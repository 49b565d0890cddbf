"""/api/v1/incidents/{ref}/chat-room: open the incident's war room; /chat-rooms: its rooms (ADR 0033)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.chat import service as chat
from tocsin.chat.models import ChatRoom
from tocsin.chat.setup import configured

router = APIRouter(prefix="/api/v1", tags=["chat"], responses=PROBLEM_RESPONSES)


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str | None = Field(
        default=None, max_length=16, description="slack, matrix or teams; null: the first one configured"
    )


class RoomOut(BaseModel):
    id: int
    platform: str
    name: str
    private: bool
    status: str
    room_id: str | None
    last_error: str | None
    archive_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: ChatRoom) -> RoomOut:
        return cls(
            id=row.id,
            platform=row.platform,
            name=row.name,
            private=row.private,
            status=row.status,
            room_id=row.room_id,
            last_error=row.last_error,
            archive_at=row.archive_at,
            created_at=row.created_at,
        )


@router.post(
    "/incidents/{ref}/chat-room",
    response_model=RoomOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open the incident's war room (201), or the one already asked for (200)",
)
def open_room(
    ref: str, runtime: RuntimeDep, principal: ResponderDep, response: Response, body: RoomIn | None = None
) -> RoomOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row, new = chat.open_room(
            session,
            incident,
            body.platform if body is not None else None,
            configured=configured(runtime.settings),
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        out = RoomOut.of(row)
    if new:
        runtime.wakeup.notify()
    else:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/incidents/{ref}/chat-rooms", response_model=list[RoomOut], summary="The incident's war rooms")
def list_rooms(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[RoomOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [RoomOut.of(r) for r in chat.rooms_of(session, incident.id)]
