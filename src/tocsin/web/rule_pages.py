"""Event rules and inhibit rules in the console: list, create, edit and delete. Rules are kept by name, as in the
API (PUT replaces the rule of that name), so a rule's name is fixed once it exists. Forms are validated by the
API's schemas and applied by the same service functions; as in the API, everyone signed in reads and only admins
change."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.alerts import routing_service as routing
from tocsin.alerts.noise_models import EventRuleRow, InhibitRuleRow
from tocsin.alerts.rules.matchers import RuleError, compile_matchers
from tocsin.api.rules import EventRuleIn, InhibitRuleIn
from tocsin.core.errors import NotFound, TocsinError
from tocsin.services import service as services
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, require_user, runtime_of, shown_as_page
from tocsin.web.forms import (
    FormInvalid,
    as_form_values,
    invalid,
    json_field,
    optional,
    text,
    validate,
    values_of,
)
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "event and inhibit rules"
EVENT_FIELDS = ("name", "integration_key", "position", "enabled", "matchers", "actions")
INHIBIT_FIELDS = ("name", "source", "target", "equal")
_EVENT_IN = TypeAdapter(EventRuleIn)
_INHIBIT_IN = TypeAdapter(InhibitRuleIn)


def _pretty(value: object) -> str | None:
    return json.dumps(value, indent=2) if value else None


def _integrations(session: Session) -> list[tuple[str, str, int]]:
    """(key, label, id) of every integration, for the rule's "only events of" choice."""
    names = {s.id: s.name for s in services.list_services(session)}
    return [
        (i.key, f"{names.get(i.service_id, i.service_id)}: {i.name}", i.id) for i in services.list_integrations(session)
    ]


def _compiles(matchers: object) -> bool:
    try:
        compile_matchers(matchers)  # type: ignore[arg-type]
    except (RuleError, TypeError, AttributeError):
        return False
    return True


def _blamed(exc: TocsinError | FormInvalid, form: FormData, fields: tuple[str, ...]) -> FormInvalid:
    """A refusal, shown beside the field it is about. A rule refused as a whole is blamed on the first list of
    matchers that does not compile on its own, else on what is left (the actions, or the equal labels)."""
    failed = invalid(exc, fields)
    if failed.errors or isinstance(exc, FormInvalid):
        return failed
    if "integration key" in exc.detail:
        failed.errors["integration_key"] = exc.detail
        return failed
    matcher_fields = [f for f in ("matchers", "source", "target") if f in fields]
    rest = "actions" if "actions" in fields else "equal"
    blamed = next((f for f in matcher_fields if not _compiles(json_field(form, f, []))), None)
    if blamed is None and "needs source and target" in exc.detail:
        blamed = "source" if not json_field(form, "source", []) else "target"
    failed.errors[blamed or rest] = exc.detail
    return failed


def _back(notice: str) -> RedirectResponse:
    return RedirectResponse(f"/rules?{urlencode({'notice': notice})}", status_code=303)


