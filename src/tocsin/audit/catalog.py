"""What the audit trail watches: the configuration and access tables, the name each row goes by, the columns that
are secrets (shown masked) and the columns that are bookkeeping rather than configuration (not recorded).

Keyed by table name, so that the audit package needs none of the domain models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# table → object type in the audit trail
AUDITED: dict[str, str] = {
    "users": "user",
    "teams": "team",
    "team_members": "team_member",
    "api_tokens": "api_token",
    "contact_methods": "contact_method",
    "notification_rules": "notification_rule",
    "schedules": "schedule",
    "schedule_layers": "schedule_layer",
    "schedule_overrides": "schedule_override",
    "escalation_policies": "escalation_policy",
    "escalation_steps": "escalation_step",
    "services": "service",
    "integrations": "integration",
    "heartbeat_monitors": "heartbeat_monitor",
    "event_rules": "event_rule",
    "inhibit_rules": "inhibit_rule",
    "grouping_rules": "grouping_rule",
    "silences": "silence",
    "noise_settings": "noise_setting",
}

# Secrets: "hidden" shows only that the value is set (and, in an update, that it changed); "tail" adds its last
# four characters, enough to tell two keys apart without giving either away.
SECRETS: dict[str, dict[str, str]] = {
    "users": {"password_hash": "hidden", "feed_token": "hidden"},
    "api_tokens": {"token_hash": "hidden"},
    "contact_methods": {"secret": "hidden"},
    "integrations": {"key": "tail", "signing_secret": "hidden"},
    "schedules": {"feed_token": "hidden"},
}

# Contact methods whose address is a URL that works as a credential (anyone holding it can post to the channel).
CREDENTIAL_ADDRESS_TYPES = frozenset({"webhook", "slack", "teams", "mattermost", "discord", "apprise", "ntfy"})

# Written by the engine or on every use; not a change of configuration.
BOOKKEEPING: dict[str, frozenset[str]] = {
    "api_tokens": frozenset({"last_used_at"}),
    "heartbeat_monitors": frozenset({"status", "last_ping_at", "last_start_at", "due_at"}),
    "silences": frozenset({"reminded_at"}),
}

MASK = "***"


def mask(value: Any, how: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    if how == "tail" and len(text) >= 12:
        return MASK + text[-4:]
    return MASK


def secret_columns(table: str, row: Mapping[str, Any]) -> dict[str, str]:
    """The secret columns of ``table`` for a row with these values (a contact method's address depends on its
    type)."""
    found = dict(SECRETS.get(table, {}))
    if table == "contact_methods" and row.get("type") in CREDENTIAL_ADDRESS_TYPES:
        found["address"] = "tail"
    return found
