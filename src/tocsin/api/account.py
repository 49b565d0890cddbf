"""/api/v1/me/…: the caller's own password and browser sessions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.audit import service as audit
from tocsin.auth import accounts
from tocsin.core.errors import Conflict, Unavailable
from tocsin.notify.reset_mail import send_reset_link
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

router = APIRouter(prefix="/api/v1", tags=["account"], responses=PROBLEM_RESPONSES)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_link: bool = Field(
        default=False,
        description="mail the user a single-use link to choose a password themselves, instead of a temporary one",
    )


class PasswordResetOut(BaseModel):
    temporary_password: str | None = Field(
        default=None, description="shown only this once; the user should change it after signing in"
    )
    sessions_ended: int = 0
    link_sent: bool = False


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your password (ends all your console sessions)",
)
def change_password(body: PasswordChangeIn, request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    user = principal.user
    settings = runtime.settings
    accounts.check_current_password(
        runtime.hashing, runtime.attempts, user=user, address=_address(request), password=body.current_password
    )
    new_hash = accounts.new_password_hash(
        runtime.hashing,
        user=user,
        password=body.new_password,
        min_length=settings.password_min_length,
        blocklist_file=settings.password_blocklist_file,
    )
    with runtime.db.unit_of_work() as session:
        ended = accounts.set_password(session, user.id, new_hash=new_hash, expected_hash=user.password_hash)
        audit.record(
            session, audit.PASSWORD_CHANGED, object_type="user", object_id=str(user.id), data={"sessions_ended": ended}
        )


@router.get("/me/sessions", response_model=list[SessionOut], summary="Your signed-in console sessions")
def list_sessions(runtime: RuntimeDep, principal: PrincipalDep) -> list[SessionOut]:
    with runtime.db.reader() as session:
        rows = accounts.sessions_of(session, principal.user.id, now=runtime.clock.now())
        return [SessionOut.model_validate(row) for row in rows]


@router.delete(
    "/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Sign one of your sessions out"
)
def revoke_session(session_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> None:
    with runtime.db.unit_of_work() as session:
        accounts.revoke_session(session, principal.user.id, session_id)
        audit.record(session, audit.SESSION_REVOKED, object_type="user", object_id=str(principal.user.id))


@router.post(
    "/users/{ref}/password-reset",
    response_model=PasswordResetOut,
    summary="Give a user a temporary password and sign out all their sessions, or mail them a reset link (admins)",
)
def reset_password(
    ref: str, runtime: RuntimeDep, principal: AdminDep, body: PasswordResetIn | None = None
) -> PasswordResetOut:
    with runtime.db.reader() as session:
        user = users.get_user(session, ref)
    if body is not None and body.send_link:
        sent = send_reset_link(
            runtime.providers,
            runtime.link_secret(),
            user=user,
            base_url=runtime.settings.base_url,
            now=runtime.clock.now(),
            valid_minutes=runtime.settings.password_reset_link_minutes,
        )
        if sent is None:
            raise Conflict("no email channel is configured (TOCSIN_SMTP_HOST, or the local outbox)")
        if sent.outcome != "delivered":
            raise Unavailable(f"the email could not be sent: {sent.error or sent.outcome}", retry_after="60")
        return PasswordResetOut(link_sent=True)
    password = accounts.temporary_password()
    new_hash = runtime.hashing.call(hash_password, password)
    with runtime.db.unit_of_work() as session:
        ended = accounts.reset_password(session, user.id, new_hash=new_hash)
    return PasswordResetOut(temporary_password=password, sessions_ended=ended)
