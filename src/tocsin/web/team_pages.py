"""Teams: the list and a team's page; admins create and edit teams and add, change or remove members. Validated by
the API's schemas, applied by the same service functions the API calls."""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter

from tocsin.api.people_schemas import MemberIn, TeamIn, TeamPatch, TeamRole
from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, require_user, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, invalid, text, validate, values_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "teams"
_TEAM_IN = TypeAdapter(TeamIn)
_TEAM_PATCH = TypeAdapter(TeamPatch)
_MEMBER_IN = TypeAdapter(MemberIn)


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        rows = [(t, teams.members(session, t)) for t in teams.list_teams(session)]
    notice = request.query_params.get("notice", "")[:200]
    return render("web/teams.html", who=who, section="people", rows=rows, notice=notice)


@router.get("/teams/new", response_class=HTMLResponse)
def new_team(request: Request) -> Response:
    who = require_admin(request, WHAT)
    return render("web/team_new.html", who=who, section="people", values={}, errors={})


@router.post("/teams/new")
def create_team(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        body = validate(_TEAM_IN, {"name": text(form, "name"), "description": text(form, "description")})
        with runtime.db.unit_of_work() as session:
            team_id = teams.create_team(
                session, name=body.name, description=body.description, now=runtime.clock.now()
            ).id
    except (TocsinError, FormInvalid) as exc:
        bad = invalid(exc, ("name", "description"))
        return render(
            "web/team_new.html",
            bad.status,
            who=who,
            section="people",
            values=values_of(form),
            errors=bad.errors,
            error=bad.message,
        )
    return _back(team_id, "Team created")


def _back(team_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/teams/{team_id}?{urlencode({'notice': notice})}", status_code=303)


def _team_page(
    request: Request,
    who: WebUser,
    team_id: int,
    values: dict[str, Any] | None = None,
    failed: FormInvalid | None = None,
) -> Response:
    with shown_as_page(), runtime_of(request).db.reader() as session:
        team = teams.get_team(session, team_id)
        members = teams.members(session, team)
        member_ids = {u.id for u, _ in members}
        others = [u for u in users.list_users(session) if u.deactivated_at is None and u.id not in member_ids]
    return render(
        "web/team.html",
        failed.status if failed else 200,
        who=who,
        section="people",
        team=team,
        members=members,
        others=[(str(u.id), f"{u.name} ({u.email})") for u in others],
        roles=[(r, r) for r in get_args(TeamRole)],
        values={"name": team.name, "description": team.description, **(values or {})},
        errors=failed.errors if failed else {},
        error=failed.message if failed else request.query_params.get("error", "")[:300],
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team_page(team_id: int, request: Request) -> Response:
    return _team_page(request, require_user(request), team_id)


@router.post("/teams/{team_id}")
def update_team(team_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    try:
        body = validate(_TEAM_PATCH, {"name": text(form, "name"), "description": text(form, "description")})
        with runtime_of(request).db.unit_of_work() as session:
            teams.update_team(session, _stored(session, team_id), name=body.name, description=body.description)
    except (TocsinError, FormInvalid) as exc:
        return _team_page(request, who, team_id, values_of(form), invalid(exc, ("name", "description")))
    return _back(team_id, "Team saved")


@router.post("/teams/{team_id}/delete")
def delete_team(team_id: int, request: Request, form: PostedForm) -> Response:
    """As DELETE /api/v1/teams/{ref}: memberships go with the team, what it owned is kept without a team."""
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    if form.get("confirm") != "yes":
        query = urlencode({"error": "Tick the box to confirm: delete the team."})
        return RedirectResponse(f"/teams/{team_id}?{query}", status_code=303)
    try:
        with runtime_of(request).db.unit_of_work() as session:
            team = _stored(session, team_id)
            name = team.name
            teams.delete_team(session, team)
    except TocsinError as exc:
        return RedirectResponse(f"/teams/{team_id}?{urlencode({'error': exc.detail[:300]})}", status_code=303)
    return RedirectResponse(f"/teams?{urlencode({'notice': f'Deleted team {name}.'})}", status_code=303)


def _stored(session: Any, team_id: int) -> Team:
    with shown_as_page():
        return teams.get_team(session, team_id)


@router.post("/teams/{team_id}/members")
def set_member(team_id: int, request: Request, form: PostedForm) -> Response:
    """Add a member, or change the role of one (as PUT /api/v1/teams/{ref}/members/{user} does)."""
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    user_ref = text(form, "user")
    try:
        body = validate(_MEMBER_IN, {"role": text(form, "role") or "member"})
        if not user_ref:
            raise FormInvalid(422, "user: choose who to add", {"user": "choose who to add"})
        with runtime_of(request).db.unit_of_work() as session:
            team = _stored(session, team_id)
            try:
                member = users.get_user(session, user_ref)
            except NotFound as exc:
                raise InvalidInput(f"user: {exc.detail}") from None
            teams.set_member(session, team, member, role=body.role)
            name = member.name
    except (TocsinError, FormInvalid) as exc:
        bad = invalid(exc, ("user", "role"))
        return _team_page(request, who, team_id, {"user": user_ref, "role": text(form, "role")}, bad)
    return _back(team_id, f"{name} is a {body.role} of the team")


@router.post("/teams/{team_id}/members/{user_id}/remove")
def remove_member(team_id: int, user_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    with shown_as_page(), runtime_of(request).db.unit_of_work() as session:
        team = teams.get_team(session, team_id)
        member = users.get_user(session, user_id)
        if member.id not in {u.id for u, _ in teams.members(session, team)}:
            raise NotFound(f"{member.email} is not a member of team {team.name!r}")
        teams.remove_member(session, team, member)
    return _back(team_id, f"{member.name} left the team")
