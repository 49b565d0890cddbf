"""/api/v1/users, /api/v1/teams and /api/v1/tokens."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from tocsin.api.deps import AdminDep, Principal, PrincipalDep, RuntimeDep
from tocsin.api.people_schemas import (
    MemberIn,
    MemberOut,
    NewTokenOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.core.errors import Forbidden, NotFound
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users import service as users
from tocsin.users.models import User

router = APIRouter(prefix="/api/v1", tags=["people"], responses=PROBLEM_RESPONSES)


def _user(session: Session, principal: Principal, ref: str) -> User:
    return users.get_user(session, principal.user.id if ref == "me" else ref)


# --- users -------------------------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut])
def list_users(runtime: RuntimeDep, _: PrincipalDep) -> list[UserOut]:
    with runtime.db.reader() as session:
        return [UserOut.model_validate(u) for u in users.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, runtime: RuntimeDep, _: AdminDep) -> UserOut:
    with runtime.db.unit_of_work() as session:
        user = users.create_user(
            session, email=body.email, name=body.name, role=body.role, timezone=body.timezone, now=runtime.clock.now()
        )
        return UserOut.model_validate(user)


@router.get("/users/{ref}", response_model=UserOut, summary="One user, by id, email or 'me'")
def get_user(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> UserOut:
    with runtime.db.reader() as session:
        return UserOut.model_validate(_user(session, principal, ref))


@router.patch(
    "/users/{ref}", response_model=UserOut, summary="Change name and time zone (yours), or role and email (admins)"
)
def patch_user(ref: str, body: UserPatch, runtime: RuntimeDep, principal: PrincipalDep) -> UserOut:
    with runtime.db.unit_of_work() as session:
        user = _user(session, principal, ref)
        if user.id != principal.user.id and not principal.is_admin:
            raise Forbidden("you can only change your own profile")
        if body.role is not None and body.role != user.role and not principal.is_admin:
            raise Forbidden("only admins can change a role")
        if body.email is not None and body.email.strip().lower() != user.email and not principal.is_admin:
            raise Forbidden("only admins can change an email address")
        users.update_user(session, user, name=body.name, timezone=body.timezone, role=body.role, email=body.email)
        session.flush()
        return UserOut.model_validate(user)


# --- teams -------------------------------------------------------------------------------------------------------


def _team_out(session: Session, team: Team) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        members=[MemberOut(id=u.id, email=u.email, name=u.name, role=r) for u, r in teams.members(session, team)],
        created_at=team.created_at,
    )


@router.get("/teams", response_model=list[TeamOut], tags=["teams"])
def list_teams(runtime: RuntimeDep, _: PrincipalDep) -> list[TeamOut]:
    with runtime.db.reader() as session:
        return [_team_out(session, t) for t in teams.list_teams(session)]


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, tags=["teams"])
def create_team(body: TeamIn, runtime: RuntimeDep, _: AdminDep) -> TeamOut:
    with runtime.db.unit_of_work() as session:
        team = teams.create_team(session, name=body.name, description=body.description, now=runtime.clock.now())
        return _team_out(session, team)


@router.get("/teams/{ref}", response_model=TeamOut, tags=["teams"], summary="One team, by id or name")
def get_team(ref: str, runtime: RuntimeDep, _: PrincipalDep) -> TeamOut:
    with runtime.db.reader() as session:
        return _team_out(session, teams.get_team(session, ref))


@router.patch("/teams/{ref}", response_model=TeamOut, tags=["teams"])
def patch_team(ref: str, body: TeamPatch, runtime: RuntimeDep, _: AdminDep) -> TeamOut:
    with runtime.db.unit_of_work() as session:
        team = teams.update_team(session, teams.get_team(session, ref), name=body.name, description=body.description)
        return _team_out(session, team)


@router.delete("/teams/{ref}", status_code=status.HTTP_204_NO_CONTENT, tags=["teams"])
def delete_team(ref: str, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        teams.delete_team(session, teams.get_team(session, ref))


@router.put("/teams/{ref}/members/{user}", response_model=TeamOut, tags=["teams"], summary="Add or change a member")
def put_member(ref: str, user: str, runtime: RuntimeDep, principal: AdminDep, body: MemberIn | None = None) -> TeamOut:
    with runtime.db.unit_of_work() as session:
        team = teams.get_team(session, ref)
        teams.set_member(session, team, _user(session, principal, user), role=(body or MemberIn()).role)
        return _team_out(session, team)


@router.delete("/teams/{ref}/members/{user}", response_model=TeamOut, tags=["teams"])
def remove_member(ref: str, user: str, runtime: RuntimeDep, principal: AdminDep) -> TeamOut:
    with runtime.db.unit_of_work() as session:
        team = teams.get_team(session, ref)
        member = _user(session, principal, user)
        if member.id not in {u.id for u, _ in teams.members(session, team)}:
            raise NotFound(f"{member.email} is not a member of team {team.name!r}")
        teams.remove_member(session, team, member)
        return _team_out(session, team)


# --- tokens ------------------------------------------------------------------------------------------------------


@router.post("/tokens", response_model=NewTokenOut, status_code=status.HTTP_201_CREATED, tags=["tokens"])
def create_token(body: TokenIn, runtime: RuntimeDep, principal: PrincipalDep) -> NewTokenOut:
    with runtime.db.unit_of_work() as session:
        owner = _user(session, principal, body.user) if body.user is not None else principal.user
        if owner.id != principal.user.id and not principal.is_admin:
            raise Forbidden("only admins can create tokens for another user")
        token, secret = users.create_token(
            session, owner, name=body.name, now=runtime.clock.now(), scope=body.scope, expires_at=body.expires_at
        )
        return NewTokenOut(**TokenOut.model_validate(token).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"], summary="Your tokens (admins: everyone's)")
def list_tokens(runtime: RuntimeDep, principal: PrincipalDep) -> list[TokenOut]:
    with runtime.db.reader() as session:
        owner = None if principal.is_admin else principal.user.id
        return [TokenOut.model_validate(t) for t in users.list_tokens(session, owner)]


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"], summary="Revoke, effective at once"
)
def revoke_token(token_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    with runtime.db.unit_of_work() as session:
        users.revoke_token(session, token_id, by=principal.user, now=runtime.clock.now())
