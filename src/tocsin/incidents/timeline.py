"""Building timeline rows (pure), shared by every service that writes an incident's history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from tocsin.incidents.schemas import Actor


class TimelineKind(StrEnum):
    """Every kind of entry an incident's timeline holds, whichever domain writes it."""

    # The status table (lifecycle.ALLOWED) and the incident use cases.
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    RETRIGGERED = "retriggered"
    NOTE = "note"
    REASSIGNED = "reassigned"
    UPDATED = "updated"
    RESPONSE_CHANGED = "response_changed"
    REOPENED = "reopened"
    MILESTONE_EDITED = "milestone_edited"
    # Private incidents (ADR 0022).
    VISIBILITY_CHANGED = "visibility_changed"
    PARTICIPANT_ADDED = "participant_added"
    PARTICIPANT_REMOVED = "participant_removed"
    # The response: tasks and checklists.
    TASK_ADDED = "task_added"
    TASK_CHANGED = "task_changed"
    TASK_CLOSED = "task_closed"
    CHECKLIST_ADDED = "checklist_added"
    ROLE_ASSIGNED = "role_assigned"
    ROLE_RELEASED = "role_released"
    # The service desk: a report by a person, and conversions to and from service requests.
    FROM_REQUEST = "from_request"
    TO_REQUEST = "to_request"
    # The response: people paged into the incident, and their answers.
    RESPONDER_REQUESTED = "responder_requested"
    RESPONDER_ACCEPTED = "responder_accepted"
    RESPONDER_DECLINED = "responder_declined"
    RESPONDER_CANCELED = "responder_canceled"
    # Workflows, playbooks and remediation actions.
    WORKFLOW_RUN = "workflow_run"
    WORKFLOW_STEP = "workflow_step"
    ACTION_RUN = "action_run"
    # Types, categories, affected services, the bridge (ADR 0021).
    TYPE_CHANGED = "type_changed"
    SERVICE_AFFECTED = "service_affected"
    SERVICE_UNAFFECTED = "service_unaffected"
    # Drills and business impact (ADR 0025).
    DRILL_STARTED = "drill_started"
    DRILL_ENDED = "drill_ended"
    STATUS_PAGE_UPDATE = "status_page_update"
    # Stakeholder updates and their cadence (ADR 0028).
    STAKEHOLDER_UPDATE = "stakeholder_update"
    STAKEHOLDER_UPDATE_DUE = "stakeholder_update_due"
    # Learning from incidents (ADR 0029).
    POSTMORTEM = "postmortem"
    PROBLEM = "problem"
    RECURRED = "recurred"
    # Regulatory reporting clocks (ADR 0032).
    CLOCK_CLASSIFIED = "clock_classified"
    CLOCK_SUBMITTED = "clock_submitted"
    CLOCK_REMINDER = "clock_reminder"
    # Alerts: grouping, noise handling.
    ALERT_GROUPED = "alert_grouped"
    MAJOR = "major"
    FLAPPING = "flapping"
    FLAPPING_STABLE = "flapping_stable"
    MERGED = "merged"
    SPLIT = "split"
    RESOLVED_NOTICE = "resolved_notice"
    # Escalation.
    ESCALATED = "escalated"
    ESCALATE_NOW = "escalate_now"
    ESCALATION_EMPTY = "escalation_empty"
    ESCALATION_DONE = "escalation_done"
    ESCALATION_REARMED = "escalation_rearmed"
    # Notification.
    NOTIFIED = "notified"
    NOTIFY_UPDATED = "notify_updated"
    NOTIFY_RETRY = "notify_retry"
    NOTIFY_FAILED = "notify_failed"
    NOTIFY_HELD = "notify_held"
    NOTIFY_AMBIGUOUS = "notify_ambiguous"
    NOTIFY_FALLBACK = "notify_fallback"
    NOTIFY_UNANSWERED = "notify_unanswered"


def timeline_row(
    incident_id: int, kind: TimelineKind, actor: Actor, now: datetime, message: str = "", **data: Any
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at": now,
        "kind": kind,
        "source": actor.source,
        "actor_user_id": actor.user_id,
        "actor": actor.label,
        "message": message,
        "data": data,
    }
