"""Declaring an incident from the console: the form the API and the CLI already had."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from tocsin.api.schemas import DeclareIn
from tocsin.core.errors import TocsinError
from tocsin.incidents import phases, taxonomy, visibility
from tocsin.incidents import service as incidents
from tocsin.incidents.priority import PRIORITIES, URGENCIES
from tocsin.response import types
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_responder, runtime_of
from tocsin.web.forms import FormInvalid, invalid, optional, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter()
_DECLARE_IN = TypeAdapter(DeclareIn)
FIELDS = (
    "service_id",
    "title",
    "description",
    "type",
    "category",
    "severity",
    "urgency",
    "priority",
    "phase_model",
    "private",
    "private_team",
    "conference_url",
)


def _form(request: Request, who: WebUser, status: int = 200, **context: Any) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        service_options = [(s.id, s.name) for s in services.list_services(session)]
        team_options = [(t.id, t.name) for t in teams.list_teams(session)]
        severities = [
            (s.name, f"{s.name} — {s.description}" if s.description else s.name) for s in taxonomy.severities(session)
        ]
        kinds = [
            (t.name, f"{t.name} — {t.description}" if t.description else t.name) for t in types.list_types(session)
        ]
        categories = [(c.name, c.name) for c in taxonomy.categories(session)]
    return render(
        "web/declare.html",
        status,
        who=who,
        section="incidents",
        services=service_options,
        teams=team_options,
        severities=severities,
        types=kinds,
        categories=categories,
        urgencies=[(u, u) for u in URGENCIES],
        priorities=[(p, p) for p in PRIORITIES],
        phase_models=[(m, "NIST SP 800-61" if m == "nist" else "Default") for m in phases.MODELS],
        **{"values": {}, "errors": {}, **context},
    )


@router.get("/incidents/new", response_class=HTMLResponse)
def declare_form(request: Request) -> Response:
    who = require_responder(request)
    chosen = request.query_params.get("service", "")
    return _form(request, who, values={"service_id": chosen})


@router.post("/incidents/new")
def declare(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    names = ("urgency", "priority", "phase_model", "severity", "type", "category", "conference_url", "private_team")
    fields = {name: optional(form, name) for name in names}
    try:
        body = validate(
            _DECLARE_IN,
            {
                "service_id": text(form, "service_id"),
                "title": text(form, "title"),
                "description": text(form, "description"),
                "private": form.get("private") == "on",
                **{k: v for k, v in fields.items() if v},
            },
        )
        now, actor = runtime.clock.now(), who.actor()
        with runtime.db.unit_of_work() as session:
            team_id = visibility.private_team_id(session, body.private_team) if body.private else None
            incident = incidents.declare(
                session,
                service_id=body.service_id,
                title=body.title,
                description=body.description,
                urgency=body.urgency,
                severity=body.severity,
                priority=body.priority,
                private=body.private,
                private_team_id=team_id,
                incident_type=body.type,
                category=body.category,
                conference_url=body.conference_url,
                actor=actor,
                now=now,
            )
            if body.phase_model:
                incidents.set_phase_model(session, incident.id, body.phase_model, actor=actor, now=now)
            number = incident.number
    except (TocsinError, FormInvalid) as exc:
        bad = invalid(exc, FIELDS)
        return _form(request, who, bad.status, values=values_of(form), errors=bad.errors, error=bad.message)
    runtime.wakeup.notify()
    return RedirectResponse(f"/incidents/{number}?{urlencode({'notice': 'Incident declared'})}", status_code=303)
