"""``/live/pages``: the signed-in person's recent pages, which the console shows as browser notifications.

The console asks on load (to learn what it has already seen) and after each live change; it shows each page once,
and only while its incident is still triggered.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tocsin.notify import console_pages
from tocsin.web.auth import require_user, runtime_of
from tocsin.web.templating import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)


@router.get("/live/pages")
def my_pages(request: Request) -> JSONResponse:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        pages = console_pages.recent_pages(session, who.user.id, now=runtime.clock.now())
    body = {
        "pages": [
            {
                "id": p.id,
                "number": p.number,
                "title": p.title,
                "status": p.status,
                "urgency": p.urgency,
                "channel": p.channel,
                "url": f"/incidents/{p.number}",
            }
            for p in pages
        ]
    }
    return JSONResponse(body, headers=SECURITY_HEADERS)
