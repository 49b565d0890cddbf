"""Facts kept per incident (ADR 0038): what the metrics would otherwise read from every timeline entry of every
incident of a period, each time a page is drawn.

A fact holds an incident's timeline counts (escalations, reopenings, first stakeholder update, resolved by nobody)
and the seconds it spent in each timed response status over the moves it has left, plus the status it is still in
and since when. The ``analytics`` incident events consumer rewrites the facts of the incidents an event batch
names; the backfill writes those of incidents that have none (the consumer starts after the events already there).

Readers trust a fact only while its stamp equals the incident's ``updated_at``, which every change of status,
response, milestone or phase model moves: anything else is computed from the timeline on the spot, by the same
code that writes the facts, so a page never shows figures older than its incidents. Counts whose entries leave
``updated_at`` alone (an escalation, a stakeholder update) trail by the consumer's lag, about a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any, Final, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from tocsin.analytics import repository as repo
from tocsin.analytics.models import FACT_DURATIONS, TIMED_STATUSES
from tocsin.analytics.repository import IncidentRow
from tocsin.incidents import phases
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.lifecycle import ResponseStatus as R
from tocsin.incidents.models import Incident

_COLUMNS: Final = tuple(f"in_{status}" for status in TIMED_STATUSES)
# The ids of incidents given to one IN (...) list; far below every dialect's limit on bound parameters.
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Counts:
    escalations: int = 0
    reopened: int = 0
    first_update: float | None = None
    auto_resolved: bool | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One incident's facts, as stored or as computed on the spot."""

    incident_id: int
    # Creation (seconds since the epoch) and durations: acknowledge, mitigate, resolve, detect, downtime.
    durations: tuple[float | None, ...]
    counts: Counts
    phase_model: str
    # Seconds per timed status, in models.TIMED_STATUSES's order; None for none.
    seconds: tuple[float | None, ...]
    open_status: str | None
    open_since: float | None


def counts_in(session: Session, scope: Sequence[ColumnElement[bool]]) -> dict[int, Counts]:
    """Timeline counts of the incidents in scope that have any."""
    found = {}
    for row in repo.timeline_counts(session, scope):
        incident_id, escalations, reopened, first_update, last_resolve = tuple(row)
        found[int(incident_id)] = Counts(
            int(escalations or 0),
            int(reopened or 0),
            None if first_update is None else float(first_update),
            # The last resolution's id is doubled, plus one when nobody resolved it (repository.timeline_counts).
            None if last_resolve is None else bool(int(last_resolve) % 2),
        )
    return found


def _moves_in(session: Session, scope: Sequence[ColumnElement[bool]]) -> dict[int, tuple[str, list[tuple[float, str]]]]:
    """Per incident: its phase model and the response statuses it reached, (seconds since the epoch, status),
    starting with triage at its creation."""
    moves: dict[int, tuple[str, list[tuple[float, str]]]] = {}
    for row in repo.response_moves(session, scope):
        incident_id, model, created, at, data = tuple(row)
        found = moves.setdefault(incident_id, (model, [(created.timestamp(), R.TRIAGE.value)]))
        reached = incident_repo.response_move_of(data) if at is not None else None
        if reached is not None:
            found[1].append((at.timestamp(), reached))
    return moves


def _status_seconds(path: Sequence[tuple[float, str]]) -> tuple[tuple[float | None, ...], str | None, float | None]:
    """Seconds in each timed status over the moves left, and the timed status still in (with its start), as
    phases.time_in_phases counts them: a negative span (clocks disagreeing) counts as none."""
    spent = dict.fromkeys(_COLUMNS, 0.0)
    for (start, status), following in pairwise(path):
        column = f"in_{status}"
        if column in spent:
            spent[column] += max(following[0] - start, 0.0)
    last_at, last = path[-1]
    still = last if f"in_{last}" in spent else None
    return tuple(v or None for v in spent.values()), still, last_at if still is not None else None


def compute(session: Session, scope: Sequence[ColumnElement[bool]]) -> list[Fact]:
    """The facts of the incidents in scope, from their timelines."""
    counts = counts_in(session, scope)
    durations = repo.durations(session, scope)
    return [
        Fact(incident_id, durations[incident_id], counts.get(incident_id, Counts()), model, *_status_seconds(path))
        for incident_id, (model, path) in _moves_in(session, scope).items()
    ]


def compute_for(session: Session, incident_ids: Iterable[int]) -> list[Fact]:
    ids = sorted(set(incident_ids))
    found: list[Fact] = []
    for i in range(0, len(ids), _CHUNK):
        found.extend(compute(session, [Incident.id.in_(ids[i : i + _CHUNK])]))
    return found


