"""The incident page's type card (type, category, major flag, conference bridge, required roles, affected services)
and its form actions, and the admin page of the response vocabulary: incident types, categories, severities (ADR
0021)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import phases, taxonomy
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.response import roles as incident_roles
from tocsin.response import service as response
from tocsin.response import types
from tocsin.services import service as services
from tocsin.web.auth import PostedForm, check_csrf, require_admin, runtime_of
from tocsin.web.incident_cards import act_on_incident
from tocsin.web.templating import render

router = APIRouter()


def incident_types_context(session: Session, incident: Incident) -> dict[str, Any]:
    """What ``web/_incident_types.html`` shows: everything under one key, so that the page's context grows by one."""
    kind = incidents.type_of(session, incident)
    affected = incidents.affected_services(session, incident.id)
    names = services.names_of(session, affected)
    return {
        "types_card": {
            "type": kind.name if kind is not None else "",
            "type_names": [t.name for t in types.list_types(session)],
            "categories": [(c.name, c.description) for c in taxonomy.categories(session)],
            "needs_holder": types.needing_holders(session, incident),
            "affected": [(i, names.get(i, str(i))) for i in affected],
            "services": [
                (s.id, s.name)
                for s in services.list_services(session)
                if s.id != incident.service_id and s.id not in affected and s.archived_at is None
            ],
            "severities": [(s.name, s.description) for s in taxonomy.severities(session)],
        }
    }


def _act(session: Session, incident: Incident, form: Any, who: Any, now: Any) -> str:
    action = str(form.get("action") or "")
    actor = who.actor()
    if action == "type":
        types.change_type(session, incident.id, str(form.get("type") or ""), actor=actor, now=now)
        return "Type changed"
    if action == "category":
        incidents.update_fields(session, incident.id, category=str(form.get("category") or ""), actor=actor, now=now)
        return "Category changed"
    if action == "bridge":
        url = str(form.get("conference_url") or "")
        incidents.update_fields(session, incident.id, conference_url=url, actor=actor, now=now)
        return "Conference bridge set" if url.strip() else "Conference bridge removed"
    if action == "major":
        major = form.get("major") == "true"
        incidents.set_major(session, incident.id, major, reason=str(form.get("reason") or ""), actor=actor, now=now)
        return "Marked as a major incident" if major else "No longer a major incident"
    if action in ("affect", "unaffect"):
        ref = str(form.get("service") or "")
        if not ref:
            raise InvalidInput("choose a service")
        service = services.get_service(session, ref)
        if action == "affect":
            incidents.add_affected_service(session, incident.id, service.id, actor=actor, now=now)
            return f"Affects {service.name}"
        incidents.remove_affected_service(session, incident.id, service.id, actor=actor, now=now)
        return f"No longer affects {service.name}"
    raise InvalidInput(f"unknown action {action!r}")


@router.post("/incidents/{number}/types")
def incident_types_action(number: int, request: Request, form: PostedForm) -> Response:
    return act_on_incident(request, number, form, lambda s, incident, who, now: _act(s, incident, form, who, now))


# --- admin: types, categories, severities --------------------------------------------------------------------


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    who = require_admin(request, "the incident types")
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        rows = types.list_types(session)
        return render(
            "web/incident_types.html",
            status,
            who=who,
            section="types",
            types=[(t, types.as_dict(t)) for t in rows],
            categories=taxonomy.categories(session),
            severities=taxonomy.severities(session),
            roles=[r.name for r in incident_roles.list_roles(session)],
            checklists=[t.name for t in response.templates(session)],
            phase_models=phases.MODELS,
            notice=request.query_params.get("notice", "")[:200],
            **context,
        )


@router.get("/admin/incident-types", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    return _page(request)


def _lines(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in str(value or "").splitlines() if v.strip()))


def _admin_act(session: Session, form: Any, now: Any) -> str:
    action = str(form.get("action") or "")
    name = str(form.get("name") or "").strip()
    description = str(form.get("description") or "")
    if action == "type":
        cadence = str(form.get("update_cadence_minutes") or "").strip()
        if cadence and not is_ascii_digits(cadence):
            raise InvalidInput("the update cadence is a whole number of minutes")
        spec = types.TypeSpec(
            description=description,
            severity=str(form.get("severity") or "SEV3"),
            phase_model=str(form.get("phase_model") or "default"),
            major=form.get("major") == "on",
            required_roles=tuple(str(v) for v in form.getlist("required_roles") if v),
            private=form.get("private") == "on",
            private_team=str(form.get("private_team") or "") or None,
            pages=form.get("pages") == "on",
            playbook=str(form.get("playbook") or ""),
            conference_url=str(form.get("conference_url") or ""),
            update_cadence_minutes=int(cadence) if cadence else None,
            checklists=tuple(str(v) for v in form.getlist("checklists") if v),
        )
        types.save_type(session, name, spec, now=now)
        return f"Type {name} saved"
    if action == "delete-type":
        types.delete_type(session, name)
        return f"Type {name} deleted"
    if action == "category":
        taxonomy.save_category(session, name, description=description)
        return f"Category {name} saved"
    if action == "delete-category":
        taxonomy.delete_category(session, name)
        return f"Category {name} deleted"
    if action == "severity":
        position = str(form.get("position") or "0").strip()
        if not is_ascii_digits(position):
            raise InvalidInput("the position is a whole number")
        taxonomy.save_severity(session, name, description=description, position=int(position))
        return f"Severity {name} saved"
    if action == "delete-severity":
        taxonomy.delete_severity(session, name)
        return f"Severity {name} deleted"
    raise InvalidInput(f"unknown action {action!r}")


@router.post("/admin/incident-types")
def admin_action(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, "the incident types")
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            notice = _admin_act(session, form, runtime.clock.now())
    except TocsinError as exc:
        return _page(request, exc.status_code, error=exc.detail)
    return RedirectResponse("/admin/incident-types?" + urlencode({"notice": notice}), status_code=303)
