"""What the public side of a page shows, read in one go: the Statuspage JSON documents, the uptime bars, active
and past incidents, maintenance, and the feed entries. Reads only; the transports cache what this builds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.statuspages import feeds, shaping, uptime
from tocsin.statuspages import repository as repo
from tocsin.statuspages.models import (
    Component,
    ComponentGroup,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageIncident,
    PageIncidentUpdate,
    StatusPage,
    UpdateStatus,
)

LISTED = 50


@dataclass(frozen=True)
class View:
    page: StatusPage
    url: str
    now: datetime
    components: list[Component]
    groups: list[ComponentGroup]
    bars: dict[int, uptime.Bars]
    unresolved: list[PageIncident]
    recent: list[PageIncident]
    updates: dict[int, list[PageIncidentUpdate]]
    maintenances: list[Maintenance]
    maintenance_updates: dict[int, list[MaintenanceUpdate]]
    updated_at: datetime
    documents: dict[str, dict[str, Any]]

    @property
    def active_maintenances(self) -> list[Maintenance]:
        return [m for m in self.maintenances if shaping.is_active(m)]

    @property
    def upcoming_maintenances(self) -> list[Maintenance]:
        return sorted(
            (m for m in self.maintenances if m.status == MaintenanceStatus.SCHEDULED), key=lambda m: m.scheduled_for
        )

    @property
    def status(self) -> dict[str, str]:
        found: dict[str, str] = self.documents["status.json"]["status"]
        return found

    def components_of(self, group_id: int | None) -> list[Component]:
        return [c for c in self.components if c.group_id == group_id and _shown(c)]


def _shown(c: Component) -> bool:
    return c.showcase and (not c.only_show_if_degraded or c.status != "operational")


def build(session: Session, page: StatusPage, *, url: str, now: datetime) -> View:
    components = repo.components(session, page.id)
    groups = repo.groups(session, page.id)
    window = now - timedelta(days=uptime.DAYS + 1)
    changes = repo.history(session, [c.id for c in components], window)
    bars = {
        c.id: uptime.bars([(h.at, h.status) for h in changes[c.id]], now=now, zone=page.time_zone) for c in components
    }
    unresolved = repo.incidents(session, page.id, unresolved_only=True, limit=LISTED)
    recent = repo.incidents(session, page.id, limit=LISTED)
    ids = list({i.id for i in unresolved + recent})
    updates = repo.updates_of(session, ids)
    maintenances = repo.maintenances(session, page.id, limit=LISTED)
    m_updates = repo.maintenance_updates_of(session, [m.id for m in maintenances])
    updated_at = repo.last_change(session, page.id) or page.updated_at
    by_id = {c.id: c for c in components}

    def affected(i: PageIncident) -> list[Component]:
        seen: list[int] = []
        for u in updates.get(i.id, []):
            for a in u.affected_components:
                code = int(a["code"]) if str(a.get("code", "")).isdigit() else None
                if code is not None and code in by_id and code not in seen:
                    seen.append(code)
        return [by_id[c] for c in seen]

    def incident(i: PageIncident) -> dict[str, Any]:
        return shaping.incident_json(i, updates.get(i.id, []), affected(i), f"{url}/incidents/{i.id}")

    def maintenance(m: Maintenance) -> dict[str, Any]:
        return shaping.maintenance_json(
            m,
            m_updates.get(m.id, []),
            [by_id[c] for c in m.component_ids if c in by_id],
            f"{url}/maintenances/{m.id}",
        )

    page_doc = shaping.page_json(page, url, updated_at)
    comps = shaping.components_json(components, groups)
    active = [m for m in maintenances if shaping.is_active(m)]
    upcoming = sorted(
        (m for m in maintenances if m.status == MaintenanceStatus.SCHEDULED), key=lambda m: m.scheduled_for
    )
    status = shaping.status_json(components, unresolved, bool(active))
    unresolved_docs = [incident(i) for i in unresolved]
    documents: dict[str, dict[str, Any]] = {
        "summary.json": {
            "page": page_doc,
            "components": comps,
            "incidents": unresolved_docs,
            "scheduled_maintenances": [maintenance(m) for m in active + upcoming],
            "status": status,
        },
        "status.json": {"page": page_doc, "status": status},
        "components.json": {"page": page_doc, "components": comps},
        "incidents.json": {"page": page_doc, "incidents": [incident(i) for i in recent]},
        "incidents/unresolved.json": {"page": page_doc, "incidents": unresolved_docs},
        "scheduled-maintenances.json": {
            "page": page_doc,
            "scheduled_maintenances": [maintenance(m) for m in maintenances],
        },
        "scheduled-maintenances/upcoming.json": {
            "page": page_doc,
            "scheduled_maintenances": [maintenance(m) for m in upcoming],
        },
        "scheduled-maintenances/active.json": {
            "page": page_doc,
            "scheduled_maintenances": [maintenance(m) for m in active],
        },
    }
    return View(
        page=page,
        url=url,
        now=now,
        components=components,
        groups=groups,
        bars=bars,
        unresolved=unresolved,
        recent=recent,
        updates=updates,
        maintenances=maintenances,
        maintenance_updates=m_updates,
        updated_at=updated_at,
        documents=documents,
    )


@dataclass(frozen=True)
class Month:
    first: date
    incidents: list[PageIncident]
    updates: dict[int, list[PageIncidentUpdate]]


def month(session: Session, page: StatusPage, first: date) -> Month:
    tz = _zone(page.time_zone)
    start = datetime.combine(first, time(0), tzinfo=tz)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = datetime.combine(nxt, time(0), tzinfo=tz)
    rows = repo.incidents_between(session, page.id, start, end)
    return Month(first=first, incidents=rows, updates=repo.updates_of(session, [r.id for r in rows]))


def incident_of(
    session: Session, page: StatusPage, incident_id: int
) -> tuple[PageIncident, list[PageIncidentUpdate]] | None:
    row = repo.on_page(session, PageIncident, incident_id, page.id)
    if row is None:
        return None
    return row, repo.updates_of(session, [row.id])[row.id]


def feed_entries(session: Session, page: StatusPage, url: str, *, limit: int = 500) -> list[feeds.Entry]:
    """Every update of the page's newest incidents and maintenances, newest first."""
    entries: list[feeds.Entry] = []
    rows = repo.incidents(session, page.id, limit=limit)
    for i in rows:
        for u in repo.updates_of(session, [i.id])[i.id]:
            entries.append(
                feeds.Entry(
                    key=f"update-{u.id}",
                    title=f"{i.name}: {_label(str(u.status))}",
                    body=u.body,
                    link=f"{url}/incidents/{i.id}",
                    at=u.display_at,
                )
            )
    maintenances = repo.maintenances(session, page.id, limit=limit)
    m_updates = repo.maintenance_updates_of(session, [m.id for m in maintenances])
    for m in maintenances:
        for mu in m_updates[m.id]:
            entries.append(
                feeds.Entry(
                    key=f"maintenance-update-{mu.id}",
                    title=f"{m.name}: {_label(str(mu.status))}",
                    body=mu.body,
                    link=f"{url}/maintenances/{m.id}",
                    at=mu.display_at,
                )
            )
    entries.sort(key=lambda e: (e.at, e.key), reverse=True)
    return entries


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


RESOLVED = UpdateStatus.RESOLVED
