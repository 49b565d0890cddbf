"""A person's contact methods in the console: add, edit (name, address, disabled), delete, and prove a phone number
with a code. Who may is decided as the API decides it: the person themself and admins. Forms are validated by the
API's schemas and applied by the same service functions the API calls.

A contact method that was paged is kept for the paging history: deleting it is refused, and the page that says so
offers to disable it instead (ADR 0012).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from tocsin.admin import contacts
from tocsin.api.admin import ContactMethodPatch
from tocsin.api.contact_verification import CodeIn
from tocsin.api.oncall import ContactMethodIn
from tocsin.audit.catalog import CREDENTIAL_ADDRESS_TYPES, mask
from tocsin.core.errors import Conflict, NotFound, TocsinError
from tocsin.notify import contacts as notify_contacts
from tocsin.notify import verification
from tocsin.notify.models import CONTACT_TYPES, ContactMethod
from tocsin.notify.reply_codes import PHONE_TYPES
from tocsin.notify.send_limits import SendLimits
from tocsin.users import service as users
from tocsin.users.models import User
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_user, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, invalid, on_field, optional, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
_METHOD_IN = TypeAdapter(ContactMethodIn)
_METHOD_PATCH = TypeAdapter(ContactMethodPatch)
_CODE_IN = TypeAdapter(CodeIn)
FIELDS = ("name", "type", "address", "disabled")


def may_change(who: WebUser, user_id: int) -> bool:
    return who.user.id == user_id or who.is_admin


def require_owner_or_admin(request: Request, user_id: int) -> WebUser:
    """The person themself or an admin, as the API's contact-method and rule routes allow; others get a 403."""
    who = require_user(request)
    if not may_change(who, user_id):
        raise PageError(403, "You can only change your own contact methods and notification rules.")
    return who


def shown_address(method: ContactMethod, whole: bool) -> str:
    """Addresses that work as credentials (webhook, chat and ntfy URLs) are shown whole only to who may change
    them."""
    return method.address if whole or method.type not in CREDENTIAL_ADDRESS_TYPES else str(mask(method.address, "tail"))


def person_page(who: WebUser, user_id: int, **query: str) -> RedirectResponse:
    target = "/me" if user_id == who.user.id else f"/people/{user_id}"
    return RedirectResponse(f"{target}?{urlencode(query)}" if query else target, status_code=303)


def stored_method(session: Session, user_id: int, method_id: int) -> ContactMethod:
    method = contacts.get_contact_method(session, method_id)
    if method.user_id != user_id:
        raise NotFound(f"contact method {method_id} not found")
    return method


def _person(request: Request, user_id: int) -> User:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return users.get_user(session, user_id)


def _form(
    who: WebUser,
    person: User,
    method: ContactMethod | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
    *,
    notice: str = "",
    refused: bool = False,
) -> Response:
    return render(
        "web/contact_form.html",
        failed.status if failed else 200,
        who=who,
        section="me" if person.id == who.user.id else "people",
        person=person,
        method=method,
        phone=method is not None and method.type in PHONE_TYPES,
        refused=refused,
        # A browser's push subscription is made by the browser ("Enable notifications on this device"), not typed.
        types=[(t, t) for t in CONTACT_TYPES if t != "webpush" or (method is not None and method.type == t)],
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        notice=notice,
    )


def _method_values(method: ContactMethod) -> dict[str, Any]:
    values: dict[str, Any] = {"name": method.name, "address": method.address}
    if method.disabled:
        values["disabled"] = "on"
    return values


def _existing(request: Request, user_id: int, method_id: int) -> tuple[User, ContactMethod]:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        return users.get_user(session, user_id), stored_method(session, user_id, method_id)


@router.get("/people/{user_id}/contact-methods/new", response_class=HTMLResponse)
def new_method(user_id: int, request: Request) -> Response:
    who = require_owner_or_admin(request, user_id)
    return _form(who, _person(request, user_id), None, {"type": "email"})


