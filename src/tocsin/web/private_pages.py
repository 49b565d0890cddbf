"""The incident page's "Who sees this" card (ADR 0022): make an incident private or public with a reason, add and
remove participants by hand. Its form posts to ``/incidents/{number}/private``, redirecting back (Post/Redirect/Get).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, WebUser
from tocsin.web.incident_cards import act_on_incident

router = APIRouter(include_in_schema=False)


def card_context(session: Session, incident: Incident, who: WebUser) -> dict[str, Any]:
    """What ``web/_incident_private.html`` shows: who sees the incident and who takes part in it."""
    everyone = visibility.participants(session, incident)
    added = visibility.added_participants(session, incident.id)
    names = users.names_of(session, sorted(everyone))
    team = teams.get_team(session, incident.private_team_id) if incident.private_team_id else None
    return {
        "private": incident.private,
        "team": team.name if team else None,
        "participants": sorted(names.get(u, "?") for u in everyone),
        "added": [(p.user_id, names.get(p.user_id, "?")) for p in added],
        "teams": [(t.id, t.name) for t in teams.list_teams(session)] if who.can_act else [],
        "people": [(u.id, u.name) for u in users.list_users(session, include_deactivated=False) if u.id not in everyone]
        if who.can_act
        else [],
    }


def _apply(session: Session, incident: Incident, form: Any, who: WebUser, now: Any) -> str:
    action = str(form.get("action") or "")
    actor = who.actor()
    if action == "visibility":
        private = form.get("private") == "on"
        team_ref = str(form.get("team") or "")
        team_id = visibility.private_team_id(session, team_ref) if private else None
        visibility.set_visibility(
            session,
            incident.id,
            private=private,
            team_id=team_id,
            reason=str(form.get("reason") or ""),
            actor=actor,
            now=now,
        )
        return "Now private" if private else "Now public"
    user_ref = str(form.get("user") or "")
    if action in ("participant_add", "participant_remove"):
        if not is_ascii_digits(user_ref):
            raise InvalidInput("choose a person")
        if action == "participant_add":
            visibility.add_participant(session, incident.id, int(user_ref), actor=actor, now=now)
            return "Participant added"
        visibility.remove_participant(session, incident.id, int(user_ref), actor=actor, now=now)
        return "Participant removed"
    raise InvalidInput(f"unknown action {action!r}")


@router.post("/incidents/{number}/private")
def private_action(number: int, request: Request, form: PostedForm) -> Response:
    return act_on_incident(request, number, form, lambda s, incident, who, now: _apply(s, incident, form, who, now))
