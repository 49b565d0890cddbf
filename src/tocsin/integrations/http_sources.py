"""HTTP endpoints of the monitoring tools with a wire format of their own (Datadog, CloudWatch, Sentry, Zabbix)
and of heartbeat pings.

Each route takes a token from the key's rate limit first, reads a bounded body, checks the sender's signature
where the tool signs, parses, and answers 2xx only once the events are committed, exactly like the formats in
``http`` (whose helpers the small public wrappers below reuse). A key reaches only an integration of the route's
own type (ADR 0014).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.core.errors import Forbidden, NotFound, Unauthorized, Unavailable
from tocsin.heartbeats import service as heartbeats
from tocsin.integrations import cloudwatch, datadog, heartbeat, sentry, zabbix
from tocsin.integrations import http as inbound
from tocsin.integrations._json import parse_body
from tocsin.integrations.sns_gateway import SnsGateway
from tocsin.runtime import Runtime
from tocsin.services import service as services

log = logging.getLogger(__name__)
router = APIRouter(tags=["inbound"])
_T = TypeVar("_T")

Handler = Callable[[Runtime], Awaitable[JSONResponse]]


async def guarded(request: Request, kind: str, handler: Handler) -> JSONResponse:
    """Run ``handler``, answering a TocsinError as JSON with its status (and counting the rejection)."""
    return await inbound._guarded(request, kind, handler)


async def submit_events(
    request: Request, kind: str, key: str, events: list[NormalizedEvent], *, delivery_id: str | None = None
) -> JSONResponse:
    """Hand the events to the ingest writer and answer 202 once they are committed (404 for an unknown key).

    ``kind`` is the route's integration type: a key of another type is answered as unknown.
    """
    runtime = runtime_of(request)
    result = await runtime.committer.submit(
        Submission(integration_key=key, events=events, delivery_id=delivery_id, integration_type=kind)
    )
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


def check_rate(request: Request, key: str) -> None:
    inbound.check_rate(request, key)


async def signing_secret(runtime: Runtime, key: str, integration_type: str) -> str | None:
    return await inbound._signing_secret(runtime, key, integration_type)


async def cloudwatch_topic(runtime: Runtime, key: str) -> tuple[bool, str | None]:
    def lookup() -> tuple[bool, str | None]:
        with runtime.db.reader() as session:
            return services.cloudwatch_topic_of(session, key)

    return await _or_unavailable(lookup)


async def tie_sns_topic(runtime: Runtime, key: str, topic_arn: str) -> str | None:
    def tie() -> str | None:
        with runtime.db.unit_of_work() as session:
            return services.tie_sns_topic(session, key, topic_arn)

    return await _or_unavailable(tie)


async def _or_unavailable(work: Callable[[], _T]) -> _T:
    try:
        return await run_in_threadpool(work)
    except Exception:
        # SNS retries a 503; a 500 would tell it nothing more and read as Tocsin's fault.
        log.exception("could not read or record the SNS topic of an integration")
        raise Unavailable("the database is unavailable; please retry") from None


def sns_gateway(request: Request) -> SnsGateway:
    """The app's SNS gateway (tests put one with a fake fetcher on ``app.state.sns_gateway``)."""
    gateway = getattr(request.app.state, "sns_gateway", None)
    if gateway is None:
        gateway = request.app.state.sns_gateway = SnsGateway()
    assert isinstance(gateway, SnsGateway)
    return gateway


async def read_limited(request: Request, runtime: Runtime) -> bytes:
    return await inbound.read_body(request, runtime.settings.max_body_bytes)


@router.post("/integrations/{key}/datadog", status_code=202, summary="Datadog monitor webhook")
async def datadog_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        data = parse_body(await read_limited(request, runtime))
        return await submit_events(request, "datadog", key, [datadog.parse(data)])

    return await guarded(request, "datadog", handle)


