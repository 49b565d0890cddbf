"""Heartbeat monitors (a dead man's switch): a job pings on every run; silence past period + grace is an incident.

A monitor is watched from its first ping (``new`` until then, so that creating one does not page before the job
was even set up). A missed deadline, or a ping that reports failure, opens an alert through the normal ingest
path with the dedup key ``heartbeat``; the next successful ping resolves it. The deadline is a row's ``due_at``:
the engine's heartbeat module wakes when the earliest one passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.errors import InvalidInput
from tocsin.heartbeats import repository as repo
from tocsin.heartbeats.models import HeartbeatMonitor
from tocsin.services import repository as service_repo
from tocsin.services.models import Integration

PingKind = Literal["success", "start", "fail"]
DEDUP_KEY = "heartbeat"
INTEGRATION_TYPE = "heartbeat"
# Healthchecks' defaults: a daily job, an hour's grace.
DEFAULT_PERIOD_SECONDS = 24 * 3600
DEFAULT_GRACE_SECONDS = 3600
MIN_PERIOD_SECONDS = 60
MAX_SECONDS = 366 * 24 * 3600
MAX_OUTPUT = 10_000


@dataclass(frozen=True, slots=True)
class PingOutcome:
    found: bool
    status: str = ""
    outcome: str = ""


def deadline(last_ping: datetime, period_seconds: int, grace_seconds: int) -> datetime:
    return last_ping + timedelta(seconds=period_seconds + grace_seconds)


def validate(period_seconds: int, grace_seconds: int) -> None:
    if not MIN_PERIOD_SECONDS <= period_seconds <= MAX_SECONDS:
        raise InvalidInput(f"heartbeat period must be between {MIN_PERIOD_SECONDS}s and 366d")
    if not 0 <= grace_seconds <= MAX_SECONDS:
        raise InvalidInput("heartbeat grace must be between 0s and 366d")


def configure(
    session: Session, integration: Integration, *, period_seconds: int, grace_seconds: int, now: datetime
) -> HeartbeatMonitor:
    """Set a monitor's period and grace; a watched monitor's deadline moves with them."""
    validate(period_seconds, grace_seconds)
    monitor = repo.monitor_of(session, integration.id, for_update=True) or _create(session, integration, now)
    monitor.period_seconds = period_seconds
    monitor.grace_seconds = grace_seconds
    if monitor.status == "up" and monitor.last_ping_at is not None:
        monitor.due_at = deadline(monitor.last_ping_at, period_seconds, grace_seconds)
    session.flush()
    return monitor


def monitor_of(session: Session, integration: Integration) -> HeartbeatMonitor | None:
    return repo.monitor_of(session, integration.id)


def monitors_of(session: Session, integrations: list[Integration]) -> dict[int, HeartbeatMonitor]:
    return repo.monitors_of(session, [i.id for i in integrations if i.type == INTEGRATION_TYPE])


def record_ping(session: Session, *, key: str, kind: PingKind, now: datetime, output: str = "") -> PingOutcome:
    """A ping from the job: ``success`` (up, resolves), ``start`` (recorded only) or ``fail`` (opens an alert)."""
    integration = service_repo.live_integration_by_key(session, key)
    if integration is None or integration.type != INTEGRATION_TYPE:
        return PingOutcome(found=False)
    monitor = repo.monitor_of(session, integration.id, for_update=True) or _create(session, integration, now)
    if kind == "start":
        monitor.last_start_at = now
        return PingOutcome(found=True, status=monitor.status, outcome="started")
    monitor.last_ping_at = now
    if kind == "success":
        was_down = monitor.status == "down"
        monitor.status = "up"
        monitor.due_at = deadline(now, monitor.period_seconds, monitor.grace_seconds)
        if not was_down:
            return PingOutcome(found=True, status="up", outcome="up")
        event = NormalizedEvent(
            action="resolve", dedup_key=DEDUP_KEY, summary=f"{integration.name} pinged again", source=integration.name
        )
        return PingOutcome(found=True, status="up", outcome=_ingest(session, [(integration, event)], now)[0])
    monitor.status = "down"
    monitor.due_at = None
    details: dict[str, Any] = {"last_ping_at": now.isoformat()}
    if output:
        details["output"] = output[:MAX_OUTPUT]
    event = NormalizedEvent(
        action="trigger",
        dedup_key=DEDUP_KEY,
        summary=f"{integration.name} reported a failure",
        severity="critical",
        source=integration.name,
        details=details,
        client="Tocsin heartbeat",
    )
    return PingOutcome(found=True, status="down", outcome=_ingest(session, [(integration, event)], now)[0])


def expire_due(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Open an alert for every watched monitor whose deadline has passed; returns how many went down."""
    due = repo.due_monitors(session, now, limit)
    events: list[tuple[Integration, NormalizedEvent]] = []
    for monitor, integration in due:
        monitor.status = "down"
        monitor.due_at = None
        last = monitor.last_ping_at.strftime("%Y-%m-%d %H:%M:%S UTC") if monitor.last_ping_at else "never"
        events.append(
            (
                integration,
                NormalizedEvent(
                    action="trigger",
                    dedup_key=DEDUP_KEY,
                    summary=f"No heartbeat from {integration.name} since {last}",
                    severity="critical",
                    source=integration.name,
                    details={
                        "last_ping_at": monitor.last_ping_at.isoformat() if monitor.last_ping_at else None,
                        "period_seconds": monitor.period_seconds,
                        "grace_seconds": monitor.grace_seconds,
                    },
                    client="Tocsin heartbeat",
                ),
            )
        )
    _ingest(session, events, now)
    return len(due)


def next_due(session: Session) -> datetime | None:
    return repo.next_due(session)


def _ingest(session: Session, events: list[tuple[Integration, NormalizedEvent]], now: datetime) -> list[str]:
    if not events:
        return []
    results = ingest_batch(
        session,
        [Submission(integration_key=i.key, events=[e], integration_type=INTEGRATION_TYPE) for i, e in events],
        now=now,
    )
    return [r.outcomes[0] if r.outcomes else "" for r in results]


def _create(session: Session, integration: Integration, now: datetime) -> HeartbeatMonitor:
    monitor = HeartbeatMonitor(
        integration_id=integration.id,
        period_seconds=DEFAULT_PERIOD_SECONDS,
        grace_seconds=DEFAULT_GRACE_SECONDS,
        status="new",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(monitor)
    except IntegrityError:
        # Two first pings at once: the other one created it; use that row.
        existing = repo.monitor_of(session, integration.id, for_update=True)
        if existing is None:
            raise
        return existing
    return monitor
