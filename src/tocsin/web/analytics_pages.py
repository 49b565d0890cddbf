"""The analytics console: the dashboard (response metrics, trends, service reliability), a team's and a person's
on-call health. Filters live in the URL so a view can be shared; charts are SVG drawn here, with tables beside."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from tocsin.analytics import charts, export, health, metrics, periods
from tocsin.analytics import service as analytics
from tocsin.analytics.filters import narrowing
from tocsin.analytics.format import duration
from tocsin.web.auth import require_user, runtime_of, shown_as_page
from tocsin.web.scope import visible_service_ids
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

_KEYS = ("since", "until", "by", "bucket", "service", "team", "severity", "priority")
_TREND = (("count", "Incidents"), ("mtta", "Median time to acknowledge"), ("mttr", "Median time to resolve"))


def _query(request: Request) -> dict[str, str]:
    return {k: v for k in _KEYS if (v := request.query_params.get(k, "").strip())}


def _trend_charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    size = report["bucket"]
    for name, title in _TREND:
        points: list[tuple[str, float | None]] = []
        for b in report["trend"]:
            label = b["start"][:10]
            if name == "count":
                points.append((label, float(b["count"])))
            else:
                median = b[name]["median"]
                points.append((label, None if median is None else median / 60.0))
        unit = "" if name == "count" else " min"
        desc = f"{title} per {size}, from {report['since'][:10]} to {report['until'][:10]}" + (
            ", in minutes" if unit else ""
        )
        found.append(
            {
                "title": f"{title} per {size}",
                "svg": Markup(charts.bar_chart(f"{title} per {size}", desc, points, unit=unit)),  # noqa: S704 - built from escaped parts
                "points": points,
                "unit": unit,
            }
        )
    return found


def _metrics(request: Request) -> dict[str, Any]:
    """The metrics report of the URL's filters, as this person may read it."""
    who = require_user(request)
    runtime = runtime_of(request)
    q = _query(request)
    p = periods.period(q.get("since"), q.get("until"), now=runtime.clock.now())
    by = periods.group_by(q.get("by"))
    size = periods.bucket(q.get("bucket"))
    with runtime.db.reader() as session:
        visible = analytics.visible(who.viewer(session), see_all=runtime.settings.teams_see_all)
        where = narrowing(session, q.get("service"), q.get("team"), q.get("severity"), q.get("priority"))
        return metrics.report(session, p, by=by, bucket=size, visible=visible, where=where, now=runtime.clock.now())


@router.get("/analytics/metrics.csv")
def metrics_csv(request: Request) -> Response:
    with shown_as_page():
        body = _metrics(request)
    return Response(
        export.to_csv(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tocsin-metrics.csv"'},
    )


@router.get("/analytics/metrics.json")
def metrics_json(request: Request) -> Response:
    with shown_as_page():
        body = _metrics(request)
    return JSONResponse(body)


@router.get("/analytics", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    q = _query(request)
    with shown_as_page():
        p = periods.period(q.get("since"), q.get("until"), now=runtime.clock.now())
        by = periods.group_by(q.get("by")) or "service"
        size = periods.bucket(q.get("bucket"))
        with runtime.db.reader() as session:
            viewer = who.viewer(session)
            visible = analytics.visible(viewer, see_all=runtime.settings.teams_see_all)
            where = narrowing(session, q.get("service"), q.get("team"), q.get("severity"), q.get("priority"))
            services = visible_service_ids(session, who, see_all=runtime.settings.teams_see_all)
            body = analytics.dashboard(
                session,
                p,
                by=by,
                bucket=size,
                visible=visible,
                service_ids=services,
                where=where,
                now=runtime.clock.now(),
            )
            teams = analytics.readable_teams(session, viewer)
            service_names = analytics.service_names(session)
    report = body["metrics"]
    api_query = urlencode({**q, "by": by})
    return render(
        "web/analytics.html",
        who=who,
        section="analytics",
        q=q,
        by=by,
        bucket=size,
        groups=periods.GROUPS,
        report=report,
        reliability=body["reliability"],
        charts=_trend_charts(report),
        durations=[(m, metrics.DEFINITIONS[m]) for m in metrics.DURATIONS],
        definitions=metrics.DEFINITIONS,
        teams=teams,
        service_names=service_names,
        fmt=duration,
        csv_url=f"/analytics/metrics.csv?{api_query}",
        json_url=f"/analytics/metrics.json?{api_query}",
        api_url=f"/api/v1/analytics/metrics?{api_query}",
    )


def _health_page(request: Request, title: str, body: dict[str, Any], **extra: Any) -> Response:
    who = require_user(request)
    people = body["people"]
    chart = charts.bar_chart(
        f"Interruptions by person — {title}",
        "Incidents that paged each person in the period, all bands of the day together",
        [(p["name"], float(p["interruptions"]["total"])) for p in people],
    )
    return render(
        "web/analytics_health.html",
        who=who,
        section="analytics",
        title=title,
        body=body,
        chart=Markup(chart),  # noqa: S704 - built from escaped parts
        definitions=health.DEFINITIONS,
        **extra,
    )


@router.get("/analytics/teams/{team_id}", response_class=HTMLResponse)
def team_page(request: Request, team_id: int) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    q = _query(request)
    with shown_as_page():
        p = periods.period(q.get("since"), q.get("until"), now=runtime.clock.now())
        with runtime.db.reader() as session:
            body = analytics.team_health(session, team_id, p, viewer=who.viewer(session))
    return _health_page(request, f"team {body['team']['name']}", body, q=q, fairness=body["fairness"])


@router.get("/analytics/people/{user_id}", response_class=HTMLResponse)
def person_page(request: Request, user_id: int) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    q = _query(request)
    with shown_as_page():
        p = periods.period(q.get("since"), q.get("until"), now=runtime.clock.now())
        with runtime.db.reader() as session:
            body = analytics.person_health(session, user_id, p, viewer=who.viewer(session))
    return _health_page(request, body["person"]["name"], body, q=q, fairness=None)
