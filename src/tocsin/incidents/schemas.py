"""Data passed into and out of the incident services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # The status table builds on the timeline, which builds on Actor: only the type is needed here.
    from tocsin.incidents.lifecycle import IncidentStatus

Source = Literal["web", "api", "cli", "integration", "engine", "sms", "voice", "slack", "teams", "email", "link"]


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
    # Opened by a drill's event (ADR 0025).
    drill: bool = False


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
    # None: every incident; False: leave drills out (what every count does, ``counted``); True: drills only.
    drill: bool | None = None
