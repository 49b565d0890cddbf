"""The normalised event every inbound format is parsed into (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

Action = Literal["trigger", "acknowledge", "resolve"]
ACTIONS: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")


@dataclass(slots=True)
class NormalizedEvent:
    action: Action
    dedup_key: str | None
    summary: str = ""
    severity: str = "error"
    source: str = ""
    component: str | None = None
    group: str | None = None
    class_: str | None = None
    timestamp: datetime | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    client: str | None = None
    client_url: str | None = None
    # Sent by a drill (ADR 0025), never by a sender: its alert and incident are marked and never counted.
    drill: bool = False

    def payload(self) -> dict[str, Any]:
        """The event as JSON-ready data, stored with every accepted event."""
        stored: dict[str, Any] = {
            "action": self.action,
            "dedup_key": self.dedup_key,
            "summary": self.summary,
            "severity": self.severity,
            "source": self.source,
            "component": self.component,
            "group": self.group,
            "class": self.class_,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "labels": self.labels,
            "details": self.details,
            "links": self.links,
            "images": self.images,
            "client": self.client,
            "client_url": self.client_url,
        }
        if self.drill:
            stored["drill"] = True
        return stored


@dataclass(slots=True)
class NormalizedChange:
    summary: str
    source: str = ""
    timestamp: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Submission:
    """What one inbound request asks for: events (and change events) for the integration with this key."""

    integration_key: str
    events: list[NormalizedEvent] = field(default_factory=list)
    changes: list[NormalizedChange] = field(default_factory=list)
    # The sender's own id of this delivery (SNS MessageId, an email's Message-ID): a retry carrying an id
    # already stored for the integration is acknowledged and changes nothing.
    delivery_id: str | None = None
    # The integration type of the endpoint the request came through: a key of another type answers as unknown,
    # so that a key of a signed source cannot be used unsigned elsewhere (ADR 0014). None only for callers inside
    # Tocsin that picked the integration themselves (the route simulator, a console test event).
    integration_type: str | None = None


class AlertStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class IngestOutcome(StrEnum):
    """What an accepted event did (kept with it in the event log, answered to the sender)."""

    CREATED = "created"
    DEDUPLICATED = "deduplicated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    # A retry that reused a delivery id already applied (SNS MessageId, email Message-ID): changes nothing.
    REDELIVERED = "redelivered"
    # A trigger that opened an alert but no page of its own:
    GROUPED = "grouped"
    SILENCED = "silenced"
    INHIBITED = "inhibited"
    SUPPRESSED = "suppressed"
    FLAPPING = "flapping"
    # A trigger an event rule threw away: kept in the event log only.
    DROPPED = "dropped"


@dataclass(slots=True)
class SubmissionResult:
    found: bool
    integration_type: str = ""
    dedup_keys: list[str] = field(default_factory=list)
    outcomes: list[IngestOutcome] = field(default_factory=list)
