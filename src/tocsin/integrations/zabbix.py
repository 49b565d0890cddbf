"""Zabbix, through the webhook media type we ship (docs/integrations/zabbix_mediatype.yaml).

The media type's script posts its parameters, which hold Zabbix macros, as one JSON object:

=====================  ===================================  ===========================================
field                  macro                                use
=====================  ===================================  ===========================================
event_id               {EVENT.ID}                           dedup key (a recovery carries the problem's id)
event_value            {EVENT.VALUE}                        1 problem → trigger, 0 recovery → resolve
event_update_status    {EVENT.UPDATE.STATUS}                1 on an update operation …
event_ack_status       {EVENT.ACK.STATUS}                   … and "Yes" once acknowledged → acknowledge
event_nseverity        {EVENT.NSEVERITY}                    0 to 5, see SEVERITIES
event_name             {EVENT.NAME}                         summary
host_name              {HOST.NAME}                          source
event_tags             {EVENT.TAGSJSON}                     labels
event_source           {EVENT.SOURCE}                       0 triggers and 4 services are handled, others
                                                            (discovery, autoregistration, internal) ignored
=====================  ===================================  ===========================================

plus trigger_id, event_opdata, event_update_action, event_update_user, message, subject and zabbix_url, kept in
the details. A macro Zabbix could not expand reaches us as its own text (``{EVENT.UPDATE.STATUS}`` outside an
update): it counts as absent. An update that is not an acknowledgement (a comment, a severity change) changes
nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from tocsin.alerts.schemas import Action, NormalizedEvent
from tocsin.core.numbers import is_ascii_digits
from tocsin.integrations._fields import Problems, require_object
from tocsin.integrations._json import json_type

INVALID = "Zabbix payload is invalid"
MAX_SUMMARY = 1024
# Not classified, Information, Warning, Average, High, Disaster.
SEVERITIES = ("info", "info", "warning", "error", "critical", "critical")
# {EVENT.SOURCE}: 0 triggers, 4 services; discovery, autoregistration and internal events are not incidents.
HANDLED_SOURCES = (None, "0", "4")
DETAIL_FIELDS = (
    "trigger_id",
    "event_opdata",
    "event_update_action",
    "event_update_user",
    "event_update_message",
    "message",
    "subject",
    "event_severity",
)


def parse(data: object) -> list[NormalizedEvent]:
    body = require_object(data, "payload", INVALID)
    problems = Problems()
    event_id = _text(body, "event_id", problems)
    value = _text(body, "event_value", problems)
    update = _text(body, "event_update_status", problems)
    ack = _text(body, "event_ack_status", problems)
    nseverity = _text(body, "event_nseverity", problems)
    name = _text(body, "event_name", problems)
    host = _text(body, "host_name", problems)
    url = _text(body, "zabbix_url", problems)
    if event_id is None:
        problems.add("'event_id' is required (the media type's {EVENT.ID})")
    elif len(event_id) > 255:
        problems.add("'event_id' must be at most 255 characters")
    if value not in ("0", "1"):
        problems.add("'event_value' must be 1 (problem) or 0 (recovery), the media type's {EVENT.VALUE}")
    if update not in (None, "0", "1"):
        problems.add("'event_update_status' must be 0 or 1 ({EVENT.UPDATE.STATUS})")
    severity = "error"
    if nseverity is not None:
        if is_ascii_digits(nseverity) and int(nseverity) < len(SEVERITIES):
            severity = SEVERITIES[int(nseverity)]
        else:
            problems.add("'event_nseverity' must be 0 to 5 ({EVENT.NSEVERITY})")
    action = _action(value, update, ack)
    if action == "trigger" and not name:
        problems.add("'event_name' is required for a problem ({EVENT.NAME})")
    source = _text(body, "event_source", problems)
    problems.raise_if_any(INVALID)
    if action is None or source not in HANDLED_SOURCES:
        return []
    details: dict[str, Any] = {k: body[k] for k in DETAIL_FIELDS if _present(body.get(k))}
    links = []
    if url and event_id and _present(body.get("trigger_id")):
        base = url.rstrip("/")
        links.append(
            {"href": f"{base}/tr_events.php?triggerid={body['trigger_id']}&eventid={event_id}", "text": "Zabbix"}
        )
    return [
        NormalizedEvent(
            action=action,
            dedup_key=event_id,
            summary=(name or "")[:MAX_SUMMARY],
            severity=severity,
            source=(host or "")[:255],
            labels=_tags(body.get("event_tags")),
            details=details,
            links=links,
            client="Zabbix",
            client_url=url,
        )
    ]


def _action(value: str | None, update: str | None, ack: str | None) -> Action | None:
    if value == "0":
        return "resolve"
    if update == "1":
        return "acknowledge" if (ack or "").lower() == "yes" else None
    return "trigger"


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and (not value.strip() or _unexpanded(value)))


def _unexpanded(value: str) -> bool:
    text = value.strip()
    return text.startswith("{") and text.endswith("}") and text[1:-1].replace(".", "").replace("_", "").isupper()


def _text(body: dict[str, Any], key: str, problems: Problems) -> str | None:
    """A macro's value: strings as sent, numbers as their text; empty and unexpanded macros count as absent."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        problems.add(f"'{key}' must be a string, not {json_type(value)}")
        return None
    value = value.strip()
    return value if value and not _unexpanded(value) else None


def _tags(value: object) -> dict[str, Any]:
    """``{EVENT.TAGSJSON}``: ``[{"tag": "service", "value": "db"}, …]``, sent as a list or as its JSON text."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
    labels: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("tag"), str):
                labels[item["tag"]] = item.get("value", "")
    return labels
