"""Editing a status page from the console: its settings, component groups, components, maintenances and
subscribers. Admins only, as in the admin API; every form goes through the same service functions and comes back
to the page with a notice or the service's own error message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.core.errors import InvalidInput
from tocsin.core.numbers import ascii_int
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import MaintenanceStatus
from tocsin.web.auth import PostedForm, WebUser, require_admin
from tocsin.web.forms import text
from tocsin.web.statuspage_pages import WHAT, act_on_page, form_time, render_detail

router = APIRouter(include_in_schema=False)
MAX_FOOTER_TEXT = 5000


def _footer_links(raw: str) -> list[dict[str, str]]:
    """One link a line, written ``label | URL``."""
    if len(raw) > MAX_FOOTER_TEXT:
        raise InvalidInput(f"footer links: at most {MAX_FOOTER_TEXT:,} characters")
    links = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        label, bar, url = line.partition("|")
        if not bar:
            raise InvalidInput(f"footer links, line {number}: write it as 'label | https://…'")
        links.append({"label": label.strip(), "url": url.strip()})
    return links


def _number(value: str, what: str) -> int:
    found = ascii_int(value.strip()) if value.strip() else 0
    if found is None or not -100_000 <= found <= 100_000:
        raise InvalidInput(f"{what}: a whole number")
    return found


def _group_id(value: str) -> int | None:
    if not value.strip():
        return None
    found = ascii_int(value.strip())
    if found is None:
        raise InvalidInput("group: not a component group of this page")
    return found


@router.post("/status-pages/{page_id}/settings")
def settings(page_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        changes: dict[str, Any] = {
            "name": text(form, "name"),
            "slug": text(form, "slug"),
            "visibility": text(form, "visibility"),
            "automation": text(form, "automation"),
            "logo_url": text(form, "logo_url") or None,
            "brand_color": text(form, "brand_color"),
            "text_color": text(form, "text_color"),
            "time_zone": text(form, "time_zone"),
            "custom_domain": text(form, "custom_domain") or None,
            "footer_links": _footer_links(text(form, "footer_links")),
            "anyone_may_publish": bool(form.get("anyone_may_publish")),
        }
        for name in ("opening_template", "closing_template"):
            if text(form, name):
                changes[name] = text(form, name)
        statuspages.update_page(session, page, changes, now=now)

    return act_on_page(request, page_id, form, "Settings saved", act)


# --- component groups ------------------------------------------------------------------------------------------------
@router.post("/status-pages/{page_id}/groups")
def add_group(page_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        statuspages.add_group(
            session, page, name=text(form, "name"), position=_number(text(form, "position"), "position"), now=now
        )

    return act_on_page(request, page_id, form, "Group added", act)


@router.post("/status-pages/{page_id}/groups/{group_id}")
def edit_group(page_id: int, group_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        group = statuspages.get_group(session, page, group_id)
        changes = {"name": text(form, "name"), "position": _number(text(form, "position"), "position")}
        statuspages.update_group(session, page, group, changes, now=now)

    return act_on_page(request, page_id, form, "Group saved", act)


@router.post("/status-pages/{page_id}/groups/{group_id}/delete")
def delete_group(page_id: int, group_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        statuspages.delete_group(session, page, statuspages.get_group(session, page, group_id))

    return act_on_page(request, page_id, form, "Group deleted; its components are ungrouped", act)


# --- components ------------------------------------------------------------------------------------------------------
@router.post("/status-pages/{page_id}/components/{component_id}")
def edit_component(page_id: int, component_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        component = statuspages.get_component(session, page, component_id)
        changes: dict[str, Any] = {
            "name": text(form, "name"),
            "description": text(form, "description"),
            "group_id": _group_id(text(form, "group_id")),
            "position": _number(text(form, "position"), "position"),
            "services": [s for s in text(form, "services").replace(",", " ").split() if s],
        }
        if text(form, "status"):
            changes["status"] = text(form, "status")
        statuspages.update_component(session, page, component, changes, now=now)

    return act_on_page(request, page_id, form, "Component saved", act)


@router.post("/status-pages/{page_id}/components/{component_id}/delete")
def delete_component(page_id: int, component_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        statuspages.delete_component(session, page, statuspages.get_component(session, page, component_id))

    return act_on_page(request, page_id, form, "Component deleted", act)


# --- maintenances ----------------------------------------------------------------------------------------------------
@router.post("/status-pages/{page_id}/maintenances/{maintenance_id}")
def edit_maintenance(page_id: int, maintenance_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        row = statuspages.get_maintenance(session, page, maintenance_id)
        changes: dict[str, Any] = {"name": text(form, "name")}
        if text(form, "scheduled_for"):
            changes["scheduled_for"] = form_time(text(form, "scheduled_for"), "scheduled_for")
        if text(form, "scheduled_until"):
            changes["scheduled_until"] = form_time(text(form, "scheduled_until"), "scheduled_until")
        if "component_ids" in form:
            changes["component_ids"] = [v for v in form.getlist("component_ids") if isinstance(v, str) and v]
        if text(form, "status") and text(form, "status") != row.status:
            changes["status"] = text(form, "status")
        if text(form, "body"):
            changes["body"] = text(form, "body")
        statuspages.update_maintenance(session, page, row, changes, now=now)

    return act_on_page(request, page_id, form, "Maintenance saved", act)


@router.post("/status-pages/{page_id}/maintenances/{maintenance_id}/cancel")
def cancel_maintenance(page_id: int, maintenance_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        row = statuspages.get_maintenance(session, page, maintenance_id)
        if row.status != MaintenanceStatus.SCHEDULED:
            raise InvalidInput(f"maintenance {row.id} is {row.status}: only a scheduled one is cancelled; complete it")
        body = text(form, "body") or "This maintenance has been cancelled."
        statuspages.update_maintenance(session, page, row, {"status": "completed", "body": body}, now=now)

    return act_on_page(request, page_id, form, "Maintenance cancelled", act)


# --- subscribers -----------------------------------------------------------------------------------------------------
@router.post("/status-pages/{page_id}/subscribers/webhook")
def add_webhook(page_id: int, request: Request, form: PostedForm) -> Response:
    made: list[str] = []

    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        ids = [v for v in form.getlist("component_ids") if isinstance(v, str) and v]
        _, secret = statuspages.add_webhook(session, page, text(form, "url"), now=now, component_ids=ids)
        made.append(secret)

    answer = act_on_page(request, page_id, form, "Webhook subscriber added", act)
    if not made:
        return answer
    # The signing secret is shown once, as in the API's answer: rendered here, never put in a URL or stored.
    who = require_admin(request, WHAT)
    return render_detail(request, who, page_id, notice="Webhook subscriber added", secret=made[0])


@router.post("/status-pages/{page_id}/subscribers/{subscriber_id}/delete")
def remove_subscriber(page_id: int, subscriber_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Any, page: Any, who: WebUser, now: datetime) -> None:
        statuspages.delete_subscriber(session, statuspages.get_subscriber(session, page, subscriber_id))

    return act_on_page(request, page_id, form, "Subscriber removed", act)
