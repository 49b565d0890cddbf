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
    private: bool = False
    private_team_id: int | None = None
    # ADR 0021: the type by name (null: none, Standard behaviour), the category, the bridge, and the services
    # affected besides the primary one.
    type: str | None = None
    category: str = ""
    conference_url: str = ""
    affected_services: list[Ref] = Field(default_factory=list)
    # Opened by a drill (ADR 0025): never counted.
    drill: bool = False
    # The cost of its downtime (ADR 0025), running until impact ends, then the kept total; null when its service
    # has no cost per minute (nor its tier). Filled in for one incident (GET /incidents/{ref}), not in lists.
    downtime_cost: float | None = None
    downtime_cost_final: bool | None = None
    currency: str | None = None

    @classmethod
    def of(
        cls,
        incident: Incident,
        service_names: dict[int, str],
        user_names: dict[int, str],
        type_names: dict[int, str] | None = None,
        affected: list[int] | None = None,
    ) -> IncidentOut:
        assignee = incident.assigned_user_id
        kind = incident.type_id
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
            private=incident.private,
            private_team_id=incident.private_team_id,
            type=(type_names or {}).get(kind) if kind is not None else None,
            category=incident.category,
            conference_url=incident.conference_url,
            affected_services=[Ref(id=i, name=service_names.get(i, "")) for i in affected or []],
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
    # One of the defined severities (GET /severities); by default the type's, else SEV3.
    severity: str | None = Field(default=None, min_length=1, max_length=8)
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    phase_model: Literal["default", "nist"] | None = None
    # A private incident is seen only by its participants, admins and the team named here (ADR 0022).
    private: bool = False
    private_team: str | None = Field(default=None, description="team id or name", min_length=1, max_length=200)
    type: str | None = Field(default=None, min_length=1, max_length=100, description="incident type name")
    category: str | None = Field(default=None, max_length=100, description="incident category name")
    conference_url: str | None = Field(default=None, max_length=2000, description="http(s) URL of the bridge")


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=1024)
    urgency: Literal["high", "low"] | None = None
    severity: str | None = Field(default=None, min_length=1, max_length=8)
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    phase_model: Literal["default", "nist"] | None = None
    type: str | None = Field(default=None, min_length=1, max_length=100, description="incident type name")
    category: str | None = Field(default=None, max_length=100, description='category name ("" for none)')
    conference_url: str | None = Field(default=None, max_length=2000, description='http(s) URL ("" clears it)')


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


class VisibilityIn(BaseModel):
    """Who sees an incident (ADR 0022): private to its participants, admins and ``team``, or public; either way
    with a reason, kept in the timeline."""

    model_config = ConfigDict(extra="forbid")

    private: bool
    team: str | None = Field(default=None, description="team id or name (private only)", min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)


class ParticipantOut(BaseModel):
    user_id: int
    name: str
    added_at: datetime | None = None


class ParticipantsOut(BaseModel):
    # Everyone taking part (creator, owner, timeline actors, role holders, task assignees, people paged, added).
    participants: list[ParticipantOut]
    added_by_hand: list[ParticipantOut]
