"""The JSON of Atlassian Statuspage's public v2 API, shaped from our rows: pure, no I/O.

Field names, nesting and enumerations follow Statuspage's public API so that its widgets, scripts and
integrations read ours. Ids are strings there; ours are the row ids as strings, groups prefixed ``g`` (they share
the components list with the components, as in Statuspage). Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tocsin.statuspages.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageIncident,
    PageIncidentUpdate,
    StatusPage,
    UpdateStatus,
)

INDICATORS = ("none", "minor", "major", "critical")
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
MAINTENANCE_DESCRIPTION = "Service Under Maintenance"
_COMPONENT_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "none",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group_code(group_id: int) -> str:
    return f"g{group_id}"


def page_json(page: StatusPage, url: str, updated_at: datetime) -> dict[str, Any]:
    return {
        "id": str(page.id),
        "name": page.name,
        "url": url,
        "time_zone": page.time_zone,
        "updated_at": iso(updated_at),
    }


def component_json(c: Component) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "name": c.name,
        "status": str(c.status),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": c.showcase,
        "start_date": c.start_date.date().isoformat() if c.start_date else None,
        "group_id": group_code(c.group_id) if c.group_id else None,
        "page_id": str(c.page_id),
        "group": False,
        "only_show_if_degraded": c.only_show_if_degraded,
    }


def group_json(g: ComponentGroup, members: Sequence[Component]) -> dict[str, Any]:
    from tocsin.statuspages.uptime import worst

    return {
        "id": group_code(g.id),
        "name": g.name,
        "status": str(worst([m.status for m in members])),
        "created_at": iso(g.created_at),
        "updated_at": iso(g.updated_at),
        "position": g.position,
        "description": g.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": str(g.page_id),
        "group": True,
        "only_show_if_degraded": False,
        "components": [str(m.id) for m in members],
    }


def components_json(components: Sequence[Component], groups: Sequence[ComponentGroup]) -> list[dict[str, Any]]:
    """Groups and components in one list, in position order, as Statuspage lists them."""
    by_group: dict[int, list[Component]] = {}
    for c in components:
        if c.group_id is not None:
            by_group.setdefault(c.group_id, []).append(c)
    entries: list[tuple[int, int, dict[str, Any]]] = [
        (g.position, 0, group_json(g, by_group.get(g.id, []))) for g in groups
    ]
    entries += [(c.position, 1, component_json(c)) for c in components]
    entries.sort(key=lambda e: (e[0], e[1], e[2]["id"]))
    return [e[2] for e in entries]


def update_json(u: PageIncidentUpdate) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "status": str(u.status),
        "body": u.body,
        "incident_id": str(u.status_incident_id),
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
        "display_at": iso(u.display_at),
        "affected_components": [dict(a) for a in u.affected_components] or None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_json(
    i: PageIncident,
    updates: Sequence[PageIncidentUpdate],
    components: Sequence[Component],
    shortlink: str,
) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "name": i.name,
        "status": str(i.status),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "monitoring_at": iso(i.monitoring_at),
        "resolved_at": iso(i.resolved_at),
        "impact": str(i.impact),
        "shortlink": shortlink,
        "started_at": iso(i.started_at),
        "page_id": str(i.page_id),
        "incident_updates": [update_json(u) for u in sorted(updates, key=_newest_first)],
        "components": [component_json(c) for c in components],
    }


def maintenance_update_json(m: Maintenance, u: MaintenanceUpdate) -> dict[str, Any]:
    return {
        "id": f"m{u.id}",
        "status": str(u.status),
        "body": u.body,
        "incident_id": f"m{m.id}",
        "created_at": iso(u.created_at),
        "updated_at": iso(u.created_at),
        "display_at": iso(u.display_at),
        "affected_components": None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def maintenance_json(
    m: Maintenance, updates: Sequence[MaintenanceUpdate], components: Sequence[Component], shortlink: str
) -> dict[str, Any]:
    return {
        "id": f"m{m.id}",
        "name": m.name,
        "status": str(m.status),
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(m.completed_at),
        "impact": "maintenance",
        "shortlink": shortlink,
        "started_at": iso(m.started_at or m.scheduled_for),
        "page_id": str(m.page_id),
        "incident_updates": [maintenance_update_json(m, u) for u in sorted(updates, key=_newest_first)],
        "components": [component_json(c) for c in components],
        "scheduled_for": iso(m.scheduled_for),
        "scheduled_until": iso(m.scheduled_until),
    }


def _newest_first(u: PageIncidentUpdate | MaintenanceUpdate) -> tuple[float, int]:
    return (-u.display_at.timestamp(), -u.id)


def indicator(components: Iterable[Component], unresolved: Iterable[PageIncident]) -> str:
    """The worst of the components' statuses and the unresolved incidents' impacts."""
    rank = 0
    for c in components:
        rank = max(rank, INDICATORS.index(_COMPONENT_INDICATOR[c.status]))
    for i in unresolved:
        if i.status != UpdateStatus.RESOLVED:
            rank = max(rank, INDICATORS.index(str(i.impact)))
    return INDICATORS[rank]


def status_json(
    components: Sequence[Component], unresolved: Sequence[PageIncident], maintenance_active: bool
) -> dict[str, str]:
    level = indicator(components, unresolved)
    if level == "none" and (
        maintenance_active or any(c.status == ComponentStatus.UNDER_MAINTENANCE for c in components)
    ):
        return {"indicator": level, "description": MAINTENANCE_DESCRIPTION}
    return {"indicator": level, "description": DESCRIPTIONS[level]}


def is_active(m: Maintenance) -> bool:
    return m.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
