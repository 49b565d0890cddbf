"""Request-scoped dependencies shared by the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from tocsin.core.errors import Forbidden, Unauthorized
from tocsin.incidents.schemas import Actor
from tocsin.runtime import Runtime
from tocsin.users import service as users
from tocsin.users.models import User

_TOUCH_EVERY = timedelta(minutes=1)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True)
class Principal:
    user: User
    token_id: int

    def actor(self, source: str = "api") -> Actor:
        return Actor(label=self.user.name, source=source, user_id=self.user.id)  # type: ignore[arg-type]

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


def current_principal(request: Request, runtime: RuntimeDep) -> Principal:
    if any(k.lower() in ("token", "api_key", "access_token") for k in request.query_params):
        raise Unauthorized("API tokens are accepted only in the Authorization header, never in the URL")
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        token, user = users.authenticate_token(session, secret.strip())
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        with runtime.db.unit_of_work() as session:
            users.touch_token(session, token.id, now)
    return Principal(user=user, token_id=token.id)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def responder(principal: PrincipalDep) -> Principal:
    if principal.user.role not in ("admin", "responder"):
        raise Forbidden("observers can read but not act on incidents")
    return principal


def admin(principal: PrincipalDep) -> Principal:
    if principal.user.role != "admin":
        raise Forbidden("this needs the admin role")
    return principal


ResponderDep = Annotated[Principal, Depends(responder)]
AdminDep = Annotated[Principal, Depends(admin)]
