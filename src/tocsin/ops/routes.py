"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from tocsin.core.errors import Unauthorized
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


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries ``token`` as a bearer token; compared in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        presented = ""
    return hmac.compare_digest(presented.strip().encode(), token.encode())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Open unless TOCSIN_METRICS_TOKEN is set; then it needs `Authorization: Bearer <that token>`.",
    responses={401: {"description": "TOCSIN_METRICS_TOKEN is set and the request does not carry it"}},
)
async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    token = runtime.settings.metrics_token
    if token and not bearer_matches(request.headers.get("authorization"), token):
        raise Unauthorized("/metrics needs the bearer token set in TOCSIN_METRICS_TOKEN")
    body = await run_in_threadpool(runtime.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