def refresh(session: Session, incident_ids: Iterable[int], *, now: datetime) -> int:
    """Rewrite the facts of these incidents (those that still exist); returns how many were written."""
    # Stamps first: an incident changed while its facts are computed keeps the older stamp, and is not trusted.
    found = repo.stamps(session, list(incident_ids))
    rows = [_row(f, found[f.incident_id], now) for f in compute_for(session, found)]
    repo.upsert_facts(session, rows)
    return len(rows)


def _row(f: Fact, stamp: datetime, now: datetime) -> dict[str, Any]:
    return {
        "incident_id": f.incident_id,
        "stamp": stamp,
        "computed_at": now,
        **dict(zip(FACT_DURATIONS, f.durations, strict=True)),
        "escalations": f.counts.escalations,
        "reopened": f.counts.reopened,
        "first_update": f.counts.first_update,
        "auto_resolved": f.counts.auto_resolved,
        "phase_model": f.phase_model,
        **dict(zip(_COLUMNS, f.seconds, strict=True)),
        "open_status": f.open_status,
        "open_since": f.open_since,
    }


def backfill(session: Session, *, batch: int = 1000, now: datetime) -> tuple[int, bool]:
    """Write the facts of up to ``batch`` incidents that have none, oldest first: (written, whether more wait)."""
    ids = repo.incidents_without_facts(session, batch)
    return refresh(session, ids, now=now), len(ids) >= batch


def with_facts(
    session: Session, rows: Sequence[IncidentRow], scope: Sequence[ColumnElement[bool]] | None = None
) -> list[IncidentRow]:
    """These rows, those read without a trusted fact completed from their timelines; ``scope``: the rows' own
    (a period's), read whole when most rows lack a fact (before the backfill has run) rather than by id lists."""
    unknown = [r.id for r in rows if not r.known]
    if not unknown:
        return list(rows)
    if scope is not None and len(unknown) > len(rows) // 2:
        computed = {f.incident_id: f for f in compute(session, scope)}
    else:
        computed = {f.incident_id: f for f in compute_for(session, unknown)}
    return [r if r.known or r.id not in computed else _completed(r, computed[r.id]) for r in rows]


def _completed(row: IncidentRow, f: Fact) -> IncidentRow:
    return replace(
        row,
        known=True,
        escalations=f.counts.escalations,
        reopened=f.counts.reopened,
        first_update=f.counts.first_update,
        auto_resolved=f.counts.auto_resolved,
        phase_model=f.phase_model,
        seconds=f.seconds,
        open_status=f.open_status,
        open_since=f.open_since,
    )


class _Phased(Protocol):
    """What phase_seconds reads of a fact or of a row with its facts."""

    @property
    def phase_model(self) -> str: ...
    @property
    def seconds(self) -> tuple[float | None, ...]: ...
    @property
    def open_status(self) -> str | None: ...
    @property
    def open_since(self) -> float | None: ...


def phase_seconds(facts: Iterable[_Phased], *, now: datetime) -> dict[tuple[str, str], list[float]]:
    """Per (phase model, phase): the seconds each incident spent in it, for those that spent any."""
    at = now.timestamp()
    mapping = {model: [phases.phase_of(model, s) for s in TIMED_STATUSES] for model in phases.MODELS}
    # Where no two statuses share a phase, a status's seconds are its phase's: no sums to make.
    one_to_one = {model: len(set(names)) == len(names) for model, names in mapping.items()}
    spent: dict[tuple[str, str], list[float]] = defaultdict(list)
    for f in facts:
        names = mapping[f.phase_model]
        if one_to_one[f.phase_model]:
            for name, value in zip(names, f.seconds, strict=True):
                if value:
                    spent[(f.phase_model, name)].append(value)
            if f.open_status is not None and f.open_since is not None and at > f.open_since:
                _add_open(spent, f, names, at)
            continue
        summed: dict[str, float] = defaultdict(float)
        for name, value in zip(names, f.seconds, strict=True):
            if value:
                summed[name] += value
        if f.open_status is not None and f.open_since is not None:
            summed[phases.phase_of(f.phase_model, f.open_status)] += max(at - f.open_since, 0.0)
        for name, value in summed.items():
            if value > 0:
                spent[(f.phase_model, name)].append(value)
    return spent


def _add_open(spent: dict[tuple[str, str], list[float]], f: _Phased, names: list[str], at: float) -> None:
    """Add the open status's time until now to its phase's entry for this incident (appended last above)."""
    if f.open_status is None or f.open_since is None:
        return
    name = names[_COLUMNS.index(f"in_{f.open_status}")]
    values = spent[(f.phase_model, name)]
    closed = f.seconds[_COLUMNS.index(f"in_{f.open_status}")]
    if closed:
        values[-1] += at - f.open_since
    else:
        values.append(at - f.open_since)
