"""An Opsgenie account as its REST API describes it: day and night rotations meeting at 08:00 and 20:00 in
Berlin across the October DST change, a weekend rotation of 12-hour turns overlapping a weekly backup rotation
(Opsgenie pages both; Tocsin cannot), and an escalation with delays counted from the alert and repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)


def _user(uid: str, email: str, zone: str, role: str) -> dict[str, Any]:
    return {
        "id": uid,
        "username": email,
        "fullName": email.split("@")[0].title(),
        "timeZone": zone,
        "role": {"id": role, "name": role},
        "blocked": False,
        "verified": True,
        "userContacts": [{"to": email, "contactMethod": "email", "enabled": True}],
    }


def _p(uid: str) -> dict[str, Any]:
    return {"type": "user", "id": uid, "username": f"{uid}@example.com"}


def account() -> dict[str, list[dict[str, Any]]]:
    alice = _user("u-alice", "alice@example.com", "Europe/Berlin", "Admin")
    alice["userContacts"] += [
        {"to": "49-15123456789", "contactMethod": "sms", "enabled": True},
        {"to": "49-15123456789", "contactMethod": "voice", "enabled": True},
        {"to": "Alice's phone", "contactMethod": "mobile", "enabled": True},
    ]
    users = [
        alice,
        _user("u-bob", "bob@example.com", "Europe/Berlin", "User"),
        _user("u-carol", "carol@example.com", "US/Pacific-New", "Custom-Responder"),
    ]
    teams = [
        {
            "id": "t-platform",
            "name": "Platform",
            "description": "Platform team",
            "members": [{"user": {"id": "u-alice"}, "role": "admin"}, {"user": {"id": "u-bob"}, "role": "user"}],
        }
    ]
    platform = {
        "id": "s-platform",
        "name": "Platform",
        "description": "",
        "timezone": "Europe/Berlin",
        "enabled": True,
        "ownerTeam": {"id": "t-platform", "name": "Platform"},
        "overrides": [
            {
                "alias": "dentist",
                "user": {"type": "user", "id": "u-carol", "username": "carol@example.com"},
                "startDate": "2026-10-22T10:00:00Z",
                "endDate": "2026-10-22T13:00:00Z",
                "rotations": [],
            },
            {
                "alias": "old",
                "user": {"type": "user", "id": "u-bob", "username": "bob@example.com"},
                "startDate": "2026-10-01T10:00:00Z",
                "endDate": "2026-10-01T13:00:00Z",
                "rotations": [],
            },
            {
                "alias": "team",
                "user": {"type": "team", "id": "t-other", "name": "Other"},
                "startDate": "2026-10-28T10:00:00Z",
                "endDate": "2026-10-28T13:00:00Z",
                "rotations": [],
            },
        ],
        "rotations": [
            {
                "id": "r-days",
                "name": "Days",
                "startDate": "2026-10-19T07:00:00Z",
                "type": "weekly",
                "length": 1,
                "participants": [_p("u-alice"), _p("u-bob")],
                "timeRestriction": {
                    "type": "time-of-day",
                    "restriction": {"startHour": 8, "startMin": 0, "endHour": 20, "endMin": 0},
                },
            },
            {
                "id": "r-nights",
                "name": "Nights",
                "startDate": "2026-10-19T18:00:00Z",
                "type": "daily",
                "length": 2,
                "participants": [_p("u-carol"), _p("u-bob")],
                "timeRestriction": {
                    "type": "time-of-day",
                    "restriction": {"startHour": 20, "startMin": 0, "endHour": 8, "endMin": 0},
                },
            },
        ],
    }
    weekend = {
        "id": "s-weekend",
        "name": "Weekend",
        "description": "",
        "timezone": "Europe/Berlin",
        "enabled": True,
        "ownerTeam": None,
        "overrides": [],
        "rotations": [
            {
                "id": "r-we",
                "name": "Weekend",
                "startDate": "2026-10-16T16:00:00Z",
                "type": "hourly",
                "length": 12,
                "participants": [_p("u-alice"), _p("u-carol")],
                "timeRestriction": {
                    "type": "weekday-and-time-of-day",
                    "restrictions": [
                        {
                            "startDay": "friday",
                            "startHour": 18,
                            "startMin": 0,
                            "endDay": "monday",
                            "endHour": 8,
                            "endMin": 0,
                        }
                    ],
                },
            },
            {
                "id": "r-backup",
                "name": "Backup",
                "startDate": "2026-10-19T07:00:00Z",
                "type": "weekly",
                "length": 1,
                "participants": [_p("u-bob"), {"type": "team", "id": "t-other", "name": "Other"}, _p("u-bob")],
            },
        ],
    }
    escalations = [
        {
            "id": "e-1",
            "name": "Platform escalation",
            "description": "",
            "ownerTeam": {"id": "t-platform"},
            "rules": [
                {
                    "condition": "if-not-acked",
                    "notifyType": "default",
                    "delay": {"timeAmount": 0, "timeUnit": "minutes"},
                    "recipient": {"type": "schedule", "id": "s-platform", "name": "Platform"},
                },
                {
                    "condition": "if-not-acked",
                    "notifyType": "default",
                    "delay": {"timeAmount": 10, "timeUnit": "minutes"},
                    "recipient": {"type": "user", "id": "u-bob", "username": "bob@example.com"},
                },
                {
                    "condition": "if-not-acked",
                    "notifyType": "default",
                    "delay": {"timeAmount": 10, "timeUnit": "minutes"},
                    "recipient": {"type": "team", "id": "t-platform", "name": "Platform"},
                },
                {
                    "condition": "if-not-closed",
                    "notifyType": "default",
                    "delay": {"timeAmount": 1, "timeUnit": "hours"},
                    "recipient": {"type": "user", "id": "u-alice"},
                },
            ],
            "repeat": {"waitInterval": 5, "count": 2, "resetRecipientStates": False, "closeAlertAfterAll": False},
        }
    ]
    services = [{"id": "svc-1", "name": "Billing", "description": "Invoices", "teamId": "t-platform"}]
    return {
        "users": users,
        "teams": teams,
        "schedules": [platform, weekend],
        "escalations": escalations,
        "services": services,
    }
