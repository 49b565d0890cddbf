"""A person's notification rules in the console: which contact method is paged, for which urgency, how long after
the page. Add, edit and delete, by the person themself or an admin, as the API allows; validated by the API's
schemas and applied by the same service functions the API calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.admin import contacts
from tocsin.api.admin import RulePatch
from tocsin.api.oncall import RuleIn, seconds
from tocsin.core.errors import NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.notify import contacts as notify_contacts
from tocsin.notify.models import NotificationRule
from tocsin.oncall.durations import format_duration
from tocsin.users import service as users
from tocsin.users.models import User
from tocsin.web.auth import PostedForm, WebUser, check_csrf, runtime_of, shown_as_page
from tocsin.web.contact_pages import person_page, require_owner_or_admin
from tocsin.web.forms import FormInvalid, invalid, on_field, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
_RULE_IN = TypeAdapter(RuleIn)
_RULE_PATCH = TypeAdapter(RulePatch)
URGENCIES = get_args(RuleIn.model_fields["urgency"].annotation)
FIELDS = ("urgency", "contact_method_id", "delay")


def _data(form: FormData) -> dict[str, Any]:
    """The form as the API's JSON: a method id and a delay in seconds are numbers there."""
    method, delay = text(form, "contact_method_id"), text(form, "delay") or "0"
    return {
        "urgency": text(form, "urgency"),
        "contact_method_id": int(method) if is_ascii_digits(method) else method,
        "delay": int(delay) if is_ascii_digits(delay) else delay,
    }


def _validated(schema: TypeAdapter[Any], data: dict[str, Any]) -> Any:
    # The API's delay check raises its own error rather than a validation error: it is the delay field's.
    try:
        return validate(schema, data)
    except TocsinError as exc:
        raise FormInvalid(exc.status_code, f"delay: {exc.detail}", {"delay": exc.detail}) from None


def _stored_rule(session: Session, user_id: int, rule_id: int) -> NotificationRule:
    rule = contacts.get_rule(session, rule_id)
    if rule.user_id != user_id:
        raise NotFound(f"notification rule {rule_id} not found")
    return rule


def _form(
    request: Request,
    who: WebUser,
    user_id: int,
    rule: NotificationRule | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        person: User = users.get_user(session, user_id)
        methods = [(str(m.id), f"{m.name} ({m.type})") for m in notify_contacts.contact_methods(session, user_id)]
    return render(
        "web/rule_form.html",
        failed.status if failed else 200,
        who=who,
        section="me" if user_id == who.user.id else "people",
        person=person,
        rule=rule,
        methods=methods,
        urgencies=[(u, u) for u in URGENCIES],
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
    )


@router.get("/people/{user_id}/notification-rules/new", response_class=HTMLResponse)
def new_rule(user_id: int, request: Request) -> Response:
    who = require_owner_or_admin(request, user_id)
    return _form(request, who, user_id, None, {"urgency": "high", "delay": "0"})


@router.post("/people/{user_id}/notification-rules/new")
def add_rule(user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    try:
        body: RuleIn = _validated(_RULE_IN, _data(form))
        with runtime_of(request).db.unit_of_work() as session:
            person = users.get_user(session, user_id)

            def add() -> None:
                notify_contacts.add_rule(
                    session,
                    user_id=person.id,
                    urgency=body.urgency,
                    contact_method_id=body.contact_method_id,
                    delay_seconds=seconds(body.delay),
                )

            on_field("contact_method_id", add)
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, user_id, None, values_of(form), invalid(exc, FIELDS))
    return person_page(who, user_id, notice="Notification rule added")


@router.get("/people/{user_id}/notification-rules/{rule_id}", response_class=HTMLResponse)
def edit_rule(user_id: int, rule_id: int, request: Request) -> Response:
    who = require_owner_or_admin(request, user_id)
    with shown_as_page(), runtime_of(request).db.reader() as session:
        rule = _stored_rule(session, user_id, rule_id)
    values = {
        "urgency": rule.urgency,
        "contact_method_id": str(rule.contact_method_id),
        "delay": format_duration(timedelta(seconds=rule.delay_seconds)) if rule.delay_seconds else "0",
    }
    return _form(request, who, user_id, rule, values)


@router.post("/people/{user_id}/notification-rules/{rule_id}")
def update_rule(user_id: int, rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.reader() as session:
        rule = _stored_rule(session, user_id, rule_id)
    try:
        body: RulePatch = _validated(_RULE_PATCH, _data(form))
        with runtime_of(request).db.unit_of_work() as session:
            stored = _stored_rule(session, user_id, rule_id)
            method_id = body.contact_method_id
            on_field("contact_method_id", lambda: contacts.update_rule(session, stored, contact_method_id=method_id))
            delay = seconds(body.delay) if body.delay is not None else None
            contacts.update_rule(session, stored, urgency=body.urgency, delay_seconds=delay)
    except (TocsinError, FormInvalid) as exc:
        return _form(request, who, user_id, rule, values_of(form), invalid(exc, FIELDS))
    return person_page(who, user_id, notice="Notification rule saved")


@router.post("/people/{user_id}/notification-rules/{rule_id}/delete")
def delete_rule(user_id: int, rule_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        contacts.delete_rule(session, _stored_rule(session, user_id, rule_id))
    return person_page(who, user_id, notice="Notification rule deleted")
