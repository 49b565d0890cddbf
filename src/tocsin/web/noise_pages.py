"""The noise page: what became a page, what was kept quiet and why, the noisiest alerts and active silences."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.alerts import noise_report, silence_service
from tocsin.core.clock import utc
from tocsin.web.auth import require_user, runtime_of
from tocsin.web.scope import visible_service_ids
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

PERIODS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


@router.get("/noise", response_class=HTMLResponse)
def noise_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    period = request.query_params.get("period", "7d")
    if period not in PERIODS:
        period = "7d"
    # Events stamped this very instant count: the window ends just after now.
    until = _time(request.query_params.get("until")) or runtime.clock.now() + timedelta(seconds=1)
    since = _time(request.query_params.get("since")) or until - PERIODS[period]
    if since >= until:
        since = until - PERIODS[period]
    with runtime.db.reader() as session:
        visible = visible_service_ids(session, who, see_all=runtime.settings.teams_see_all)
        body = noise_report.report(session, since=since, until=until, service_ids=visible)
        silences = [
            s
            for s in silence_service.list_silences(session, now=runtime.clock.now())
            if visible is None or s.service_id is None or s.service_id in visible
        ]
    return render(
        "web/noise.html",
        who=who,
        section="noise",
        report=body,
        reasons=noise_report.REASON_NAMES,
        silences=silences,
        period=period,
        periods=list(PERIODS),
        since=since,
        until=until,
    )
