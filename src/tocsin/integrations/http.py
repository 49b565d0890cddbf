"""HTTP endpoints of the inbound formats: read a bounded body, parse it, hand it to the ingest writer.

The sender gets 2xx only once the writer has committed the event; 503 tells it to retry. Each integration key
has a token bucket (``ingest_rate_per_key``): a key over its limit gets 429 with Retry-After, refused before any
database work (and, where the key is in the URL, before the body is read), so other keys do not feel its flood.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.alerts.schemas import NormalizedEvent, Submission, SubmissionResult
from tocsin.core.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    TocsinError,
    Unauthorized,
    Unavailable,
)
from tocsin.core.numbers import is_ascii_digits
from tocsin.integrations import alertmanager, generic, grafana, pagerduty_v2
from tocsin.integrations._json import parse_body
from tocsin.integrations.ratelimit import KeyedRateLimiter, retry_after_header
from tocsin.runtime import Runtime
from tocsin.services import service as services

log = logging.getLogger(__name__)

router = APIRouter(tags=["inbound"])

PAGERDUTY_TYPE = "pagerduty_v2"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and is_ascii_digits(declared) and int(declared) > limit:
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


def _limiter(request: Request) -> KeyedRateLimiter:
    state = request.app.state
    limiter: KeyedRateLimiter | None = getattr(state, "ingest_limiter", None)
    if limiter is None:
        settings = _runtime(request).settings
        limiter = KeyedRateLimiter(settings.ingest_rate_per_key, settings.ingest_burst_per_key)
        state.ingest_limiter = limiter
    return limiter


def check_rate(request: Request, key: str) -> None:
    limiter = _limiter(request)
    wait = limiter.acquire(key)
    if wait > 0:
        raise RateLimited(
            f"this integration key sends more than {limiter.rate:g} requests per second; retry later",
            retry_after=retry_after_header(wait),
        )


def _headers(exc: TocsinError) -> dict[str, str] | None:
    retry_after = exc.extra.get("retry_after")
    return {"Retry-After": str(retry_after)} if retry_after else None


async def _json_body(request: Request, runtime: Runtime) -> dict[str, Any]:
    """A bounded read, then one JSON object, under the same configured limit."""
    limit = runtime.settings.max_body_bytes
    return parse_body(await read_body(request, limit), max_bytes=limit)


def _count(runtime: Runtime, kind: str, result: SubmissionResult | None, outcome: str | None = None) -> None:
    if result is not None:
        for o in result.outcomes:
            runtime.metrics.events.labels(result.integration_type or kind, o).inc()
    elif outcome is not None:
        runtime.metrics.events.labels(kind, outcome).inc()


def _pd_error(exc: TocsinError) -> JSONResponse:
    if exc.status_code == 429:
        # PagerDuty's own wording for a throttled routing key; its clients retry on 429.
        body: dict[str, Any] = {"status": "throttle event", "message": exc.detail}
    else:
        message = "Event object is invalid" if exc.status_code == 400 else exc.detail
        status = "invalid event" if exc.status_code < 500 else "error"  # a 503 is not the event's fault
        body = {"status": status, "message": message, "errors": exc.errors or [exc.detail]}
    return JSONResponse(body, status_code=exc.status_code, headers=_headers(exc))


@router.post("/v2/enqueue", status_code=202, summary="PagerDuty Events API v2: trigger, acknowledge, resolve")
async def pagerduty_enqueue(request: Request) -> JSONResponse:
    runtime = _runtime(request)
    try:
        data = await _json_body(request, runtime)
        key = pagerduty_v2.routing_key_of(data)
        if key is not None:
            # Before validating: a key flooding invalid events is held back as one flooding valid ones.
            check_rate(request, key)
        event = pagerduty_v2.parse_event(data)
        if key is None:
            raise BadRequest("Event object is invalid", errors=["'routing_key' is required"])
        result = await runtime.committer.submit(
            Submission(integration_key=key, events=[event], integration_type=PAGERDUTY_TYPE)
        )
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
        data = await _json_body(request, runtime)
        found_key = pagerduty_v2.routing_key_of(data)
        if found_key is not None:
            check_rate(request, found_key)
        key, change = pagerduty_v2.parse_change(data)
        result = await runtime.committer.submit(
            Submission(integration_key=key, changes=[change], integration_type=PAGERDUTY_TYPE)
        )
        if not result.found:
            raise NotFound("Invalid routing key", errors=["'routing_key' does not match any integration"])
    except TocsinError as exc:
        _count(runtime, "pagerduty_change", None, _rejection(exc))
        return _pd_error(exc)
    _count(runtime, "pagerduty_change", None, "recorded")
    return JSONResponse({"status": "success", "message": "Change event processed"}, status_code=202)


def _rejection(exc: TocsinError) -> str:
    return {404: "unknown_key", 413: "too_large", 401: "bad_signature", 429: "throttled", 503: "unavailable"}.get(
        exc.status_code, "rejected"
    )


async def _submit_events(request: Request, kind: str, key: str, events: list[NormalizedEvent]) -> JSONResponse:
    """``kind`` is the endpoint's integration type: only a key of that type reaches an integration."""
    runtime = _runtime(request)
    result = await runtime.committer.submit(Submission(integration_key=key, events=events, integration_type=kind))
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
        return JSONResponse(body, status_code=exc.status_code, headers=_headers(exc))


