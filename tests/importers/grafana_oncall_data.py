"""A Grafana OnCall organisation as its public API describes it: a weekly rolling layer, a business-hours layer on
weekdays at a higher level with a shared turn, an override, an iCalendar schedule, and a chain with waits,
a group step and a repeat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)


def account() -> dict[str, list[dict[str, Any]]]:
    users = [
        {
            "id": "UALICE",
            "email": "alice@example.com",
            "username": "alice",
            "role": "admin",
            "timezone": "Europe/Berlin",
        },
        {"id": "UBOB", "email": "bob@example.com", "username": "bob", "role": "editor", "timezone": "Europe/Berlin"},
        {
            "id": "UCAROL",
            "email": "carol@example.com",
            "username": "carol",
            "role": "viewer",
            "timezone": "US/Pacific-New",
        },
        {"id": "UDAVE", "email": "dave@example.com", "username": "dave", "role": "superuser", "timezone": None},
    ]
    shifts = [
        {
            "id": "OWEEK",
            "name": "Weekly",
            "type": "rolling_users",
            "team_id": None,
            "time_zone": "Europe/Berlin",
            "level": 0,
            "start": "2026-10-19T09:00:00",
            "duration": 604800,
            "frequency": "weekly",
            "interval": 1,
            "by_day": None,
            "rolling_users": [["UALICE"], ["UBOB"]],
            "start_rotation_from_user_index": 0,
            "until": None,
        },
        {
            "id": "OBIZ",
            "name": "Business hours",
            "type": "rolling_users",
            "team_id": None,
            "time_zone": "Europe/Berlin",
            "level": 1,
            "start": "2026-10-19T09:00:00",
            "duration": 28800,
            "frequency": "weekly",
            "interval": 1,
            "by_day": ["MO", "TU", "WE", "TH", "FR"],
            "rolling_users": [["UCAROL"], ["UDAVE", "UBOB"]],
            "start_rotation_from_user_index": 0,
            "until": None,
        },
        {
            "id": "OOVER",
            "name": "Dentist",
            "type": "override",
            "team_id": None,
            "time_zone": "Europe/Berlin",
            "start": "2026-10-22T12:00:00",
            "duration": 7200,
            "users": ["UBOB"],
        },
    ]
    schedules = [
        {
            "id": "SPRIMARY",
            "name": "Primary",
            "type": "web",
            "team_id": None,
            "time_zone": "Europe/Berlin",
            "shifts": ["OWEEK", "OBIZ", "OOVER"],
        },
        {
            "id": "SLEGACY",
            "name": "Legacy",
            "type": "ical",
            "team_id": None,
            "time_zone": "UTC",
            "ical_url_primary": "https://calendar.example.com/oncall.ics",
            "shifts": [],
        },
    ]
    chains = [{"id": "CDEFAULT", "name": "Default", "team_id": None}]
    policies = [
        {
            "id": "E1",
            "escalation_chain_id": "CDEFAULT",
            "position": 0,
            "type": "notify_on_call_from_schedule",
            "notify_on_call_from_schedule": "SPRIMARY",
            "important": False,
        },
        {"id": "E2", "escalation_chain_id": "CDEFAULT", "position": 1, "type": "wait", "duration": 600},
        {
            "id": "E3",
            "escalation_chain_id": "CDEFAULT",
            "position": 2,
            "type": "notify_persons",
            "persons_to_notify": ["UBOB"],
            "important": True,
        },
        {"id": "E4", "escalation_chain_id": "CDEFAULT", "position": 3, "type": "wait", "duration": 900},
        {
            "id": "E5",
            "escalation_chain_id": "CDEFAULT",
            "position": 4,
            "type": "notify_user_group",
            "group_to_notify": "G1",
        },
        {"id": "E6", "escalation_chain_id": "CDEFAULT", "position": 5, "type": "repeat_escalation"},
    ]
    integrations = [
        {
            "id": "IAM",
            "name": "Alertmanager",
            "type": "alertmanager",
            "link": "https://oncall.example.com/x/",
            "default_route": {"id": "R1", "escalation_chain_id": "CDEFAULT"},
        },
    ]
    return {
        "users": users,
        "schedules": schedules,
        "on_call_shifts": shifts,
        "escalation_chains": chains,
        "escalation_policies": policies,
        "integrations": integrations,
    }
