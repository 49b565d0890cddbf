"""War rooms in the console (ADR 0033): the incident page's War room card, its Open button and the Remove button
beside each person in a room, which post here and redirect back, and the exported conversation as a download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.chat import service as chat
from tocsin.chat.setup import configured
from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.web.auth import (
    PageError,
    PostedForm,
    WebUser,
    check_csrf,
    require_responder,
    require_user,
    runtime_of,
)
from tocsin.web.forms import text
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """The incident page's War room card: the incident's rooms and the platforms a room can be opened on."""
    platforms = configured(who.runtime.settings) if who.runtime is not None else []
    rooms = chat.rooms_of(session, incident.id)
    have = {r.platform for r in rooms}
    return {
        "chat_rooms": rooms,
        "chat_platforms": [p for p in platforms if p not in have],
        "chat_members": {r.platform: chat.members_shown(session, r) for r in rooms},
        "chat_exports": chat.exports_by_platform(session, incident.id),
    }


def _back(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}?{urlencode(params)}#chat", status_code=303)


def _act(
    request: Request, number: int, form: PostedForm, work: Callable[[Session, Incident, WebUser], str]
) -> Response:
    """A responder's change to the incident's war rooms: CSRF checked, the incident visible and open to them, then
    back to the card with ``work``'s notice or the error."""
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            require_act_on_incident(session, who, incident)
            notice = work(session, incident, who)
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    runtime.wakeup.notify()
    return _back(number, notice=notice)


@router.post("/incidents/{number}/chat-room")
def open_room(number: int, request: Request, form: PostedForm) -> Response:
    runtime = runtime_of(request)

    def work(session: Session, incident: Incident, who: WebUser) -> str:
        row, new = chat.open_room(
            session,
            incident,
            text(form, "platform") or None,
            configured=configured(runtime.settings),
            actor=who.actor(),
            now=runtime.clock.now(),
        )
        return f"War room {row.name} asked for on {row.platform}" if new else f"War room {row.name} already exists"

    return _act(request, number, form, work)


@router.post("/incidents/{number}/chat-room/{platform}/remove")
def remove_member(number: int, platform: str, request: Request, form: PostedForm) -> Response:
    """Remove a person from the room, as ``remove`` from the room or the API's DELETE: the engine kicks them and
    they are not invited again until added to the incident anew."""
    runtime = runtime_of(request)

    def work(session: Session, incident: Incident, who: WebUser) -> str:
        account = text(form, "account")
        if not account:
            raise InvalidInput("Say whom to remove from the war room")
        chat.check_platform(platform)
        row = chat.room_of(session, incident.id, platform)
        if row is None:
            raise NotFound(f"incident #{number} has no {platform} war room")
        account, name = chat.account_for_removal(session, row, account)
        row = chat.request_removal(
            session, incident, platform, account, who=name, actor=who.actor(), now=runtime.clock.now()
        )
        return f"{name} will be removed from war room {row.name}"

    return _act(request, number, form, work)


@router.get("/incidents/{number}/chat-room/{platform}/conversation")
def conversation(number: int, platform: str, request: Request) -> Response:
    """The room's conversation as exported when it was archived, as a text file."""
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            found = chat.export_of(session, incident.id, platform)
        except NotFound as exc:
            return render("web/not_found.html", 404, who=who, what=exc.detail)
        body = found.text
    name = f"incident-{number}-{platform}-conversation.txt"
    return Response(
        body,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
