"""/api/v1/trackers: Jira and GitHub Issues connections (admins only: they hold credentials) and the remote issues
kept in sync with them; /hooks/trackers/{id}/jira|github: the trackers' webhooks (ADR 0035)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from tocsin.api.deps import AdminDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.tracker_schemas import ConnectionIn, ConnectionOut, ConnectionPatch, RemoteIssueOut
from tocsin.core.errors import NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.integrations.http import check_rate, read_body
from tocsin.trackers import inbound
from tocsin.trackers import service as trackers

router = APIRouter(prefix="/api/v1/trackers", tags=["trackers"], responses=PROBLEM_RESPONSES)
hooks_router = APIRouter(prefix="/hooks/trackers", tags=["inbound"], include_in_schema=False)


@router.get("/connections", response_model=list[ConnectionOut])
def list_connections(runtime: RuntimeDep, _: AdminDep) -> list[ConnectionOut]:
    with runtime.db.reader() as session:
        return [ConnectionOut.of(c) for c in trackers.list_connections(session)]


@router.post("/connections", response_model=ConnectionOut, status_code=status.HTTP_201_CREATED)
def create_connection(body: ConnectionIn, runtime: RuntimeDep, _: AdminDep) -> ConnectionOut:
    spec = trackers.ConnectionSpec(**body.model_dump())
    with runtime.db.unit_of_work() as session:
        return ConnectionOut.of(trackers.create_connection(session, spec, now=runtime.clock.now()))


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
def get_connection(connection_id: int, runtime: RuntimeDep, _: AdminDep) -> ConnectionOut:
    with runtime.db.reader() as session:
        return ConnectionOut.of(trackers.get_connection(session, connection_id))


@router.patch("/connections/{connection_id}", response_model=ConnectionOut)
def patch_connection(connection_id: int, body: ConnectionPatch, runtime: RuntimeDep, _: AdminDep) -> ConnectionOut:
    changes = {k: v for k, v in body.model_dump().items() if k in body.model_fields_set}
    with runtime.db.unit_of_work() as session:
        connection = trackers.update_connection(session, connection_id, now=runtime.clock.now(), **changes)
        return ConnectionOut.of(connection)


@router.delete("/connections/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connection(connection_id: int, runtime: RuntimeDep, _: AdminDep) -> None:
    with runtime.db.unit_of_work() as session:
        trackers.delete_connection(session, connection_id)


@router.get("/issues", response_model=list[RemoteIssueOut], summary="Remote issues, newest first")
def list_issues(
    runtime: RuntimeDep,
    _: AdminDep,
    local_ref: str | None = Query(default=None, max_length=200, description="only this local object's issues"),
    connection_id: int | None = Query(default=None),
    state: Literal["pending", "synced", "failed"] | None = Query(default=None, alias="status"),
    before: int | None = Query(default=None, description="only issues with a smaller id (next page)"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[RemoteIssueOut]:
    with runtime.db.reader() as session:
        if local_ref is not None:
            return [RemoteIssueOut.of(i) for i in trackers.issues_of(session, local_ref)]
        found = trackers.list_issues(session, connection_id=connection_id, status=state, before_id=before, limit=limit)
        return [RemoteIssueOut.of(i) for i in found]


@router.post(
    "/issues/{issue_id}/retry",
    response_model=RemoteIssueOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Try a failed remote issue again",
)
def retry_issue(issue_id: int, runtime: RuntimeDep, _: AdminDep) -> RemoteIssueOut:
    with runtime.db.unit_of_work() as session:
        return RemoteIssueOut.of(trackers.retry(session, issue_id, now=runtime.clock.now()))


async def _hook(request: Request, connection_id: str, kind: str) -> tuple[int, bytes]:
    """The connection's id and the body, after a token from the connection's bucket: a flood costs no read."""
    check_rate(request, f"tracker:{connection_id}")
    if not is_ascii_digits(connection_id) or len(connection_id) > 18:
        raise NotFound(f"no {kind} tracker connection {connection_id}")
    return int(connection_id), await read_body(request, inbound.MAX_BODY)


@hooks_router.post("/{connection_id}/jira")
async def jira_webhook(connection_id: str, request: Request, runtime: RuntimeDep) -> Response:
    connection, body = await _hook(request, connection_id, "jira")
    headers = dict(request.headers)
    secret = request.query_params.get("secret")

    def take() -> str:
        with runtime.db.unit_of_work() as session:
            return inbound.jira(
                session, connection, headers=headers, query_secret=secret, body=body, now=runtime.clock.now()
            )

    done = await run_in_threadpool(take)
    return Response(content=f'{{"result": "{done}"}}', media_type="application/json")


@hooks_router.post("/{connection_id}/github")
async def github_webhook(connection_id: str, request: Request, runtime: RuntimeDep) -> Response:
    connection, body = await _hook(request, connection_id, "github")
    headers = dict(request.headers)

    def take() -> str:
        with runtime.db.unit_of_work() as session:
            return inbound.github(session, connection, headers=headers, body=body, now=runtime.clock.now())

    done = await run_in_threadpool(take)
    return Response(content=f'{{"result": "{done}"}}', media_type="application/json")
