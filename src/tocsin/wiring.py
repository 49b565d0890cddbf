"""The domains' hooks, registered in one place (ADR 0010).

The lower domains expose hooks instead of calling the upper ones: ``incidents`` for what follows an incident's
opening and status changes (escalation, notification, alerts), ``services`` for what may refuse a service's
deletion (incidents). ``tocsin.registry`` calls ``install`` on import, and every process (``tocsin.runtime``, the
CLI) and the tests load it.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.escalation import service as escalation
from tocsin.events.registry import Consumer
from tocsin.incidents import service as incidents
from tocsin.incidents.hooks import HOOKS, StatusChange
from tocsin.incidents.models import Incident
from tocsin.notify import service as notify
from tocsin.services import service as services
from tocsin.statuspages import automation as statuspage_automation
from tocsin.webhooks import fanout as webhook_fanout

_lock = threading.Lock()


def queue_status_updates(session: Session, change: StatusChange) -> None:
    """Chat messages already sent about the incident are edited to show its new status."""
    notify.queue_status_updates(session, change.incident, actor=change.actor, now=change.now)


def resolve_alerts(session: Session, incident: Incident, now: datetime) -> None:
    """An incident resolved by a person resolves its open alerts, so that their dedup keys start afresh."""
    alerts.resolve_open_alerts_of(session, incident.id, now=now)


def event_consumers() -> list[Consumer]:
    """Who receives incident events (ADR 0009), in every process that runs an engine."""
    return [webhook_fanout.consumer(), statuspage_automation.consumer()]


def install() -> None:
    """Register every hook once, then seal the incident hooks (idempotent)."""
    with _lock:
        if HOOKS.sealed:
            return
        HOOKS.register(
            on_opened=[escalation.arm_opened],
            # Status updates first, then paging: the order the status change always had.
            on_status_change=[queue_status_updates, escalation.follow_status],
            on_resolved_by_hand=[resolve_alerts],
            paging=escalation,
        )
        services.deletion_checks.extend([incidents.refuse_service_deletion, alerts.refuse_service_deletion])
        services.archive_checks.append(incidents.refuse_service_archive)
        services.integration_deletion_checks.append(alerts.refuse_integration_deletion)
        HOOKS.seal()
