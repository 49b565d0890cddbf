"""Grafana OnCall (its public API, ``/api/v1/…``) to a Tocsin configuration.

Read with ``Authorization: <token>``, following ``next``. Rolling-users shifts become layers ordered by their
level (higher levels win, as in OnCall); a shift shorter than its period becomes a restriction window; override
shifts become overrides. Escalation chains become policies: ``wait`` steps become the delay of the step before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from tocsin.config.schema import (
    ConfigFile,
    LayerSpec,
    OverrideSpec,
    PolicySpec,
    RestrictionSpec,
    ScheduleSpec,
    ServiceSpec,
    StepSpec,
    TargetSpec,
    UserSpec,
)
from tocsin.importers.check import DAYS, SourceShift
from tocsin.importers.source import Report, Source, SourceError
from tocsin.importers.zones import zone

_ROLES = {"admin": "admin", "editor": "responder", "viewer": "observer"}
_BYDAY = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_PERIOD = {"hourly": 3600, "daily": 86400, "weekly": 604800}


def headers(token: str) -> dict[str, str]:
    return {"Authorization": token}


def listing(source: Source, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    body = source.get(path, params)
    while True:
        page = body.get("results")
        if not isinstance(page, list):
            raise SourceError(f"GET {path}: the answer has no 'results' list")
        items.extend(page)
        following = body.get("next")
        if not following:
            return items
        if following in seen or not page:
            raise SourceError(f"GET {path}: 'next' leads back or to nothing ({following})")
        seen.add(following)
        body = source.get(following)


def _local(text: str, tz: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


class _Importer:
    def __init__(self, source: Source, now: datetime) -> None:
        self.source = source
        self.now = now
        self.report = Report()
        self.emails: dict[str, str] = {}
        self.schedules: dict[str, str] = {}
        self.policies: dict[str, str] = {}
        self.shifts: dict[str, list[SourceShift]] = {}

    def users(self) -> list[UserSpec]:
        out = []
        for u in listing(self.source, "/api/v1/users/"):
            what = f"user {u.get('email')}"
            role = _ROLES.get(str(u.get("role")))
            if role is None:
                self.report.warn(what, f"unknown role {u.get('role')!r}; imported as responder")
                role = "responder"
            try:
                spec = UserSpec(
                    email=u.get("email"),
                    name=u.get("name") or u.get("username"),
                    timezone=zone(u.get("timezone"), what, self.report),
                    role=role,
                )
            except ValidationError as exc:
                self.report.skip(what, "; ".join(str(e.get("msg")) for e in exc.errors()))
                continue
            self.emails[str(u["id"])] = spec.email
            out.append(spec)
        self.report.warn(
            "users", "notification rules are not read from Grafana OnCall; add contact methods in the file"
        )
        return out

    def schedule_specs(self) -> list[ScheduleSpec]:
        shifts = {str(s["id"]): s for s in listing(self.source, "/api/v1/on_call_shifts/")}
        out = []
        for s in listing(self.source, "/api/v1/schedules/"):
            what = f"schedule {s.get('name')!r}"
            if s.get("type") == "ical":
                self.report.skip(what, "iCalendar schedules are not imported; recreate its layers in the file")
                continue
            timezone = zone(s.get("time_zone"), what, self.report) or "UTC"
            mine = [shifts[str(i)] for i in s.get("shifts") or [] if str(i) in shifts]
            layers: list[tuple[int, LayerSpec]] = []
            overrides: list[OverrideSpec] = []
            for shift in mine:
                if shift.get("type") == "override":
                    overrides.extend(self.override(shift, what))
                else:
                    layer = self.layer(shift, what, timezone)
                    if layer:
                        layers.append((int(shift.get("level") or 0), layer))
            if not layers:
                self.report.skip(what, "no shift could be imported")
                continue
            self.schedules[str(s["id"])] = s["name"]
            self.shifts[s["name"]] = self.final(str(s["id"]), what)
            out.append(
                ScheduleSpec(
                    name=s["name"],
                    timezone=timezone,
                    layers=[lay for _, lay in sorted(layers, key=lambda p: p[0])],
                    overrides=overrides,
                )
            )
        return out

    def layer(self, shift: dict[str, Any], schedule: str, timezone: str) -> LayerSpec | None:
        what = f"{schedule} shift {shift.get('name')!r}"
        kind = shift.get("type")
        groups = shift.get("rolling_users") if kind == "rolling_users" else [shift.get("users") or []]
        users = []
        for group in groups or []:
            known = [self.emails[str(u)] for u in group if str(u) in self.emails]
            if len(group) > 1:
                self.report.warn(what, f"{len(group)} people share a turn; Tocsin pages one: {known[:1]}")
            if known:
                users.append(known[0])
        if not users:
            self.report.skip(what, "none of its users were imported")
            return None
        frequency, interval = shift.get("frequency"), int(shift.get("interval") or 1)
        tz = zone(shift.get("time_zone"), what, self.report) or timezone
        start = _local(shift["start"], tz)
        duration = int(shift.get("duration") or 0)
        if kind == "single_event" or frequency not in _PERIOD:
            self.report.skip(what, f"{kind} shifts with frequency {frequency!r} are not imported")
            return None
        if kind == "recurrent_event" and len(users) > 1:
            self.report.warn(what, "everyone of a recurrent event is on call at once; Tocsin rotates them")
        period = _PERIOD[frequency] * interval
        rotation = "hourly" if frequency == "hourly" else "custom" if interval > 1 else frequency
        restrictions: list[RestrictionSpec] = []
        days = sorted(_BYDAY[d] for d in shift.get("by_day") or [] if d in _BYDAY)
        if duration < period or days:
            local = start.astimezone(ZoneInfo(tz))
            if duration > 86400 or tz != timezone:
                self.report.skip(
                    what, "a shift longer than a day within its period, or in another zone, is not expressible"
                )
                return None
            end = local + timedelta(seconds=duration)
            restrictions.append(
                RestrictionSpec(
                    days=days or list(range(7)),
                    start=f"{local:%H:%M}",
                    end="00:00" if duration == 86400 and local.hour == 0 else f"{end:%H:%M}",
                )
            )
            if days and frequency == "daily":
                period = 86400 * interval
        until = _local(shift["until"], tz) if shift.get("until") else None
        offset = int(shift.get("start_rotation_from_user_index") or 0)
        users = users[offset:] + users[:offset]
        return LayerSpec(
            name=str(shift.get("name") or ""),
            rotation=rotation,
            start=start,
            users=users,
            shift_length=period if rotation in ("hourly", "custom") else None,
            restrictions=restrictions,
            end=until,
        )

    def override(self, shift: dict[str, Any], what: str) -> list[OverrideSpec]:
        tz = shift.get("time_zone") or "UTC"
        start = _local(shift["start"], zone(tz, what, self.report) or "UTC")
        end = start + timedelta(seconds=int(shift.get("duration") or 0))
        if end <= self.now:
            return []
        users = [self.emails[str(u)] for u in shift.get("users") or [] if str(u) in self.emails]
        if not users:
            self.report.skip(f"{what} override {shift.get('id')}", "its user was not imported")
            return []
        return [OverrideSpec(user=users[0], start=start, end=end)]

    def final(self, sid: str, what: str) -> list[SourceShift]:
        params = {"start_date": f"{self.now:%Y-%m-%d}", "end_date": f"{self.now + timedelta(days=DAYS + 1):%Y-%m-%d}"}
        out = []
        for f in listing(self.source, f"/api/v1/schedules/{sid}/final_shifts", params):
            email = f.get("user_email") or self.emails.get(str(f.get("user_pk")))
            if email:
                out.append(SourceShift(email, _local(f["shift_start"], "UTC"), _local(f["shift_end"], "UTC")))
        return out

    def chains(self) -> list[PolicySpec]:
        steps_of: dict[str, list[dict[str, Any]]] = {}
        for p in listing(self.source, "/api/v1/escalation_policies/"):
            steps_of.setdefault(str(p.get("escalation_chain_id")), []).append(p)
        out = []
        for chain in listing(self.source, "/api/v1/escalation_chains/"):
            what = f"escalation chain {chain.get('name')!r}"
            steps: list[StepSpec] = []
            repeat = 0
            for p in sorted(steps_of.get(str(chain["id"]), []), key=lambda x: int(x.get("position") or 0)):
                kind = p.get("type")
                if kind == "wait":
                    if steps:
                        steps[-1].delay += int(p.get("duration") or 0)
                    else:
                        self.report.warn(what, "a wait before the first notification is not kept")
                elif kind == "repeat_escalation":
                    repeat = 5
                elif kind in ("notify_persons", "notify_person_next_each_time"):
                    targets = [
                        TargetSpec(user=self.emails[str(u)])
                        for u in p.get("persons_to_notify") or []
                        if str(u) in self.emails
                    ]
                    if targets:
                        steps.append(StepSpec(targets=targets))
                    else:
                        self.report.skip(f"{what} step {p.get('position')}", "none of its people were imported")
                elif (
                    kind == "notify_on_call_from_schedule"
                    and str(p.get("notify_on_call_from_schedule")) in self.schedules
                ):
                    steps.append(
                        StepSpec(targets=[TargetSpec(schedule=self.schedules[str(p["notify_on_call_from_schedule"])])])
                    )
                else:
                    self.report.skip(f"{what} step {p.get('position')}", f"step type {kind!r} is not imported")
            if repeat:
                self.report.warn(what, "repeats up to 5 times in Grafana OnCall; kept as repeat 5")
            if not steps:
                self.report.skip(what, "no step could be imported")
                continue
            self.policies[str(chain["id"])] = chain["name"]
            out.append(PolicySpec(name=chain["name"], repeat=repeat, steps=steps))
        return out

    def integrations(self) -> list[ServiceSpec]:
        out = []
        for i in listing(self.source, "/api/v1/integrations/"):
            chain = str((i.get("default_route") or {}).get("escalation_chain_id"))
            out.append(ServiceSpec(name=i["name"], escalation_policy=self.policies.get(chain)))
        if out:
            self.report.warn(
                "integrations", "each becomes a service; add the integration type its senders use in the file"
            )
        return out


def import_grafana_oncall(source: Source, *, now: datetime) -> tuple[ConfigFile, dict[str, list[SourceShift]], Report]:
    run = _Importer(source, now.astimezone(UTC))
    users = run.users()
    schedules = run.schedule_specs()
    policies = run.chains()
    services = run.integrations()
    return (
        ConfigFile(users=users, schedules=schedules, escalation_policies=policies, services=services),
        run.shifts,
        run.report,
    )
