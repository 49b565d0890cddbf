"""Datadog monitor notifications through a Datadog webhook with the payload template we document.

Datadog lets the user write the webhook body with ``$VARIABLES``; docs/integrations/datadog.md gives the
template, whose fields carry the variables of the same name (``alert_cycle_key`` = ``$ALERT_CYCLE_KEY`` …).

``alert_cycle_key`` links a monitor's trigger to its recovery, so it is the dedup key. ``alert_transition``
decides the action:

===============================  ==========================================================================
Triggered, Re-Triggered,          trigger (a repeat while the alert is open only counts as another event)
Renotify
Warn                              trigger with severity warning: a warn threshold is worth a look, not a page
                                  at night (low urgency on services with severity-based urgency)
No Data                           trigger, severity from the priority: a silent monitor is often a dead host
Recovered                         resolve
===============================  ==========================================================================
"""

from __future__ import annotations

from typing import Any

from tocsin.alerts.schemas import Action, NormalizedEvent
from tocsin.integrations._fields import Problems, require_object

INVALID = "Datadog payload is invalid"
MAX_SUMMARY = 1024
MAX_SOURCE = 255
MAX_DEDUP_KEY = 255

TRANSITIONS: dict[str, Action] = {
    "triggered": "trigger",
    "re-triggered": "trigger",
    "renotify": "trigger",
    "warn": "trigger",
    "no data": "trigger",
    "recovered": "resolve",
}
PRIORITY_SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "P5": "info"}
ALERT_TYPE_SEVERITY = {"error": "error", "warning": "warning", "info": "info", "success": "info"}


def parse(data: object) -> NormalizedEvent:
    payload = require_object(data, "payload", INVALID)
    problems = Problems()
    transition = problems.string(payload, "alert_transition", "alert_transition", required=True)
    action: Action = "trigger"
    if transition is not None:
        found = TRANSITIONS.get(transition.strip().lower())
        if found is None:
            problems.add(
                "'alert_transition' must be one of Triggered, Re-Triggered, Renotify, Warn, No Data, Recovered;"
                f" got {transition[:64]!r} (is the webhook payload the documented template?)"
            )
        else:
            action = found
    dedup_key = _cycle_key(payload, problems)
    if action == "resolve" and dedup_key is None:
        problems.add("'alert_cycle_key' is required when 'alert_transition' is Recovered")
    title = problems.string(payload, "title", "title", truncate=MAX_SUMMARY)
    body = problems.string(payload, "body", "body")
    hostname = problems.string(payload, "hostname", "hostname", truncate=MAX_SOURCE)
    link = problems.string(payload, "link", "link")
    tags = problems.string(payload, "tags", "tags")
    alert_type = problems.string(payload, "alert_type", "alert_type")
    priority = problems.string(payload, "alert_priority", "alert_priority")
    summary = (title or "").strip()
    if action == "trigger" and not summary:
        problems.add("'title' is required to trigger (put $EVENT_TITLE in it)")
    problems.raise_if_any(INVALID)

    severity = _severity(priority, alert_type)
    if transition is not None and transition.strip().lower() == "warn":
        severity = "warning"
    details: dict[str, Any] = {"alert_transition": transition, "alert_type": alert_type, "alert_priority": priority}
    if body:
        details["body"] = body
    for extra in ("id", "date", "last_updated", "event_type", "org"):
        if extra in payload:
            details[extra] = payload[extra]
    return NormalizedEvent(
        action=action,
        dedup_key=dedup_key,
        summary=summary,
        severity=severity,
        source=_unfilled(hostname) or "",
        labels=parse_tags(tags or ""),
        details=details,
        links=[{"href": link, "text": "Datadog"}] if _unfilled(link) else [],
        client="Datadog",
        client_url=_unfilled(link),
    )


def parse_tags(text: str) -> dict[str, Any]:
    """Datadog's ``$TAGS`` ("env:prod,service:web,canary") as labels; a bare tag becomes a label with value ""."""
    labels: dict[str, Any] = {}
    for tag in text.split(","):
        tag = tag.strip()
        if not tag:
            continue
        name, _, value = tag.partition(":")
        labels[name] = value
    return labels


def _cycle_key(payload: dict[str, Any], problems: Problems) -> str | None:
    value = payload.get("alert_cycle_key")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    key = problems.string(payload, "alert_cycle_key", "alert_cycle_key", max_len=MAX_DEDUP_KEY)
    return _unfilled(key)


def _unfilled(value: str | None) -> str | None:
    """None for empty values and for a variable Datadog left as is (``$HOSTNAME`` on a monitor without hosts)."""
    if value is None:
        return None
    value = value.strip()
    if not value or (value.startswith("$") and value[1:].replace("_", "").isalnum() and value[1:].isupper()):
        return None
    return value


def _severity(priority: str | None, alert_type: str | None) -> str:
    if priority and priority.strip().upper() in PRIORITY_SEVERITY:
        return PRIORITY_SEVERITY[priority.strip().upper()]
    if alert_type and alert_type.strip().lower() in ALERT_TYPE_SEVERITY:
        return ALERT_TYPE_SEVERITY[alert_type.strip().lower()]
    return "error"
