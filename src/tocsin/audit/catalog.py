"""What the audit trail watches: the configuration and access tables, the name each row goes by, the columns that
are secrets (shown masked) and the columns that are bookkeeping rather than configuration (not recorded).

Keyed by table name, so that the audit package needs none of the domain models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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
    "webhook_subscriptions": "webhook_subscription",
    "checklist_templates": "checklist_template",
    "incident_roles": "incident_role",
    "service_desk_settings": "service_desk",
    "user_skills": "user_skill",
    "playbooks": "playbook",
    "workflows": "workflow",
    "remediation_actions": "remediation_action",
    "workflow_channels": "workflow_channel",
    "incident_types": "incident_type",
    "incident_categories": "incident_category",
    "severity_levels": "severity_level",
    "drill_scenarios": "drill_scenario",
    "tier_costs": "tier_cost",
    "status_pages": "status_page",
    "status_component_groups": "status_component_group",
    "status_components": "status_component",
    "stakeholder_groups": "stakeholder_group",
    "postmortem_templates": "postmortem_template",
    "postmortem_rules": "postmortem_rule",
    "tracker_connections": "tracker_connection",
    "analytics_settings": "analytics_settings",
    "compliance_regimes": "compliance_regime",
    "runbooks": "runbook",
    "assist_type_policies": "assist_type_policy",
    "sso_identities": "sso_identity",
}

# Written on every event, send or sign-in, never by an administrator: left out of the trail (and, being absent
# from AUDITED, cost the hook one cached look-up per flushed object). Listed so that a test can tell a table that
# was weighed and left out from one nobody thought about.
NOT_AUDITED: frozenset[str] = frozenset(
    {
        "alert_events",
        "alerts",
        "analytics_digest_runs",
        # Facts kept per incident for the analytics (ADR 0038): derived from the timeline, rewritten at will.
        "analytics_incident_facts",
        # Regulatory clocks: written on the incident's timeline, not configuration.
        "compliance_classifications",
        "compliance_reminders",
        "compliance_submissions",
        "api_token_addresses",
        "audit_head",
        "audit_log",
        "change_events",
        # War rooms: worked by the engine; chat links are made by people from chat commands.
        "chat_auto_rules",
        # A room's conversation, exported by the engine when the room is archived.
        "chat_exports",
        "chat_links",
        "chat_rooms",
        "counters",
        "desk_reports",
        "drill_runs",
        "escalations",
        "event_consumers",
        "event_sequencer",
        "inbound_deliveries",
        "incident_events",
        "incident_participants",
        "incident_tasks",
        "incident_role_assignments",
        "incident_services",
        "incident_timeline",
        "incidents",
        "instance_secrets",
        "mail_outbox",
        "notifications",
        "recovery_codes",
        "service_request_timeline",
        "service_requests",
        "responder_requests",
        "sign_in_attempts",
        # Status pages: what is published (kept with its own history), subscribers and their deliveries.
        "stakeholder_deliveries",
        "stakeholder_updates",
        # Learning from incidents (ADR 0029): written about incidents, with their own history (section versions,
        # the incidents' timelines), not configuration.
        "action_items",
        "incident_recurrences",
        "postmortem_invites",
        "postmortem_meetings",
        "postmortem_section_revisions",
        "postmortem_sections",
        "postmortems",
        "problem_incidents",
        "problems",
        "status_component_changes",
        "status_deliveries",
        "status_incident_links",
        "status_incident_updates",
        "status_incidents",
        "status_maintenance_updates",
        "status_maintenances",
        "status_proposals",
        "status_subscribers",
        "statuspage_subscribe_windows",
        "used_link_tokens",
        "used_reset_links",
        "web_sessions",
        "webhook_attempts",
        "webhook_deliveries",
        "work_signal",
        "incident_playbooks",
        "workflow_runs",
        "workflow_step_runs",
        "action_runs",
        # Remote tracker issues and the inbound delivery ids: written by the engine and by trackers.
        "tracker_remote_issues",
        "tracker_deliveries",
        # Knowledge (ADR 0030): the search index and its cursors (derived data), every saved version of a runbook
        # (the runbook's own changes are audited), and the requests to the model (kept with their prompts).
        "knowledge_documents",
        "knowledge_index_cursors",
        "runbook_versions",
        "assist_requests",
        # Single sign-on (ADR 0037): sign-ins in flight, and which memberships the group mapping made (the
        # memberships themselves are audited).
        "oidc_sign_in_states",
        "sso_team_grants",
    }
)

# Secrets: "hidden" shows only that the value is set (and, in an update, that it changed); "tail" adds its last
# four characters, enough to tell two keys apart without giving either away; "origin" keeps a URL's scheme and
# host and masks the rest.
SECRETS: dict[str, dict[str, str]] = {
    "users": {"password_hash": "hidden", "feed_token": "hidden", "totp_secret": "hidden"},
    "api_tokens": {"token_hash": "hidden"},
    "service_desk_settings": {"public_token_hash": "hidden"},
    "contact_methods": {"secret": "hidden"},
    "integrations": {"key": "tail", "signing_secret": "hidden"},
    "schedules": {"feed_token": "hidden"},
    # A receiver's URL often carries its own credential in the path (chat incoming hooks): only where it goes shows.
    "webhook_subscriptions": {"secret": "hidden", "url": "origin"},
    "remediation_actions": {"secret": "hidden", "url": "origin"},
    "tracker_connections": {"token": "hidden", "webhook_secret": "hidden"},
    "workflow_channels": {"address": "origin"},
}

# Contact methods whose address is a URL that works as a credential (anyone holding it can post to the channel).
CREDENTIAL_ADDRESS_TYPES = frozenset(
    {"webhook", "slack", "teams", "mattermost", "discord", "apprise", "ntfy", "webpush"}
)

# Written by the engine or on every use; not a change of configuration.
BOOKKEEPING: dict[str, frozenset[str]] = {
    "api_tokens": frozenset({"last_used_at"}),
    "heartbeat_monitors": frozenset({"status", "last_ping_at", "last_start_at", "due_at"}),
    "silences": frozenset({"reminded_at"}),
    # A component's status moves with what is published (its history is kept in status_component_changes).
    "status_components": frozenset({"status", "updated_at"}),
    "users": frozenset({"totp_last_step"}),
    "sso_identities": frozenset({"last_sign_in_at"}),
}

MASK = "***"


def mask(value: Any, how: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    if how == "origin":
        origin = _origin(text)
        return f"{origin}/{MASK}" if origin else MASK
    if how == "tail" and len(text) >= 12:
        return MASK + text[-4:]
    return MASK


def _origin(url: str) -> str:
    """Scheme, host and port; never the user and password a URL may carry."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def secret_columns(table: str, row: Mapping[str, Any]) -> dict[str, str]:
    """The secret columns of ``table`` for a row with these values (a contact method's address depends on its
    type)."""
    found = dict(SECRETS.get(table, {}))
    if table == "contact_methods" and row.get("type") in CREDENTIAL_ADDRESS_TYPES:
        found["address"] = "tail"
    return found
