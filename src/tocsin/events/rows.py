"""Incident events as rows, built from the timeline rows they record (pure): one vocabulary, the timeline's kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

EVENT_PREFIX = "incident."


def event_type(kind: str) -> str:
    """One vocabulary: an event's type is its timeline entry's kind under ``incident.``."""
    return EVENT_PREFIX + kind


def changes_of(kind: str, data: Mapping[str, Any], status_after: Mapping[str, str]) -> dict[str, Any]:
    """{field: [old, new]} from what a timeline entry records of a change."""
    changes: dict[str, Any] = {}
    for name, change in (data.get("changes") or {}).items():
        if isinstance(change, Mapping):
            changes[name] = [change.get("from"), change.get("to")]
    if kind in status_after and "previous" in data:
        changes["status"] = [data["previous"], status_after[kind]]
    elif kind == "reassigned" and "to" in data:
        changes["assigned_user_id"] = [data.get("previous"), data["to"]]
    elif kind == "reassigned" and "policy" in data:
        changes["escalation_policy_id"] = [None, data["policy"]]
    return changes


def rows_of(rows: Sequence[Mapping[str, Any]], *, status_after: Mapping[str, str]) -> list[dict[str, Any]]:
    """The event rows recording these timeline rows."""
    return [
        {
            "incident_id": r["incident_id"],
            "type": event_type(r["kind"]),
            "at": r["at"],
            "source": r["source"],
            "actor_user_id": r["actor_user_id"],
            "actor": r["actor"],
            "message": r["message"],
            "changes": changes_of(r["kind"], r["data"], status_after),
        }
        for r in rows
    ]
