"""Drills in the console (ADR 0025): the scenarios (admins make them), starting a drill, the drills and their
reports; and the incident page's card of business impact and drill (``incident_card``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, NotFound, TocsinError
from tocsin.drills import service as drills
from tocsin.drills.models import DrillRun
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.response import impact
from tocsin.services import service as services
from tocsin.web.auth import (
    PageError,
    PostedForm,
    WebUser,
    check_csrf,
    require_admin,
    require_responder,
    require_user,
    runtime_of,
)
from tocsin.web.forms import text
from tocsin.web.scope import require_act_on_incident, require_act_on_service, sees
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "drill scenarios"


def incident_card(session: Session, incident: Incident, who: WebUser, now: Any) -> dict[str, Any]:
    """What the incident page's impact and drill card shows: the cost of downtime and, for a drill, its run."""
    currency = who.runtime.settings.downtime_currency if who.runtime is not None else "USD"
    return {
        "downtime": impact.cost_of(session, incident, now=now),
        "currency": currency,
        "drill_run": drills.run_of_incident(session, incident.id) if incident.drill else None,
    }


def _visible(session: Session, who: WebUser, run: DrillRun) -> tuple[bool, int | None]:
    """Whether ``who`` sees the drill (through its incident's service), and its incident's number."""
    if run.incident_id is None:
        return who.is_admin, None
    incident = incidents.get(session, run.incident_id)
    service = services.get_service(session, incident.service_id)
    see_all = who.runtime.settings.teams_see_all if who.runtime is not None else True
    return sees(session, who, service.team_id, see_all=see_all), incident.number


@router.get("/drills", response_class=HTMLResponse)
def drills_page(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        scenarios = drills.scenarios(session)
        service_names = services.names_of(session, [s.service_id for s in scenarios])
        rows = []
        for run in drills.runs(session):
            visible, number = _visible(session, who, run)
            if visible:
                rows.append((run, number))
        all_services = [(s.id, s.name) for s in services.list_services(session)]
    return render(
        "web/drills.html",
        who=who,
        section="drills",
        scenarios=scenarios,
        service_names=service_names,
        runs=rows,
        services=all_services,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


def _back(notice: str = "", error: str = "", to: str = "/drills") -> RedirectResponse:
    query = urlencode({"error": error} if error else {"notice": notice})
    return RedirectResponse(f"{to}?{query}", status_code=303)


@router.post("/drills/scenarios")
def save_scenario(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    raw = text(form, "payload")
    try:
        payload = json.loads(raw) if raw else None
    except ValueError as exc:
        return _back(error=f"payload is not JSON: {exc}")
    try:
        with runtime.db.unit_of_work() as session:
            name = text(form, "name")
            found = drills.find_scenario(session, name)
            type_name = text(form, "incident_type") or None
            if found is None:
                spec = drills.ScenarioSpec(
                    name=name,
                    service=text(form, "service"),
                    payload=payload,
                    incident_type=type_name,
                    description=text(form, "description"),
                )
                drills.create_scenario(session, spec, now=runtime.clock.now())
            else:
                drills.update_scenario(
                    session,
                    found.id,
                    now=runtime.clock.now(),
                    service=text(form, "service"),
                    payload=payload,
                    incident_type=type_name,
                    description=text(form, "description"),
                )
    except TocsinError as exc:
        return _back(error=exc.detail)
    return _back(notice=f"Scenario {name} saved")


@router.post("/drills/scenarios/{scenario_id}/delete")
def delete_scenario(scenario_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    try:
        with runtime_of(request).db.unit_of_work() as session:
            drills.delete_scenario(session, scenario_id)
    except TocsinError as exc:
        return _back(error=exc.detail)
    return _back(notice="Scenario removed")


@router.post("/drills/start")
def start_drill(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                scenario = drills.get_scenario(session, text(form, "scenario"))
            except NotFound:
                return _back(error=f"no drill scenario {text(form, 'scenario')!r}")
            require_act_on_service(session, who, scenario.service_id)
            run = drills.start(session, scenario.id, actor=who.actor(), now=runtime.clock.now())
            run_id = run.id
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(error=exc.detail)
    runtime.wakeup.notify()
    return _back(notice="Drill started: its pages are marked DRILL", to=f"/drills/{run_id}")


def _run(session: Session, who: WebUser, drill_id: int) -> tuple[DrillRun, int | None]:
    run = drills.get_run(session, drill_id)
    visible, number = _visible(session, who, run)
    if not visible:
        raise NotFound(f"drill {drill_id} not found")
    return run, number


@router.get("/drills/{drill_id}", response_class=HTMLResponse)
def drill_page(drill_id: int, request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        try:
            run, number = _run(session, who, drill_id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Drill {drill_id}")
    return render(
        "web/drill.html",
        who=who,
        section="drills",
        run=run,
        number=number,
        report=run.report,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


@router.post("/drills/{drill_id}/end")
def end_drill(drill_id: int, request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    here = f"/drills/{drill_id}"
    try:
        with runtime.db.unit_of_work() as session:
            run, _ = _run(session, who, drill_id)
            if run.incident_id is not None:
                require_act_on_incident(session, who, incidents.get(session, run.incident_id))
            drills.end(session, run.id, actor=who.actor(), now=runtime.clock.now())
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Drill {drill_id}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(error=exc.detail, to=here)
    runtime.wakeup.notify()
    return _back(notice="Drill ended", to=here)


# --- the cost of downtime per tier (ADR 0025) ------------------------------------------------------------------


@router.get("/tier-costs", response_class=HTMLResponse)
def tier_costs_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        costs = services.tier_costs(session)
    return render(
        "web/tier_costs.html",
        who=who,
        section="services",
        tiers=[(tier, costs.get(tier)) for tier in services.TIERS],
        currency=runtime.settings.downtime_currency,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


@router.post("/tier-costs")
def save_tier_costs(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, "the cost of downtime per tier")
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    wanted: dict[int, float | None] = {}
    for tier in services.TIERS:
        raw = text(form, f"tier_{tier}")
        try:
            wanted[tier] = float(raw) if raw else None
        except ValueError:
            return _back(error=f"tier {tier}: {raw!r} is not a number", to="/tier-costs")
    try:
        with runtime.db.unit_of_work() as session:
            for tier, cost in wanted.items():
                services.set_tier_cost(session, tier, cost, now=runtime.clock.now())
    except TocsinError as exc:
        return _back(error=f"tier costs: {exc.detail}", to="/tier-costs")
    return _back(notice="Costs per tier saved", to="/tier-costs")
