"""Apply a configuration file: create what is missing, update what differs, leave the rest, delete nothing
(with ``prune``, archive what the file no longer names: see ``config/prune.py``).

Objects are matched by natural key (user email, team name, schedule name, policy name, service name, an
integration by service and name, a contact method by user and name). The plan is worked out by comparing
canonical forms (see ``canonical``), then carried out through the domain services, in the caller's transaction.
A dry run does the same work inside a savepoint and rolls it back, so it meets the same errors a real run would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.admin import service as admin
from tocsin.audit import origin as audit_origin
from tocsin.config import canonical, fields, references
from tocsin.config import current as stored
from tocsin.config.analytics import apply_analytics, export_analytics
from tocsin.config.compliance import apply_regimes, export_regimes
from tocsin.config.learning import apply_learning, export_learning
from tocsin.config.noise import apply_noise, export_noise
from tocsin.config.plan import Change, Plan
from tocsin.config.prune import prune_unnamed
from tocsin.config.response import apply_response, export_response
from tocsin.config.schema import ConfigFile, PolicySpec, ScheduleSpec, ServiceSpec, TeamSpec, UserSpec
from tocsin.config.stakeholders import apply_stakeholders, export_stakeholders
from tocsin.config.statuspages import apply_statuspages, export_statuspages
from tocsin.config.workflows import apply_workflows, export_workflows
from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.escalation import service as escalation
from tocsin.heartbeats import service as heartbeats
from tocsin.notify import contacts
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import format_duration, parse_duration
from tocsin.response import skills
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users


def apply_config(
    session: Session, config: ConfigFile, *, now: datetime, dry_run: bool = False, prune: bool = False
) -> Plan:
    _record_as_apply(session)
    current = stored.read(session, now=now)
    found = references.problems(config, current)
    if found:
        raise InvalidInput(f"the configuration has {len(found)} problem(s); nothing was applied", errors=found)
    savepoint = session.begin_nested() if dry_run else None
    try:
        changes = _Applier(session, current, now).run(config)
        changes += apply_noise(session, config, current, now=now)
        # The response vocabulary first: workflows name its roles and checklists.
        changes += apply_response(session, config, now=now)
        changes += apply_workflows(session, config, now=now)
        changes += apply_statuspages(session, config, now=now)
        changes += apply_stakeholders(session, config, now=now)
        changes += apply_learning(session, config, now=now)
        changes += apply_regimes(session, config, now=now)
        changes += apply_analytics(session, config, now=now)
        if prune:
            changes += prune_unnamed(session, config, current, now=now)
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
    return Plan(changes=changes, dry_run=dry_run, prune=prune)


def _record_as_apply(session: Session) -> None:
    """Changes made by applying a file are recorded on the apply channel, by whoever ran it."""
    caller = audit_origin.of_session(session)
    audit_origin.set_for_session(
        session,
        audit_origin.Origin(
            channel="apply",
            actor=caller.actor if caller.channel != "system" else "apply",
            user_id=caller.user_id,
            token_id=caller.token_id,
            ip=caller.ip,
            user_agent=caller.user_agent,
        ),
    )


def export_config(session: Session, *, now: datetime) -> ConfigFile:
    exported = export_noise(session, stored.read(session, now=now).as_config(), now=now)
    sections = export_response(session)
    if sections:
        exported = ConfigFile.model_validate({**exported.model_dump(mode="json", exclude_unset=True), **sections})
    return export_analytics(
        session,
        export_regimes(
            session,
            export_learning(
                session, export_stakeholders(session, export_statuspages(session, export_workflows(session, exported)))
            ),
        ),
    )


@contextmanager
def _at(path: str) -> Iterator[None]:
    """Errors raised by the services name the place in the file they came from."""
    try:
        yield
    except TocsinError as exc:
        raise type(exc)(f"{path}: {exc.detail}", errors=exc.errors) from None


class _Applier:
    def __init__(self, session: Session, current: stored.Current, now: datetime) -> None:
        self.session = session
        self.current = current
        self.now = now
        self.changes: list[Change] = []

    def run(self, config: ConfigFile) -> list[Change]:
        # Admins first: a file that hands the admin role from one person to another promotes before it demotes,
        # so the last-admin rule of the users service holds at every step.
        for i, user in sorted(enumerate(config.users), key=lambda iu: iu[1].role != "admin"):
            self.user(f"users[{i}]", user)
        for i, team in enumerate(config.teams):
            self.team(f"teams[{i}]", team)
        for i, schedule in enumerate(config.schedules):
            self.schedule(f"schedules[{i}]", schedule)
        for i, policy in enumerate(config.escalation_policies):
            self.policy(f"escalation_policies[{i}]", policy)
        for i, service in enumerate(config.services):
            self.service(f"services[{i}]", service)
        return self.changes

    def record(self, kind: str, key: str, exists: bool, changed: list[str]) -> bool:
        """Note the change; returns whether there is anything to write."""
        if exists and (kind, key) in self.current.archived:
            # Named again in the file: it comes back from the archive.
            changed = [*changed, "archived → restored"]
            self._unarchive(kind, key)
        if not exists:
            self.changes.append(Change(kind, key, "create"))
            return True
        self.changes.append(Change(kind, key, "update" if changed else "unchanged", tuple(changed)))
        return bool(changed)

    def _unarchive(self, kind: str, key: str) -> None:
        if kind == "service":
            admin.unarchive_service(self.session, self.current.service_rows[key], now=self.now)
        elif kind == "schedule":
            schedules.unarchive_schedule(self.session, self.current.schedule_rows[key])
        elif kind == "escalation policy":
            admin.unarchive_policy(self.session, self.current.policy_rows[key])
        elif kind == "integration":
            service, _, name = key.partition("/")
            services.unarchive_integration(self.session, self.current.integration_rows[(service, name)])

    # --- ids by natural key, including objects created earlier in this run -----------------------------------

    def user_id(self, email: str) -> int:
        return self.current.user_rows[email].id

    def team_id(self, name: str | None) -> int | None:
        return None if name is None else self.current.team_rows[name].id

    # --- users, contact methods, notification rules ----------------------------------------------------------

    def user(self, path: str, spec: UserSpec) -> None:
        before = self.current.users.get(spec.email)
        wanted = fields.user_values(spec)
        changed = fields.diff(fields.user_values(before), wanted) if before else []
        if self.record("user", spec.email, before is not None, changed):
            with _at(path):
                row = self.current.user_rows.get(spec.email)
                if row is None:
                    row = users.create_user(
                        self.session,
                        email=spec.email,
                        name=spec.name or spec.email,
                        role=spec.role or "responder",
                        timezone=spec.timezone or "UTC",
                        now=self.now,
                    )
                    self.current.user_rows[spec.email] = row
                else:
                    users.update_user(self.session, row, name=spec.name, role=spec.role, timezone=spec.timezone)
        user_id = self.user_id(spec.email)
        for j, cm in enumerate(spec.contact_methods or []):
            key = (spec.email, cm.name)
            existing = self.current.contact_rows.get(key)
            old = {"type": existing.type, "address": existing.address} if existing else {}
            if self.record(
                "contact method",
                f"{spec.email}/{cm.name}",
                existing is not None,
                fields.diff(old, {"type": cm.type, "address": cm.address}),
            ):
                with _at(f"{path}.contact_methods[{j}]"):
                    if existing is None:
                        self.current.contact_rows[key] = contacts.add_contact_method(
                            self.session, user_id=user_id, name=cm.name, type=cm.type, address=cm.address, now=self.now
                        )
                    else:
                        contacts.update_contact_method(self.session, existing, type=cm.type, address=cm.address)
        rules = wanted.get("notification_rules")
        if rules is not None and (before is None or fields.user_values(before).get("notification_rules") != rules):
            with _at(f"{path}.notification_rules"):
                contacts.replace_rules(
                    self.session,
                    user_id=user_id,
                    rules=[
                        (r.urgency, self.current.contact_rows[(spec.email, r.contact)].id, r.delay)
                        for r in spec.notification_rules or []
                    ],
                )

        wanted_skills = wanted.get("skills")
        if wanted_skills is not None and (before is None or fields.user_values(before).get("skills") != wanted_skills):
            with _at(f"{path}.skills"):
                skills.set_skills(self.session, self.current.user_rows[spec.email], wanted_skills)

    # --- teams ------------------------------------------------------------------------------------------------

    def team(self, path: str, spec: TeamSpec) -> None:
        before = self.current.teams.get(spec.name)
        wanted = fields.team_values(spec)
        changed = fields.diff(fields.team_values(before), wanted) if before else []
        if not self.record("team", spec.name, before is not None, changed):
            return
        with _at(path):
            row = self.current.team_rows.get(spec.name)
            if row is None:
                row = teams.create_team(self.session, name=spec.name, description=spec.description or "", now=self.now)
                self.current.team_rows[spec.name] = row
            elif spec.description is not None:
                row.description = spec.description
            if "members" in wanted:
                roster: dict[str, str] = wanted["members"]
                for member, _role in teams.members(self.session, row):
                    if member.email not in roster:
                        teams.remove_member(self.session, row, member)
                for email, role in roster.items():
                    teams.set_member(self.session, row, self.current.user_rows[email], role)

    # --- schedules --------------------------------------------------------------------------------------------

    def schedule(self, path: str, spec: ScheduleSpec) -> None:
        before = self.current.schedules.get(spec.name)
        timezone = spec.timezone or (before.timezone if before and before.timezone else "UTC")
        wanted = fields.schedule_values(spec, timezone)
        changed = fields.diff(fields.schedule_values(before, before.timezone or "UTC"), wanted) if before else []
        have = self.current.override_keys.get(spec.name, set())
        new_overrides = [
            (j, o) for j, o in enumerate(spec.overrides or []) if canonical.override(o, timezone) not in have
        ]
        if new_overrides and before is not None:
            changed.append(f"overrides: +{len(new_overrides)}")
        if not self.record("schedule", spec.name, before is not None, changed):
            return
        with _at(path):
            row = self.current.schedule_rows.get(spec.name)
            if row is None:
                row = oncall.create_schedule(
                    self.session,
                    name=spec.name,
                    timezone=timezone,
                    team_id=self.team_id(spec.team),
                    description=spec.description or "",
                    now=self.now,
                )
                self.current.schedule_rows[spec.name] = row
            else:
                if "timezone" in wanted:
                    row.timezone = users.validate_timezone(timezone)
                if "description" in wanted:
                    row.description = wanted["description"]
                if "team" in wanted:
                    row.team_id = self.team_id(spec.team)
            if spec.layers is not None and (before is None or any(c == "layers" for c in changed)):
                oncall.set_layers(
                    self.session,
                    row,
                    [
                        oncall.layer_spec(
                            self.session,
                            name=layer.name,
                            rotation=layer.rotation,
                            start=canonical.layer_start(layer, timezone),
                            end=canonical.instant(layer.end, timezone) if layer.end is not None else None,
                            users=[self.user_id(u) for u in layer.users],
                            shift_length_seconds=layer.shift_length,
                            restrictions=canonical.restrictions(layer),
                        )
                        for layer in spec.layers
                    ],
                )
        for j, o in new_overrides:
            with _at(f"{path}.overrides[{j}]"):
                oncall.add_override(
                    self.session,
                    row,
                    user_id=self.user_id(o.user),
                    start=canonical.instant(o.start, timezone),
                    end=canonical.instant(o.end, timezone),
                    replaces_user_id=self.user_id(o.replaces) if o.replaces else None,
                    now=self.now,
                )

    # --- escalation policies ----------------------------------------------------------------------------------

    def policy(self, path: str, spec: PolicySpec) -> None:
        before = self.current.policies.get(spec.name)
        wanted = fields.policy_values(spec)
        changed = fields.diff(fields.policy_values(before), wanted) if before else []
        if not self.record("escalation policy", spec.name, before is not None, changed):
            return
        with _at(path):
            steps = None
            if spec.steps is not None:
                steps = [
                    (
                        escalation.resolve_targets(
                            self.session, [(t.kind, self._target_ref(t.kind, t.ref)) for t in step.targets]
                        ),
                        step.delay,
                    )
                    for step in spec.steps
                ]
            row = self.current.policy_rows.get(spec.name)
            if row is None:
                assert steps is not None  # references.problems requires steps for a new policy
                row = escalation.create_policy(
                    self.session,
                    name=spec.name,
                    steps=steps,
                    repeat=spec.repeat or 0,
                    team_id=self.team_id(spec.team),
                    description=spec.description or "",
                    now=self.now,
                )
                self.current.policy_rows[spec.name] = row
                return
            if "description" in wanted:
                row.description = wanted["description"]
            if "team" in wanted:
                row.team_id = self.team_id(spec.team)
            repeat = spec.repeat if spec.repeat is not None else row.repeat
            if steps is not None:
                escalation.set_steps(self.session, row, steps=steps, repeat=repeat)
            else:
                row.repeat = repeat

    def _target_ref(self, kind: str, ref: str) -> str:
        """Ids, so that a schedule or team whose name is a number is not taken for another one's id."""
        if kind == "user":
            return str(self.user_id(ref))
        if kind == "schedule":
            return str(self.current.schedule_rows[ref].id)
        return str(self.current.team_rows[ref].id)

    # --- services and integrations ----------------------------------------------------------------------------

    def service(self, path: str, spec: ServiceSpec) -> None:
        before = self.current.services.get(spec.name)
        wanted = fields.service_values(spec)
        changed = fields.diff(fields.service_values(before), wanted) if before else []
        if self.record("service", spec.name, before is not None, changed):
            with _at(path):
                row = self.current.service_rows.get(spec.name)
                updates: dict[str, Any] = {
                    "description": spec.description,
                    "urgency": spec.urgency,
                    "auto_resolve": spec.auto_resolve,
                }
                if row is None:
                    row = services.create_service(
                        self.session,
                        name=spec.name,
                        now=self.now,
                        description=spec.description or "",
                        urgency=spec.urgency or "high",
                        auto_resolve=True if spec.auto_resolve is None else spec.auto_resolve,
                        team_id=self.team_id(spec.team),
                        ack_timeout_seconds=spec.ack_timeout,
                        tier=spec.tier,
                        downtime_cost_per_minute=spec.downtime_cost_per_minute,
                    )
                    self.current.service_rows[spec.name] = row
                else:
                    if "team" in wanted:
                        updates["team_id"] = self.team_id(spec.team)
                    if "ack_timeout" in wanted:
                        updates["ack_timeout_seconds"] = spec.ack_timeout
                    if "tier" in wanted:
                        updates["tier"] = spec.tier
                    if "downtime_cost_per_minute" in wanted:
                        updates["downtime_cost_per_minute"] = spec.downtime_cost_per_minute
                    services.update_service(self.session, row, **updates)
                if "escalation_policy" in wanted:
                    name = spec.escalation_policy
                    row.escalation_policy_id = self.current.policy_rows[name].id if name is not None else None
        row = self.current.service_rows[spec.name]
        for j, ig in enumerate(spec.integrations or []):
            key = (spec.name, ig.name)
            existing = self.current.integration_rows.get(key)
            old: dict[str, str | None] = {"type": existing.type, "key": existing.key} if existing else {}
            new: dict[str, str | None] = {"type": ig.type}
            if ig.key is not None:
                new["key"] = ig.key
            if ig.heartbeat is not None:
                monitor = heartbeats.monitor_of(self.session, existing) if existing is not None else None
                if monitor is not None:
                    old["heartbeat"] = _heartbeat_text(monitor.period_seconds, monitor.grace_seconds)
                new["heartbeat"] = _heartbeat_text(ig.heartbeat.period, ig.heartbeat.grace)
            if ig.sns_topic_arn is not None:
                old["sns_topic_arn"] = existing.sns_topic_arn if existing else None
                new["sns_topic_arn"] = ig.sns_topic_arn
            changed_ig = [c if not c.startswith("key") else "key" for c in fields.diff(old, new)]
            bound = {"sns_topic_arn": ig.sns_topic_arn} if ig.sns_topic_arn is not None else {}
            if ig.signing_secret is not None:
                bound["signing_secret"] = ig.signing_secret
                if existing is None or existing.signing_secret != ig.signing_secret:
                    changed_ig.append("signing_secret changed")  # the secret itself is never printed
            if self.record("integration", f"{spec.name}/{ig.name}", existing is not None, changed_ig):
                with _at(f"{path}.integrations[{j}]"):
                    if existing is None:
                        existing = self.current.integration_rows[key] = services.add_integration(
                            self.session, row, name=ig.name, type=ig.type, key=ig.key, now=self.now, **bound
                        )
                    else:
                        services.update_integration(self.session, existing, type=ig.type, key=ig.key, **bound)
                    if ig.heartbeat is not None:
                        heartbeats.configure(
                            self.session,
                            existing,
                            period_seconds=ig.heartbeat.period,
                            grace_seconds=ig.heartbeat.grace,
                            now=self.now,
                        )


def _heartbeat_text(period: int, grace: int) -> str:
    return f"every {format_duration(parse_duration(period))}, grace {format_duration(parse_duration(grace))}"
