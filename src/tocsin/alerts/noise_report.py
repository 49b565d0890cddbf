"""The noise report: how many events became alerts, incidents and pages, and what kept the rest quiet."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.alerts import noise_repository as repo
from tocsin.core.errors import InvalidInput
from tocsin.services import repository as service_repo

# Event outcome → the reason it did not page on its own.
REASONS: Final = {
    "deduplicated": "dedup",
    "grouped": "grouping",
    "inhibited": "inhibition",
    "silenced": "silence",
    "flapping": "flapping",
    "suppressed": "rule",
    "dropped": "rule",
}
REASON_NAMES: Final = ("dedup", "grouping", "inhibition", "silence", "flapping", "rule")


def report(
    session: Session, *, since: datetime, until: datetime, top: int = 10, service_ids: set[int] | None = None
) -> dict[str, Any]:
    """The noise report; ``service_ids``: only these services count (a viewer's teams, ADR 0016), None for all.
    The share of incidents closed without a note is the installation's either way (a ratio names nothing)."""
    if until <= since:
        raise InvalidInput("until must be after since")

    def seen(service_id: int | None) -> bool:
        return service_ids is None or service_id in service_ids

    integrations = {i.id: i for i in service_repo.integrations_of(session) if seen(i.service_id)}
    services = {s.id: s.name for s in service_repo.all_services(session) if seen(s.id)}

    def blank() -> dict[str, Any]:
        return {"events": 0, "alerts": 0, "incidents": 0, "pages": 0, "suppressed": dict.fromkeys(REASON_NAMES, 0)}

    per_service: dict[int, dict[str, Any]] = defaultdict(blank)
    per_integration: dict[int, dict[str, Any]] = defaultdict(blank)
    totals = blank()
    for integration_id, outcome, n in repo.event_outcomes(session, since, until):
        integration = integrations.get(integration_id)
        if integration is None and service_ids is not None:
            continue
        rows = [per_integration[integration_id], totals]
        if integration is not None:
            rows.append(per_service[integration.service_id])
        reason = REASONS.get(outcome)
        for row in rows:
            row["events"] += n
            if reason is not None:
                row["suppressed"][reason] += n
    for integration_id, service_id, n in repo.alerts_per_integration(session, since, until):
        if not seen(service_id):
            continue
        for row in (per_integration[integration_id], per_service[service_id], totals):
            row["alerts"] += n
    for service_id, n in repo.incidents_per_service(session, since, until):
        if not seen(service_id):
            continue
        per_service[service_id]["incidents"] += n
        totals["incidents"] += n
    for service_id, n in repo.pages_per_service(session, since, until):
        if not seen(service_id):
            continue
        per_service[service_id]["pages"] += n
        totals["pages"] += n
    closed, without_note = repo.silent_closures(session, since, until)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "totals": totals,
        "services": sorted(
            ({"service": services.get(sid, str(sid)), **row} for sid, row in per_service.items()),
            key=lambda r: (-r["events"], r["service"]),
        ),
        "integrations": sorted(
            (
                {
                    "integration": integrations[iid].name if iid in integrations else str(iid),
                    "type": integrations[iid].type if iid in integrations else "",
                    "events": row["events"],
                    "alerts": row["alerts"],
                    "suppressed": row["suppressed"],
                }
                for iid, row in per_integration.items()
            ),
            key=lambda r: (-r["events"], r["integration"]),
        ),
        "noisiest": [
            {"service": services.get(sid, str(sid)), "alert": summary, "alerts": n, "events": events}
            for sid, summary, n, events in repo.noisiest(session, since, until, top)
            if seen(sid)
        ],
        "closed_without_note": {
            "acknowledged_and_resolved": closed,
            "without_note": without_note,
            "share": round(without_note / closed, 3) if closed else 0.0,
        },
    }