@router.post("/people/{user_id}/contact-methods/new")
def add_method(user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    person = _person(request, user_id)
    runtime = runtime_of(request)
    data = {"name": text(form, "name"), "type": text(form, "type"), "address": text(form, "address")}
    if secret := optional(form, "secret"):
        data["secret"] = secret
    try:
        body = validate(_METHOD_IN, data)
        with runtime.db.unit_of_work() as session:
            try:
                method = notify_contacts.add_contact_method(
                    session,
                    user_id=user_id,
                    name=body.name,
                    type=body.type,
                    address=body.address,
                    secret=body.secret,
                    now=runtime.clock.now(),
                    # As the API: a phone number is confirmed with a code before it is paged, unless an admin set it.
                    verified=body.type not in PHONE_TYPES or who.is_admin,
                    limits=SendLimits.of(runtime.settings),
                )
            except TocsinError as exc:
                field = "type" if exc.detail.startswith("contact method type") else "address"
                raise FormInvalid(exc.status_code, f"{field}: {exc.detail}", {field: exc.detail}) from None
            method_id, verified = method.id, method.verified
    except (TocsinError, FormInvalid) as exc:
        values = values_of(form)
        values.pop("secret", None)  # a secret is not written back into the page
        return _form(who, person, None, values, invalid(exc, FIELDS))
    if not verified:
        # Straight to the page with the "send code" button: the number is not paged until it is confirmed.
        notice = urlencode({"notice": "Added. Confirm the number with a code before it is paged."})
        return RedirectResponse(f"/people/{user_id}/contact-methods/{method_id}?{notice}", status_code=303)
    return person_page(who, user_id, notice=f"Contact method {data['name'] or data['type']} added")


@router.get("/people/{user_id}/contact-methods/{method_id}", response_class=HTMLResponse)
def edit_method(user_id: int, method_id: int, request: Request) -> Response:
    who = require_owner_or_admin(request, user_id)
    person, method = _existing(request, user_id, method_id)
    notice = request.query_params.get("notice", "")[:200]
    return _form(who, person, method, _method_values(method), notice=notice)


@router.post("/people/{user_id}/contact-methods/{method_id}")
def update_method(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    person, method = _existing(request, user_id, method_id)
    data = {"name": text(form, "name"), "address": text(form, "address"), "disabled": form.get("disabled") == "on"}
    try:
        body = validate(_METHOD_PATCH, data)
        with runtime_of(request).db.unit_of_work() as session:
            stored = stored_method(session, user_id, method_id)
            on_field("name", lambda: contacts.update_contact_method(session, stored, name=body.name))
            on_field(
                "address",
                lambda: contacts.update_contact_method(session, stored, address=body.address, confirmed=who.is_admin),
            )
            contacts.update_contact_method(session, stored, disabled=body.disabled)
            verified = stored.verified
    except (TocsinError, FormInvalid) as exc:
        return _form(who, person, method, values_of(form), invalid(exc, FIELDS))
    if not verified:
        notice = urlencode({"notice": "Saved. Confirm the number with a code before it is paged."})
        return RedirectResponse(f"/people/{user_id}/contact-methods/{method_id}?{notice}", status_code=303)
    return person_page(who, user_id, notice=f"Contact method {data['name']} saved")


@router.post("/people/{user_id}/contact-methods/{method_id}/disable")
def disable_method(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    """The way out when deleting is refused: the method stays in the paging history but is paged no more."""
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        stored = stored_method(session, user_id, method_id)
        contacts.update_contact_method(session, stored, disabled=True)
        name = stored.name
    return person_page(who, user_id, notice=f"Contact method {name} disabled: it is paged no more")


@router.post("/people/{user_id}/contact-methods/{method_id}/delete")
def delete_method(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    person, method = _existing(request, user_id, method_id)
    if form.get("confirm") != "yes":
        failed = FormInvalid(422, "Tick the box to confirm: delete the contact method.", {})
        return _form(who, person, method, _method_values(method), failed)
    try:
        with runtime_of(request).db.unit_of_work() as session:
            contacts.delete_contact_method(session, stored_method(session, user_id, method_id))
    except Conflict as exc:
        return _form(who, person, method, _method_values(method), FormInvalid(409, exc.detail), refused=True)
    except TocsinError as exc:
        raise PageError(exc.status_code, exc.detail) from None
    return person_page(who, user_id, notice=f"Contact method {method.name} deleted, with its notification rules")


# --- proving a phone number --------------------------------------------------------------------------------------


@router.post("/people/{user_id}/contact-methods/{method_id}/verify")
def send_code(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    """As POST /api/v1/contact-methods/{id}/verify: a code is texted to the number."""
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    person, method = _existing(request, user_id, method_id)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            verification.start(
                session,
                stored_method(session, user_id, method_id).id,
                now=runtime.clock.now(),
                limits=SendLimits.of(runtime.settings),
            )
    except TocsinError as exc:
        return _form(who, person, method, _method_values(method), FormInvalid(exc.status_code, exc.detail))
    runtime.wakeup.notify()
    query = urlencode({"notice": f"Code sent to {method.address}; it expires in 10 minutes."})
    return RedirectResponse(f"/people/{user_id}/contact-methods/{method_id}?{query}#verify", status_code=303)


@router.post("/people/{user_id}/contact-methods/{method_id}/verify/confirm")
def confirm_code(user_id: int, method_id: int, request: Request, form: PostedForm) -> Response:
    who = require_owner_or_admin(request, user_id)
    check_csrf(request, who, form)
    person, method = _existing(request, user_id, method_id)
    runtime = runtime_of(request)
    try:
        body = validate(_CODE_IN, {"code": text(form, "code")})
        # A wrong code is counted, so the transaction commits before the answer says it was wrong.
        with runtime.db.unit_of_work() as session:
            problem = verification.confirm(
                session, stored_method(session, user_id, method_id).id, body.code, now=runtime.clock.now()
            )
        if problem is not None:
            raise FormInvalid(422, f"code: {problem}", {"code": problem})
    except (TocsinError, FormInvalid) as exc:
        return _form(who, person, method, {**_method_values(method), **values_of(form)}, invalid(exc, ("code",)))
    return person_page(who, user_id, notice=f"{method.address} is confirmed: it can be paged")
