"""Sentry integration-platform webhooks (an internal integration's webhook URL, with "Alert Rule Action" on).

The header ``Sentry-Hook-Resource`` names what the body is about; the body is ``{action, installation, data,
actor}``:

=============  ================================================================================================
event_alert    an issue alert rule fired for an event: trigger, dedup key ``issue:<issue id>`` so that every
               event of an issue lands on one alert
metric_alert   a metric alert changed: action critical or warning triggers, resolved resolves, dedup key
               ``metric_alert:<id>`` (the id of the metric alert's incident, shared by its critical, warning
               and resolved messages)
issue          resolved resolves ``issue:<id>``; created, assigned, archived and unresolved change nothing (an
               alert rule decides what pages, not every new issue)
=============  ================================================================================================

Other resources (installation, comment, error …) are accepted and ignored. ``Sentry-Hook-Signature`` is
hex(HMAC-SHA256(client secret, body)); Sentry signs the body only.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tocsin.alerts.schemas import NormalizedEvent
from tocsin.core.errors import BadRequest
from tocsin.integrations._fields import Problems, require_object
from tocsin.integrations._json import json_type

INVALID = "Sentry payload is invalid"
MAX_SUMMARY = 1024
LEVEL_SEVERITY = {"fatal": "critical", "error": "error", "warning": "warning", "info": "info", "debug": "info"}
METRIC_ACTIONS = ("critical", "warning", "resolved")


def verify_signature(secret: str, body: bytes, signature: str) -> bool:
    if not secret or not signature or not signature.isascii():
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def parse(resource: str | None, data: object) -> list[NormalizedEvent]:
    """The events a webhook of this resource carries (none for resources and actions that change nothing)."""
    if resource is None or not resource.strip():
        raise BadRequest(INVALID, errors=["header 'Sentry-Hook-Resource' is required"])
    body = require_object(data, "body", INVALID)
    resource = resource.strip()
    if resource == "event_alert":
        return [_event_alert(body)]
    if resource == "metric_alert":
        return [_metric_alert(body)]
    if resource == "issue":
        return _issue(body)
    return []


def _event_alert(body: dict[str, Any]) -> NormalizedEvent:
    problems = Problems()
    data = problems.mapping(body, "data", "data", required=True) or {}
    event = problems.mapping(data, "event", "data.event", required=True) or {}
    issue_id = _id(event, "issue_id", "data.event.issue_id", problems)
    title = problems.string(event, "title", "data.event.title", required=True, truncate=MAX_SUMMARY)
    level = problems.string(event, "level", "data.event.level")
    web_url = problems.string(event, "web_url", "data.event.web_url")
    culprit = problems.string(event, "culprit", "data.event.culprit")
    rule = problems.string(data, "triggered_rule", "data.triggered_rule")
    problems.raise_if_any(INVALID)
    tags = _tags(event.get("tags"))
    return NormalizedEvent(
        action="trigger",
        dedup_key=f"issue:{issue_id}",
        summary=(title or "").strip(),
        severity=LEVEL_SEVERITY.get((level or "").lower(), "error"),
        source=str(tags.get("server_name") or culprit or "")[:255],
        labels=tags,
        details={
            "triggered_rule": rule,
            "culprit": culprit,
            "event_id": event.get("event_id"),
            "project": event.get("project"),
            "issue_url": event.get("issue_url"),
            "environment": tags.get("environment"),
        },
        links=[{"href": web_url, "text": "Sentry"}] if web_url else [],
        client="Sentry",
        client_url=web_url,
    )


def _metric_alert(body: dict[str, Any]) -> NormalizedEvent:
    problems = Problems()
    action = problems.choice(body, "action", "action", METRIC_ACTIONS)
    data = problems.mapping(body, "data", "data", required=True) or {}
    alert = problems.mapping(data, "metric_alert", "data.metric_alert", required=True) or {}
    alert_id = _id(alert, "id", "data.metric_alert.id", problems)
    title = problems.string(data, "description_title", "data.description_title", truncate=MAX_SUMMARY)
    text = problems.string(data, "description_text", "data.description_text")
    web_url = problems.string(data, "web_url", "data.web_url")
    if not title:
        title = problems.string(alert, "title", "data.metric_alert.title", truncate=MAX_SUMMARY)
    if action in ("critical", "warning") and not (title and title.strip()):
        problems.add("'data.description_title' is required to trigger")
    problems.raise_if_any(INVALID)
    found_rule = alert.get("alert_rule")
    rule: dict[str, Any] = found_rule if isinstance(found_rule, dict) else {}
    return NormalizedEvent(
        action="resolve" if action == "resolved" else "trigger",
        dedup_key=f"metric_alert:{alert_id}",
        summary=(title or "").strip(),
        severity="warning" if action == "warning" else "critical",
        details={
            "description": text,
            "alert_rule": {k: rule.get(k) for k in ("id", "name", "aggregate", "query", "dataset") if k in rule},
            "status": alert.get("status"),
        },
        links=[{"href": web_url, "text": "Sentry"}] if web_url else [],
        client="Sentry",
        client_url=web_url,
    )


def _issue(body: dict[str, Any]) -> list[NormalizedEvent]:
    problems = Problems()
    action = problems.string(body, "action", "action", required=True)
    data = problems.mapping(body, "data", "data", required=True) or {}
    issue = problems.mapping(data, "issue", "data.issue", required=True) or {}
    issue_id = _id(issue, "id", "data.issue.id", problems)
    problems.raise_if_any(INVALID)
    if action != "resolved":
        return []
    title = issue.get("title")
    return [
        NormalizedEvent(
            action="resolve",
            dedup_key=f"issue:{issue_id}",
            summary=title[:MAX_SUMMARY] if isinstance(title, str) else "",
            client="Sentry",
        )
    ]


def _id(obj: dict[str, Any], key: str, path: str, problems: Problems) -> str:
    """Sentry sends ids as strings, older payloads as numbers: either is an id."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    problems.add(f"'{path}' is required" if value is None else f"'{path}' must be a string, not {json_type(value)}")
    return ""


def _tags(value: object) -> dict[str, Any]:
    """Sentry's ``[["key", "value"], …]`` (or ``[{"key": .., "value": ..}]``) as labels."""
    labels: dict[str, Any] = {}
    if not isinstance(value, list):
        return labels
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
            labels[item[0]] = item[1]
        elif isinstance(item, dict) and isinstance(item.get("key"), str):
            labels[item["key"]] = item.get("value")
    return labels