@router.post("/integrations/{key}/alertmanager", status_code=202, summary="Prometheus Alertmanager webhook (v4)")
async def alertmanager_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        data = await _json_body(request, runtime)
        return await _submit_events(request, "alertmanager", key, alertmanager.parse(data))

    return await _guarded(request, "alertmanager", handle)


@router.post("/integrations/{key}/grafana", status_code=202, summary="Grafana unified alerting webhook")
async def grafana_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        raw = await read_body(request, runtime.settings.max_body_bytes)
        secret = await _signing_secret(runtime, key, "grafana")
        if secret:
            # Grafana's default header; the alternative spelling is accepted for senders configured by hand.
            signature = request.headers.get("x-grafana-alert-signature") or request.headers.get(
                "x-grafana-alerting-signature", ""
            )
            timestamp = request.headers.get("x-grafana-alert-timestamp")
            # Without a signed timestamp a captured request could be played back for ever: signing means both.
            if timestamp is None:
                raise Unauthorized(
                    "X-Grafana-Alert-Timestamp is required when the integration is signed; "
                    "set the contact point's timestamp header"
                )
            if not grafana.timestamp_is_fresh(timestamp, runtime.clock.now()):
                raise Unauthorized("X-Grafana-Alert-Timestamp is more than 5 minutes away; replay refused")
            if not signature or not grafana.verify_signature(secret, raw, signature, timestamp):
                raise Unauthorized("missing or wrong X-Grafana-Alert-Signature")
        return await _submit_events(
            request, "grafana", key, grafana.parse(parse_body(raw, max_bytes=runtime.settings.max_body_bytes))
        )

    return await _guarded(request, "grafana", handle)


@router.post("/integrations/{key}/generic", status_code=202, summary="Generic JSON or form events")
async def generic_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        raw = await read_body(request, runtime.settings.max_body_bytes)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                fields = dict(parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=False))
            except UnicodeDecodeError:
                raise BadRequest("form body is not UTF-8") from None
            event = generic.parse_form(fields)
        else:
            data = parse_body(raw, max_bytes=runtime.settings.max_body_bytes)
            event = generic.parse(data)
        return await _submit_events(request, "generic", key, [event])

    return await _guarded(request, "generic", handle)


async def _signing_secret(runtime: Runtime, key: str, integration_type: str) -> str | None:
    """The secret of the key's integration of this type; None when unsigned or when no such integration exists
    (the request then goes on and is answered as for an unknown key, telling nothing about other types' keys)."""

    def lookup() -> str | None:
        with runtime.db.reader() as session:
            return services.signing_secret_of(session, key, integration_type)

    try:
        return await run_in_threadpool(lookup)
    except Exception:
        # Without the secret the request cannot be checked: the sender is told to retry (503), not 500.
        log.exception("could not read the signing secret of an integration")
        raise Unavailable("the database is unavailable; please retry") from None
