"""HTTP endpoints of the monitoring tools with a wire format of their own (Datadog, CloudWatch, Sentry, Zabbix).

Each route reads a bounded body, checks the sender's signature where the tool signs, parses, and answers 2xx
only once the ingest writer has committed the events, exactly like the formats in ``http``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.core.errors import NotFound
from tocsin.integrations import datadog
from tocsin.integrations import http as inbound
from tocsin.integrations._json import parse_body
from tocsin.runtime import Runtime

router = APIRouter(tags=["inbound"])

Handler = Callable[[Runtime], Awaitable[JSONResponse]]


async def guarded(request: Request, kind: str, handler: Handler) -> JSONResponse:
    """Run ``handler``, answering a TocsinError as JSON with its status (and counting the rejection)."""
    return await inbound._guarded(request, kind, handler)


async def submit_events(
    request: Request, kind: str, key: str, events: list[NormalizedEvent], *, delivery_id: str | None = None
) -> JSONResponse:
    """Hand the events to the ingest writer and answer 202 once they are committed (404 for an unknown key)."""
    runtime = runtime_of(request)
    result = await runtime.committer.submit(Submission(integration_key=key, events=events, delivery_id=delivery_id))
    if not result.found:
        raise NotFound(f"no integration has the key {key!r}")
    inbound._count(runtime, kind, result)
    return JSONResponse(
        {
            "status": "success",
            "message": "Events processed",
            "alerts": len(events),
            "dedup_keys": result.dedup_keys,
            "outcomes": result.outcomes,
        },
        status_code=202,
    )


def runtime_of(request: Request) -> Runtime:
    return inbound._runtime(request)


async def signing_secret(runtime: Runtime, key: str) -> str | None:
    return await inbound._signing_secret(runtime, key)


async def read_limited(request: Request, runtime: Runtime) -> bytes:
    return await inbound.read_body(request, runtime.settings.max_body_bytes)


@router.post("/integrations/{key}/datadog", status_code=202, summary="Datadog monitor webhook")
async def datadog_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        data = parse_body(await read_limited(request, runtime))
        return await submit_events(request, "datadog", key, [datadog.parse(data)])

    return await guarded(request, "datadog", handle)
