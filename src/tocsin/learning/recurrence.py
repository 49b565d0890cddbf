"""Recurrence (ADR 0029): a new incident like an earlier one whose action items were all done means the fix did not
hold. Both are flagged and the earlier postmortem's owner is told.

"Like" is decided in one place, ``find_recurring``: the same service, and either an alert fingerprint (dedup key)
in common or the same title once normalised (case, digits and punctuation ignored), so that "Checkout 502s on pod
7" recurs as "checkout 502s on pod 12", and an alert that fires again recurs whatever its incident was renamed to.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import actions
from tocsin.learning import repository as repo
from tocsin.notify import notices

_NOISE: Final = re.compile(r"[\d\W_]+", re.UNICODE)


def normalised(title: str) -> str:
    return " ".join(_NOISE.sub(" ", title.casefold()).split())


def find_recurring(session: Session, incident: Incident) -> list[Incident]:
    """Earlier incidents like this one, newest first (drills never count)."""
    if incident.drill:
        return []
    key = normalised(incident.title)
    earlier = [e for e in repo.earlier_incidents(session, incident) if not e.drill]
    fingerprints = repo.alert_keys_of(session, [incident.id, *(e.id for e in earlier)])
    mine = fingerprints[incident.id]
    return [e for e in earlier if (key and normalised(e.title) == key) or (mine & fingerprints[e.id])]


def on_opened(session: Session, incident: Incident, *, now: datetime) -> int:
    """Flag the incidents this one recurs (their action items all done) and tell their postmortems' owners."""
    flagged = 0
    engine = Actor(label="engine", source="engine")
    for earlier in find_recurring(session, incident):
        if not actions.all_done(repo.action_items_of(session, [earlier.id])):
            continue
        if not repo.add_recurrence(session, incident.id, earlier.id, now):
            continue
        flagged += 1
        incidents.record(
            session,
            incident.id,
            TimelineKind.RECURRED,
            f"Recurred: incident #{earlier.number} was like this one, and all its action items were done",
            actor=engine,
            now=now,
            earlier_incident_id=earlier.id,
        )
        incidents.record(
            session,
            earlier.id,
            TimelineKind.RECURRED,
            f"Recurred as incident #{incident.number} although all its action items were done",
            actor=engine,
            now=now,
            later_incident_id=incident.id,
        )
        postmortem = repo.postmortem_of(session, earlier.id)
        if postmortem is not None and postmortem.owner_user_id is not None:
            notices.notify_user(
                session,
                user_id=postmortem.owner_user_id,
                key=f"recurred:{incident.id}:{earlier.id}",
                text=(
                    f'Incident #{incident.number} "{incident.title}" looks like #{earlier.number}, whose '
                    "postmortem you own and whose action items are all done: the fix may not have held."
                ),
                now=now,
            )
    return flagged


def recurrences(session: Session, incident_id: int) -> list[tuple[str, int]]:
    """("recurs", earlier id) and ("recurred_as", later id) pairs of this incident."""
    found = []
    for row in repo.recurrences_of(session, incident_id):
        if row.incident_id == incident_id:
            found.append(("recurs", row.earlier_incident_id))
        else:
            found.append(("recurred_as", row.incident_id))
    return found
