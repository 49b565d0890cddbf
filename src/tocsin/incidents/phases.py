"""Phase models (pure): how response statuses group into the phases a team reports on, and time spent in each.

The default model follows the response statuses themselves (ITIL-style); NIST SP 800-61's four phases suit
security incidents. An incident names its model; the page shows the current phase and the time spent in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from tocsin.core.errors import InvalidInput
from tocsin.incidents.lifecycle import ResponseStatus as R

MODELS: Final[dict[str, dict[R, str]]] = {
    "default": {
        R.TRIAGE: "Triage",
        R.INVESTIGATING: "Investigating",
        R.IDENTIFIED: "Identified",
        R.MITIGATED: "Mitigated",
        R.MONITORING: "Monitoring",
        R.RESOLVED: "Resolved",
        R.CLOSED: "Closed",
        R.DECLINED: "Declined",
        R.MERGED: "Merged",
        R.CANCELED: "Canceled",
    },
    "nist": {
        R.TRIAGE: "Detection & Analysis",
        R.INVESTIGATING: "Detection & Analysis",
        R.IDENTIFIED: "Detection & Analysis",
        R.MITIGATED: "Containment, Eradication & Recovery",
        R.MONITORING: "Containment, Eradication & Recovery",
        R.RESOLVED: "Post-Incident Activity",
        R.CLOSED: "Closed",
        R.DECLINED: "Closed",
        R.MERGED: "Closed",
        R.CANCELED: "Closed",
    },
}
# NIST's first phase happens before any incident exists; it is listed so that reports show the whole model.
LEADING: Final = {"default": (), "nist": ("Preparation",)}
# Phases whose time is not counted: the response is over.
_FINAL: Final = {"Closed", "Declined", "Merged", "Canceled"}


def check_model(name: str) -> str:
    if name not in MODELS:
        raise InvalidInput(f"unknown phase model {name!r} (one of {', '.join(MODELS)})")
    return name


def phase_of(model: str, status: str) -> str:
    return MODELS[check_model(model)][R(status)]


def phases_of(model: str) -> list[str]:
    """The model's phases in order, each once."""
    seen: list[str] = list(LEADING.get(model, ()))
    for name in MODELS[check_model(model)].values():
        if name not in seen:
            seen.append(name)
    return seen


def time_in_phases(model: str, moves: Sequence[tuple[datetime, str]], *, now: datetime) -> list[tuple[str, timedelta]]:
    """Time spent in each phase, from the response's moves (when, status reached) in order; the phase the
    incident is in counts until ``now``. Phases never entered are shown with zero."""
    spent = dict.fromkeys(phases_of(model), timedelta(0))
    for (start, status), following in zip(moves, [*moves[1:], None], strict=True):
        phase = phase_of(model, status)
        if phase in _FINAL:
            continue
        end = following[0] if following is not None else now
        spent[phase] += max(end - start, timedelta(0))
    return list(spent.items())
