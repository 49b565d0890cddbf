"""Prometheus Alertmanager webhook (``webhook_config``, payload version "4").

One message carries a group of alerts, firing and resolved ones mixed; each alert becomes one event:

- ``dedup_key``: the alert's ``fingerprint`` (a hash of its labels), or, when a hand-made payload lacks it,
  the hex SHA-256 of the sorted labels. Alertmanager re-sends the same group every ``repeat_interval``; equal
  keys make those repeats land on the alert already open.
- ``action``: firing → trigger, resolved → resolve.
- ``summary``: ``annotations.summary``, else ``annotations.description``, else ``labels.alertname`` with a few
  other labels.
- ``severity``: ``labels.severity`` mapped onto critical / error / warning / info (error when absent or
  unknown).
- ``source``: ``labels.instance``, else ``labels.job``, else the receiver name.
- ``labels``: the alert's labels; ``details``: annotations, times, URLs, group key, receiver, common labels.

Unknown fields (``notification_reason``, ``routeLabels``, ``truncatedAlerts`` …) are accepted and ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tocsin.alerts.schemas import Action, NormalizedEvent
from tocsin.integrations._fields import Problems, parse_timestamp, require_object
from tocsin.integrations._json import json_type

INVALID = "Alertmanager payload is invalid"
MAX_SUMMARY = 1024
MAX_SOURCE = 255
MAX_DEDUP_KEY = 255
# Go's zero time.Time: what Alertmanager sends as endsAt while it does not know when an alert will end.
GO_ZERO_TIME_PREFIX = "0001-01-01T00:00:00"
# How many labels besides alertname a fallback summary shows; the labels themselves are kept in full.
SUMMARY_LABELS = 4

STATUS_ACTIONS: dict[str, Action] = {"firing": "trigger", "resolved": "resolve"}
SEVERITY_ALIASES: dict[str, str] = {
    "critical": "critical",
    "page": "critical",
    "error": "error",
    "high": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
}
DEFAULT_SEVERITY = "error"

# Called once per well-formed alert, so that a related format (Grafana) can add what its alerts carry on top
# and report its own problems in the same error response.
AlertHook = Callable[[dict[str, Any], NormalizedEvent, str, Problems], None]


@dataclass(frozen=True, slots=True)
class _Group:
    """What the message says about the whole group, copied into each alert's details."""

    product: str
    receiver: str
    group_key: str | None
    external_url: str | None
    common_labels: dict[str, Any]


def parse(
    data: object,
    *,
    enrich: AlertHook | None = None,
    invalid: str = INVALID,
    product: str = "Alertmanager",
) -> list[NormalizedEvent]:
    """One event per alert of the message, in the message's order.

    ``enrich``, ``invalid`` and ``product`` let a sender that speaks this format with additions (Grafana)
    reuse the parser: its hook, the detail of its error response, and the name its external URL and source go
    by.
    """
    payload = require_object(data, "payload", invalid)
    problems = Problems()
    alerts = payload.get("alerts")
    if alerts is None:
        problems.add("'alerts' is required")
    elif not isinstance(alerts, list):
        problems.add(f"'alerts' must be an array, not {json_type(alerts)}")
    group = _group(payload, product, problems)
    events: list[NormalizedEvent] = []
    for index, alert in enumerate(alerts if isinstance(alerts, list) else []):
        path = f"alerts[{index}]"
        event = _event(alert, path, group, problems)
        if event is None:
            continue
        if enrich is not None:
            enrich(alert, event, path, problems)
        events.append(event)
    problems.raise_if_any(invalid)
    return events


def severity_of(value: object) -> str:
    """A ``severity`` label mapped onto the four levels; unknown or absent values count as error."""
    if not isinstance(value, str):
        return DEFAULT_SEVERITY
    return SEVERITY_ALIASES.get(value.strip().lower(), DEFAULT_SEVERITY)


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable key for a label set, for alerts that come without Alertmanager's fingerprint."""
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _group(data: dict[str, Any], product: str, problems: Problems) -> _Group:
    return _Group(
        product=product,
        receiver=problems.string(data, "receiver", "receiver") or "",
        group_key=problems.string(data, "groupKey", "groupKey"),
        external_url=problems.string(data, "externalURL", "externalURL"),
        common_labels=problems.mapping(data, "commonLabels", "commonLabels") or {},
    )


