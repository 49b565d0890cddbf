"""Who takes part in an incident: the registry of participant sources that private visibility asks (ADR 0022).

A source is a table with an incident column and a user column: a row there makes that user a participant of that
incident. ``incidents`` registers its own (the timeline's actors, participants added by hand); the domains above
it (response roles and tasks, notify's pages) register theirs in ``tocsin.wiring``, since ``incidents`` may not
import them. The incident's own creator and owner are columns of the incident, not sources.

Adding one more source is one line: ``SOURCES.register("responders", Responder.incident_id, Responder.user_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from tocsin.incidents.models import IncidentParticipant, TimelineEntry


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    incident_id: InstrumentedAttribute[Any]
    user_id: InstrumentedAttribute[Any]


@dataclass(slots=True)
class Sources:
    """The registered sources, in registration order; a name is registered once (re-registering is a no-op, so
    that installing the wiring twice is harmless)."""

    items: list[Source] = field(default_factory=list)

    def register(self, name: str, incident_id: InstrumentedAttribute[Any], user_id: InstrumentedAttribute[Any]) -> None:
        if any(s.name == name for s in self.items):
            return
        self.items.append(Source(name, incident_id, user_id))

    def names(self) -> list[str]:
        return [s.name for s in self.items]


SOURCES = Sources()
SOURCES.register("timeline actors", TimelineEntry.incident_id, TimelineEntry.actor_user_id)
SOURCES.register("added by hand", IncidentParticipant.incident_id, IncidentParticipant.user_id)
