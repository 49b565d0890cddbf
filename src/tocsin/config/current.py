"""The configuration stored in the database, in the file format: what ``export`` prints and ``apply`` compares with.

Both use this one reader, so an exported file applied again finds nothing to change. Fields whose value is empty
or unset are left out to keep the export readable; apply leaves fields it is not given alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.config.schema import WEEKDAYS, ConfigFile, PolicySpec, ScheduleSpec, ServiceSpec, TeamSpec, UserSpec
from tocsin.core.clock import utc
from tocsin.escalation import service as escalation
from tocsin.escalation.models import EscalationPolicy
from tocsin.heartbeats import service as heartbeats
from tocsin.heartbeats.models import HeartbeatMonitor
from tocsin.notify import contacts
from tocsin.notify.models import ContactMethod
from tocsin.oncall import service as oncall
from tocsin.oncall.calculator import local_to_utc
from tocsin.oncall.models import Schedule, ScheduleLayer
from tocsin.response import skills
from tocsin.services import service as services
from tocsin.services.models import Integration, Service
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users import service as users
from tocsin.users.models import User


@dataclass
class Current:
    """Stored objects by natural key, with their specs."""

    users: dict[str, UserSpec] = field(default_factory=dict)
    teams: dict[str, TeamSpec] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    policies: dict[str, PolicySpec] = field(default_factory=dict)
    services: dict[str, ServiceSpec] = field(default_factory=dict)
    user_rows: dict[str, User] = field(default_factory=dict)
    team_rows: dict[str, Team] = field(default_factory=dict)
    schedule_rows: dict[str, Schedule] = field(default_factory=dict)
    policy_rows: dict[str, EscalationPolicy] = field(default_factory=dict)
    service_rows: dict[str, Service] = field(default_factory=dict)
    contact_rows: dict[tuple[str, str], ContactMethod] = field(default_factory=dict)
    integration_rows: dict[tuple[str, str], Integration] = field(default_factory=dict)
    # Every stored override, ended ones too, as (user email, start, end, replaced email): an override in the file
    # that has since ended is still there, not missing.
    override_keys: dict[str, set[tuple[str, datetime, datetime, str | None]]] = field(default_factory=dict)
    # Archived objects, as (kind, name): a file that names one brings it back; an export leaves them out.
    archived: set[tuple[str, str]] = field(default_factory=set)

    def integration_with_key(self, key: str) -> tuple[str, str] | None:
        for where, row in self.integration_rows.items():
            if row.key == key:
                return where
        return None

    def as_config(self) -> ConfigFile:
        return ConfigFile.model_validate(
            {
                "users": list(self.users.values()),
                "teams": list(self.teams.values()),
                "schedules": [s for s in self.schedules.values() if ("schedule", s.name) not in self.archived],
                "escalation_policies": [
                    p for p in self.policies.values() if ("escalation policy", p.name) not in self.archived
                ],
                "services": [s for s in self.services.values() if ("service", s.name) not in self.archived],
            }
        )


def read(session: Session, *, now: datetime) -> Current:
    """Overrides that have ended by ``now`` are history, not configuration, and are left out."""
    cur = Current()
    all_users = users.list_users(session)
    emails = {u.id: u.email for u in all_users}
    for user in all_users:
        cur.user_rows[user.email] = user
        methods = contacts.contact_methods(session, user.id)
        method_names = {cm.id: cm.name for cm in methods}
        for cm in methods:
            cur.contact_rows.setdefault((user.email, cm.name), cm)
        cur.users[user.email] = UserSpec.model_validate(
            {
                "email": user.email,
                "name": user.name,
                "timezone": user.timezone,
                "role": user.role,
                "contact_methods": [{"name": cm.name, "type": cm.type, "address": cm.address} for cm in methods],
                "notification_rules": [
                    {"urgency": r.urgency, "contact": method_names[r.contact_method_id], "delay": r.delay_seconds}
                    for r in contacts.rules(session, user.id)
                    if r.contact_method_id in method_names
                ],
                # Left out when empty, so that files of people without skills stay as they were.
                **({"skills": carried} if (carried := skills.skills_of(session, user.id)) else {}),
            }
        )

    team_names: dict[int, str] = {}
    for team in teams.list_teams(session):
        cur.team_rows[team.name] = team
        team_names[team.id] = team.name
        roster = teams.members(session, team)
        spec: dict[str, Any] = {"name": team.name, "members": [u.email for u, role in roster if role != "manager"]}
        managers = [u.email for u, role in roster if role == "manager"]
        if managers:
            spec["managers"] = managers
        if team.description:
            spec["description"] = team.description
        cur.teams[team.name] = TeamSpec.model_validate(spec)

    schedule_names: dict[int, str] = {}
    for schedule in oncall.list_schedules(session, include_archived=True):
        cur.schedule_rows[schedule.name] = schedule
        if schedule.archived_at is not None:
            cur.archived.add(("schedule", schedule.name))
        schedule_names[schedule.id] = schedule.name
        spec = {
            "name": schedule.name,
            "timezone": schedule.timezone,
            "layers": [_layer(layer, schedule.timezone, emails) for layer in oncall.layers(session, schedule)],
        }
        if schedule.description:
            spec["description"] = schedule.description
        if schedule.team_id is not None:
            spec["team"] = team_names.get(schedule.team_id)
        every = oncall.overrides(session, schedule)
        cur.override_keys[schedule.name] = {
            (emails.get(o.user_id, ""), utc(o.start), utc(o.end), emails.get(o.replaces_user_id or 0)) for o in every
        }
        found = [
            _override(o.user_id, o.start, o.end, o.replaces_user_id, schedule.timezone, emails)
            for o in every
            if utc(o.end) > now
        ]
        if found:
            spec["overrides"] = [o for o in found if o is not None]
        cur.schedules[schedule.name] = ScheduleSpec.model_validate(spec)

    policy_names: dict[int, str] = {}
    names_by_kind = {"user": emails, "schedule": schedule_names, "team": team_names}
    for policy in escalation.list_policies(session, include_archived=True):
        if policy.archived_at is not None:
            cur.archived.add(("escalation policy", policy.name))
        cur.policy_rows[policy.name] = policy
        policy_names[policy.id] = policy.name
        steps = []
        for step in escalation.steps_of(session, policy):
            targets = [
                {t["kind"]: names_by_kind[t["kind"]][int(t["ref"])]}
                for t in step.targets
                if int(t["ref"]) in names_by_kind.get(t["kind"], {})
            ]
            if targets:
                steps.append({"targets": targets, "delay": step.delay_seconds})
        spec = {"name": policy.name, "repeat": policy.repeat}
        if steps:
            spec["steps"] = steps
        if policy.description:
            spec["description"] = policy.description
        if policy.team_id is not None:
            spec["team"] = team_names.get(policy.team_id)
        cur.policies[policy.name] = PolicySpec.model_validate(spec)

    for service in services.list_services(session, include_archived=True):
        cur.service_rows[service.name] = service
        if service.archived_at is not None:
            cur.archived.add(("service", service.name))
        integrations = services.list_integrations(session, service.id, include_archived=True)
        monitors = heartbeats.monitors_of(session, integrations)
        for integration in integrations:
            cur.integration_rows.setdefault((service.name, integration.name), integration)
            if integration.archived_at is not None:
                cur.archived.add(("integration", f"{service.name}/{integration.name}"))
        spec = {
            "name": service.name,
            "urgency": service.urgency,
            "auto_resolve": service.auto_resolve,
            "integrations": [_integration(i, monitors.get(i.id)) for i in integrations if i.archived_at is None],
        }
        optional = {
            "description": service.description or None,
            "team": team_names.get(service.team_id) if service.team_id is not None else None,
            "escalation_policy": (
                policy_names.get(service.escalation_policy_id) if service.escalation_policy_id is not None else None
            ),
            "ack_timeout": service.ack_timeout_seconds,
            "tier": service.tier,
            "downtime_cost_per_minute": service.downtime_cost_per_minute,
        }
        spec.update({k: v for k, v in optional.items() if v is not None})
        cur.services[service.name] = ServiceSpec.model_validate(spec)
    return cur


def _integration(integration: Integration, monitor: HeartbeatMonitor | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": integration.name, "type": integration.type, "key": integration.key}
    if monitor is not None and integration.type == "heartbeat":
        spec["heartbeat"] = {"period": monitor.period_seconds, "grace": monitor.grace_seconds}
    if integration.sns_topic_arn is not None:
        spec["sns_topic_arn"] = integration.sns_topic_arn
    # The signing secret is write-only: never exported, and left alone by an apply of a file without one.
    return spec


def _layer(layer: ScheduleLayer, timezone: str, emails: dict[int, str]) -> dict[str, Any]:
    """Daily and weekly layers read best as a start date and a handoff time; anything else as the exact instant."""
    zone = ZoneInfo(timezone)
    start = utc(layer.start)
    local = start.astimezone(zone)
    spec: dict[str, Any] = {"name": layer.name, "rotation": layer.rotation}
    wall = local.time().replace(tzinfo=None)
    exact_minute = wall.second == 0 and wall.microsecond == 0
    if layer.rotation in ("daily", "weekly") and exact_minute and local_to_utc(local.date(), wall, zone) == start:
        spec["start"] = local.date()
        weekday = f"{WEEKDAYS[local.weekday()]} " if layer.rotation == "weekly" else ""
        spec["handoff"] = f"{weekday}{local:%H:%M}"
    else:
        spec["start"] = local
    spec["users"] = [emails[u] for u in layer.user_ids if u in emails]
    if layer.shift_length_seconds:
        spec["shift_length"] = layer.shift_length_seconds
    if layer.restrictions:
        spec["restrictions"] = [
            {
                "days": r.get("days") or list(range(7)),
                "start": time.fromisoformat(r["start"]).strftime("%H:%M"),
                "end": time.fromisoformat(r["end"]).strftime("%H:%M"),
            }
            for r in layer.restrictions
        ]
    if layer.end is not None:
        spec["end"] = utc(layer.end).astimezone(zone)
    return spec


def _override(
    user_id: int,
    start: datetime,
    end: datetime,
    replaces: int | None,
    timezone: str,
    emails: dict[int, str],
) -> dict[str, Any] | None:
    if user_id not in emails:
        return None
    zone = ZoneInfo(timezone)
    spec: dict[str, Any] = {
        "user": emails[user_id],
        "start": utc(start).astimezone(zone),
        "end": utc(end).astimezone(zone),
    }
    if replaces is not None and replaces in emails:
        spec["replaces"] = emails[replaces]
    return spec
