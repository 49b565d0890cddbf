"""JSON shapes of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tocsin.alerts.schemas import AlertStatus
from tocsin.core.json_depth import clip_depth
from tocsin.incidents import milestones, phases
from tocsin.incidents.lifecycle import IncidentStatus, ResponseStatus
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import TimelineKind


class Ref(BaseModel):
    id: int
    name: str


class IncidentOut(BaseModel):
    id: int
    number: int
    title: str
    description: str
    status: IncidentStatus
    urgency: str
    severity: str
    priority: str
    service: Ref
    assigned_to: Ref | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    alert_count: int
    major: bool = False
    response_status: ResponseStatus = ResponseStatus.TRIAGE
    phase_model: str = "default"
    phase: str = ""
    # Every milestone by name (impact_started, detected, reported, acknowledged, mitigated, resolved, closed,
    # impact_ended); null until reached.
    milestones: dict[str, datetime | None] = Field(default_factory=dict)
    # Opened by a drill (ADR 0025): never counted.
    drill: bool = False
    # The cost of its downtime (ADR 0025), running until impact ends, then the kept total; null when its service
    # has no cost per minute (nor its tier). Filled in for one incident (GET /incidents/{ref}), not in lists.
    downtime_cost: float | None = None
    downtime_cost_final: bool | None = None
    currency: str | None = None

    @classmethod
    def of(cls, incident: Incident, service_names: dict[int, str], user_names: dict[int, str]) -> IncidentOut:
        assignee = incident.assigned_user_id
        return cls(
            id=incident.id,
            number=incident.number,
            title=incident.title,
            description=incident.description,
            status=incident.status,
            urgency=incident.urgency,
            severity=incident.severity,
            priority=incident.priority,
            service=Ref(id=incident.service_id, name=service_names.get(incident.service_id, "")),
            assigned_to=Ref(id=assignee, name=user_names.get(assignee, "")) if assignee else None,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            acknowledged_at=incident.acknowledged_at,
            resolved_at=incident.resolved_at,
            alert_count=incident.alert_count,
            major=incident.major,
            response_status=incident.response_status,
            phase_model=incident.phase_model,
            phase=phases.phase_of(incident.phase_model, incident.response_status),
            milestones={name: getattr(incident, column) for name, column in milestones.COLUMNS.items()},
            drill=incident.drill,
        )


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: TimelineKind
    source: str
    actor: str
    actor_user_id: int | None
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        return cls.model_validate(entry)


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int | None
    service_id: int
    integration_id: int
    dedup_key: str
    status: AlertStatus
    summary: str
    severity: str
    source: str
    component: str | None
    group: str | None
    labels: dict[str, Any]
    details: dict[str, Any]
    links: dict[str, Any]
    event_count: int

    @field_validator("labels", "details", "links", mode="before")
    @classmethod
    def _displayable(cls, value: Any) -> Any:
        return clip_depth(value)

    created_at: datetime
    last_event_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    # Why this alert paged nobody (rule, silence, inhibition), and by what; None when it paged.
    suppressed: str | None = None
    suppressed_by: dict[str, Any] | None = None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class DeclareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: int
    title: str = Field(min_length=1, max_length=1024)
    description: str = Field(default="", max_length=20_000)
    urgency: Literal["high", "low"] | None = None
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"] = "SEV3"
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    phase_model: Literal["default", "nist"] | None = None


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=1024)
    urgency: Literal["high", "low"] | None = None
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"] | None = None
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    phase_model: Literal["default", "nist"] | None = None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(default="", max_length=20_000)


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, description="user id or email", min_length=1)
    escalation_policy: str | None = Field(default=None, description="escalation policy id or name", min_length=1)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)


class ResponseMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ResponseStatus
    message: str = Field(default="", max_length=20_000)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(default="", max_length=20_000)


class MilestoneIn(BaseModel):
    """A milestone corrected afterwards; ``at`` null clears it."""

    model_config = ConfigDict(extra="forbid")

    at: datetime | None
    reason: str = Field(min_length=1, max_length=2000)


class PhaseTimeOut(BaseModel):
    phase: str
    seconds: float
    current: bool
