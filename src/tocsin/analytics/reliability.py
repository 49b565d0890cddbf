"""Service reliability over a period: incidents, downtime minutes and its cost per service, and the noisiest
services and alerts from the noise report (alerts.noise_report), so the two read the same counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from tocsin.alerts import noise_report
from tocsin.analytics import repository as repo
from tocsin.analytics.periods import Period
from tocsin.analytics.repository import IncidentRow
from tocsin.services import repository as service_repo


def report(
    session: Session,
    p: Period,
    *,
    visible: ColumnElement[bool] | None = None,
    service_ids: set[int] | None = None,
    top: int = 10,
    rows: Sequence[IncidentRow] | None = None,
) -> dict[str, Any]:
    if rows is None:
        rows = repo.incident_rows(session, p.since, p.until, visible=visible)
    names = {s.id: s.name for s in service_repo.all_services(session)}
    per: dict[int, dict[str, Any]] = defaultdict(lambda: {"incidents": 0, "downtime_minutes": 0.0, "cost": None})
    for row in rows:
        entry = per[row.service_id]
        entry["incidents"] += 1
        if row.downtime is not None:
            entry["downtime_minutes"] += max(row.downtime, 0.0) / 60.0
        if row.cost is not None:
            entry["cost"] = (entry["cost"] or 0.0) + row.cost
    services = sorted(
        (
            {
                "service_id": sid,
                "service": names.get(sid, str(sid)),
                "incidents": e["incidents"],
                "downtime_minutes": round(e["downtime_minutes"], 1),
                "cost": None if e["cost"] is None else round(e["cost"], 2),
            }
            for sid, e in per.items()
        ),
        key=lambda s: (-s["downtime_minutes"], -s["incidents"], s["service"]),
    )
    noise = noise_report.report(session, since=p.since, until=p.until, top=top, service_ids=service_ids)
    return {
        "since": p.since.isoformat(),
        "until": p.until.isoformat(),
        "services": services,
        "noisy_services": noise["services"][:top],
        "noisy_alerts": noise["noisiest"][:top],
    }
