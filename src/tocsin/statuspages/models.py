"""Status pages in Atlassian Statuspage's public vocabulary: pages, component groups and components (with every
status change kept), incidents written for the public with their updates, scheduled maintenance, subscribers and
the deliveries of each update to them, and the proposals automation leaves for a person to publish."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from tocsin.db.base import Base, BigID, vocabulary
from tocsin.db.encrypted import EncryptedText


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class UpdateStatus(StrEnum):
    """A public incident's status: an update moves it."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class Automation(StrEnum):
    OFF = "off"
    PROPOSE = "propose"
    AUTOMATIC = "automatic"


class SubscriberKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class ProposalStatus(StrEnum):
    OPEN = "open"
    PUBLISHED = "published"
    DISCARDED = "discarded"


OPENING_TEMPLATE = "We are investigating an issue affecting {component}. More to follow shortly."
CLOSING_TEMPLATE = "The issue affecting {component} has been resolved. Thank you for your patience."


class StatusPage(Base):
    __tablename__ = "status_pages"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    visibility: Mapped[Visibility] = mapped_column(vocabulary(Visibility, 10), default=Visibility.PUBLIC)
    logo_url: Mapped[str | None] = mapped_column(String(1000))
    # Hex colours ("#0b6e4f"): the brand colour of the header and links, the banner's text colour.
    brand_color: Mapped[str] = mapped_column(String(7), default="#1f4e79")
    text_color: Mapped[str] = mapped_column(String(7), default="#ffffff")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # [{"label": str, "url": str}]
    footer_links: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    automation: Mapped[Automation] = mapped_column(vocabulary(Automation, 10), default=Automation.OFF)
    # One voice (ADR 0028): when false only the Communications Lead or Incident Commander (or an admin) publishes.
    anyone_may_publish: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # First update proposed when a major incident opens on a linked service; {service} and {component} are filled.
    opening_template: Mapped[str] = mapped_column(Text, default=OPENING_TEMPLATE)
    closing_template: Mapped[str] = mapped_column(Text, default=CLOSING_TEMPLATE)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ComponentGroup(Base):
    __tablename__ = "status_component_groups"
    __table_args__ = (Index("ix_status_component_groups_page", "page_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Component(Base):
    __tablename__ = "status_components"
    __table_args__ = (Index("ix_status_components_page", "page_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("status_component_groups.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[ComponentStatus] = mapped_column(
        vocabulary(ComponentStatus, 24), default=ComponentStatus.OPERATIONAL
    )
    showcase: Mapped[bool] = mapped_column(Boolean, default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    # The Tocsin services this component stands for (ids), for automation and maintenance silences.
    service_ids: Mapped[list[int]] = mapped_column(default=list)
    start_date: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ComponentStatusChange(Base):
    """Every status a component took, from when: the uptime bars are computed from these rows."""

    __tablename__ = "status_component_changes"
    __table_args__ = (Index("ix_status_component_changes_component", "component_id", "at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"))
    status: Mapped[ComponentStatus] = mapped_column(vocabulary(ComponentStatus, 24))
    at: Mapped[datetime]
    # Why: "update 12", "maintenance 3", "by hand" …
    source: Mapped[str] = mapped_column(String(100), default="")


class PageIncident(Base):
    """An incident as the public reads it, written by people (or published from a proposal)."""

    __tablename__ = "status_incidents"
    __table_args__ = (Index("ix_status_incidents_page", "page_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[UpdateStatus] = mapped_column(vocabulary(UpdateStatus, 16))
    impact: Mapped[Impact] = mapped_column(vocabulary(Impact, 10))
    shortlink_code: Mapped[str] = mapped_column(String(16), unique=True)
    postmortem_body: Mapped[str | None] = mapped_column(Text)
    postmortem_published_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    monitoring_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PageIncidentLink(Base):
    """Which response incidents a status-page incident speaks for (many to many)."""

    __tablename__ = "status_incident_links"
    __table_args__ = (UniqueConstraint("status_incident_id", "incident_id", name="uq_status_incident_links_pair"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    status_incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)


class PageIncidentUpdate(Base):
    __tablename__ = "status_incident_updates"
    __table_args__ = (Index("ix_status_incident_updates_incident", "status_incident_id", "display_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    status_incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"))
    status: Mapped[UpdateStatus] = mapped_column(vocabulary(UpdateStatus, 16))
    body: Mapped[str] = mapped_column(Text)
    # [{"code": component id, "name": str, "old_status": str, "new_status": str}]
    affected_components: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    display_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Maintenance(Base):
    """Scheduled maintenance: starts and ends by itself (the engine), silencing its components' services."""

    __tablename__ = "status_maintenances"
    __table_args__ = (Index("ix_status_maintenances_due", "status", "scheduled_for"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MaintenanceStatus] = mapped_column(vocabulary(MaintenanceStatus, 12))
    impact: Mapped[Impact] = mapped_column(vocabulary(Impact, 10), default=Impact.NONE)
    component_ids: Mapped[list[int]] = mapped_column(default=list)
    scheduled_for: Mapped[datetime]
    scheduled_until: Mapped[datetime]
    auto_start: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_complete: Mapped[bool] = mapped_column(Boolean, default=True)
    # The silences created while it runs (one per linked service), expired when it ends.
    silence_ids: Mapped[list[int]] = mapped_column(default=list)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    shortlink_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MaintenanceUpdate(Base):
    __tablename__ = "status_maintenance_updates"
    __table_args__ = (Index("ix_status_maintenance_updates_maintenance", "maintenance_id", "display_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    maintenance_id: Mapped[int] = mapped_column(ForeignKey("status_maintenances.id", ondelete="CASCADE"))
    status: Mapped[MaintenanceStatus] = mapped_column(vocabulary(MaintenanceStatus, 12))
    body: Mapped[str] = mapped_column(Text)
    display_at: Mapped[datetime]
    created_at: Mapped[datetime]


class Subscriber(Base):
    __tablename__ = "status_subscribers"
    __table_args__ = (
        UniqueConstraint("page_id", "kind", "address", name="uq_status_subscribers_address"),
        Index("ix_status_subscribers_page", "page_id", "confirmed_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    kind: Mapped[SubscriberKind] = mapped_column(vocabulary(SubscriberKind, 8))
    # An email address or a webhook URL.
    address: Mapped[str] = mapped_column(String(1000))
    # Empty: every component; otherwise only updates touching one of these component ids.
    component_ids: Mapped[list[int]] = mapped_column(default=list)
    # Webhook subscribers: the whsec_ signing secret (shown once when created), encrypted at rest (ADR 0017).
    secret: Mapped[str | None] = mapped_column(EncryptedText())
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_ip: Mapped[str] = mapped_column(String(64), default="")
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class Delivery(Base):
    """One update (or maintenance update, or confirmation) to one subscriber, sent once by the engine."""

    __tablename__ = "status_deliveries"
    __table_args__ = (
        UniqueConstraint("key", name="uq_status_deliveries_key"),
        Index("ix_status_deliveries_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("status_subscribers.id", ondelete="CASCADE"))
    # "update:<id>:<subscriber>", "maintenance-update:<id>:<subscriber>", "confirm:<subscriber>": sent once.
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # The JSON sent to webhooks.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(vocabulary(DeliveryStatus, 10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Proposal(Base):
    """What automation suggests after a response incident moved: a component status and an update, published or
    discarded by a person (or applied at once on an automatic page)."""

    __tablename__ = "status_proposals"
    __table_args__ = (
        UniqueConstraint("key", name="uq_status_proposals_key"),
        Index("ix_status_proposals_page", "page_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("status_pages.id", ondelete="CASCADE"))
    # "open:<incident id>:<page>" or "resolve:<incident id>:<page>": one proposal per move and page.
    key: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    update_status: Mapped[UpdateStatus] = mapped_column(vocabulary(UpdateStatus, 16))
    impact: Mapped[Impact] = mapped_column(vocabulary(Impact, 10))
    # {component id (str): status}
    component_statuses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[ProposalStatus] = mapped_column(vocabulary(ProposalStatus, 10), default=ProposalStatus.OPEN)
    status_incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SubscribeWindow(Base):
    """Subscription requests of one key (a page and an address, or a page and a client address) in one slice of
    the limit's window, shared by every process and node so that a flood spread over them is still refused.

    Keyed by the SHA-256 of the key: what people type into the email field is not kept here."""

    __tablename__ = "statuspage_subscribe_windows"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    slice_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(default=0)
