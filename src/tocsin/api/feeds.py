"""iCalendar feeds behind secret URLs (calendar apps cannot send bearer tokens)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response

from tocsin.api.deps import RuntimeDep
from tocsin.core.errors import NotFound
from tocsin.oncall import service as oncall

router = APIRouter(tags=["on-call"])

FEED_PAST = timedelta(days=7)
FEED_FUTURE = timedelta(days=60)
ICS = "text/calendar; charset=utf-8"


@router.get("/ical/schedules/{token}.ics", summary="A schedule's final shifts as iCalendar")
def schedule_feed(token: str, runtime: RuntimeDep) -> Response:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        body = oncall.schedule_feed(
            session,
            token,
            start=now - FEED_PAST,
            end=now + FEED_FUTURE,
            base_url=runtime.settings.base_url,
            now=now,
        )
    if body is None:
        raise NotFound("no such feed")
    return Response(body, media_type=ICS, headers={"Cache-Control": "no-store"})


@router.get("/ical/users/{token}.ics", summary="A person's on-call shifts across schedules as iCalendar")
def user_feed(token: str, runtime: RuntimeDep) -> Response:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        body = oncall.user_feed(
            session,
            token,
            start=now - FEED_PAST,
            end=now + FEED_FUTURE,
            base_url=runtime.settings.base_url,
            now=now,
        )
    if body is None:
        raise NotFound("no such feed")
    return Response(body, media_type=ICS, headers={"Cache-Control": "no-store"})
