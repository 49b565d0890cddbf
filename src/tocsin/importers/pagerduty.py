"""PagerDuty (REST API v2) to a Tocsin configuration.

Read with ``Authorization: Token token=…`` and classic pagination (``offset``/``limit``/``more``). Layers: the
API lists a schedule's layers highest first, Tocsin lists them lowest first, so their order is reversed. Routing
(integration) keys of Events API v2 integrations are kept, so senders keep working once their URL points here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from tocsin.config.schema import (
    ConfigFile,
    ContactMethodSpec,
    IntegrationSpec,
    LayerSpec,
    MaintenanceWindowSpec,
    OverrideSpec,
    PolicySpec,
    RestrictionSpec,
    RuleSpec,
    ScheduleSpec,
    ServiceSpec,
    StepSpec,
    TargetSpec,
    TeamSpec,
    UserSpec,
)
from tocsin.importers.check import DAYS, SourceShift
from tocsin.importers.source import Report, Source, SourceError
from tocsin.importers.zones import zone

DEFAULT_URL = "https://api.pagerduty.com"
PAGE = 100
_CONTACT_TYPES = {"email_contact_method": "email", "phone_contact_method": "voice", "sms_contact_method": "sms"}
_ROLES = {
    "owner": "admin",
    "admin": "admin",
    "user": "responder",
    "limited_user": "responder",
    "observer": "observer",
    "read_only_user": "observer",
    "read_only_limited_user": "observer",
    "restricted_access": "observer",
}
_INTEGRATIONS = {
    "events_api_v2_inbound_integration": "pagerduty_v2",
    "generic_events_api_inbound_integration": "pagerduty_v2",
}
_ROTATIONS = {86400: "daily", 604800: "weekly"}


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2"}


def listing(source: Source, path: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = source.get(path, {**(params or {}), "offset": offset, "limit": PAGE})
        page = body.get(key)
        if not isinstance(page, list):
            raise SourceError(f"GET {path}: the answer has no {key!r} list")
        items.extend(page)
        if not body.get("more"):
            return items
        if not page:
            # A page that claims more but brings nothing would loop forever.
            raise SourceError(f"GET {path}: the source said there is more after offset {offset} but sent nothing")
        offset += len(page)


class _Importer:
    def __init__(self, source: Source, now: datetime) -> None:
        self.source = source
        self.now = now
        self.until = now + timedelta(days=DAYS)
        self.report = Report()
        self.emails: dict[str, str] = {}
        self.schedule_names: dict[str, str] = {}
        self.policy_names: dict[str, str] = {}
        self.team_names: dict[str, str] = {}
        self.service_names: dict[str, str] = {}
        self.source_shifts: dict[str, list[SourceShift]] = {}

    def email(self, ref: dict[str, Any] | None, what: str) -> str | None:
        uid = (ref or {}).get("id")
        found = self.emails.get(str(uid))
        if found is None:
            self.report.skip(what, f"refers to user {uid}, who was not imported")
        return found

    # --- users and teams -------------------------------------------------------------------------------

    def users(self) -> tuple[list[UserSpec], dict[str, set[str]]]:
        out: list[UserSpec] = []
        teams: dict[str, set[str]] = {}
        raw = listing(self.source, "/users", "users", {"include[]": ["contact_methods", "notification_rules"]})
        for u in raw:
            what = f"user {u.get('email') or u.get('id')}"
            methods: list[ContactMethodSpec] = []
            names: dict[str, str] = {}
            for m in u.get("contact_methods") or []:
                kind = _CONTACT_TYPES.get(str(m.get("type")))
                if kind is None:
                    self.report.skip(
                        f"{what} contact method {m.get('label')!r}", f"type {m.get('type')} has no Tocsin equivalent"
                    )
                    continue
                address = str(m.get("address", ""))
                if kind in ("sms", "voice"):
                    address = f"+{m.get('country_code', '')}{address}"
                name = str(m.get("label") or kind)
                while name in names.values():
                    name += "'"
                try:
                    methods.append(ContactMethodSpec(name=name, type=kind, address=address))
                except ValidationError as exc:
                    self.report.skip(f"{what} contact method {name!r}", _why(exc))
                    continue
                names[str(m.get("id"))] = name
            rules: list[RuleSpec] = []
            for r in u.get("notification_rules") or []:
                target = names.get(str((r.get("contact_method") or {}).get("id")))
                urgency = r.get("urgency")
                if target is None:
                    self.report.skip(f"{what} notification rule {r.get('id')}", "its contact method was not imported")
                elif urgency not in ("high", "low"):
                    self.report.skip(f"{what} notification rule {r.get('id')}", f"unknown urgency {urgency!r}")
                else:
                    rules.append(
                        RuleSpec(urgency=urgency, contact=target, delay=int(r.get("start_delay_in_minutes") or 0) * 60)
                    )
            role = _ROLES.get(str(u.get("role")))
            if role is None:
                self.report.warn(what, f"unknown role {u.get('role')!r}; imported as responder")
                role = "responder"
            try:
                spec = UserSpec(
                    email=u.get("email"),
                    name=u.get("name"),
                    timezone=zone(u.get("time_zone"), what, self.report),
                    role=role,
                    contact_methods=methods,
                    notification_rules=rules,
                )
            except ValidationError as exc:
                self.report.skip(what, _why(exc))
                continue
            self.emails[str(u.get("id"))] = spec.email
            out.append(spec)
            for t in u.get("teams") or []:
                teams.setdefault(str(t.get("id")), set()).add(spec.email)
        return out, teams

    def teams(self, members: dict[str, set[str]]) -> list[TeamSpec]:
        out = []
        for t in listing(self.source, "/teams", "teams"):
            self.team_names[str(t["id"])] = t["name"]
            out.append(
                TeamSpec(
                    name=t["name"],
                    description=t.get("description") or "",
                    members=sorted(members.get(str(t["id"]), ())),
                )
            )
        return out

    def team(self, teams: list[dict[str, Any]] | None, what: str) -> str | None:
        names = [self.team_names[str(t.get("id"))] for t in teams or [] if str(t.get("id")) in self.team_names]
        if len(names) > 1:
            self.report.warn(what, f"belongs to teams {', '.join(names)}; Tocsin keeps one: {names[0]}")
        return names[0] if names else None

    # --- schedules -------------------------------------------------------------------------------------

    def schedules(self) -> list[ScheduleSpec]:
        out = []
        for summary in listing(self.source, "/schedules", "schedules"):
            sid = str(summary["id"])
            window = {"since": _iso(self.now), "until": _iso(self.until), "time_zone": "UTC"}
            s = self.source.get(f"/schedules/{sid}", window).get("schedule") or {}
            name = str(s.get("name") or summary.get("name") or sid)
            what = f"schedule {name!r}"
            timezone = zone(s.get("time_zone"), what, self.report) or "UTC"
            layers = [lay for lay in (self.layer(raw, what) for raw in reversed(s.get("schedule_layers") or [])) if lay]
            if not layers:
                self.report.skip(what, "no layer with users could be imported")
                continue
            overrides = []
            raw_overrides = self.source.get(f"/schedules/{sid}/overrides", window).get("overrides") or []
            for o in raw_overrides:
                email = self.email(o.get("user"), f"{what} override {o.get('id')}")
                if email and _time(o["end"]) > self.now:
                    overrides.append(OverrideSpec(user=email, start=_time(o["start"]), end=_time(o["end"])))
            entries = ((s.get("final_schedule") or {}).get("rendered_schedule_entries")) or []
            shifts = []
            for e in entries:
                email = self.email(e.get("user"), f"{what} final schedule entry")
                if email:
                    shifts.append(SourceShift(email, _time(e["start"]), _time(e["end"])))
            self.source_shifts[name] = shifts
            self.schedule_names[sid] = name
            out.append(
                ScheduleSpec(
                    name=name,
                    timezone=timezone,
                    description=s.get("description") or "",
                    team=self.team(s.get("teams"), what),
                    layers=layers,
                    overrides=overrides,
                )
            )
        return out

    def layer(self, raw: dict[str, Any], schedule: str) -> LayerSpec | None:
        what = f"{schedule} layer {raw.get('name')!r}"
        end = _time(raw["end"]) if raw.get("end") else None
        if end is not None and end <= self.now:
            self.report.warn(what, "ended before the import; left out")
            return None
        users = [e for e in (self.email(u.get("user"), what) for u in raw.get("users") or []) if e]
        if not users:
            self.report.skip(what, "none of its users were imported")
            return None
        length = int(raw.get("rotation_turn_length_seconds") or 0)
        if length <= 0:
            self.report.skip(what, f"rotation_turn_length_seconds {length} is not a rotation")
            return None
        anchor = _time(raw.get("rotation_virtual_start") or raw["start"])
        start = _time(raw["start"])
        if start > self.now and start > anchor:
            self.report.warn(
                what,
                f"starts on {start:%Y-%m-%d %H:%M}Z but rotates from {anchor:%Y-%m-%d %H:%M}Z; Tocsin has one start, "
                "the rotation's, so this layer is on call before its start",
            )
        rotation = _ROTATIONS.get(length, "custom")
        return LayerSpec(
            name=str(raw.get("name") or ""),
            rotation=rotation,
            start=anchor,
            users=users,
            shift_length=None if rotation in ("daily", "weekly") else length,
            restrictions=self.restrictions(raw.get("restrictions") or [], what),
            end=end,
        )

    def restrictions(self, raw: list[dict[str, Any]], what: str) -> list[RestrictionSpec]:
        pieces: dict[tuple[int, int], set[int]] = {}
        for r in raw:
            kind = r.get("type")
            clock = str(r.get("start_time_of_day") or "00:00:00").split(":")
            start = int(clock[0]) * 60 + int(clock[1])
            if len(clock) > 2 and int(clock[2]):
                self.report.warn(what, f"restriction start {r.get('start_time_of_day')} rounded down to the minute")
            duration = int(r.get("duration_seconds") or 0) // 60
            if kind == "daily_restriction":
                days = list(range(7))
                duration = min(duration, 1440)
            elif kind == "weekly_restriction":
                days = [(int(r.get("start_day_of_week") or 1) - 1) % 7]
                duration = min(duration, 7 * 1440)
            else:
                self.report.skip(f"{what} restriction", f"unknown restriction type {kind!r}")
                continue
            if duration <= 0:
                continue
            for day in days:
                # Tocsin's windows are at most a day long: a longer weekly one becomes one window per day it covers.
                left, at, on = duration, start, day
                while left > 0:
                    take = min(left, 1440 - at)
                    pieces.setdefault((at, (at + take) % 1440), set()).add(on)
                    left -= take
                    at, on = 0, (on + 1) % 7
        return [
            RestrictionSpec(days=sorted(days), start=f"{a // 60:02d}:{a % 60:02d}", end=f"{b // 60:02d}:{b % 60:02d}")
            for (a, b), days in sorted(pieces.items())
        ]

    # --- escalation, services, maintenance -----------------------------------------------------------------

    def policies(self) -> list[PolicySpec]:
        out = []
        for p in listing(self.source, "/escalation_policies", "escalation_policies"):
            what = f"escalation policy {p.get('name')!r}"
            steps = []
            for n, rule in enumerate(p.get("escalation_rules") or []):
                targets = []
                for t in rule.get("targets") or []:
                    kind, tid = t.get("type"), str(t.get("id"))
                    if kind in ("user_reference", "user"):
                        email = self.email(t, f"{what} level {n + 1}")
                        if email:
                            targets.append(TargetSpec(user=email))
                    elif kind in ("schedule_reference", "schedule") and tid in self.schedule_names:
                        targets.append(TargetSpec(schedule=self.schedule_names[tid]))
                    else:
                        self.report.skip(f"{what} level {n + 1} target {tid}", f"{kind} was not imported")
                if not targets:
                    self.report.skip(f"{what} level {n + 1}", "no target could be imported")
                    continue
                steps.append(StepSpec(targets=targets, delay=int(rule.get("escalation_delay_in_minutes") or 0) * 60))
            if not steps:
                self.report.skip(what, "no level could be imported")
                continue
            loops = int(p.get("num_loops") or 0)
            if loops > 9:
                self.report.warn(what, f"repeats {loops} times; Tocsin repeats at most 9")
            self.policy_names[str(p["id"])] = p["name"]
            out.append(
                PolicySpec(
                    name=p["name"],
                    description=p.get("description") or "",
                    team=self.team(p.get("teams"), what),
                    repeat=min(loops, 9),
                    steps=steps,
                )
            )
        return out

    def services(self) -> list[ServiceSpec]:
        out = []
        for s in listing(self.source, "/services", "services", {"include[]": ["integrations"]}):
            what = f"service {s.get('name')!r}"
            integrations = []
            for i in s.get("integrations") or []:
                kind = _INTEGRATIONS.get(str(i.get("type")))
                if kind is None:
                    self.report.skip(
                        f"{what} integration {i.get('name') or i.get('summary')!r}",
                        f"type {i.get('type')} has no Tocsin equivalent",
                    )
                    continue
                try:
                    integrations.append(
                        IntegrationSpec(
                            name=str(i.get("name") or i.get("summary") or "events"),
                            type=kind,
                            key=i.get("integration_key"),
                        )
                    )
                except ValidationError as exc:
                    self.report.skip(f"{what} integration {i.get('name')!r}", _why(exc))
            policy = self.policy_names.get(str((s.get("escalation_policy") or {}).get("id")))
            if policy is None:
                self.report.warn(what, "its escalation policy was not imported; it has none")
            rule = s.get("incident_urgency_rule") or {}
            urgency = rule.get("urgency") if rule.get("type", "constant") == "constant" else rule.get("type")
            if urgency not in (None, "high", "low"):
                self.report.warn(what, f"urgency rule {urgency!r} has no Tocsin equivalent; imported as high")
                urgency = "high"
            ack = s.get("acknowledgement_timeout")
            self.service_names[str(s["id"])] = s["name"]
            out.append(
                ServiceSpec(
                    name=s["name"],
                    description=s.get("description") or "",
                    team=self.team(s.get("teams"), what),
                    urgency=urgency,
                    auto_resolve=s.get("auto_resolve_timeout") is not None,
                    ack_timeout=int(ack) if ack else None,
                    escalation_policy=policy,
                    integrations=integrations,
                )
            )
        return out

    def maintenance(self) -> list[MaintenanceWindowSpec]:
        out = []
        for w in listing(self.source, "/maintenance_windows", "maintenance_windows"):
            start, end = _time(w["start_time"]), _time(w["end_time"])
            if end <= self.now:
                continue
            for ref in w.get("services") or []:
                service = self.service_names.get(str(ref.get("id")))
                if service is None:
                    self.report.skip(f"maintenance window {w.get('id')}", f"service {ref.get('id')} was not imported")
                    continue
                out.append(
                    MaintenanceWindowSpec(
                        name=f"{w.get('description') or 'maintenance'} ({w.get('id')})"[:200],
                        service=service,
                        start=start,
                        rrule="FREQ=DAILY;COUNT=1",
                        duration=int((end - start).total_seconds()),
                        comment=w.get("description") or "maintenance window",
                    )
                )
        return out


def import_pagerduty(source: Source, *, now: datetime) -> tuple[ConfigFile, dict[str, list[SourceShift]], Report]:
    """The configuration, each schedule's final schedule as PagerDuty renders it, and what was not mapped."""
    run = _Importer(source, now.astimezone(UTC))
    users, members = run.users()
    teams = run.teams(members)
    schedules = run.schedules()
    policies = run.policies()
    services = run.services()
    windows = run.maintenance()
    config = ConfigFile(
        users=users,
        teams=teams,
        schedules=schedules,
        escalation_policies=policies,
        services=services,
        maintenance_windows=windows,
    )
    return config, run.source_shifts, run.report


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _why(exc: ValidationError) -> str:
    return "; ".join(str(e.get("msg")) for e in exc.errors())
