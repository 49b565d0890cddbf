"""Data passed into and out of the incident services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from tocsin.access.policy import Viewer

if TYPE_CHECKING:
    # The status table builds on the timeline, which builds on Actor: only the type is needed here.
    from tocsin.incidents.lifecycle import IncidentStatus

Source = Literal[
    "web", "api", "cli", "integration", "engine", "sms", "voice", "slack", "teams", "email", "link", "matrix"
]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through which channel. ``user_id`` is None for integrations and the engine."""

    label: str
    source: Source
    user_id: int | None = None


@dataclass(slots=True)
class NewIncident:
    service_id: int
    title: str
    urgency: str
    severity: str
    priority: str
    description: str = ""
    created_by_user_id: int | None = None
    private: bool = False
    private_team_id: int | None = None
    # By name (ADR 0021): the ingest path names what an event rule set; unknown names are left out there.
    incident_type: str | None = None
    category: str | None = None
    conference_url: str | None = None
    # Opened by a drill's event (ADR 0025).
    drill: bool = False


@dataclass(frozen=True, slots=True)
class TypeDefaults:
    """What an incident type sets on an incident that opens with it (``response.types.defaults_for``)."""

    id: int
    name: str
    severity: str
    phase_model: str
    major: bool
    private: bool
    private_team_id: int | None
    pages: bool
    checklists: tuple[str, ...]
    # The template: ``{number}`` becomes the incident's number.
    conference_url: str
    required_roles: tuple[str, ...] = ()

    def bridge_for(self, number: int) -> str:
        return self.conference_url.replace("{number}", str(number))


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    statuses: tuple[IncidentStatus, ...] = ()
    service_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    urgencies: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assigned_user_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    text: str | None = None
    # Whose list this is (ADR 0016 team scope, ADR 0022 private incidents); None: everything (the CLI, the engine).
    viewer: Viewer | None = None
    see_all: bool = True
    # Incidents whose primary service is one of these or that affect one of them.
    affecting: tuple[int, ...] = ()
    # None: every incident; False: leave drills out (what every count does, ``counted``); True: drills only.
    drill: bool | None = None
