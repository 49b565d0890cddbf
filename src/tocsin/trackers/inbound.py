"""Tracker webhooks: a remote issue's status comes back.

GitHub signs every delivery: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` with the
webhook's secret; ``X-GitHub-Delivery`` is a unique id per delivery (kept, a second one is a replay).

Jira Cloud admin webhooks are signed only when created with a secret (``X-Hub-Signature: sha256=<hex>``, the
same scheme); otherwise they carry nothing, and the secret travels in the webhook URL's query
(``?secret=...``), compared in constant time. Either one passing is enough. ``X-Atlassian-Webhook-Identifier``,
the same on Jira's retries of one event, is the replay key.

A refused delivery changes nothing: 401 for a bad or missing signature, 409 for a replay."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tocsin.trackers import repository as repo
from tocsin.trackers.models import TrackerConnection
from tocsin.trackers.sync import apply_remote_state

MAX_BODY = 1024 * 1024


def _hub_signature_ok(secret: str, header: str | None, body: bytes) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().encode(), expected.encode())


def _connection(session: Session, connection_id: int, kind: str) -> TrackerConnection:
    connection = repo.get_connection(session, connection_id)
    if connection is None or connection.kind != kind:
        raise NotFound(f"no {kind} tracker connection {connection_id}")
    return connection


def _parse(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise InvalidInput("the body is too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a JSON object")
    return data


def _not_a_replay(session: Session, connection_id: int, delivery_id: str | None, now: datetime) -> None:
    if delivery_id and not repo.note_delivery(session, connection_id, delivery_id[:100], now):
        raise Conflict(f"delivery {delivery_id[:100]} was received before")


def jira(
    session: Session,
    connection_id: int,
    *,
    headers: Mapping[str, str],
    query_secret: str | None,
    body: bytes,
    now: datetime,
) -> str:
    """Take a Jira webhook; returns what was done ('updated', 'ignored')."""
    lower = {k.lower(): v for k, v in headers.items()}
    connection = _connection(session, connection_id, "jira")
    secret = connection.webhook_secret
    by_query = query_secret is not None and hmac.compare_digest(query_secret.encode(), secret.encode())
    if not (by_query or _hub_signature_ok(secret, lower.get("x-hub-signature"), body)):
        raise Unauthorized("bad or missing webhook secret")
    data = _parse(body)
    _not_a_replay(session, connection.id, lower.get("x-atlassian-webhook-identifier"), now)
    if data.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return "ignored"
    issue = data.get("issue") if isinstance(data.get("issue"), dict) else {}
    key = str((issue or {}).get("key") or "")
    fields = (issue or {}).get("fields") or {}
    status = fields.get("status") if isinstance(fields, dict) else None
    if not key or not isinstance(status, dict) or not status.get("name"):
        raise InvalidInput("issue.key and issue.fields.status.name are required")
    local = repo.issue_by_remote(session, connection.id, key)
    if local is None:
        return "ignored"
    category = (status.get("statusCategory") or {}).get("key")
    done_names = {connection.done_status.lower()}
    state = "closed" if category == "done" or str(status["name"]).lower() in done_names else "open"
    apply_remote_state(session, local, status=str(status["name"])[:100], state=state, now=now)
    return "updated"


def github(session: Session, connection_id: int, *, headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Take a GitHub webhook; returns what was done ('updated', 'ignored', 'pong')."""
    lower = {k.lower(): v for k, v in headers.items()}
    connection = _connection(session, connection_id, "github")
    if not _hub_signature_ok(connection.webhook_secret, lower.get("x-hub-signature-256"), body):
        raise Unauthorized("bad or missing X-Hub-Signature-256")
    data = _parse(body)
    _not_a_replay(session, connection.id, lower.get("x-github-delivery"), now)
    event = lower.get("x-github-event", "")
    if event == "ping":
        return "pong"
    if event != "issues" or data.get("action") not in ("closed", "reopened"):
        return "ignored"
    issue = data.get("issue")
    if not isinstance(issue, dict) or "number" not in issue:
        raise InvalidInput("issue.number is required")
    local = repo.issue_by_remote(session, connection.id, str(issue["number"]))
    if local is None:
        return "ignored"
    state = "closed" if data["action"] == "closed" else "open"
    apply_remote_state(session, local, status=state, state=state, now=now)
    return "updated"
