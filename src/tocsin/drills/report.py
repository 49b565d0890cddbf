"""A drill's report, built from its incident's timeline and notification rows when it ends.

Who was paged, on which channel, when; who answered (acknowledged or resolved), through which channel and how
fast; which escalation steps fired, which found nobody, which were never reached; which tasks were skipped or left
open. Plain JSON, stored with the run, so that it reads the same after the incident changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.drills import repository as repo
from tocsin.drills.models import DrillRun
from tocsin.escalation import service as escalation
from tocsin.incidents.models import Incident
from tocsin.incidents.timeline import TimelineKind
from tocsin.response import service as response
from tocsin.response.models import TaskStatus
from tocsin.users import service as users

_ANSWERS = (TimelineKind.ACKNOWLEDGED, TimelineKind.RESOLVED)


def _seconds(start: datetime, at: datetime | None) -> float | None:
    return None if at is None else round((at - start).total_seconds(), 1)


def build_report(session: Session, run: DrillRun, incident: Incident | None, *, now: datetime) -> dict[str, Any]:
    start = run.started_at
    report: dict[str, Any] = {
        "scenario": run.scenario_name,
        "incident": None,
        "started_at": start.isoformat(),
        "ended_at": now.isoformat(),
        "duration_seconds": _seconds(start, now),
        "paged": [],
        "answers": [],
        "first_answer_seconds": None,
        "steps_fired": [],
        "steps_empty": [],
        "steps_skipped": [],
        "tasks_skipped": [],
    }
    if incident is None:
        return report
    report["incident"] = {"id": incident.id, "number": incident.number, "title": incident.title}
    pages = repo.pages(session, incident.id)
    entries = repo.timeline(session, incident.id)
    who = {n.user_id for n, _ in pages} | {e.actor_user_id for e in entries if e.actor_user_id is not None}
    names = users.names_of(session, sorted(who))
    report["paged"] = [
        {
            "user_id": n.user_id,
            "user": names.get(n.user_id, f"user {n.user_id}"),
            "channel": channel,
            "step": n.step_index + 1,
            "at": n.created_at.isoformat(),
            "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            "after_seconds": _seconds(start, n.sent_at or n.created_at),
            "status": str(n.status),
        }
        for n, channel in pages
    ]
    answers = [
        {
            "user_id": e.actor_user_id,
            "user": names.get(e.actor_user_id, e.actor) if e.actor_user_id else e.actor,
            "action": str(e.kind),
            "channel": e.source,
            "at": e.at.isoformat(),
            "after_seconds": _seconds(start, e.at),
        }
        for e in entries
        if e.kind in _ANSWERS and e.actor_user_id is not None
    ]
    report["answers"] = answers
    if answers:
        report["first_answer_seconds"] = answers[0]["after_seconds"]
    fired: set[int] = set()
    for e in entries:
        step = (e.data or {}).get("step")
        if not isinstance(step, int):
            continue
        item = {"step": step + 1, "cycle": (e.data or {}).get("cycle", 0), "at": e.at.isoformat(), "message": e.message}
        if e.kind == TimelineKind.ESCALATED:
            report["steps_fired"].append(item)
            fired.add(step)
        elif e.kind == TimelineKind.ESCALATION_EMPTY:
            report["steps_empty"].append(item)
            fired.add(step)
    esc = escalation.escalation_of(session, incident.id)
    total = len((esc.snapshot or {}).get("steps") or []) if esc is not None else 0
    report["steps_skipped"] = [i + 1 for i in range(total) if i not in fired]
    report["tasks_skipped"] = [
        {"title": t.title, "status": str(t.status)}
        for t in response.tasks(session, incident.id)
        if t.status != TaskStatus.DONE
    ]
    return report
