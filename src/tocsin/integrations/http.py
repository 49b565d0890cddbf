"""HTTP endpoints of the inbound formats: read a bounded body, parse it, hand it to the ingest writer.

The sender gets 2xx only once the writer has committed the event; 503 tells it to retry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.alerts.schemas import NormalizedEvent, Submission, SubmissionResult
from tocsin.core.errors import BadRequest, NotFound, PayloadTooLarge, TocsinError, Unauthorized
from tocsin.integrations import alertmanager, generic, grafana, pagerduty_v2
from tocsin.integrations._json import parse_body
from tocsin.runtime import Runtime
from tocsin.services import service as services

router = APIRouter(tags=["inbound"])


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _count(runtime: Runtime, kind: str, result: SubmissionResult | None, outcome: str | None = None) -> None:
    if result is not None:
        for o in result.outcomes:
            runtime.metrics.events.labels(result.integration_type or kind, o).inc()
    elif outcome is not None:
        runtime.metrics.events.labels(kind, outcome).inc()


def _pd_error(exc: TocsinError) -> JSONResponse:
    errors = exc.errors or [exc.detail]
    message = "Event object is invalid" if exc.status_code == 400 else exc.detail
    return JSONResponse({"status": "invalid event", "message": message, "errors": errors}, status_code=exc.status_code)


@router.post("/v2/enqueue", status_code=202, summary="PagerDuty Events API v2: trigger, acknowledge, resolve")
async def pagerduty_enqueue(request: Request) -> JSONResponse:
    runtime = _runtime(request)
    try:
        data = parse_body(await read_body(request, runtime.settings.max_body_bytes))
        event = pagerduty_v2.parse_event(data)
        key = pagerduty_v2.routing_key_of(data)
        if key is None:
            raise BadRequest("Event object is invalid", errors=["'routing_key' is required"])
        result = await runtime.committer.submit(Submission(integration_key=key, events=[event]))
        if not result.found:
            raise NotFound("Invalid routing key", errors=["'routing_key' does not match any integration"])
    except TocsinError as exc:
        _count(runtime, "pagerduty_v2", None, _rejection(exc))
        return _pd_error(exc)
    _count(runtime, "pagerduty_v2", result)
    return JSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": result.dedup_keys[0]},
        status_code=202,
    )


@router.post("/v2/change/enqueue", status_code=202, summary="PagerDuty change events: recorded, never paged")
async def pagerduty_change(request: Request) -> JSONResponse:
    runtime = _runtime(request)
    try:
        data = parse_body(await read_body(request, runtime.settings.max_body_bytes))
        key, change = pagerduty_v2.parse_change(data)
        result = await runtime.committer.submit(Submission(integration_key=key, changes=[change]))
        if not result.found:
            raise NotFound("Invalid routing key", errors=["'routing_key' does not match any integration"])
    except TocsinError as exc:
        _count(runtime, "pagerduty_change", None, _rejection(exc))
        return _pd_error(exc)
    _count(runtime, "pagerduty_change", None, "recorded")
    return JSONResponse({"status": "success", "message": "Change event processed"}, status_code=202)


def _rejection(exc: TocsinError) -> str:
    return {404: "unknown_key", 413: "too_large", 401: "bad_signature", 503: "unavailable"}.get(
        exc.status_code, "rejected"
    )


async def _submit_events(request: Request, kind: str, key: str, events: list[NormalizedEvent]) -> JSONResponse:
    runtime = _runtime(request)
    result = await runtime.committer.submit(Submission(integration_key=key, events=events))
    if not result.found:
        raise NotFound(f"no integration has the key {key!r}")
    _count(runtime, kind, result)
    return JSONResponse(
        {
            "status": "success",
            "message": "Events processed",
            "alerts": len(events),
            "dedup_keys": result.dedup_keys,
        },
        status_code=202,
    )


async def _guarded(request: Request, kind: str, handler: Any) -> JSONResponse:
    runtime = _runtime(request)
    try:
        response: JSONResponse = await handler(runtime)
        return response
    except TocsinError as exc:
        _count(runtime, kind, None, _rejection(exc))
        body: dict[str, Any] = {"status": "error", "message": exc.detail}
        if exc.errors:
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=exc.status_code)


@router.post("/integrations/{key}/alertmanager", status_code=202, summary="Prometheus Alertmanager webhook (v4)")
async def alertmanager_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        data = parse_body(await read_body(request, runtime.settings.max_body_bytes))
        return await _submit_events(request, "alertmanager", key, alertmanager.parse(data))

    return await _guarded(request, "alertmanager", handle)


@router.post("/integrations/{key}/grafana", status_code=202, summary="Grafana unified alerting webhook")
async def grafana_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        raw = await read_body(request, runtime.settings.max_body_bytes)
        secret = await _signing_secret(runtime, key)
        if secret:
            # Grafana's default header; the alternative spelling is accepted for senders configured by hand.
            signature = request.headers.get("x-grafana-alert-signature") or request.headers.get(
                "x-grafana-alerting-signature", ""
            )
            timestamp = request.headers.get("x-grafana-alert-timestamp")
            if timestamp is not None and not grafana.timestamp_is_fresh(timestamp, runtime.clock.now()):
                raise Unauthorized("X-Grafana-Alert-Timestamp is more than 5 minutes away; replay refused")
            if not signature or not grafana.verify_signature(secret, raw, signature, timestamp):
                raise Unauthorized("missing or wrong X-Grafana-Alert-Signature")
        return await _submit_events(request, "grafana", key, grafana.parse(parse_body(raw)))

    return await _guarded(request, "grafana", handle)


@router.post("/integrations/{key}/generic", status_code=202, summary="Generic JSON or form events")
async def generic_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        raw = await read_body(request, runtime.settings.max_body_bytes)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                fields = dict(parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=False))
            except UnicodeDecodeError:
                raise BadRequest("form body is not UTF-8") from None
            event = generic.parse_form(fields)
        else:
            data = parse_body(raw)
            event = generic.parse(data)
        return await _submit_events(request, "generic", key, [event])

    return await _guarded(request, "generic", handle)


async def _signing_secret(runtime: Runtime, key: str) -> str | None:
    def lookup() -> str | None:
        with runtime.db.reader() as session:
            return services.signing_secret_of(session, key)

    return await run_in_threadpool(lookup)
