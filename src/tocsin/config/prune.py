"""``tocsin apply --prune``: what the file no longer names, of the kinds it manages, is retired.

A kind is managed when the file has its section (``services: []`` included). Services, integrations, schedules
and escalation policies are archived, users deactivated, teams, event and inhibit rules (which own no history)
deleted, named silences and maintenance windows ended. A user's contact methods are managed when the file lists
that user's ``contact_methods``: one the list no longer names is disabled if it was paged, deleted if not (ADR
0012). Each goes through
the same use case as the API, so the same refusals hold: a service with open incidents, a policy a live service
still uses, the last active admin (ADR 0012).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from tocsin.admin import contacts as contact_admin
from tocsin.admin import service as admin
from tocsin.alerts import routing_service as routing
from tocsin.alerts import silence_service
from tocsin.config import current as stored
from tocsin.config.plan import Action, Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError
from tocsin.oncall import schedules
from tocsin.services import service as services
from tocsin.teams import service as teams


def prune_unnamed(session: Session, config: ConfigFile, current: stored.Current, *, now: datetime) -> list[Change]:
    sections = config.model_fields_set
    changes: list[Change] = []

    # Recorded by ``retire`` as it goes, so that the plan lists removals in the order they were made.
    def retire(kind: str, key: str, action: Action, act: Callable[[], object]) -> None:
        try:
            act()
        except TocsinError as exc:
            raise type(exc)(f"--prune cannot {action} {kind} {key}: {exc.detail}", errors=exc.errors) from None
        changes.append(Change(kind, key, action))

    # Services before policies and schedules: a service leaving the file frees the policy it escalated through.
    if "services" in sections:
        named = {s.name: s for s in config.services}
        for name, row in current.service_rows.items():
            if name not in named:
                if row.archived_at is None:
                    retire("service", name, "archive", partial(admin.archive_service, session, row, now=now))
                continue
            spec = named[name]
            if spec.integrations is None:
                continue
            kept = {i.name for i in spec.integrations}
            for (service_name, ig_name), integration in current.integration_rows.items():
                if service_name == name and ig_name not in kept and integration.archived_at is None:
                    retire(
                        "integration",
                        f"{name}/{ig_name}",
                        "archive",
                        partial(services.archive_integration, session, integration, now=now),
                    )
    if "escalation_policies" in sections:
        named_policies = {p.name for p in config.escalation_policies}
        for name, policy in current.policy_rows.items():
            if name not in named_policies and policy.archived_at is None:
                retire("escalation policy", name, "archive", partial(admin.archive_policy, session, policy, now=now))
    if "schedules" in sections:
        named_schedules = {s.name for s in config.schedules}
        for name, schedule in current.schedule_rows.items():
            if name not in named_schedules and schedule.archived_at is None:
                retire("schedule", name, "archive", partial(schedules.archive_schedule, session, schedule, now=now))
    if "teams" in sections:
        named_teams = {t.name for t in config.teams}
        for name, team in current.team_rows.items():
            if name not in named_teams:
                retire("team", name, "delete", partial(teams.delete_team, session, team))
    if "users" in sections:
        named_users = {u.email for u in config.users}
        for email, user in current.user_rows.items():
            if email not in named_users and user.deactivated_at is None:
                retire("user", email, "deactivate", partial(admin.deactivate_user, session, user, now=now))
        _prune_contact_methods(session, config, current, retire=retire)
    _prune_noise(session, config, now=now, retire=retire)
    return changes


def _prune_contact_methods(
    session: Session,
    config: ConfigFile,
    current: stored.Current,
    *,
    retire: Callable[[str, str, Action, Callable[[], object]], None],
) -> None:
    """Only for users whose entry lists contact methods: an entry without the list leaves them as they are."""
    for spec in config.users:
        if spec.contact_methods is None:
            continue
        kept = {cm.name for cm in spec.contact_methods}
        for (email, name), cm in list(current.contact_rows.items()):
            if email != spec.email or name in kept or cm.disabled:
                continue
            action: Action = "disable" if contact_admin.was_paged(session, cm) else "delete"
            retire(
                "contact method", f"{email}/{name}", action, partial(contact_admin.retire_contact_method, session, cm)
            )


def _prune_noise(
    session: Session,
    config: ConfigFile,
    *,
    now: datetime,
    retire: Callable[[str, str, Action, Callable[[], object]], None],
) -> None:
    """Event and inhibit rules hold no history and are deleted; named silences and maintenance windows are ended
    (kept for the record, as an expired silence is)."""
    sections = config.model_fields_set
    if "event_rules" in sections:
        named = {r.name for r in config.event_rules}
        for rule in routing.list_event_rules(session):
            if rule.name not in named:
                retire(
                    "event rule", rule.name, "delete", partial(routing.delete_event_rule, session, rule.name, now=now)
                )
    if "inhibit_rules" in sections:
        named = {r.name for r in config.inhibit_rules}
        for inhibit in routing.list_inhibit_rules(session):
            if inhibit.name not in named:
                retire(
                    "inhibit rule",
                    inhibit.name,
                    "delete",
                    partial(routing.delete_inhibit_rule, session, inhibit.name, now=now),
                )
    kinds = {"silences": ("silence", False), "maintenance_windows": ("maintenance window", True)}
    stored = silence_service.list_silences(session, now=now) if sections & kinds.keys() else []
    for section, (kind, recurring) in kinds.items():
        if section not in sections:
            continue
        named = {s.name for s in getattr(config, section)}
        for row in stored:
            if row.name and row.name not in named and (row.recurrence is not None) == recurring:
                retire(kind, row.name, "archive", partial(silence_service.expire_silence, session, row.id, now=now))