def _event(alert: object, path: str, group: _Group, problems: Problems) -> NormalizedEvent | None:
    if not isinstance(alert, dict):
        problems.add(f"'{path}' must be an object, not {json_type(alert)}")
        return None
    labels = _labels(alert, path, problems)
    annotations = problems.mapping(alert, "annotations", f"{path}.annotations") or {}
    status = problems.choice(alert, "status", f"{path}.status", tuple(STATUS_ACTIONS))
    starts_text, starts_at = _time(alert, "startsAt", path, problems)
    ends_text, _ = _time(alert, "endsAt", path, problems)
    generator_url = problems.string(alert, "generatorURL", f"{path}.generatorURL")
    fingerprint = problems.string(alert, "fingerprint", f"{path}.fingerprint", max_len=MAX_DEDUP_KEY)
    if labels is None or status is None:
        return None
    return NormalizedEvent(
        action=STATUS_ACTIONS[status],
        dedup_key=fingerprint if fingerprint and fingerprint.strip() else labels_fingerprint(labels),
        summary=_summary(labels, annotations)[:MAX_SUMMARY],
        severity=severity_of(labels.get("severity")),
        source=_source(labels, group)[:MAX_SOURCE],
        timestamp=starts_at,
        labels=dict(labels),
        details={
            "annotations": annotations,
            "startsAt": starts_text,
            "endsAt": ends_text,
            "generatorURL": generator_url,
            "groupKey": group.group_key,
            "receiver": group.receiver,
            "externalURL": group.external_url,
            "commonLabels": group.common_labels,
        },
        links=_links(generator_url, group),
    )


def _labels(alert: dict[str, Any], path: str, problems: Problems) -> dict[str, str] | None:
    """The alert's labels; they identify the alert, so an alert without them is rejected."""
    labels_path = f"{path}.labels"
    labels = alert.get("labels")
    if labels is None:
        problems.add(f"'{labels_path}' is required")
        return None
    if not isinstance(labels, dict):
        problems.add(f"'{labels_path}' must be an object, not {json_type(labels)}")
        return None
    if not labels:
        problems.add(f"'{labels_path}' must hold at least one label")
        return None
    bad = [name for name, value in labels.items() if not isinstance(value, str)]
    for name in bad:
        problems.add(f"'{labels_path}.{name}' must be a string, not {json_type(labels[name])}")
    return None if bad else labels


def _time(alert: dict[str, Any], key: str, path: str, problems: Problems) -> tuple[str | None, datetime | None]:
    """The timestamp as sent and as parsed; Go's zero time means "not set" and yields (None, None)."""
    text = problems.string(alert, key, f"{path}.{key}")
    if text is None or not text.strip() or text.startswith(GO_ZERO_TIME_PREFIX):
        return None, None
    parsed = parse_timestamp(text)
    if parsed is None:
        problems.add(f"'{path}.{key}' must be an RFC 3339 timestamp, got {text[:64]!r}")
        return None, None
    return text, parsed


def _source(labels: dict[str, str], group: _Group) -> str:
    return labels.get("instance") or labels.get("job") or group.receiver or group.product.lower()


def _summary(labels: dict[str, str], annotations: dict[str, Any]) -> str:
    for key in ("summary", "description"):
        text = annotations.get(key)
        if isinstance(text, str) and text.strip():
            return text.strip()
    name = labels.get("alertname") or "Alert"
    others = sorted((k, v) for k, v in labels.items() if k != "alertname")
    shown = ", ".join(f"{k}={v}" for k, v in others[:SUMMARY_LABELS])
    if len(others) > SUMMARY_LABELS:
        shown += ", …"
    return f"{name} ({shown})" if shown else name


def _links(generator_url: str | None, group: _Group) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    if generator_url and generator_url.strip():
        links.append({"href": generator_url, "text": "Alert source"})
    if group.external_url and group.external_url.strip():
        links.append({"href": group.external_url, "text": group.product})
    return links