@router.post("/integrations/{key}/cloudwatch", status_code=202, summary="Amazon CloudWatch alarms through SNS")
async def cloudwatch_sns(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        data = parse_body(await read_limited(request, runtime))
        message = cloudwatch.parse_envelope(data, request.headers.get("x-amz-sns-message-type"))
        found, topic = await cloudwatch_topic(runtime, key)
        if not found:
            raise NotFound(f"no integration has the key {key!r}")
        gateway = sns_gateway(request)
        certificate = await gateway.certificate(message.signing_cert_url)
        now = runtime.clock.now()
        if not cloudwatch.verify_signature(message, certificate, now=now):
            raise Unauthorized("the SNS 'Signature' does not match the message")
        if not cloudwatch.is_fresh(message, now):
            raise Unauthorized("the SNS 'Timestamp' is more than an hour old; replay refused")
        # Any AWS account can get SNS to sign its messages: only the integration's own topic is let through. One
        # not yet tied to a topic is tied to the first verified message's (normally its subscription's).
        if topic is None:
            topic = await tie_sns_topic(runtime, key, message.topic_arn)
            if topic is None:
                raise NotFound(f"no integration has the key {key!r}")
        if topic != message.topic_arn:
            raise Forbidden("this integration takes messages of another SNS topic; 'TopicArn' refused")
        if message.type == "SubscriptionConfirmation":
            await gateway.confirm(message.subscribe_url)
            return JSONResponse({"status": "success", "message": "Subscription confirmed"}, status_code=200)
        if message.type == "UnsubscribeConfirmation":
            return JSONResponse({"status": "success", "message": "Unsubscribed"}, status_code=200)
        events = cloudwatch.parse_alarm(message)
        return await submit_events(request, "cloudwatch", key, events, delivery_id=message.message_id)

    return await guarded(request, "cloudwatch", handle)


@router.post("/integrations/{key}/sentry", status_code=202, summary="Sentry alert rule and issue webhooks")
async def sentry_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        raw = await read_limited(request, runtime)
        secret = await signing_secret(runtime, key, "sentry")
        if secret and not sentry.verify_signature(secret, raw, request.headers.get("sentry-hook-signature", "")):
            raise Unauthorized("missing or wrong Sentry-Hook-Signature")
        events = sentry.parse(request.headers.get("sentry-hook-resource"), parse_body(raw))
        return await submit_events(request, "sentry", key, events)

    return await guarded(request, "sentry", handle)


@router.post("/integrations/{key}/zabbix", status_code=202, summary="Zabbix, through Tocsin's webhook media type")
async def zabbix_webhook(key: str, request: Request) -> JSONResponse:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        data = parse_body(await read_limited(request, runtime))
        return await submit_events(request, "zabbix", key, zabbix.parse(data))

    return await guarded(request, "zabbix", handle)


MAX_PING_BODY = 100 * 1024
PING = "Heartbeat ping: the job ran"
SIGNAL = "Heartbeat ping: start, fail or an exit status"


# One handler per method, each with its own operation id: the OpenAPI description needs them distinct.
@router.get("/heartbeat/{key}", summary=PING, operation_id="heartbeat_ping_get")
@router.post("/heartbeat/{key}", summary=PING, operation_id="heartbeat_ping_post")
@router.head("/heartbeat/{key}", include_in_schema=False)
async def heartbeat_ping(key: str, request: Request) -> Response:
    return await _ping(request, key, None)


@router.get("/heartbeat/{key}/{signal}", summary=SIGNAL, operation_id="heartbeat_signal_get")
@router.post("/heartbeat/{key}/{signal}", summary=SIGNAL, operation_id="heartbeat_signal_post")
@router.head("/heartbeat/{key}/{signal}", include_in_schema=False)
async def heartbeat_signal(key: str, signal: str, request: Request) -> Response:
    return await _ping(request, key, signal)


async def _ping(request: Request, key: str, signal: str | None) -> Response:
    async def handle(runtime: Runtime) -> JSONResponse:
        check_rate(request, key)
        kind = heartbeat.parse_signal(signal)
        body = await inbound.read_body(request, MAX_PING_BODY) if request.method == "POST" else b""
        output = body.decode("utf-8", errors="replace")

        def record() -> heartbeats.PingOutcome:
            with runtime.db.unit_of_work() as session:
                return heartbeats.record_ping(session, key=key, kind=kind, now=runtime.clock.now(), output=output)

        outcome = await run_in_threadpool(record)
        if not outcome.found:
            raise NotFound(f"no heartbeat integration has the key {key!r}")
        if outcome.outcome == "created":
            runtime.wakeup.notify()
        runtime.metrics.events.labels("heartbeat", outcome.outcome or kind).inc()
        return JSONResponse({"status": outcome.status, "outcome": outcome.outcome})

    response = await guarded(request, "heartbeat", handle)
    if response.status_code == 200:
        # Healthchecks answers a bare "OK", which is what cron scripts and their logs expect.
        return PlainTextResponse("OK")
    return response
