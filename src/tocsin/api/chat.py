"""/api/v1/incidents/{ref}/chat-room: open the incident's war room; /chat-rooms: its rooms, a removal from one, its
exported conversation (ADR 0033)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.chat import service as chat
from tocsin.chat.models import ChatRoom
from tocsin.chat.setup import configured
from tocsin.core.errors import NotFound

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
    # Chat accounts whose removal is asked for and not yet done; when the conversation was exported (on archive).
    removing: list[str]
    exported_at: datetime | None
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
            removing=list(row.removing or []),
            exported_at=row.exported_at,
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


ChatPlatform = Literal["slack", "matrix", "teams"]


@router.delete(
    "/incidents/{ref}/chat-rooms/{platform}/members/{person}",
    response_model=RoomOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Remove a person from the war room (202: the engine removes them; they are not invited again until "
    "added to the incident anew)",
)
def remove_member(
    ref: str,
    platform: ChatPlatform,
    person: Annotated[str, Path(max_length=255, description="A Tocsin user (id or email) or the chat account")],
    runtime: RuntimeDep,
    principal: ResponderDep,
) -> RoomOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = chat.room_of(session, incident.id, platform)
        if row is None:
            raise NotFound(f"incident #{incident.number} has no {platform} war room")
        account, who = chat.account_for_removal(session, row, person)
        row = chat.request_removal(
            session, incident, platform, account, who=who, actor=principal.actor(), now=runtime.clock.now()
        )
        out = RoomOut.of(row)
    runtime.wakeup.notify()
    return out


@router.get(
    "/incidents/{ref}/chat-rooms/{platform}/export",
    summary="The war room's whole conversation, exported when the room was archived (plain text)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def room_export(ref: str, platform: ChatPlatform, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        found = chat.export_of(session, incident.id, platform)
        text, number = found.text, incident.number
    name = f"incident-{number}-{platform}-conversation.txt"
    return Response(
        text, media_type="text/plain; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/incidents/{ref}/chat-rooms", response_model=list[RoomOut], summary="The incident's war rooms")
def list_rooms(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[RoomOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [RoomOut.of(r) for r in chat.rooms_of(session, incident.id)]
