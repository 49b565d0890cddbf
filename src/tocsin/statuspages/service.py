"""Status page use cases. Each takes a session and never commits; changes to what a page shows mark it for the
render cache (``cache.touched``), and updates published on a page queue one delivery per subscriber.

``publishable`` is the one place that decides whether a response incident may be linked to (published on) a
status page.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from tocsin.alerts import silence_service
from tocsin.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.core.numbers import ascii_int
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.services import service as services
from tocsin.stakeholders import service as stakeholders
from tocsin.statuspages import cache
from tocsin.statuspages import repository as repo
from tocsin.statuspages.models import (
    CLOSING_TEMPLATE,
    OPENING_TEMPLATE,
    Automation,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    Delivery,
    DeliveryStatus,
    Impact,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageIncident,
    PageIncidentUpdate,
    Proposal,
    ProposalStatus,
    StatusPage,
    Subscriber,
    SubscriberKind,
    UpdateStatus,
    Visibility,
)

MAX_BODY = 10_000
MAX_NAME = 200
MAX_INCIDENT_NAME = 300
MAX_COMPONENTS = 500
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]{1,255}\.[^@\s<>\"',;]{2,63}$")
DELIVERY_ATTEMPTS = 5
_UNSET: Any = object()
PAGE_FIELDS = (
    "name",
    "visibility",
    "logo_url",
    "brand_color",
    "text_color",
    "time_zone",
    "custom_domain",
    "footer_links",
    "automation",
    "anyone_may_publish",
    "opening_template",
    "closing_template",
)


# --- checks ----------------------------------------------------------------------------------------------------------
def _name(text: str, what: str, limit: int = MAX_NAME) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{what} needs a name")
    if len(value) > limit:
        raise InvalidInput(f"{what} name is limited to {limit} characters")
    return value


def _body(text: str, what: str = "an update") -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{what} needs a body")
    if len(value) > MAX_BODY:
        raise InvalidInput(f"{what} body is limited to {MAX_BODY:,} characters")
    return value


def _http_url(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        raise InvalidInput(f"{what} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 1000:
        raise InvalidInput(f"{what} must be an http(s) URL of at most 1,000 characters")
    return text


def _enum(kind: type[Any], value: Any, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{what} must be one of {allowed}, not {value!r}") from None


def _check_page_field(name: str, value: Any) -> Any:
    if name == "name":
        return _name(value, "a status page")
    if name == "visibility":
        return _enum(Visibility, value, "visibility")
    if name == "automation":
        return _enum(Automation, value, "automation")
    if name == "anyone_may_publish":
        if not isinstance(value, bool):
            raise InvalidInput("anyone_may_publish must be true or false")
        return value
    if name == "logo_url":
        return _http_url(value, "logo_url")
    if name in ("brand_color", "text_color"):
        if not isinstance(value, str) or not COLOR.match(value):
            raise InvalidInput(f"{name} must be a colour written #rrggbb")
        return value.lower()
    if name == "time_zone":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"time_zone: unknown time zone {value!r}") from None
        return str(value)
    if name == "custom_domain":
        if value is None or not str(value).strip():
            return None
        domain = str(value).strip().lower().rstrip(".")
        if not DOMAIN.match(domain):
            raise InvalidInput(f"custom_domain: {value!r} is not a host name")
        return domain
    if name == "footer_links":
        links = list(value or [])
        if len(links) > 20:
            raise InvalidInput("footer_links: at most 20 links")
        checked = []
        for link in links:
            label = _name(str(link.get("label", "")), "a footer link", 100)
            url = _http_url(str(link.get("url", "")), f"footer link {label!r}")
            if url is None:
                raise InvalidInput(f"footer link {label!r} needs a URL")
            checked.append({"label": label, "url": url})
        return checked
    if name in ("opening_template", "closing_template"):
        return _body(str(value), name.replace("_", " "))
    raise InvalidInput(f"unknown field {name}")


# --- pages -----------------------------------------------------------------------------------------------------------
def list_pages(session: Session) -> list[StatusPage]:
    return repo.pages(session)


def get_page(session: Session, ref: int | str) -> StatusPage:
    page = repo.page_by_id(session, number) if (number := ascii_int(ref)) is not None else None
    if page is None and isinstance(ref, str):
        page = repo.page_by_slug(session, ref)
    if page is None:
        raise NotFound(f"status page {ref} not found")
    return page


def page_by_slug(session: Session, slug: str) -> StatusPage | None:
    return repo.page_by_slug(session, slug)


def domains(session: Session) -> dict[str, str]:
    """Custom domain → page slug."""
    return repo.page_domains(session)


def create_page(session: Session, *, slug: str, name: str, now: datetime, **fields: Any) -> StatusPage:
    slug = _check_slug(session, slug)
    page = StatusPage(slug=slug, name=_name(name, "a status page"), created_at=now, updated_at=now, footer_links=[])
    page.visibility = Visibility.PUBLIC
    page.automation = Automation.OFF
    page.brand_color, page.text_color, page.time_zone = "#1f4e79", "#ffffff", "UTC"
    page.opening_template, page.closing_template = OPENING_TEMPLATE, CLOSING_TEMPLATE
    for key, value in fields.items():
        setattr(page, key, _check_page_field(key, value))
    _check_domain_free(session, page)
    session.add(page)
    session.flush()
    cache.touched(session, page.id)
    return page


def _check_domain_free(session: Session, page: StatusPage) -> None:
    if page.custom_domain is None:
        return
    owner = repo.page_domains(session).get(page.custom_domain)
    if owner is not None and owner != page.slug:
        raise Conflict(f"custom_domain {page.custom_domain!r} belongs to another status page")


def _check_slug(session: Session, slug: str, page_id: int | None = None) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise InvalidInput("slug: lowercase letters, digits and dashes, 1 to 60, not starting or ending with a dash")
    owner = repo.page_by_slug(session, slug)
    if owner is not None and owner.id != page_id:
        raise Conflict(f"a status page with slug {slug!r} exists")
    return slug


def update_page(session: Session, page: StatusPage, changes: Mapping[str, Any], *, now: datetime) -> StatusPage:
    """``slug`` may change too: the page's public address moves with it (old links then answer 404)."""
    for key, value in changes.items():
        if key == "slug":
            page.slug = _check_slug(session, value, page.id)
            continue
        if key not in PAGE_FIELDS:
            raise InvalidInput(f"unknown field {key}")
        setattr(page, key, _check_page_field(key, value))
    _check_domain_free(session, page)
    page.updated_at = now
    session.flush()
    cache.touched(session, page.id)
    return page


