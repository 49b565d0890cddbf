"""The incident page's "Who sees this" card (ADR 0022): make an incident private or public with a reason, add and
remove participants by hand. Its form posts to ``/incidents/{number}/private``, redirecting back (Post/Redirect/Get).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, runtime_of
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

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
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    here = f"/incidents/{number}"
    try:
        with runtime.db.unit_of_work() as session:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            require_act_on_incident(session, who, incident)
            notice = _apply(session, incident, form, who, runtime.clock.now())
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    runtime.wakeup.notify()
    return RedirectResponse(f"{here}?{urlencode({'notice': notice})}", status_code=303)
