"""Response metrics over a period, overall, by group and by week or month; each definition is in DEFINITIONS
(shown on the page, in the API and in docs/metrics.md)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from tocsin.analytics import facts, periods
from tocsin.analytics import repository as repo
from tocsin.analytics.periods import Bucket, Period
from tocsin.analytics.repository import IncidentRow
from tocsin.analytics.stats import summarise
from tocsin.incidents import phases
from tocsin.response import types as incident_types
from tocsin.services import repository as service_repo
from tocsin.teams import repository as team_repo

DEFINITIONS: Final = {
    "count": "Incidents created in the period. Drills, merged and canceled incidents are never counted.",
    "mttd": "Time to detect: from impact started (or, when unset, the first alert) to detected (or, when unset, "
    "the incident's creation).",
    "mtta": "Time to acknowledge: from the incident's creation to its first acknowledgement.",
    "mttm": "Time to mitigate: from creation to the mitigated milestone (mitigated or monitoring reached).",
    "mttr": "Time to resolve: from creation to resolved.",
    "first_update": "Time to the first stakeholder update: from creation to the first update sent to stakeholders.",
    "downtime": "Downtime: from impact started (else creation) to impact ended (else resolved).",
    "escalations": "Escalations per incident: steps of the escalation policy that fired, averaged over incidents.",
    "reopened": "Reopened: incidents resolved and then reopened at least once.",
    "auto_resolved": "Auto-resolved: share of resolved incidents whose last resolution came from no person "
    "(an alert clearing, the engine).",
    "phases": "Time in each phase: per phase of the incidents' phase model, the time from entering it to leaving "
    "it (summed when entered more than once; a phase an incident is still in counts until now), over the "
    "incidents that spent time in it. Closed, declined, merged and canceled are ends, not timed.",
}
DURATIONS: Final = ("mttd", "mtta", "mttm", "mttr", "first_update", "downtime")
METRICS: Final = ("count", *DURATIONS, "escalations", "reopened", "auto_resolved")


@dataclass(slots=True)
class Group:
    key: str
    label: str
    rows: list[IncidentRow] = field(default_factory=list)


def figures(rows: Sequence[IncidentRow]) -> dict[str, Any]:
    """Every metric of a set of incidents (with their facts, period_rows): durations as count/median/p90/mean in
    seconds."""
    # Plain comprehensions over attributes: this runs over every incident of the period three times a request
    # (overall, groups, buckets).
    out: dict[str, Any] = {
        "count": len(rows),
        "mttd": summarise([None if r.detect is None else max(r.detect, 0.0) for r in rows]).as_dict(),
        "mtta": summarise([r.ack for r in rows]).as_dict(),
        "mttm": summarise([r.mitigate for r in rows]).as_dict(),
        "mttr": summarise([r.resolve for r in rows]).as_dict(),
        "first_update": summarise([r.first_update for r in rows]).as_dict(),
        "downtime": summarise([r.downtime for r in rows]).as_dict(),
    }
    escalations = sum(r.escalations for r in rows)
    resolved = [r.auto_resolved for r in rows if r.auto_resolved is not None]
    out["escalations"] = {
        "total": escalations,
        "per_incident": round(escalations / len(rows), 3) if rows else None,
    }
    out["reopened"] = sum(1 for r in rows if r.reopened > 0)
    out["auto_resolved"] = {
        "resolved": len(resolved),
        "auto": sum(resolved),
        "share": round(sum(resolved) / len(resolved), 4) if resolved else None,
    }
    costs = [r.cost for r in rows if r.cost is not None]
    out["downtime_cost"] = round(sum(costs), 2) if costs else None
    return out


def period_rows(
    session: Session,
    p: Period,
    *,
    visible: ColumnElement[bool] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[IncidentRow]:
    """A period's counted incidents with their durations and facts (kept ones where trusted, the rest computed)."""
    rows = repo.incident_rows(session, p.since, p.until, visible=visible, where=where)
    return facts.with_facts(session, rows, repo.period_scope(p.since, p.until, visible=visible, where=where))


