"""Grafana unified alerting webhook contact point (payload "version": "1").

The payload is Alertmanager's with additions, so the Alertmanager parser reads it and this module adds what
Grafana alerts carry on top: links to the dashboard, the panel and the silence form, the rendered image, and
the rule's query values. The top-level ``orgId``, ``state``, ``title`` and ``message`` are accepted and not
used: each alert is described by its own labels and annotations.

A contact point with an HMAC secret signs each request: the signature header (``X-Grafana-Alert-Signature``
unless configured otherwise) holds hex(HMAC-SHA256(secret, body)), or, when a timestamp header is configured,
of ``timestamp ":" body`` with the Unix time in seconds sent in that header. ``verify_signature`` checks it;
whether the timestamp is recent enough is for the caller to decide with ``timestamp_is_fresh``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from tocsin.alerts.schemas import NormalizedEvent
from tocsin.integrations import alertmanager
from tocsin.integrations._fields import Problems
from tocsin.integrations._json import json_type

INVALID = "Grafana payload is invalid"
# Links Grafana puts on each alert, in the order a responder wants them, with the text shown for each.
ALERT_LINKS = (("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))
DEFAULT_FRESHNESS_SECONDS = 300


def parse(data: object) -> list[NormalizedEvent]:
    """One event per alert of the message, as for Alertmanager, with Grafana's additions."""
    return alertmanager.parse(data, enrich=_enrich, invalid=INVALID, product="Grafana")


def verify_signature(secret: str, body: bytes, signature: str, timestamp: str | None) -> bool:
    """Whether ``signature`` is Grafana's HMAC of ``body`` (and of ``timestamp`` when the sender adds one)."""
    if not secret or not signature or not signature.isascii():
        return False
    if timestamp is not None and not timestamp.isascii():
        return False
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    if timestamp is not None:
        mac.update(timestamp.encode() + b":")
    mac.update(body)
    return hmac.compare_digest(mac.hexdigest(), signature.strip().lower())


def timestamp_is_fresh(timestamp: str, now: datetime, *, tolerance_seconds: int = DEFAULT_FRESHNESS_SECONDS) -> bool:
    """Whether a signature timestamp (Unix seconds) is within the tolerance of ``now``, to refuse replays."""
    try:
        sent = int(timestamp.strip())
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= tolerance_seconds


def _enrich(alert: dict[str, Any], event: NormalizedEvent, path: str, problems: Problems) -> None:
    urls = {key: _url(alert, key, path, problems) for key, _ in ALERT_LINKS}
    event.links.extend({"href": urls[key], "text": text} for key, text in ALERT_LINKS if urls[key])
    image_url = _url(alert, "imageURL", path, problems)
    if image_url:
        image = {"src": image_url, "alt": event.summary[:255]}
        if urls["panelURL"]:
            image["href"] = urls["panelURL"]
        event.images.append(image)
    event.details["values"] = _values(alert, path, problems)
    event.details["valueString"] = problems.string(alert, "valueString", f"{path}.valueString")
    event.details["ruleUID"] = problems.string(alert, "ruleUID", f"{path}.ruleUID")


def _url(alert: dict[str, Any], key: str, path: str, problems: Problems) -> str | None:
    url = problems.string(alert, key, f"{path}.{key}")
    return url if url and url.strip() else None


def _values(alert: dict[str, Any], path: str, problems: Problems) -> dict[str, Any] | None:
    """The rule's query results by refId; Grafana sends null when it has none."""
    values = alert.get("values")
    if values is None or isinstance(values, dict):
        return values
    problems.add(f"'{path}.values' must be an object or null, not {json_type(values)}")
    return None
