"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from tocsin.db import migrate
from tocsin.runtime import Runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database is reachable and its schema is current")
async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime

    def check() -> tuple[bool, dict[str, str]]:
        try:
            runtime.db.ping()
        except Exception as exc:
            return False, {"database": f"unreachable: {type(exc).__name__}"}
        current = migrate.current_revision(runtime.db.engine)
        head = migrate.head_revision()
        if current != head:
            return False, {
                "database": "ok",
                "migrations": f"at {current}, expected {head}: run 'tocsin db upgrade'",
            }
        return True, {"database": "ok", "migrations": "current"}

    ok, details = await run_in_threadpool(check)
    return JSONResponse({"status": "ok" if ok else "unavailable", **details}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await run_in_threadpool(runtime.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