@router.get("/rules", response_class=HTMLResponse)
def list_page(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        event_rules = routing.list_event_rules(session)
        inhibit_rules = routing.list_inhibit_rules(session)
        integrations = {i: label for _, label, i in _integrations(session)}
    return render(
        "web/rules.html",
        who=who,
        section="rules",
        event_rules=event_rules,
        inhibit_rules=inhibit_rules,
        integrations=integrations,
        notice=request.query_params.get("notice", "")[:200],
    )


# --- event rules --------------------------------------------------------------------------------------------------


def _event_rule(request: Request, rule_id: int) -> EventRuleRow:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        for row in routing.list_event_rules(session):
            if row.id == rule_id:
                return row
        raise NotFound(f"event rule {rule_id} not found")


def _event_form(
    request: Request, who: WebUser, rule: EventRuleRow | None, values: dict[str, Any], failed: FormInvalid | None = None
) -> Response:
    with runtime_of(request).db.reader() as session:
        integrations = [(key, label) for key, label, _ in _integrations(session)]
    return render(
        "web/event_rule_form.html",
        failed.status if failed else 200,
        who=who,
        section="rules",
        rule=rule,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        integrations=integrations,
    )


def _put_event_rule(request: Request, form: FormData, name: str) -> None:
    body = validate(
        _EVENT_IN,
        {
            "name": name,
            "integration_key": optional(form, "integration_key"),
            "position": optional(form, "position"),
            "enabled": form.get("enabled") is not None,
            "matchers": json_field(form, "matchers", []),
            "actions": json_field(form, "actions", {}),
        },
    )
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        routing.put_event_rule(
            session,
            name=body.name,
            matchers=body.matchers,
            actions=body.actions,
            integration_key=body.integration_key,
            position=body.position,
            enabled=body.enabled,
            now=runtime.clock.now(),
        )


@router.get("/rules/event/new", response_class=HTMLResponse)
def new_event_rule(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _event_form(request, who, None, {"enabled": "on"})


@router.post("/rules/event/new")
def create_event_rule(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    name = text(form, "name")
    try:
        with runtime_of(request).db.reader() as session:
            if name and any(r.name == name for r in routing.list_event_rules(session)):
                raise FormInvalid(409, f"an event rule named {name!r} already exists", {"name": "already exists"})
        _put_event_rule(request, form, name)
    except (TocsinError, FormInvalid) as exc:
        return _event_form(request, who, None, values_of(form), _blamed(exc, form, EVENT_FIELDS))
    return _back(f"Event rule {name} created")


@router.get("/rules/event/{rule_id}/edit", response_class=HTMLResponse)
def edit_event_rule(rule_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    rule = _event_rule(request, rule_id)
    with runtime_of(request).db.reader() as session:
        key = next((k for k, _, i in _integrations(session) if i == rule.integration_id), None)
    values = as_form_values(
        {
            "integration_key": key,
            "position": rule.position,
            "enabled": rule.enabled,
            "matchers": _pretty(rule.matchers),
            "actions": _pretty(rule.actions),
        }
    )
    return _event_form(request, who, rule, values)


@router.post("/rules/event/{rule_id}/edit")
def update_event_rule(rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    rule = _event_rule(request, rule_id)
    try:
        _put_event_rule(request, form, rule.name)
    except (TocsinError, FormInvalid) as exc:
        return _event_form(request, who, rule, values_of(form), _blamed(exc, form, EVENT_FIELDS))
    return _back(f"Event rule {rule.name} saved")


@router.post("/rules/event/{rule_id}/delete")
def delete_event_rule(rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    rule = _event_rule(request, rule_id)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        routing.delete_event_rule(session, rule.name, now=runtime.clock.now())
    return _back(f"Event rule {rule.name} deleted")


# --- inhibit rules ------------------------------------------------------------------------------------------------


def _inhibit_rule(request: Request, rule_id: int) -> InhibitRuleRow:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        for row in routing.list_inhibit_rules(session):
            if row.id == rule_id:
                return row
        raise NotFound(f"inhibit rule {rule_id} not found")


def _inhibit_form(
    request: Request,
    who: WebUser,
    rule: InhibitRuleRow | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    return render(
        "web/inhibit_rule_form.html",
        failed.status if failed else 200,
        who=who,
        section="rules",
        rule=rule,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
    )


def _put_inhibit_rule(request: Request, form: FormData, name: str) -> None:
    body = validate(
        _INHIBIT_IN,
        {
            "name": name,
            "source": json_field(form, "source", []),
            "target": json_field(form, "target", []),
            "equal": [label for label in re.split(r"[\s,]+", text(form, "equal")) if label],
        },
    )
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        routing.put_inhibit_rule(
            session, name=body.name, source=body.source, target=body.target, equal=body.equal, now=runtime.clock.now()
        )


@router.get("/rules/inhibit/new", response_class=HTMLResponse)
def new_inhibit_rule(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return _inhibit_form(request, who, None, {})


@router.post("/rules/inhibit/new")
def create_inhibit_rule(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    name = text(form, "name")
    try:
        with runtime_of(request).db.reader() as session:
            if name and any(r.name == name for r in routing.list_inhibit_rules(session)):
                raise FormInvalid(409, f"an inhibit rule named {name!r} already exists", {"name": "already exists"})
        _put_inhibit_rule(request, form, name)
    except (TocsinError, FormInvalid) as exc:
        return _inhibit_form(request, who, None, values_of(form), _blamed(exc, form, INHIBIT_FIELDS))
    return _back(f"Inhibit rule {name} created")


@router.get("/rules/inhibit/{rule_id}/edit", response_class=HTMLResponse)
def edit_inhibit_rule(rule_id: int, request: Request) -> Response:
    who = require_admin(request, WHAT)
    rule = _inhibit_rule(request, rule_id)
    values = as_form_values(
        {
            "source": _pretty(rule.source_matchers),
            "target": _pretty(rule.target_matchers),
            "equal": " ".join(rule.equal) or None,
        }
    )
    return _inhibit_form(request, who, rule, values)


@router.post("/rules/inhibit/{rule_id}/edit")
def update_inhibit_rule(rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    rule = _inhibit_rule(request, rule_id)
    try:
        _put_inhibit_rule(request, form, rule.name)
    except (TocsinError, FormInvalid) as exc:
        return _inhibit_form(request, who, rule, values_of(form), _blamed(exc, form, INHIBIT_FIELDS))
    return _back(f"Inhibit rule {rule.name} saved")


@router.post("/rules/inhibit/{rule_id}/delete")
def delete_inhibit_rule(rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    rule = _inhibit_rule(request, rule_id)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.unit_of_work() as session:
        routing.delete_inhibit_rule(session, rule.name, now=runtime.clock.now())
    return _back(f"Inhibit rule {rule.name} deleted")
