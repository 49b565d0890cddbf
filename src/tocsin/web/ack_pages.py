"""One-click acknowledge / resolve pages, reached from the signed links in emails and text messages.

``GET /a/{token}`` only shows what the link would do: mail scanners and link previews fetch GET URLs, so a
GET must never act. The page's form POSTs back to the same URL; the token in the path is the capability (there
is no session cookie to ride on, so there is nothing for a cross-site request to forge). ``POST /a/{token}``
redeems the link once and acknowledges or resolves the incident as the user the link was made for.

The templates live in ``web/templates/ack/``; packaging must ship them (package-data ``web/templates/**``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from tocsin.auth.links import LinkClaims, read_token
from tocsin.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, TocsinError, Unauthorized
from tocsin.incidents import lifecycle
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.service_links import link_was_used, use_link
from tocsin.response import responders
from tocsin.runtime import Runtime
from tocsin.settings import ConfigError
from tocsin.users import service as users

router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

_VERB = {
    "acknowledge": ("Acknowledge", "acknowledged"),
    "resolve": ("Resolve", "resolved"),
    "accept": ("Accept", "accepted"),
    "decline": ("Decline", "declined"),
}
# A request to join an incident: its answer, not the incident's paging state.
_ANSWERS = ("accept", "decline")


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(f"ack/{template}").render(**context)
    # ok, warn or err: what the page says, for the service worker's buttons (``static/sw.js``), which read no HTML.
    tone = {"X-Tocsin-Result": context["tone"]} if "tone" in context else {}
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **tone})


def _problem(status: int, heading: str, message: str, incident: Incident | None = None) -> HTMLResponse:
    return _page("result.html", status, heading=heading, message=message, incident=incident, tone="err")


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "earlier"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _already_done(session: Session, incident: Incident, action: str) -> HTMLResponse | None:
    """A friendly page when the incident is already where the link would put it (or beyond), else None."""
    if incident.status == lifecycle.TRIGGERED or (action == "resolve" and incident.status != lifecycle.RESOLVED):
        return None
    resolved = incident.status == lifecycle.RESOLVED
    kind = TimelineKind.RESOLVED if resolved else TimelineKind.ACKNOWLEDGED
    entries = [e for e in incidents.timeline(session, incident.id) if e.kind == kind]
    who = entries[-1].actor if entries and entries[-1].actor else "someone"
    at = incident.resolved_at if resolved else incident.acknowledged_at
    return _page(
        "result.html",
        heading=f"Already {kind}",
        message=f"{who} {kind} this incident at {_when(at)}. Nothing more to do.",
        incident=incident,
        tone="warn",
    )


def _already_answered(session: Session, incident: Incident, user_id: int, status: int = 200) -> HTMLResponse | None:
    """A friendly page when the person's request to join was answered (or withdrawn) already, else None."""
    if responders.pending_message(session, incident.id, user_id) is not None:
        return None
    found = responders.latest_request(session, incident.id, user_id)
    if found is None:
        return _problem(404, "No request", "You were not asked to join this incident.", incident)
    return _page(
        "result.html",
        status,
        heading=f"Already {found.status.value}",
        message=f"Your request to join this incident was {found.status.value} at {_when(found.answered_at)}.",
        incident=incident,
        tone="warn",
    )


def _claims(runtime: Runtime, token: str) -> LinkClaims | HTMLResponse:
    try:
        secret = runtime.link_secret()
    except ConfigError:
        return _problem(503, "Links are not available", "This Tocsin server has no signing key configured.")
    try:
        return read_token(secret, token, now=runtime.clock.now())
    except Unauthorized as exc:
        return _problem(401, "This link cannot be used", exc.detail + ". Open the incident in Tocsin instead.")


@router.get("/a/{token}", response_class=HTMLResponse)
def confirm_page(token: str, request: Request) -> HTMLResponse:
    runtime = _runtime(request)
    claims = _claims(runtime, token)
    if isinstance(claims, HTMLResponse):
        return claims
    with runtime.db.reader() as session:
        try:
            incident = incidents.get(session, claims.incident_id)
        except NotFound:
            return _problem(404, "Incident not found", "The incident this link points at no longer exists.")
        if claims.action in _ANSWERS:
            done = _already_answered(session, incident, claims.user_id)
        else:
            done = _already_done(session, incident, claims.action)
        if done is not None:
            return done
        if link_was_used(session, claims.nonce):
            return _problem(409, "Link already used", "This link was already used.", incident)
        verb = _VERB[claims.action][0]
        heading = f"{verb} incident #{incident.number}?"
        if claims.action in _ANSWERS:
            heading = f"{verb} the request to join incident #{incident.number}?"
        return _page(
            "confirm.html",
            heading=heading,
            incident=incident,
            action=claims.action,
            button=f"{verb} #{incident.number}",
            expires=_when(claims.expires_at),
        )


@router.post("/a/{token}", response_class=HTMLResponse)
def act(token: str, request: Request) -> HTMLResponse:
    runtime = _runtime(request)
    checked = _claims(runtime, token)
    if isinstance(checked, HTMLResponse):
        return checked
    secret = runtime.link_secret()
    now = runtime.clock.now()
    try:
        with runtime.db.unit_of_work() as session:
            claims = use_link(session, secret, token, now)
            user = users.get_user(session, claims.user_id)
            if user.deactivated_at is not None:
                raise Forbidden("the account this link was sent to is deactivated")
            actor = Actor(label=user.name, source="link", user_id=user.id)
            if claims.action in _ANSWERS:
                responders.answer(
                    session, claims.incident_id, user, claims.action == "accept", via="link", actor=actor, now=now
                )
                incident = incidents.get(session, claims.incident_id)
            elif claims.action == "acknowledge":
                incident = incidents.acknowledge(session, claims.incident_id, actor=actor, now=now)
            else:
                incident = incidents.resolve(session, claims.incident_id, actor=actor, now=now)
    except InvalidTransition:
        # Nothing was written (the link stays unused); tell who got there first.
        with runtime.db.reader() as session:
            incident = incidents.get(session, checked.incident_id)
            done = _already_done(session, incident, checked.action)
            if done is not None:
                return done
            return _problem(409, "Not possible", f"The incident is {incident.status}.", incident)
    except Conflict as exc:
        if checked.action not in _ANSWERS:
            return _problem(409, "Link already used", exc.detail[:1].upper() + exc.detail[1:] + ".")
        with runtime.db.reader() as session:
            incident = incidents.get(session, checked.incident_id)
            done = _already_answered(session, incident, checked.user_id, 409)
        return done or _problem(409, "Link already used", exc.detail[:1].upper() + exc.detail[1:] + ".")
    except NotFound as exc:
        return _problem(404, "Not found", exc.detail[:1].upper() + exc.detail[1:] + ".")
    except TocsinError as exc:
        return _problem(exc.status_code, exc.title, exc.detail[:1].upper() + exc.detail[1:] + ".")
    past = _VERB[claims.action][1]
    heading = f"Incident #{incident.number} {past}"
    if claims.action in _ANSWERS:
        heading = f"Request to join incident #{incident.number} {past}"
    return _page(
        "result.html",
        heading=heading,
        message=f"{past.capitalize()} by {user.name} at {_when(now)}.",
        incident=incident,
        tone="ok",
    )
