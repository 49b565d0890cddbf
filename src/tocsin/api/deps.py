"""Request-scoped dependencies shared by the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.audit import origin as audit_origin
from tocsin.audit import service as audit
from tocsin.core.errors import Forbidden, Unauthorized
from tocsin.incidents.schemas import Actor
from tocsin.runtime import Runtime
from tocsin.users import service as users
from tocsin.users import token_scopes
from tocsin.users.models import User

_TOUCH_EVERY = timedelta(minutes=1)
# (token id, address) pairs this process already knows to be recorded; bounded, since a miss costs only a look-up.
_KNOWN_ADDRESSES_MAX = 10_000


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

    def viewer(self, session: Session) -> Viewer:
        """Who this is in which team, for the access decisions of ``tocsin.access``."""
        return access.viewer_of(session, self.user)


def current_principal(request: Request, runtime: RuntimeDep) -> Principal:
    if any(k.lower() in ("token", "api_key", "access_token") for k in request.query_params):
        raise Unauthorized("API tokens are accepted only in the Authorization header, never in the URL")
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        token, user = users.authenticate_token(session, secret.strip(), now=now)
    enforce_token_scope(token.scope, request)
    origin = audit_origin.current()
    if origin is not None:
        origin.signed_in(user_id=user.id, label=user.name, token_id=token.id)
    ip = origin.ip if origin is not None else (request.client.host if request.client else "")
    known: set[tuple[int, str]] = request.app.state.known_token_addresses
    touch = token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
    if touch or (token.id, ip) not in known:
        with runtime.db.unit_of_work() as session:
            if touch:
                users.touch_token(session, token.id, now)
            if (token.id, ip) not in known:
                audit.record_token_use(session, token_id=token.id, ip=ip, now=now)
        if len(known) >= _KNOWN_ADDRESSES_MAX:
            known.clear()
        known.add((token.id, ip))
    return Principal(user=user, token_id=token.id)


def enforce_token_scope(scope: str, request: Request) -> None:
    """A read-only token may not write; an incidents token may write only to incidents (403 otherwise)."""
    reason = token_scopes.refusal(scope, request.method, request.url.path)
    if reason is not None:
        raise Forbidden(reason)


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
