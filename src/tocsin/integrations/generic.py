"""Tocsin's generic event format, for scripts, cron jobs and anything without an integration of its own.

POST a JSON object (or an HTML form, see below) to ``/integrations/<KEY>/generic``:

===========  ==========================================================================================
field        meaning
===========  ==========================================================================================
summary      what is wrong, one line (required to trigger; longer than 1024 characters is cut)
severity     critical, error, warning or info (default error; case does not matter)
action       trigger, acknowledge or resolve (default trigger); "resolved" and "ok" mean resolve,
             "ack" means acknowledge
dedup_key    identifies the problem, at most 255 characters: a later event with the same key updates,
             acknowledges or resolves it. Optional to trigger (a key is generated), required
             to acknowledge or resolve
source       the host or system affected (longer than 255 characters is cut)
timestamp    when it happened, ISO 8601 (default: when Tocsin received it; no offset means UTC)
details      an object of anything useful; any other JSON value is kept as {"details": value}
links        a list of {"href": ..., "text": ...} objects or of plain URL strings
===========  ==========================================================================================

Other fields are ignored, so a sender may carry its own.

Form posts (``curl -d summary=... -d severity=...``) use the same field names; ``details.<name>=<value>`` puts
``<name>`` into ``details``, ``link=<url>`` (with an optional ``link_text``) adds one link, and an empty value
counts as absent.

Examples::

    curl -X POST http://127.0.0.1:8080/integrations/<KEY>/generic \\
      -H 'Content-Type: application/json' \\
      -d '{"summary": "Nightly backup failed", "severity": "critical", "dedup_key": "backup-db1",
           "source": "db1", "details": {"exit_code": 2}}'

    curl http://127.0.0.1:8080/integrations/<KEY>/generic -d action=resolve -d dedup_key=backup-db1
"""

from __future__ import annotations

from typing import Any

from tocsin.alerts.schemas import Action, NormalizedEvent
from tocsin.integrations._fields import Problems, require_object, wrap_details

INVALID = "Event is invalid"
SEVERITIES = ("critical", "error", "warning", "info")
ACTION_ALIASES: dict[str, Action] = {
    "trigger": "trigger",
    "acknowledge": "acknowledge",
    "ack": "acknowledge",
    "resolve": "resolve",
    "resolved": "resolve",
    "ok": "resolve",
}
MAX_SUMMARY = 1024
MAX_SOURCE = 255
MAX_DEDUP_KEY = 255
DETAILS_PREFIX = "details."


def parse(data: object) -> NormalizedEvent:
    """An event in the generic JSON format."""
    event = require_object(data, "event", INVALID)
    problems = Problems()
    action = _action(event, problems)
    dedup_key = problems.string(event, "dedup_key", "dedup_key", max_len=MAX_DEDUP_KEY)
    dedup_key = dedup_key if dedup_key and dedup_key.strip() else None
    if action != "trigger" and dedup_key is None:
        problems.add(f"'dedup_key' is required when 'action' is {action}")
    summary = problems.string(event, "summary", "summary", required=action == "trigger", truncate=MAX_SUMMARY)
    parsed = NormalizedEvent(
        action=action,
        dedup_key=dedup_key,
        summary=(summary or "").strip(),
        severity=_severity(event, problems),
        source=problems.string(event, "source", "source", truncate=MAX_SOURCE) or "",
        timestamp=problems.timestamp(event, "timestamp", "timestamp"),
        details=wrap_details(event.get("details")),
        links=problems.links(event, "links", "links", allow_plain_urls=True),
    )
    problems.raise_if_any(INVALID)
    return parsed


def parse_form(fields: dict[str, str]) -> NormalizedEvent:
    """An event posted as form fields, read by the same rules as the JSON format."""
    event: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name, value in fields.items():
        if value == "":
            continue
        if name.startswith(DETAILS_PREFIX) and len(name) > len(DETAILS_PREFIX):
            details[name[len(DETAILS_PREFIX) :]] = value
        elif name == "details":
            details["details"] = value
        elif name not in ("link", "link_text"):
            event[name] = value
    if details:
        event["details"] = details
    if fields.get("link"):
        link = {"href": fields["link"]}
        if fields.get("link_text"):
            link["text"] = fields["link_text"]
        event["links"] = [link]
    return parse(event)


def _action(event: dict[str, Any], problems: Problems) -> Action:
    value = event.get("action")
    if value is None:
        return "trigger"
    if isinstance(value, str) and value.strip().lower() in ACTION_ALIASES:
        return ACTION_ALIASES[value.strip().lower()]
    problems.add("'action' must be one of trigger, acknowledge, resolve (or resolved, ok, ack)")
    return "trigger"


def _severity(event: dict[str, Any], problems: Problems) -> str:
    value = event.get("severity")
    if value is None:
        return "error"
    if isinstance(value, str) and value.strip().lower() in SEVERITIES:
        return value.strip().lower()
    problems.add(f"'severity' must be one of {', '.join(SEVERITIES)}")
    return "error"
