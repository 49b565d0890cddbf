"""/api/v1/status-pages: pages, component groups, components, published incidents and their updates, scheduled
maintenance, subscribers and automation's proposals. Status pages speak for the whole organisation: only admins
change them (everyone signed in reads); updates to incidents linked to a response incident are also published by
the incident's Communications Lead or Commander, or anyone when the page allows it (one voice, ADR 0028)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.core.clock import utc
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import (
    Automation,
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    Maintenance,
    MaintenanceStatus,
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
from tocsin.statuspages.service import MAX_BODY

router = APIRouter(prefix="/api/v1/status-pages", tags=["status pages"], responses=PROBLEM_RESPONSES)


class FooterLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=1000)


class PageFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    visibility: Visibility | None = None
    logo_url: str | None = Field(default=None, max_length=1000)
    brand_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    text_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    custom_domain: str | None = Field(default=None, max_length=253)
    footer_links: list[FooterLink] | None = Field(default=None, max_length=20)
    automation: Automation | None = None
    anyone_may_publish: bool | None = Field(
        default=None, description="false: only the incident's Communications Lead or Commander (or an admin) publishes"
    )
    opening_template: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)
    closing_template: str | None = Field(default=None, min_length=1, max_length=MAX_BODY)


class PageIn(PageFields):
    slug: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
    name: str = Field(min_length=1, max_length=200)


class PageOut(BaseModel):
    id: int
    slug: str
    name: str
    visibility: Visibility
    logo_url: str | None
    brand_color: str
    text_color: str
    time_zone: str
    custom_domain: str | None
    footer_links: list[FooterLink]
    automation: Automation
    anyone_may_publish: bool
    opening_template: str
    closing_template: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: StatusPage) -> PageOut:
        return cls.model_validate(
            {
                **{k: getattr(row, k) for k in cls.model_fields if k != "footer_links"},
                "footer_links": row.footer_links or [],
            }
        )


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    position: int = Field(default=0, ge=0, le=100_000)


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    position: int | None = Field(default=None, ge=0, le=100_000)


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    position: int

    @classmethod
    def of(cls, row: ComponentGroup) -> GroupOut:
        return cls(id=row.id, name=row.name, description=row.description, position=row.position)


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    group_id: int | None = Field(default=None, ge=1)
    position: int = Field(default=0, ge=0, le=100_000)
    status: ComponentStatus = ComponentStatus.OPERATIONAL
    services: list[str] = Field(default_factory=list, max_length=50, description="service ids or names")
    showcase: bool = True
    only_show_if_degraded: bool = False


class ComponentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    group_id: int | None = Field(default=None, ge=1)
    position: int | None = Field(default=None, ge=0, le=100_000)
    status: ComponentStatus | None = None
    services: list[str] | None = Field(default=None, max_length=50)
    showcase: bool | None = None
    only_show_if_degraded: bool | None = None


class ComponentOut(BaseModel):
    id: int
    name: str
    description: str
    group_id: int | None
    position: int
    status: ComponentStatus
    service_ids: list[int]
    showcase: bool
    only_show_if_degraded: bool
    updated_at: datetime

    @classmethod
    def of(cls, row: Component) -> ComponentOut:
        return cls.model_validate({k: getattr(row, k) for k in cls.model_fields})


ComponentStatuses = dict[str, ComponentStatus]


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    status: UpdateStatus = UpdateStatus.INVESTIGATING
    impact: Impact = Impact.MINOR
    body: str = Field(min_length=1, max_length=MAX_BODY, description="the first update, in Markdown")
    components: ComponentStatuses = Field(default_factory=dict, description="component id → its status now")
    incident_ids: list[str] = Field(default_factory=list, max_length=50, description="response incidents (ids or #n)")


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    impact: Impact | None = None
    incident_ids: list[str] | None = Field(default=None, max_length=50)
    postmortem: str | None = Field(default=None, max_length=MAX_BODY, description="empty: unpublish")


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: UpdateStatus
    body: str = Field(min_length=1, max_length=MAX_BODY)
    impact: Impact | None = None
    components: ComponentStatuses = Field(default_factory=dict)


class UpdateOut(BaseModel):
    id: int
    status: UpdateStatus
    body: str
    affected_components: list[dict[str, Any]]
    display_at: datetime

    @classmethod
    def of(cls, row: PageIncidentUpdate) -> UpdateOut:
        return cls(
            id=row.id,
            status=row.status,
            body=row.body,
            affected_components=list(row.affected_components),
            display_at=row.display_at,
        )


class IncidentOut(BaseModel):
    id: int
    name: str
    status: UpdateStatus
    impact: Impact
    incident_ids: list[int]
    started_at: datetime
    resolved_at: datetime | None
    postmortem: str | None
    updates: list[UpdateOut]

    @classmethod
    def of(cls, row: PageIncident, updates: list[PageIncidentUpdate], links: list[int]) -> IncidentOut:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            impact=row.impact,
            incident_ids=links,
            started_at=row.started_at,
            resolved_at=row.resolved_at,
            postmortem=row.postmortem_body,
            updates=[UpdateOut.of(u) for u in updates],
        )


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=MAX_BODY)
    scheduled_for: datetime
    scheduled_until: datetime
    component_ids: list[int] = Field(default_factory=list, max_length=500)
    auto_start: bool = True
    auto_complete: bool = True


class MaintenancePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=MAX_BODY, description="an update posted with the change")
    status: MaintenanceStatus | None = None
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    component_ids: list[int] | None = Field(default=None, max_length=500)
    auto_start: bool | None = None
    auto_complete: bool | None = None


class MaintenanceOut(BaseModel):
    id: int
    name: str
    body: str
    status: MaintenanceStatus
    component_ids: list[int]
    scheduled_for: datetime
    scheduled_until: datetime
    auto_start: bool
    auto_complete: bool
    silence_ids: list[int]
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: Maintenance) -> MaintenanceOut:
        return cls.model_validate({k: getattr(row, k) for k in cls.model_fields})


class SubscriberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=1000, description="the webhook's URL")
    component_ids: list[int] = Field(default_factory=list, max_length=500)


class SubscriberOut(BaseModel):
    id: int
    kind: SubscriberKind
    address: str
    component_ids: list[int]
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    failures: int
    last_error: str | None
    secret: str | None = Field(default=None, description="shown once, when a webhook subscriber is created")

    @classmethod
    def of(cls, row: Subscriber, secret: str | None = None) -> SubscriberOut:
        return cls(
            id=row.id,
            kind=row.kind,
            address=row.address,
            component_ids=list(row.component_ids),
            confirmed_at=row.confirmed_at,
            unsubscribed_at=row.unsubscribed_at,
            failures=row.failures,
            last_error=row.last_error,
            secret=secret,
        )


class ProposalOut(BaseModel):
    id: int
    kind: str
    incident_id: int
    name: str
    body: str
    update_status: UpdateStatus
    component_statuses: dict[str, str]
    status: ProposalStatus
    status_incident_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: Proposal) -> ProposalOut:
        return cls.model_validate({k: getattr(row, k) for k in cls.model_fields})


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY, description="the update as published")


def _incident_out(session: Session, row: PageIncident) -> IncidentOut:
    updates = statuspages.updates_of(session, [row.id])[row.id]
    links = statuspages.links_of(session, [row.id])[row.id]
    return IncidentOut.of(row, updates, links)


# --- pages -----------------------------------------------------------------------------------------------------------
@router.get("", response_model=list[PageOut], summary="Every status page")
def list_pages(runtime: RuntimeDep, _: PrincipalDep) -> list[PageOut]:
    with runtime.db.reader() as session:
        return [PageOut.of(p) for p in statuspages.list_pages(session)]


@router.post("", response_model=PageOut, status_code=status.HTTP_201_CREATED, summary="Create a status page")
def create_page(body: PageIn, runtime: RuntimeDep, _: AdminDep) -> PageOut:
    fields = body.model_dump(exclude_unset=True, exclude={"slug", "name"})
    with runtime.db.unit_of_work() as session:
        page = statuspages.create_page(session, slug=body.slug, name=body.name, now=runtime.clock.now(), **fields)
        return PageOut.of(page)


@router.get("/{page}", response_model=PageOut, summary="A status page, by id or slug")
def get_page(page: str, runtime: RuntimeDep, _: PrincipalDep) -> PageOut:
    with runtime.db.reader() as session:
        return PageOut.of(statuspages.get_page(session, page))


@router.patch("/{page}", response_model=PageOut, summary="Change a status page")
def patch_page(page: str, body: PageFields, runtime: RuntimeDep, _: AdminDep) -> PageOut:
    changes = body.model_dump(exclude_unset=True)
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        return PageOut.of(statuspages.update_page(session, row, changes, now=runtime.clock.now()))


@router.delete("/{page}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, summary="Delete a page")
def delete_page(page: str, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        statuspages.delete_page(session, statuspages.get_page(session, page))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- groups ----------------------------------------------------------------------------------------------------------
@router.get("/{page}/groups", response_model=list[GroupOut], summary="A page's component groups")
def list_groups(page: str, runtime: RuntimeDep, _: PrincipalDep) -> list[GroupOut]:
    with runtime.db.reader() as session:
        return [GroupOut.of(g) for g in statuspages.groups(session, statuspages.get_page(session, page))]


@router.post("/{page}/groups", response_model=GroupOut, status_code=status.HTTP_201_CREATED, summary="Add a group")
def create_group(page: str, body: GroupIn, runtime: RuntimeDep, _: AdminDep) -> GroupOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        group = statuspages.add_group(
            session, row, name=body.name, description=body.description, position=body.position, now=runtime.clock.now()
        )
        return GroupOut.of(group)


@router.patch("/{page}/groups/{group_id}", response_model=GroupOut, summary="Change a component group")
def patch_group(page: str, group_id: int, body: GroupPatch, runtime: RuntimeDep, _: AdminDep) -> GroupOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        group = statuspages.get_group(session, row, group_id)
        changes = body.model_dump(exclude_unset=True)
        return GroupOut.of(statuspages.update_group(session, row, group, changes, now=runtime.clock.now()))


@router.delete(
    "/{page}/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a component group (its components stay, ungrouped)",
)
def delete_group(page: str, group_id: int, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        statuspages.delete_group(session, row, statuspages.get_group(session, row, group_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- components ------------------------------------------------------------------------------------------------------
@router.get("/{page}/components", response_model=list[ComponentOut], summary="A page's components")
def list_components(page: str, runtime: RuntimeDep, _: PrincipalDep) -> list[ComponentOut]:
    with runtime.db.reader() as session:
        return [ComponentOut.of(c) for c in statuspages.components(session, statuspages.get_page(session, page))]


@router.post(
    "/{page}/components", response_model=ComponentOut, status_code=status.HTTP_201_CREATED, summary="Add a component"
)
def create_component(page: str, body: ComponentIn, runtime: RuntimeDep, _: AdminDep) -> ComponentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        component = statuspages.add_component(
            session,
            row,
            name=body.name,
            description=body.description,
            group_id=body.group_id,
            position=body.position,
            status=body.status,
            services=body.services,
            showcase=body.showcase,
            only_show_if_degraded=body.only_show_if_degraded,
            now=runtime.clock.now(),
        )
        return ComponentOut.of(component)


@router.patch(
    "/{page}/components/{component_id}",
    response_model=ComponentOut,
    summary="Change a component (a new status is kept in its history)",
)
def patch_component(
    page: str, component_id: int, body: ComponentPatch, runtime: RuntimeDep, _: AdminDep
) -> ComponentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        component = statuspages.get_component(session, row, component_id)
        changes = body.model_dump(exclude_unset=True)
        return ComponentOut.of(statuspages.update_component(session, row, component, changes, now=runtime.clock.now()))


@router.delete(
    "/{page}/components/{component_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a component and its history",
)
def delete_component(page: str, component_id: int, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        statuspages.delete_component(session, row, statuspages.get_component(session, row, component_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- incidents and updates -------------------------------------------------------------------------------------------
@router.get("/{page}/incidents", response_model=list[IncidentOut], summary="A page's incidents, newest first")
def list_incidents(page: str, runtime: RuntimeDep, _: PrincipalDep, unresolved: bool = False) -> list[IncidentOut]:
    with runtime.db.reader() as session:
        row = statuspages.get_page(session, page)
        return [_incident_out(session, i) for i in statuspages.list_incidents(session, row, unresolved_only=unresolved)]


@router.post(
    "/{page}/incidents",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Publish an incident with its first update",
)
def create_incident(page: str, body: IncidentIn, runtime: RuntimeDep, principal: AdminDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        incident, _ = statuspages.create_incident(
            session,
            row,
            name=body.name,
            body=body.body,
            status=body.status,
            impact=body.impact,
            components=body.components,
            incident_ids=body.incident_ids,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return _incident_out(session, incident)


@router.patch("/{page}/incidents/{incident_id}", response_model=IncidentOut, summary="Change a published incident")
def patch_incident(page: str, incident_id: int, body: IncidentPatch, runtime: RuntimeDep, _: AdminDep) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        incident = statuspages.get_incident(session, row, incident_id)
        statuspages.update_incident(
            session,
            row,
            incident,
            name=body.name,
            impact=body.impact,
            incident_ids=body.incident_ids,
            postmortem=body.postmortem,
            now=runtime.clock.now(),
        )
        return _incident_out(session, incident)


@router.post(
    "/{page}/incidents/{incident_id}/updates",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Post an update (subscribers are notified once)",
)
def create_update(
    page: str, incident_id: int, body: UpdateIn, runtime: RuntimeDep, principal: ResponderDep
) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        incident = statuspages.get_incident(session, row, incident_id)
        statuspages.require_voice(
            session,
            row,
            statuspages.links_of(session, [incident.id])[incident.id],
            user_id=principal.user.id,
            is_admin=principal.is_admin,
        )
        statuspages.add_update(
            session,
            row,
            incident,
            status=body.status,
            body=body.body,
            impact=body.impact,
            components=body.components,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return _incident_out(session, incident)


# --- maintenance -----------------------------------------------------------------------------------------------------
@router.get("/{page}/maintenances", response_model=list[MaintenanceOut], summary="A page's scheduled maintenance")
def list_maintenances(page: str, runtime: RuntimeDep, _: PrincipalDep) -> list[MaintenanceOut]:
    with runtime.db.reader() as session:
        row = statuspages.get_page(session, page)
        return [MaintenanceOut.of(m) for m in statuspages.list_maintenances(session, row)]


@router.post(
    "/{page}/maintenances",
    response_model=MaintenanceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule maintenance (it starts and completes by itself unless told otherwise)",
)
def create_maintenance(page: str, body: MaintenanceIn, runtime: RuntimeDep, _: AdminDep) -> MaintenanceOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        m = statuspages.schedule_maintenance(
            session,
            row,
            name=body.name,
            body=body.body,
            scheduled_for=utc(body.scheduled_for),
            scheduled_until=utc(body.scheduled_until),
            component_ids=body.component_ids,
            auto_start=body.auto_start,
            auto_complete=body.auto_complete,
            now=runtime.clock.now(),
        )
        return MaintenanceOut.of(m)


@router.patch(
    "/{page}/maintenances/{maintenance_id}",
    response_model=MaintenanceOut,
    summary="Change maintenance, or move it on (in_progress, verifying, completed) with an update",
)
def patch_maintenance(
    page: str, maintenance_id: int, body: MaintenancePatch, runtime: RuntimeDep, _: AdminDep
) -> MaintenanceOut:
    changes = body.model_dump(exclude_unset=True)
    for key in ("scheduled_for", "scheduled_until"):
        if changes.get(key) is not None:
            changes[key] = utc(changes[key])
        elif key in changes:
            del changes[key]
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        m = statuspages.get_maintenance(session, row, maintenance_id)
        return MaintenanceOut.of(statuspages.update_maintenance(session, row, m, changes, now=runtime.clock.now()))


# --- subscribers -----------------------------------------------------------------------------------------------------
@router.get("/{page}/subscribers", response_model=list[SubscriberOut], summary="A page's subscribers")
def list_subscribers(page: str, runtime: RuntimeDep, _: AdminDep) -> list[SubscriberOut]:
    with runtime.db.reader() as session:
        row = statuspages.get_page(session, page)
        return [SubscriberOut.of(s) for s in statuspages.list_subscribers(session, row)]


@router.post(
    "/{page}/subscribers",
    response_model=SubscriberOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook subscriber (its signing secret is shown once)",
)
def create_subscriber(page: str, body: SubscriberIn, runtime: RuntimeDep, _: AdminDep) -> SubscriberOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        sub, secret = statuspages.add_webhook(
            session, row, body.url, component_ids=body.component_ids, now=runtime.clock.now()
        )
        return SubscriberOut.of(sub, secret)


@router.delete(
    "/{page}/subscribers/{subscriber_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a subscriber",
)
def delete_subscriber(page: str, subscriber_id: int, runtime: RuntimeDep, _: AdminDep) -> Response:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        statuspages.delete_subscriber(session, statuspages.get_subscriber(session, row, subscriber_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- proposals -------------------------------------------------------------------------------------------------------
@router.get("/{page}/proposals", response_model=list[ProposalOut], summary="What automation proposes to publish")
def list_proposals(page: str, runtime: RuntimeDep, _: PrincipalDep, include_decided: bool = False) -> list[ProposalOut]:
    with runtime.db.reader() as session:
        row = statuspages.get_page(session, page)
        return [ProposalOut.of(p) for p in statuspages.list_proposals(session, row, open_only=not include_decided)]


@router.post(
    "/{page}/proposals/{proposal_id}/publish", response_model=IncidentOut, summary="Publish a proposal (maybe edited)"
)
def publish_proposal(
    page: str, proposal_id: int, body: PublishIn, runtime: RuntimeDep, principal: ResponderDep
) -> IncidentOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        proposal = statuspages.get_proposal(session, row, proposal_id)
        statuspages.require_voice(
            session, row, [proposal.incident_id], user_id=principal.user.id, is_admin=principal.is_admin
        )
        incident = statuspages.publish_proposal(
            session, row, proposal, body=body.body, actor=principal.actor(), now=runtime.clock.now()
        )
        return _incident_out(session, incident)


@router.post("/{page}/proposals/{proposal_id}/discard", response_model=ProposalOut, summary="Discard a proposal")
def discard_proposal(page: str, proposal_id: int, runtime: RuntimeDep, principal: AdminDep) -> ProposalOut:
    with runtime.db.unit_of_work() as session:
        row = statuspages.get_page(session, page)
        proposal = statuspages.get_proposal(session, row, proposal_id)
        statuspages.discard_proposal(session, proposal, actor=principal.actor(), now=runtime.clock.now())
        return ProposalOut.of(proposal)
