"""A PagerDuty account as its REST API v2 describes it: users with contact methods and notification rules, two
teams, schedules with several layers, daily and weekly restrictions, an override, zones crossing their DST changes
(Europe on 25 October 2026, the United States on 1 November 2026), a three-level policy that repeats, services
with Events API v2 keys and a maintenance window. Also what Tocsin cannot take: a push contact method, a retired
zone name, an unknown role, an email integration, an urgency rule on support hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)
ROUTING_KEY = "R01ABCDEF23456789ABCDEF012345678"


def _user(
    uid: str, name: str, email: str, zone: str, role: str = "user", teams: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "id": uid,
        "type": "user",
        "name": name,
        "email": email,
        "time_zone": zone,
        "role": role,
        "teams": [{"id": t, "type": "team_reference"} for t in teams],
        "contact_methods": [
            {"id": f"{uid}E", "type": "email_contact_method", "label": "Work", "address": email},
        ],
        "notification_rules": [
            {
                "id": f"{uid}N1",
                "type": "assignment_notification_rule",
                "start_delay_in_minutes": 0,
                "urgency": "high",
                "contact_method": {"id": f"{uid}E", "type": "email_contact_method_reference"},
            }
        ],
    }


def _ref(uid: str) -> dict[str, Any]:
    return {"user": {"id": uid, "type": "user_reference"}}


def account() -> dict[str, list[dict[str, Any]]]:
    alice = _user("PALICE1", "Alice Archer", "alice@example.com", "Europe/Berlin", "admin", ("PTSRE01",))
    alice["contact_methods"] += [
        {
            "id": "PALICEP",
            "type": "phone_contact_method",
            "label": "Mobile",
            "country_code": 49,
            "address": "15123456789",
        },
        {
            "id": "PALICES",
            "type": "sms_contact_method",
            "label": "Mobile",
            "country_code": 49,
            "address": "15123456789",
        },
        {"id": "PALICEX", "type": "push_notification_contact_method", "label": "iPhone", "address": "device-token"},
    ]
    alice["notification_rules"] += [
        {
            "id": "PALICEN2",
            "type": "assignment_notification_rule",
            "start_delay_in_minutes": 5,
            "urgency": "high",
            "contact_method": {"id": "PALICEP", "type": "phone_contact_method_reference"},
        },
        {
            "id": "PALICEN3",
            "type": "assignment_notification_rule",
            "start_delay_in_minutes": 0,
            "urgency": "high",
            "contact_method": {"id": "PALICEX", "type": "push_notification_contact_method_reference"},
        },
        {
            "id": "PALICEN4",
            "type": "assignment_notification_rule",
            "start_delay_in_minutes": 0,
            "urgency": "low",
            "contact_method": {"id": "PALICES", "type": "sms_contact_method_reference"},
        },
    ]
    users = [
        alice,
        _user("PBOB001", "Bob Baker", "bob@example.com", "America/New_York", "user", ("PTSRE01", "PTPAY01")),
        _user("PCAROL1", "Carol Chen", "carol@example.com", "US/Pacific-New", "limited_user", ("PTPAY01",)),
        _user("PDAVE01", "Dave Diaz", "dave@example.com", "America/New_York", "stakeholder_plus"),
        _user("PERIN01", "Erin Evans", "erin@example.com", "Europe/London", "observer"),
    ]
    teams = [
        {"id": "PTSRE01", "type": "team", "name": "SRE", "description": "Site reliability"},
        {"id": "PTPAY01", "type": "team", "name": "Payments", "description": None},
    ]
    primary = {
        "id": "PSCHED1",
        "type": "schedule",
        "name": "Payments primary",
        "time_zone": "America/New_York",
        "description": "Weekly rotation, business-hours day layer, weekend cover",
        "teams": [{"id": "PTPAY01", "type": "team_reference"}],
        # Highest first, as the API lists them.
        "schedule_layers": [
            {
                "id": "PL3",
                "name": "Weekend cover",
                "start": "2026-09-01T00:00:00-04:00",
                "end": None,
                "rotation_virtual_start": "2026-09-05T00:00:00-04:00",
                "rotation_turn_length_seconds": 604800,
                "users": [_ref("PERIN01")],
                # Saturday 00:00 for 48 hours: longer than a day.
                "restrictions": [
                    {
                        "type": "weekly_restriction",
                        "start_time_of_day": "00:00:00",
                        "duration_seconds": 172800,
                        "start_day_of_week": 6,
                    }
                ],
            },
            {
                "id": "PL2",
                "name": "Business hours",
                "start": "2026-09-01T00:00:00-04:00",
                "end": None,
                "rotation_virtual_start": "2026-09-01T09:00:00-04:00",
                "rotation_turn_length_seconds": 86400,
                "users": [_ref("PDAVE01"), _ref("PBOB001")],
                "restrictions": [
                    {"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 28800}
                ],
            },
            {
                "id": "PL1",
                "name": "Weekly",
                "start": "2026-09-01T00:00:00-04:00",
                "end": None,
                "rotation_virtual_start": "2026-10-05T09:00:00-04:00",
                "rotation_turn_length_seconds": 604800,
                "users": [_ref("PALICE1"), _ref("PBOB001"), _ref("PCAROL1")],
                "restrictions": [],
            },
        ],
        "overrides": [
            {
                "id": "PO1",
                "start": "2026-10-23T14:00:00Z",
                "end": "2026-10-23T20:00:00Z",
                "user": {"id": "PCAROL1", "type": "user_reference"},
            },
            {
                "id": "PO0",
                "start": "2026-10-01T14:00:00Z",
                "end": "2026-10-01T20:00:00Z",
                "user": {"id": "PDAVE01", "type": "user_reference"},
            },
        ],
    }
    sun = {
        "id": "PSCHED2",
        "type": "schedule",
        "name": "SRE follow the sun",
        "time_zone": "Europe/Berlin",
        "description": None,
        "teams": [{"id": "PTSRE01", "type": "team_reference"}],
        "schedule_layers": [
            {
                "id": "PL4",
                "name": "Twelve hours",
                "start": "2026-10-01T08:00:00+02:00",
                "end": None,
                "rotation_virtual_start": "2026-10-01T08:00:00+02:00",
                "rotation_turn_length_seconds": 43200,
                "users": [_ref("PALICE1"), _ref("PBOB001")],
                "restrictions": [],
            }
        ],
        "overrides": [],
    }
    policy = {
        "id": "PEP0001",
        "type": "escalation_policy",
        "name": "Payments",
        "description": "Primary, then SRE, then Dave",
        "num_loops": 2,
        "teams": [{"id": "PTPAY01", "type": "team_reference"}],
        "escalation_rules": [
            {
                "id": "PER1",
                "escalation_delay_in_minutes": 15,
                "targets": [{"id": "PSCHED1", "type": "schedule_reference"}],
            },
            {
                "id": "PER2",
                "escalation_delay_in_minutes": 30,
                "targets": [
                    {"id": "PSCHED2", "type": "schedule_reference"},
                    {"id": "PBOB001", "type": "user_reference"},
                ],
            },
            {
                "id": "PER3",
                "escalation_delay_in_minutes": 30,
                "targets": [
                    {"id": "PDAVE01", "type": "user_reference"},
                    {"id": "PWH0001", "type": "webhook_reference"},
                ],
            },
        ],
    }
    services = [
        {
            "id": "PSVC001",
            "type": "service",
            "name": "Checkout API",
            "description": "Card payments",
            "auto_resolve_timeout": 14400,
            "acknowledgement_timeout": 1800,
            "escalation_policy": {"id": "PEP0001", "type": "escalation_policy_reference"},
            "teams": [{"id": "PTPAY01", "type": "team_reference"}],
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "integrations": [
                {
                    "id": "PINT001",
                    "type": "events_api_v2_inbound_integration",
                    "name": "Prometheus",
                    "integration_key": ROUTING_KEY,
                },
                {
                    "id": "PINT002",
                    "type": "generic_email_inbound_integration",
                    "name": "Mail",
                    "integration_email": "checkout@acme.pagerduty.example",
                },
            ],
        },
        {
            "id": "PSVC002",
            "type": "service",
            "name": "Ledger",
            "description": None,
            "auto_resolve_timeout": None,
            "acknowledgement_timeout": None,
            "escalation_policy": {"id": "PEP0001", "type": "escalation_policy_reference"},
            "teams": [{"id": "PTSRE01", "type": "team_reference"}, {"id": "PTPAY01", "type": "team_reference"}],
            "incident_urgency_rule": {"type": "use_support_hours", "during_support_hours": {}},
            "integrations": [],
        },
    ]
    windows = [
        {
            "id": "PMW0001",
            "type": "maintenance_window",
            "start_time": "2026-10-25T01:00:00Z",
            "end_time": "2026-10-25T03:00:00Z",
            "description": "Database upgrade",
            "services": [{"id": "PSVC002", "type": "service_reference"}],
        },
        {
            "id": "PMW0000",
            "type": "maintenance_window",
            "start_time": "2026-09-25T01:00:00Z",
            "end_time": "2026-09-25T03:00:00Z",
            "description": "Past",
            "services": [{"id": "PSVC002"}],
        },
    ]
    return {
        "users": users,
        "teams": teams,
        "schedules": [primary, sun],
        "escalation_policies": [policy],
        "services": services,
        "maintenance_windows": windows,
    }