def phase_figures(
    session: Session,
    p: Period,
    *,
    now: datetime,
    visible: ColumnElement[bool] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    rows: Sequence[IncidentRow] | None = None,
) -> list[dict[str, Any]]:
    """Time in each phase of each phase model in use, summarised over the incidents that spent time in it;
    ``rows``: the period's (period_rows) when the caller already has them."""
    found = period_rows(session, p, visible=visible, where=where) if rows is None else rows
    spent = facts.phase_seconds(found, now=now)
    return [
        {"model": model, "phase": phase, **summarise(spent[(model, phase)]).as_dict()}
        for model in sorted({f.phase_model for f in found})
        for phase in phases.phases_of(model)
        if (model, phase) in spent
    ]


def trend_figures(rows: Sequence[IncidentRow]) -> dict[str, Any]:
    """What a bucket of the trend shows: the count and the time to acknowledge and to resolve."""
    return {
        "count": len(rows),
        "mtta": summarise([r.ack for r in rows]).as_dict(),
        "mttr": summarise([r.resolve for r in rows]).as_dict(),
    }


def _positive(value: float | None) -> float | None:
    # An incident declared by hand before any alert: detection is its declaration, never negative.
    return None if value is None else max(value, 0.0)


def _labels(session: Session, by: str) -> Callable[[IncidentRow], tuple[str, str]]:
    if by == "service":
        names = {s.id: s.name for s in service_repo.all_services(session)}
        return lambda r: (str(r.service_id), names.get(r.service_id, f"service {r.service_id}"))
    if by == "team":
        teams = {t.id: t.name for t in team_repo.all_teams(session)}
        return lambda r: ("none", "(no team)") if r.team_id is None else (str(r.team_id), teams.get(r.team_id, "?"))
    if by == "type":
        types = incident_types.names_by_id(session)
        return lambda r: ("none", "Standard") if r.type_id is None else (str(r.type_id), types.get(r.type_id, "?"))
    if by == "category":
        return lambda r: (r.category or "none", r.category or "(none)")
    if by == "severity":
        return lambda r: (r.severity, r.severity)
    return lambda r: (r.priority, r.priority)


def groups(session: Session, rows: Sequence[IncidentRow], by: str) -> list[Group]:
    label_of = _labels(session, by)
    found: dict[str, Group] = {}
    for row in rows:
        key, label = label_of(row)
        found.setdefault(key, Group(key, label)).rows.append(row)
    return sorted(found.values(), key=lambda g: (-len(g.rows), g.label))


def trend(rows: Sequence[IncidentRow], p: Period, size: Bucket) -> list[dict[str, Any]]:
    starts = periods.buckets(p, size)
    per: dict[datetime, list[IncidentRow]] = defaultdict(list)
    # Rows come oldest first: each bucket is a run, found by comparing with the next bucket's start.
    bounds = [s.timestamp() for s in starts[1:]] + [math.inf]
    i = 0
    for row in rows:
        while row.created >= bounds[i]:
            i += 1
        per[starts[i]].append(row)
    return [{"start": s.isoformat(), **trend_figures(per.get(s, []))} for s in starts]


def report(
    session: Session,
    p: Period,
    *,
    by: str | None = None,
    bucket: Bucket = "week",
    visible: ColumnElement[bool] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    with_trend: bool = True,
    rows: Sequence[IncidentRow] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The response metrics of a period: overall, per group when ``by`` names one, and per bucket; ``rows`` when
    the caller already read them (the dashboard reads them once for metrics and reliability); the time in each
    phase when ``now`` is given (the moment open incidents' current phases count until)."""
    if rows is None:
        rows = period_rows(session, p, visible=visible, where=where)
    body: dict[str, Any] = {
        "since": p.since.isoformat(),
        "until": p.until.isoformat(),
        "by": by,
        "bucket": bucket,
        "definitions": DEFINITIONS,
        "overall": figures(rows),
    }
    if by is not None:
        body["groups"] = [{"key": g.key, "label": g.label, **figures(g.rows)} for g in groups(session, rows, by)]
    if with_trend:
        body["trend"] = trend(rows, p, bucket)
    if now is not None:
        body["phases"] = phase_figures(session, p, now=now, rows=rows)
    return body


def incident_figures(row: IncidentRow) -> dict[str, Any]:
    """One incident's figures, from its row with its facts (facts.with_facts)."""
    return {
        "number": row.number,
        "mttd": _positive(row.detect),
        "mtta": row.ack,
        "mttm": row.mitigate,
        "mttr": row.resolve,
        "first_update": row.first_update,
        "downtime": row.downtime,
        "escalations": row.escalations,
        "reopened": row.reopened,
        "auto_resolved": row.auto_resolved,
        "downtime_cost": row.cost,
    }
