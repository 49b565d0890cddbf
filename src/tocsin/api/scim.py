"""SCIM 2.0 Users under /scim/v2, the subset identity providers use to find and deactivate people (ADR 0037).

Authenticated like the API (``Authorization: Bearer``, an admin's token); every answer, refusals included, is in
SCIM's JSON shape (``application/scim+json``). Deactivating (PATCH ``active`` false, or DELETE) is the
administrators' deactivation (signed out, no longer paged) and revokes the person's API tokens.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response

from tocsin.api.deps import Principal, RuntimeDep, current_principal
from tocsin.core.errors import TocsinError
from tocsin.core.numbers import ascii_int
from tocsin.sso import scim
from tocsin.sso import service as sso
from tocsin.sso.scim import ScimError
from tocsin.users import service as users
from tocsin.users.models import User

router = APIRouter(prefix="/scim/v2", tags=["scim"])

_MAX_COUNT = 200


def _scim(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=scim.MEDIA_TYPE)


def scim_admin(request: Request, runtime: RuntimeDep) -> Principal:
    """The admin whose token this is; refusals in SCIM's shape."""
    try:
        principal = current_principal(request, runtime)
    except TocsinError as exc:
        raise ScimError(exc.status_code, exc.detail) from None
    if not principal.is_admin:
        raise ScimError(403, "SCIM needs an admin's API token")
    return principal


ScimAdmin = Annotated[Principal, Depends(scim_admin)]


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


JsonBody = Annotated[object, Depends(_json_body)]


def _user(session: Any, ref: str) -> User:
    number = ascii_int(ref)
    if number is None or number > 2**63 - 1:
        raise ScimError(404, f"user {ref} not found")
    try:
        return users.get_user(session, number)
    except TocsinError:
        raise ScimError(404, f"user {ref} not found") from None


def _index(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    number = ascii_int(value)
    if number is None or number > 1_000_000_000:
        raise ScimError(400, f"{name} must be a whole number", "invalidValue")
    return number


@router.get("/Users", summary='SCIM: list users, or find one by filter=userName eq "email"')
def list_users(
    runtime: RuntimeDep,
    _: ScimAdmin,
    filter_: Annotated[str | None, Query(alias="filter")] = None,
    start_index: Annotated[str | None, Query(alias="startIndex")] = None,
    count: str | None = None,
) -> Response:
    start = max(1, _index(start_index, "startIndex", 1))
    size = min(_MAX_COUNT, _index(count, "count", _MAX_COUNT))
    base = runtime.settings.base_url
    with runtime.db.reader() as session:
        if filter_ is not None:
            wanted = scim.user_name_filter(filter_)
            try:
                found = [users.get_user(session, wanted.lower())] if "@" in wanted else []
            except TocsinError:
                found = []
        else:
            found = users.list_users(session)
        page = found[start - 1 : start - 1 + size]
        resources = [scim.user_resource(u, base_url=base) for u in page]
    return _scim(scim.list_response(resources, total=len(found), start_index=start))


@router.get("/Users/{user_id}", summary="SCIM: one user")
def get_user(user_id: str, runtime: RuntimeDep, _: ScimAdmin) -> Response:
    with runtime.db.reader() as session:
        return _scim(scim.user_resource(_user(session, user_id), base_url=runtime.settings.base_url))


def _set_active(runtime: Any, user_id: str, active: bool) -> dict[str, Any]:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        user = _user(session, user_id)
        try:
            if active:
                users.reactivate_user(session, user)
            else:
                sso.deactivate(session, user, now=now)
        except TocsinError as exc:
            raise ScimError(exc.status_code, exc.detail) from None
        return scim.user_resource(user, base_url=runtime.settings.base_url)


@router.patch("/Users/{user_id}", summary="SCIM: set active (PatchOp replace active)")
def patch_user(user_id: str, body: JsonBody, runtime: RuntimeDep, _: ScimAdmin) -> Response:
    active = scim.active_from_patch(body)
    return _scim(_set_active(runtime, user_id, active))


@router.delete("/Users/{user_id}", status_code=204, summary="SCIM: deactivate (never deletes: history names people)")
def delete_user(user_id: str, runtime: RuntimeDep, _: ScimAdmin) -> Response:
    _set_active(runtime, user_id, False)
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    @app.exception_handler(ScimError)
    async def _scim_error(_: Request, exc: ScimError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status_code, media_type=scim.MEDIA_TYPE, headers=headers)
