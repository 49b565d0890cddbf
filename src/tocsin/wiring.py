"""The domains' hooks, registered in one place (ADR 0010).

The lower domains expose hooks instead of calling the upper ones: ``incidents`` for what follows an incident's
opening and status changes (escalation, notification, alerts), ``services`` for what may refuse a service's
deletion (incidents). ``tocsin.registry`` calls ``install`` on import, and every process (``tocsin.runtime``, the
CLI) and the tests load it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.analytics import consumer as analytics_facts
from tocsin.chat import service as chat
from tocsin.desk import service as desk
from tocsin.drills import service as drills
from tocsin.escalation import service as escalation
from tocsin.events.registry import Consumer
from tocsin.incidents import service as incidents
from tocsin.incidents.hooks import HOOKS, StatusChange
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.participants import SOURCES as PARTICIPANT_SOURCES
from tocsin.incidents.repository import OpenedIncident
from tocsin.knowledge import builtin_sources as knowledge_sources
from tocsin.knowledge import indexer as knowledge_indexer
from tocsin.knowledge import runbooks
from tocsin.learning import consumer as learning
from tocsin.learning import hooks as postmortem_hooks
from tocsin.learning import search as learning_search
from tocsin.learning import tracking as action_item_tracking
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.notify.page_links import PAGE_LINKS
from tocsin.response import impact, types
from tocsin.response.models import IncidentTask, ResponderRequest, RoleAssignment
from tocsin.services import service as services
from tocsin.statuspages import automation as statuspage_automation
from tocsin.statuspages import postmortems as statuspage_postmortems
from tocsin.trackers import hooks as tracker_hooks
from tocsin.webhooks import fanout as webhook_fanout
from tocsin.workflows import service as workflows

_lock = threading.Lock()


def queue_status_updates(session: Session, change: StatusChange) -> None:
    """Chat messages already sent about the incident are edited to show its new status."""
    notify.queue_status_updates(session, change.incident, actor=change.actor, now=change.now)


def resolve_alerts(session: Session, incident: Incident, now: datetime) -> None:
    """An incident resolved by a person resolves its open alerts, so that their dedup keys start afresh."""
    alerts.resolve_open_alerts_of(session, incident.id, now=now)


def arm_paging(session: Session, opened: Sequence[OpenedIncident], now: datetime) -> None:
    """Escalation is armed for the incidents just opened, except those of a type that does not page (ADR 0021)."""
    paging = [i for i in opened if i.pages]
    if paging:
        escalation.arm_opened(session, paging, now)


def follow_status(session: Session, change: StatusChange) -> None:
    """Paging follows the status; an incident of a type that does not page is not paged again when it re-triggers
    or reopens (stopping is always followed)."""
    if change.target == IncidentStatus.TRIGGERED and not incidents.pages(session, change.incident):
        return
    escalation.follow_status(session, change)


def event_consumers() -> list[Consumer]:
    """Who receives incident events (ADR 0009), in every process that runs an engine."""
    return [
        webhook_fanout.consumer(),
        workflows.consumer(),
        statuspage_automation.consumer(),
        learning.consumer(),
        chat.consumer(),
        knowledge_indexer.consumer(),
        analytics_facts.consumer(),
    ]


def install() -> None:
    """Register every hook once, then seal the incident hooks (idempotent)."""
    with _lock:
        if HOOKS.sealed:
            return
        HOOKS.register(
            on_opened=[arm_paging, types.on_opened],
            # Status updates first, then paging: the order the status change always had.
            # Then the downtime cost kept when impact ends, and the drill that ends with its incident (ADR 0025).
            on_status_change=[queue_status_updates, follow_status, impact.on_status_change, drills.on_status_change],
            on_resolved_by_hand=[resolve_alerts],
            on_milestone_edited=[impact.on_milestone_edited],
            paging=escalation,
            types=types.TYPE_BOOK,
        )
        services.deletion_checks.extend(
            [incidents.refuse_service_deletion, alerts.refuse_service_deletion, desk.refuse_service_deletion]
        )
        services.archive_checks.append(incidents.refuse_service_archive)
        services.integration_deletion_checks.append(alerts.refuse_integration_deletion)
        # Who takes part in an incident and so sees it while it is private (ADR 0022), from the domains above it.
        PARTICIPANT_SOURCES.register("role holders", RoleAssignment.incident_id, RoleAssignment.user_id)
        PARTICIPANT_SOURCES.register("task assignees", IncidentTask.incident_id, IncidentTask.assignee_user_id)
        PARTICIPANT_SOURCES.register("people paged", Notification.incident_id, Notification.user_id)
        # Asked to join (they read the incident to decide whether to accept), whether or not a page reached them.
        PARTICIPANT_SOURCES.register("responders", ResponderRequest.incident_id, ResponderRequest.user_id)
        # A published postmortem appears on the status pages that publish its incident (ADR 0026, ADR 0029).
        postmortem_hooks.on_published(statuspage_postmortems.show_published)
        # A tracker closing or reopening an action item's issue moves the item (ADR 0029).
        tracker_hooks.on_remote_status(action_item_tracking.on_remote_status)
        # What search indexes (ADR 0030); the domains above add their documents here too.
        knowledge_sources.register()
        learning_search.register()
        # A page names the runbooks its incident matches.
        PAGE_LINKS.append(runbooks.page_links)
        HOOKS.seal()
