"""Building timeline rows (pure), shared by every service that writes an incident's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tocsin.incidents.schemas import Actor


def timeline_row(
    incident_id: int, kind: str, actor: Actor, now: datetime, message: str = "", **data: Any
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at": now,
        "kind": kind,
        "source": actor.source,
        "actor_user_id": actor.user_id,
        "actor": actor.label,
        "message": message,
        "data": data,
    }