def delete_page(session: Session, page: StatusPage) -> None:
    cache.touched(session, page.id)
    session.delete(page)
    session.flush()


# --- groups and components ------------------------------------------------------------------------------------------
def groups(session: Session, page: StatusPage) -> list[ComponentGroup]:
    return repo.groups(session, page.id)


def components(session: Session, page: StatusPage) -> list[Component]:
    return repo.components(session, page.id)


def _on_page(session: Session, model: type[repo.OnPage], ident: int, page: StatusPage, what: str) -> repo.OnPage:
    row = repo.on_page(session, model, ident, page.id)
    if row is None:
        raise NotFound(f"{what} {ident} not found on this page")
    return row


def get_group(session: Session, page: StatusPage, group_id: int) -> ComponentGroup:
    return _on_page(session, ComponentGroup, group_id, page, "component group")


def get_component(session: Session, page: StatusPage, component_id: int) -> Component:
    return _on_page(session, Component, component_id, page, "component")


def add_group(
    session: Session, page: StatusPage, *, name: str, now: datetime, description: str = "", position: int = 0
) -> ComponentGroup:
    group = ComponentGroup(
        page_id=page.id,
        name=_name(name, "a component group"),
        description=(description or "").strip()[:2000],
        position=position,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    cache.touched(session, page.id)
    return group


def update_group(
    session: Session, page: StatusPage, group: ComponentGroup, changes: Mapping[str, Any], *, now: datetime
) -> ComponentGroup:
    if "name" in changes:
        group.name = _name(changes["name"], "a component group")
    if "description" in changes:
        group.description = (changes["description"] or "").strip()[:2000]
    if "position" in changes:
        group.position = int(changes["position"])
    group.updated_at = now
    session.flush()
    cache.touched(session, page.id)
    return group


def delete_group(session: Session, page: StatusPage, group: ComponentGroup) -> None:
    """Its components stay, ungrouped."""
    for c in repo.components(session, page.id):
        if c.group_id == group.id:
            c.group_id = None
    session.delete(group)
    session.flush()
    cache.touched(session, page.id)


def _service_ids(session: Session, refs: Sequence[int | str]) -> list[int]:
    found: list[int] = []
    for ref in refs:
        try:
            service = services.get_service(session, ref)
        except NotFound:
            raise InvalidInput(f"services: no service {ref!r}") from None
        if service.id not in found:
            found.append(service.id)
    return found


def add_component(
    session: Session,
    page: StatusPage,
    *,
    name: str,
    now: datetime,
    description: str = "",
    group_id: int | None = None,
    position: int = 0,
    status: str = ComponentStatus.OPERATIONAL,
    services: Sequence[int | str] = (),
    showcase: bool = True,
    only_show_if_degraded: bool = False,
    start_date: datetime | None = None,
) -> Component:
    if len(repo.components(session, page.id)) >= MAX_COMPONENTS:
        raise InvalidInput(f"a status page holds at most {MAX_COMPONENTS} components")
    if group_id is not None:
        get_group(session, page, group_id)
    component = Component(
        page_id=page.id,
        group_id=group_id,
        name=_name(name, "a component"),
        description=(description or "").strip()[:2000],
        position=position,
        status=_enum(ComponentStatus, status, "status"),
        service_ids=_service_ids(session, services),
        showcase=showcase,
        only_show_if_degraded=only_show_if_degraded,
        start_date=start_date,
        created_at=now,
        updated_at=now,
    )
    session.add(component)
    session.flush()
    session.add(ComponentStatusChange(component_id=component.id, status=component.status, at=now, source="created"))
    session.flush()
    cache.touched(session, page.id)
    return component


def update_component(
    session: Session, page: StatusPage, component: Component, changes: Mapping[str, Any], *, now: datetime
) -> Component:
    if "group_id" in changes and changes["group_id"] is not None:
        get_group(session, page, int(changes["group_id"]))
    for key, value in changes.items():
        if key == "name":
            component.name = _name(value, "a component")
        elif key == "description":
            component.description = (value or "").strip()[:2000]
        elif key == "services":
            component.service_ids = _service_ids(session, value or [])
        elif key == "status":
            set_status(session, component, value, now=now, source="by hand")
        elif key in ("group_id", "position", "showcase", "only_show_if_degraded", "start_date"):
            setattr(component, key, value)
        else:
            raise InvalidInput(f"unknown field {key}")
    component.updated_at = now
    session.flush()
    cache.touched(session, page.id)
    return component


def delete_component(session: Session, page: StatusPage, component: Component) -> None:
    session.delete(component)
    session.flush()
    cache.touched(session, page.id)


def set_status(session: Session, component: Component, status: Any, *, now: datetime, source: str) -> str:
    """Move a component to ``status`` (kept in its history); the status it had."""
    new = _enum(ComponentStatus, status, "status")
    old = component.status
    if new != old:
        component.status = new
        component.updated_at = now
        session.add(ComponentStatusChange(component_id=component.id, status=new, at=now, source=source[:100]))
        cache.touched(session, component.page_id)
    return str(old)


def history(session: Session, component_ids: Sequence[int], since: datetime) -> dict[int, list[ComponentStatusChange]]:
    return repo.history(session, component_ids, since)


# --- publishing response incidents -----------------------------------------------------------------------------------
def publishable(incident: Incident) -> str | None:
    """Why this response incident may not be published on (linked from) a status page, or None when it may.

    The one place that decides it: every link, proposal and automation goes through here."""
    if incident.private:
        return f"incident #{incident.number} is private; make it public before it is published"
    if incident.drill:
        return f"incident #{incident.number} is a drill; drills are never published"
    return None


def _linked_incidents(session: Session, refs: Sequence[int | str]) -> list[int]:
    found: list[int] = []
    for ref in refs:
        try:
            incident = incidents.get(session, ref)
        except NotFound:
            raise InvalidInput(f"incident_ids: no incident {ref!r}") from None
        refusal = publishable(incident)
        if refusal is not None:
            raise InvalidInput(f"incident_ids: {refusal}")
        if incident.id not in found:
            found.append(incident.id)
    return found


# --- incidents and updates -------------------------------------------------------------------------------------------
def get_incident(session: Session, page: StatusPage, incident_id: int) -> PageIncident:
    return _on_page(session, PageIncident, incident_id, page, "status page incident")


def list_incidents(
    session: Session, page: StatusPage, *, unresolved_only: bool = False, limit: int = 50
) -> list[PageIncident]:
    return repo.incidents(session, page.id, unresolved_only=unresolved_only, limit=limit)


def updates_of(session: Session, ids: Sequence[int]) -> dict[int, list[PageIncidentUpdate]]:
    return repo.updates_of(session, ids)


def links_of(session: Session, ids: Sequence[int]) -> dict[int, list[int]]:
    return repo.links_of(session, ids)


def _component_changes(
    session: Session, page: StatusPage, statuses: Mapping[Any, Any]
) -> list[tuple[Component, ComponentStatus]]:
    changes: list[tuple[Component, ComponentStatus]] = []
    for ref, status in statuses.items():
        component = repo.on_page(session, Component, ascii_int(ref), page.id)
        if component is None:
            raise InvalidInput(f"components: no component {ref!r} on this page")
        changes.append((component, _enum(ComponentStatus, status, f"status of component {ref}")))
    return changes


def _code() -> str:
    return secrets.token_urlsafe(9)[:12]


def create_incident(
    session: Session,
    page: StatusPage,
    *,
    name: str,
    body: str,
    now: datetime,
    actor: Actor,
    status: Any = UpdateStatus.INVESTIGATING,
    impact: Any = Impact.MINOR,
    components: Mapping[Any, Any] | None = None,
    incident_ids: Sequence[int | str] = (),
) -> tuple[PageIncident, PageIncidentUpdate]:
    row = PageIncident(
        page_id=page.id,
        name=_name(name, "an incident", MAX_INCIDENT_NAME),
        status=_enum(UpdateStatus, status, "status"),
        impact=_enum(Impact, impact, "impact"),
        shortlink_code=_code(),
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    linked = _linked_incidents(session, incident_ids)
    changes = _component_changes(session, page, components or {})
    checked_body = _body(body)
    session.add(row)
    session.flush()
    repo.set_links(session, row.id, linked)
    update = _add_update(session, page, row, row.status, checked_body, changes, now=now, actor=actor)
    return row, update


def update_incident(
    session: Session,
    page: StatusPage,
    row: PageIncident,
    *,
    now: datetime,
    name: str | None = None,
    impact: Any = None,
    incident_ids: Sequence[int | str] | None = None,
    postmortem: str | None = None,
) -> PageIncident:
    if name is not None:
        row.name = _name(name, "an incident", MAX_INCIDENT_NAME)
    if impact is not None:
        row.impact = _enum(Impact, impact, "impact")
    if incident_ids is not None:
        repo.set_links(session, row.id, _linked_incidents(session, incident_ids))
    if postmortem is not None:
        if postmortem.strip():
            row.postmortem_body = _body(postmortem, "a postmortem")
            row.postmortem_published_at = row.postmortem_published_at or now
        else:
            row.postmortem_body, row.postmortem_published_at = None, None
    row.updated_at = now
    session.flush()
    cache.touched(session, page.id)
    return row


def add_update(
    session: Session,
    page: StatusPage,
    row: PageIncident,
    *,
    status: Any,
    body: str,
    now: datetime,
    actor: Actor,
    impact: Any = None,
    components: Mapping[Any, Any] | None = None,
) -> PageIncidentUpdate:
    new_status = _enum(UpdateStatus, status, "status")
    changes = _component_changes(session, page, components or {})
    checked = _body(body)
    if impact is not None:
        row.impact = _enum(Impact, impact, "impact")
    return _add_update(session, page, row, new_status, checked, changes, now=now, actor=actor)


def _add_update(
    session: Session,
    page: StatusPage,
    row: PageIncident,
    status: UpdateStatus,
    body: str,
    changes: Sequence[tuple[Component, ComponentStatus]],
    *,
    now: datetime,
    actor: Actor,
) -> PageIncidentUpdate:
    affected = []
    update = PageIncidentUpdate(
        status_incident_id=row.id,
        status=status,
        body=body,
        affected_components=[],
        display_at=now,
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
    )
    session.add(update)
    session.flush()
    for component, new in changes:
        old = set_status(session, component, new, now=now, source=f"update {update.id}")
        affected.append({"code": str(component.id), "name": component.name, "old_status": old, "new_status": str(new)})
    update.affected_components = affected
    row.status = status
    row.updated_at = now
    if status == UpdateStatus.MONITORING and row.monitoring_at is None:
        row.monitoring_at = now
    if status == UpdateStatus.RESOLVED:
        row.resolved_at = row.resolved_at or now
    else:
        row.resolved_at = None
    session.flush()
    cache.touched(session, page.id)
    for incident_id in repo.links_of(session, [row.id])[row.id]:
        incidents.record(
            session,
            incident_id,
            TimelineKind.STATUS_PAGE_UPDATE,
            f"Status page {page.name!r}, {row.name!r}: {status} — {body[:200]}",
            actor=actor,
            now=now,
            status_page=page.slug,
            status_incident_id=row.id,
        )
    _queue(
        session,
        page,
        key=f"update:{update.id}",
        components=[int(a["code"]) for a in affected],
        subject=f"[{page.name}] {row.name}: {status}",
        body=body,
        payload={
            "page": {"id": str(page.id), "name": page.name},
            "incident": {"id": str(row.id), "name": row.name, "status": str(row.status), "impact": str(row.impact)},
            "incident_update": {"id": str(update.id), "status": str(status), "body": body},
        },
        now=now,
    )
    return update


def components_of_pages(session: Session, page_ids: Sequence[int]) -> dict[int, list[Component]]:
    return repo.components_of_pages(session, page_ids)


def publish_response_incident(
    session: Session,
    page: StatusPage,
    incident: Incident,
    *,
    name: str,
    body: str,
    now: datetime,
    actor: Actor,
    is_admin: bool,
    status: Any = UpdateStatus.INVESTIGATING,
    impact: Any = Impact.MINOR,
    components: Mapping[Any, Any] | None = None,
) -> PageIncident:
    """Publish a response incident on a page from the incident itself, under the one-voice rule. A page shows
    one open status-page incident per response incident: a second one would split its story, so further news is an
    update of the first."""
    refusal = publishable(incident)
    if refusal is not None:
        raise Conflict(refusal)
    require_voice(session, page, [incident.id], user_id=actor.user_id, is_admin=is_admin)
    if any(
        row.status != UpdateStatus.RESOLVED for row in repo.status_incidents_linked_to(session, incident.id, page.id)
    ):
        raise Conflict(f"incident #{incident.number} is already published on {page.name!r}: post an update there")
    row, _ = create_incident(
        session,
        page,
        name=name,
        body=body,
        now=now,
        actor=actor,
        status=status,
        impact=impact,
        components=components,
        incident_ids=[incident.id],
    )
    return row


def published_for(session: Session, incident_id: int) -> list[tuple[StatusPage, PageIncident]]:
    """The status-page incidents linked to this response incident, with their pages."""
    return repo.published_for(session, incident_id)


def proposed_for(session: Session, incident_id: int) -> list[tuple[StatusPage, Proposal]]:
    return repo.proposed_for(session, incident_id)


# --- maintenance -----------------------------------------------------------------------------------------------------
def get_maintenance(session: Session, page: StatusPage, maintenance_id: int) -> Maintenance:
    return _on_page(session, Maintenance, maintenance_id, page, "maintenance")


def list_maintenances(session: Session, page: StatusPage) -> list[Maintenance]:
    return repo.maintenances(session, page.id)


def maintenance_updates_of(session: Session, ids: Sequence[int]) -> dict[int, list[MaintenanceUpdate]]:
    return repo.maintenance_updates_of(session, ids)


def _component_ids(session: Session, page: StatusPage, ids: Sequence[Any]) -> list[int]:
    found: list[int] = []
    for ref in ids:
        component = repo.on_page(session, Component, ascii_int(ref), page.id)
        if component is None:
            raise InvalidInput(f"component_ids: no component {ref!r} on this page")
        if component.id not in found:
            found.append(component.id)
    return found


def schedule_maintenance(
    session: Session,
    page: StatusPage,
    *,
    name: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    now: datetime,
    body: str = "",
    component_ids: Sequence[Any] = (),
    auto_start: bool = True,
    auto_complete: bool = True,
) -> Maintenance:
    if scheduled_until <= scheduled_for:
        raise InvalidInput("scheduled_until must come after scheduled_for")
    if scheduled_until <= now:
        raise InvalidInput("the maintenance would end in the past")
    if scheduled_until - scheduled_for > timedelta(days=31):
        raise InvalidInput("a maintenance lasts at most 31 days")
    text = _body(body or f"{name} is scheduled.", "a maintenance")
    row = Maintenance(
        page_id=page.id,
        name=_name(name, "a maintenance", MAX_INCIDENT_NAME),
        body=text,
        status=MaintenanceStatus.SCHEDULED,
        impact=Impact.NONE,
        component_ids=_component_ids(session, page, component_ids),
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
        silence_ids=[],
        shortlink_code=_code(),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _maintenance_update(session, page, row, text, now=now)
    return row


def update_maintenance(
    session: Session, page: StatusPage, row: Maintenance, changes: Mapping[str, Any], *, now: datetime
) -> Maintenance:
    if row.status == MaintenanceStatus.COMPLETED:
        raise Conflict(f"maintenance {row.id} is completed")
    for key, value in changes.items():
        if key == "name":
            row.name = _name(value, "a maintenance", MAX_INCIDENT_NAME)
        elif key in ("scheduled_for", "scheduled_until", "auto_start", "auto_complete"):
            setattr(row, key, value)
        elif key == "component_ids":
            row.component_ids = _component_ids(session, page, value or [])
        elif key != "status" and key != "body":
            raise InvalidInput(f"unknown field {key}")
    if row.scheduled_until <= row.scheduled_for:
        raise InvalidInput("scheduled_until must come after scheduled_for")
    row.updated_at = now
    if "status" in changes and changes["status"] is not None:
        target = _enum(MaintenanceStatus, changes["status"], "status")
        move_maintenance(session, page, row, target, now=now, body=changes.get("body"))
    elif changes.get("body"):
        _maintenance_update(session, page, row, _body(changes["body"], "a maintenance update"), now=now)
    session.flush()
    cache.touched(session, page.id)
    return row


def move_maintenance(
    session: Session, page: StatusPage, row: Maintenance, target: MaintenanceStatus, *, now: datetime, body: str | None
) -> None:
    """scheduled → in_progress → verifying → completed (a scheduled one may be completed, i.e. cancelled)."""
    order = list(MaintenanceStatus)
    if order.index(target) < order.index(row.status):
        raise Conflict(f"maintenance {row.id} is {row.status}: it cannot go back to {target}")
    if target == row.status:
        return
    if target in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING) and row.started_at is None:
        _start(session, page, row, now)
    if target == MaintenanceStatus.COMPLETED:
        _finish(session, page, row, now)
    row.status = target
    row.updated_at = now
    default = {
        MaintenanceStatus.IN_PROGRESS: "Maintenance is in progress.",
        MaintenanceStatus.VERIFYING: "Maintenance is being verified.",
        MaintenanceStatus.COMPLETED: "Maintenance has been completed.",
    }
    _maintenance_update(session, page, row, _body(body or default.get(target, str(target)), "an update"), now=now)


def _start(session: Session, page: StatusPage, row: Maintenance, now: datetime) -> None:
    row.started_at = now
    service_ids: list[int] = []
    for component in repo.components_by_ids(session, row.component_ids):
        set_status(session, component, ComponentStatus.UNDER_MAINTENANCE, now=now, source=f"maintenance {row.id}")
        service_ids += [s for s in component.service_ids if s not in service_ids]
    silences: list[int] = []
    for service_id in service_ids:
        try:
            service = services.get_service(session, service_id)
        except NotFound:
            continue
        silence = silence_service.create_silence(
            session,
            matchers=[],
            starts_at=now,
            ends_at=max(row.scheduled_until, now + timedelta(minutes=1)),
            author=f"status page {page.slug}",
            comment=f"Scheduled maintenance {row.name!r} on status page {page.name!r}",
            now=now,
            service=service.name,
        )
        silences.append(silence.id)
    row.silence_ids = silences


def _finish(session: Session, page: StatusPage, row: Maintenance, now: datetime) -> None:
    row.completed_at = now
    if row.started_at is not None:
        for component in repo.components_by_ids(session, row.component_ids):
            if component.status == ComponentStatus.UNDER_MAINTENANCE:
                set_status(session, component, ComponentStatus.OPERATIONAL, now=now, source=f"maintenance {row.id}")
    for silence_id in row.silence_ids:
        try:
            silence = silence_service.get_silence(session, silence_id)
            if silence.ends_at is None or silence.ends_at > now:
                silence_service.expire_silence(session, silence_id, now=now)
        except (NotFound, InvalidInput):
            continue


def _maintenance_update(session: Session, page: StatusPage, row: Maintenance, body: str, *, now: datetime) -> None:
    update = MaintenanceUpdate(maintenance_id=row.id, status=row.status, body=body, display_at=now, created_at=now)
    session.add(update)
    session.flush()
    cache.touched(session, page.id)
    _queue(
        session,
        page,
        key=f"maintenance-update:{update.id}",
        components=list(row.component_ids),
        subject=f"[{page.name}] Maintenance {row.name}: {row.status}",
        body=body,
        payload={
            "page": {"id": str(page.id), "name": page.name},
            "scheduled_maintenance": {"id": f"m{row.id}", "name": row.name, "status": str(row.status)},
            "incident_update": {"id": f"m{update.id}", "status": str(row.status), "body": body},
        },
        now=now,
    )


def run_maintenances(session: Session, *, now: datetime) -> int:
    """Start the maintenances whose time came and complete those whose end passed (the engine, idempotent: a
    maintenance moves only from the status the query found it in, under its row lock)."""
    done = 0
    for row in repo.due_to_start(session, now):
        page = repo.page_by_id(session, row.page_id)
        if page is not None and row.status == MaintenanceStatus.SCHEDULED:
            move_maintenance(session, page, row, MaintenanceStatus.IN_PROGRESS, now=now, body=None)
            done += 1
    for row in repo.due_to_complete(session, now):
        page = repo.page_by_id(session, row.page_id)
        if page is not None and row.status != MaintenanceStatus.COMPLETED:
            move_maintenance(session, page, row, MaintenanceStatus.COMPLETED, now=now, body=None)
            done += 1
    return done


def next_maintenance_due(session: Session) -> datetime | None:
    return repo.next_maintenance_due(session)


# --- subscribers and deliveries --------------------------------------------------------------------------------------
def _queue(
    session: Session,
    page: StatusPage,
    *,
    key: str,
    components: Sequence[int],
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """One delivery per confirmed subscriber of this page (and of one of ``components``, when they chose some)."""
    rows: list[dict[str, object]] = []
    touched = set(components)
    for s in repo.active_subscribers(session, page.id):
        if s.component_ids and not touched.intersection(s.component_ids):
            continue
        rows.append(
            {
                "subscriber_id": s.id,
                "key": f"{key}:{s.id}",
                "kind": "update",
                "subject": subject[:300],
                "body": body,
                "payload": payload,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
        )
    repo.add_deliveries(session, rows)
    return len(rows)


def list_subscribers(session: Session, page: StatusPage) -> list[Subscriber]:
    return repo.subscribers(session, page.id)


def get_subscriber(session: Session, page: StatusPage, subscriber_id: int) -> Subscriber:
    return _on_page(session, Subscriber, subscriber_id, page, "subscriber")


def subscribe_email(
    session: Session, page: StatusPage, address: str, *, now: datetime, component_ids: Sequence[Any] = (), ip: str = ""
) -> tuple[Subscriber, bool]:
    """A subscriber waiting for confirmation (and a confirmation mail queued); True when a mail was queued.

    Asking again for a confirmed address changes nothing and says nothing more (no one learns who subscribed)."""
    email = (address or "").strip()
    if not EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("email: not an email address")
    chosen = _component_ids(session, page, component_ids)
    row = repo.subscriber(session, page.id, SubscriberKind.EMAIL, email)
    if row is not None and row.confirmed_at is not None and row.unsubscribed_at is None:
        return row, False
    if row is None:
        row = Subscriber(page_id=page.id, kind=SubscriberKind.EMAIL, address=email, created_at=now, created_ip=ip[:64])
        session.add(row)
    row.component_ids = chosen
    row.confirmed_at = None
    row.unsubscribed_at = None
    session.flush()
    return row, True


def queue_confirmation(session: Session, row: Subscriber, *, subject: str, body: str, now: datetime) -> None:
    repo.add_deliveries(
        session,
        [
            {
                "subscriber_id": row.id,
                "key": f"confirm:{row.id}:{secrets.token_hex(6)}",
                "kind": "confirm",
                "subject": subject[:300],
                "body": body,
                "payload": {},
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "due_at": now,
                "created_at": now,
            }
        ],
    )


def add_webhook(
    session: Session, page: StatusPage, url: str, *, now: datetime, component_ids: Sequence[Any] = ()
) -> tuple[Subscriber, str]:
    """A webhook subscriber, confirmed at once (an admin adds it), and its signing secret (shown once)."""
    import base64

    checked = _http_url(url, "url")
    if checked is None:
        raise InvalidInput("url: required")
    if repo.subscriber(session, page.id, SubscriberKind.WEBHOOK, checked) is not None:
        raise Conflict("this URL is subscribed to this page already")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    row = Subscriber(
        page_id=page.id,
        kind=SubscriberKind.WEBHOOK,
        address=checked,
        component_ids=_component_ids(session, page, component_ids),
        secret=secret,
        confirmed_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, secret


def confirm(session: Session, subscriber_id: int, *, now: datetime) -> Subscriber | None:
    row = repo.subscriber_by_id(session, subscriber_id)
    if row is None or row.unsubscribed_at is not None:
        return None
    if row.confirmed_at is None:
        row.confirmed_at = now
    return row


def unsubscribe(session: Session, subscriber_id: int, *, now: datetime) -> Subscriber | None:
    row = repo.subscriber_by_id(session, subscriber_id)
    if row is None:
        return None
    if row.unsubscribed_at is None:
        row.unsubscribed_at = now
    return row


def delete_subscriber(session: Session, row: Subscriber) -> None:
    session.delete(row)
    session.flush()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed delivery, as plain values for the sender (outside any transaction)."""

    id: int
    kind: str
    subscriber_kind: str
    subscriber_id: int
    page_id: int
    page_slug: str
    page_name: str
    address: str
    secret: str | None
    subject: str
    body: str
    payload: dict[str, Any]
    key: str
    attempts: int


def claim_deliveries(session: Session, *, now: datetime, lease: timedelta, limit: int = 100) -> list[Outgoing]:
    claimed = repo.claim_deliveries(session, now, now + lease, limit)
    subscribers = repo.subscribers_by_ids(session, [d.subscriber_id for d in claimed])
    out: list[Outgoing] = []
    pages: dict[int, StatusPage | None] = {}
    for d in claimed:
        s = subscribers.get(d.subscriber_id)
        if s is None:
            continue
        if s.page_id not in pages:
            pages[s.page_id] = repo.page_by_id(session, s.page_id)
        page = pages[s.page_id]
        if page is None:
            continue
        if s.unsubscribed_at is not None or (d.kind != "confirm" and s.confirmed_at is None):
            d.status = DeliveryStatus.SKIPPED
            d.error = "unsubscribed" if s.unsubscribed_at is not None else "not confirmed"
            continue
        out.append(
            Outgoing(
                id=d.id,
                kind=d.kind,
                subscriber_kind=str(s.kind),
                subscriber_id=s.id,
                page_id=page.id,
                page_slug=page.slug,
                page_name=page.name,
                address=s.address,
                secret=s.secret,
                subject=d.subject,
                body=d.body,
                payload=dict(d.payload),
                key=d.key,
                attempts=d.attempts,
            )
        )
    return out


def record_delivery(session: Session, delivery_id: int, *, outcome: str, error: str | None, now: datetime) -> None:
    record_deliveries(session, [(delivery_id, outcome, error)], now=now)


def record_deliveries(session: Session, outcomes: Sequence[tuple[int, str, str | None]], *, now: datetime) -> None:
    """Each ``(delivery id, outcome, error)``; ``outcome``: delivered, retry or failed (a bounce). A failure is kept
    on the delivery and the subscriber. A whole batch is read in two queries and written in one flush: a fan-out to
    thousands is not two round trips per mail."""
    found = repo.deliveries_by_ids(session, [delivery_id for delivery_id, _, _ in outcomes])
    pending = [(found[i], outcome, error) for i, outcome, error in outcomes if i in found]
    pending = [(d, outcome, error) for d, outcome, error in pending if d.status == DeliveryStatus.PENDING]
    # Most of a fan-out is delivered: those subscribers' failure counts are reset in one statement, and only the
    # subscribers of failed deliveries are loaded.
    repo.reset_failures(session, [d.subscriber_id for d, outcome, _ in pending if outcome == "delivered"])
    failing = repo.subscribers_by_ids(session, [d.subscriber_id for d, outcome, _ in pending if outcome != "delivered"])
    for d, outcome, error in pending:
        _record(d, failing.get(d.subscriber_id), outcome, error, now)
    session.flush()


def _record(d: Delivery, s: Subscriber | None, outcome: str, error: str | None, now: datetime) -> None:
    d.attempts += 1
    d.claimed_until = None
    if outcome == "delivered":
        d.status = DeliveryStatus.DELIVERED
        d.sent_at = now
        d.error = None
        return
    d.error = (error or outcome)[:500]
    if s is not None:
        s.failures += 1
        s.last_error = d.error
    if outcome == "retry" and d.attempts < DELIVERY_ATTEMPTS:
        d.due_at = now + timedelta(seconds=30 * 2 ** (d.attempts - 1))
    else:
        d.status = DeliveryStatus.FAILED


def next_delivery_due(session: Session) -> datetime | None:
    return repo.next_delivery_due(session)


def deliveries_of(session: Session, subscriber_id: int) -> list[Delivery]:
    return repo.deliveries_of(session, subscriber_id)


# --- automation ------------------------------------------------------------------------------------------------------
def list_proposals(session: Session, page: StatusPage, *, open_only: bool = True) -> list[Proposal]:
    return repo.proposals(session, page.id, open_only=open_only)


def get_proposal(session: Session, page: StatusPage, proposal_id: int) -> Proposal:
    return _on_page(session, Proposal, proposal_id, page, "proposal")


def propose(session: Session, incident: Incident, kind: str, *, now: datetime) -> int:
    """After a major incident opened (``kind`` "open") or was resolved ("resolve") on a service some component
    stands for: a proposal per page with automation on, applied at once on automatic pages."""
    if publishable(incident) is not None:
        return 0
    made = 0
    for page in repo.pages_with_automation(session):
        hit = [c for c in repo.components(session, page.id) if incident.service_id in c.service_ids]
        if not hit:
            continue
        key = f"{kind}:{incident.id}:{page.id}"
        if repo.proposal_by_key(session, key) is not None:
            continue
        names = ", ".join(c.name for c in hit)
        service = services.get_service(session, incident.service_id)
        if kind == "open":
            text, status = page.opening_template, UpdateStatus.INVESTIGATING
            statuses = {str(c.id): ComponentStatus.MAJOR_OUTAGE.value for c in hit}
        else:
            if not repo.status_incidents_linked_to(session, incident.id, page.id):
                continue
            text, status = page.closing_template, UpdateStatus.RESOLVED
            statuses = {str(c.id): ComponentStatus.OPERATIONAL.value for c in hit}
        body = text.replace("{component}", names).replace("{service}", service.name)
        proposal = Proposal(
            page_id=page.id,
            key=key,
            incident_id=incident.id,
            kind=kind,
            name=f"Issue affecting {names}"[:300],
            body=body[:MAX_BODY],
            update_status=status,
            impact=Impact.MAJOR,
            component_statuses=statuses,
            status=ProposalStatus.OPEN,
            created_at=now,
        )
        session.add(proposal)
        session.flush()
        made += 1
        if page.automation == Automation.AUTOMATIC:
            publish_proposal(session, page, proposal, now=now, actor=Actor(label="automation", source="engine"))
    return made


def require_voice(
    session: Session, page: StatusPage, incident_ids: Sequence[int], *, user_id: int | None, is_admin: bool
) -> None:
    """One voice (ADR 0028): admins always publish; others only updates linked to a response incident, and then
    only as its Communications Lead or Incident Commander unless the page lets anyone publish."""
    if is_admin:
        return
    if not incident_ids:
        raise Forbidden(f"only admins publish to status page {page.name!r} what is not linked to a response incident")
    if page.anyone_may_publish or stakeholders.may_speak(session, incident_ids, user_id):
        return
    raise Forbidden(
        f"one voice: only the incident's Communications Lead or Incident Commander (or an admin) publishes updates "
        f"to status page {page.name!r}; an admin may let anyone publish (anyone_may_publish)"
    )


def publish_proposal(
    session: Session, page: StatusPage, proposal: Proposal, *, now: datetime, actor: Actor, body: str | None = None
) -> PageIncident:
    if proposal.status != ProposalStatus.OPEN:
        raise Conflict(f"proposal {proposal.id} is {proposal.status}")
    text = body if body and body.strip() else proposal.body
    existing = repo.status_incidents_linked_to(session, proposal.incident_id, page.id)
    open_ones = [i for i in existing if i.status != UpdateStatus.RESOLVED]
    if proposal.kind == "open" or not open_ones:
        if open_ones:
            row = open_ones[0]
            add_update(
                session,
                page,
                row,
                status=proposal.update_status,
                body=text,
                now=now,
                actor=actor,
                components=proposal.component_statuses,
            )
        else:
            row, _ = create_incident(
                session,
                page,
                name=proposal.name,
                body=text,
                now=now,
                actor=actor,
                status=proposal.update_status,
                impact=proposal.impact,
                components=proposal.component_statuses,
                incident_ids=[proposal.incident_id],
            )
    else:
        row = open_ones[0]
        add_update(
            session,
            page,
            row,
            status=proposal.update_status,
            body=text,
            now=now,
            actor=actor,
            components=proposal.component_statuses,
        )
    proposal.status = ProposalStatus.PUBLISHED
    proposal.status_incident_id = row.id
    proposal.decided_at = now
    proposal.decided_by_user_id = actor.user_id
    return row


def discard_proposal(session: Session, proposal: Proposal, *, now: datetime, actor: Actor) -> None:
    if proposal.status != ProposalStatus.OPEN:
        raise Conflict(f"proposal {proposal.id} is {proposal.status}")
    proposal.status = ProposalStatus.DISCARDED
    proposal.decided_at = now
    proposal.decided_by_user_id = actor.user_id
