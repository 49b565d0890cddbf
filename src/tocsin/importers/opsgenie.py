"""Opsgenie (and Jira Service Management operations) to a Tocsin configuration.

Read with ``Authorization: GenieKey …``, following ``paging.next``. Opsgenie pages everyone of overlapping
rotations at once, Tocsin one person per instant (the later layer wins): the check lists such hours. Escalation
rule delays count from the start of the alert; Tocsin's from the step before, so they are turned into gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tocsin.config.schema import (
    ConfigFile,
    ContactMethodSpec,
    LayerSpec,
    OverrideSpec,
    PolicySpec,
    RestrictionSpec,
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

DEFAULT_URL = "https://api.opsgenie.com"
_ROLES = {"owner": "admin", "admin": "admin", "user": "responder", "observer": "observer", "stakeholder": "observer"}
_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {token}"}


def listing(source: Source, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    body = source.get(path, params)
    while True:
        page = body.get("data")
        if not isinstance(page, list):
            raise SourceError(f"GET {path}: the answer has no 'data' list")
        items.extend(page)
        following = (body.get("paging") or {}).get("next")
        if not following:
            return items
        if following in seen or not page:
            raise SourceError(f"GET {path}: paging.next leads back or to nothing ({following})")
        seen.add(following)
        body = source.get(following)


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Importer:
    def __init__(self, source: Source, now: datetime) -> None:
        self.source = source
        self.now = now
        self.report = Report()
        self.emails: dict[str, str] = {}
        self.teams: dict[str, str] = {}
        self.schedules: dict[str, str] = {}
        self.shifts: dict[str, list[SourceShift]] = {}

    def users(self) -> list[UserSpec]:
        out = []
        for u in listing(self.source, "/v2/users", {"limit": 100, "expand": "contact"}):
            what = f"user {u.get('username')}"
            role_name = str((u.get("role") or {}).get("name") or "").lower()
            role = _ROLES.get(role_name)
            if role is None:
                self.report.warn(what, f"unknown role {role_name!r}; imported as responder")
                role = "responder"
            try:
                spec = UserSpec(
                    email=u.get("username"),
                    name=u.get("fullName"),
                    timezone=zone(u.get("timeZone"), what, self.report),
                    role=role,
                    contact_methods=self.contacts(u.get("userContacts") or [], what),
                )
            except ValidationError as exc:
                self.report.skip(what, "; ".join(str(e.get("msg")) for e in exc.errors()))
                continue
            self.emails[str(u["id"])] = spec.email
            out.append(spec)
        self.report.warn(
            "users", "notification rules are not read from Opsgenie; add each user's notification_rules in the file"
        )
        return out

    def contacts(self, raw: list[dict[str, Any]], what: str) -> list[ContactMethodSpec]:
        out: list[ContactMethodSpec] = []
        for c in raw:
            kind = str(c.get("contactMethod"))
            if kind not in ("email", "sms", "voice"):
                self.report.skip(f"{what} contact {c.get('to')!r}", f"method {kind} has no Tocsin equivalent")
                continue
            # Opsgenie writes phone numbers as "49-15123456789": country code, dash, number.
            address = "+" + str(c.get("to", "")).replace("-", "") if kind != "email" else str(c.get("to", ""))
            try:
                out.append(ContactMethodSpec(name=f"{kind} {len(out) + 1}", type=kind, address=address))
            except ValidationError as exc:
                self.report.skip(f"{what} contact {c.get('to')!r}", "; ".join(str(e.get("msg")) for e in exc.errors()))
        return out

    def team_specs(self) -> list[TeamSpec]:
        out = []
        for t in listing(self.source, "/v2/teams"):
            self.teams[str(t["id"])] = t["name"]
            members = [
                self.emails[str(m["user"]["id"])] for m in t.get("members") or [] if str(m["user"]["id"]) in self.emails
            ]
            out.append(TeamSpec(name=t["name"], description=t.get("description") or "", members=sorted(members)))
        return out

    def schedule_specs(self) -> list[ScheduleSpec]:
        out = []
        for s in listing(self.source, "/v2/schedules", {"expand": "rotation"}):
            what = f"schedule {s.get('name')!r}"
            timezone = zone(s.get("timezone"), what, self.report) or "UTC"
            layers = [lay for lay in (self.layer(r, what) for r in s.get("rotations") or []) if lay]
            if not layers:
                self.report.skip(what, "no rotation with users could be imported")
                continue
            self.schedules[str(s["id"])] = s["name"]
            self.shifts[s["name"]] = self.timeline(str(s["id"]), what)
            out.append(
                ScheduleSpec(
                    name=s["name"],
                    timezone=timezone,
                    description=s.get("description") or "",
                    team=self.teams.get(str((s.get("ownerTeam") or {}).get("id"))),
                    layers=layers,
                    overrides=self.overrides(str(s["id"]), what),
                )
            )
        return out

    def overrides(self, sid: str, what: str) -> list[OverrideSpec]:
        out = []
        for o in self.source.get(f"/v2/schedules/{sid}/overrides").get("data") or []:
            user = o.get("user") or {}
            name = f"{what} override {o.get('alias')!r}"
            if _time(o["endDate"]) <= self.now:
                continue
            if user.get("type") != "user" or str(user.get("id")) not in self.emails:
                self.report.skip(name, f"its {user.get('type')} recipient was not imported")
                continue
            if o.get("rotations"):
                self.report.warn(name, "applies to some rotations only in Opsgenie; in Tocsin to the whole schedule")
            out.append(
                OverrideSpec(user=self.emails[str(user["id"])], start=_time(o["startDate"]), end=_time(o["endDate"]))
            )
        return out

    def layer(self, r: dict[str, Any], schedule: str) -> LayerSpec | None:
        what = f"{schedule} rotation {r.get('name')!r}"
        end = _time(r["endDate"]) if r.get("endDate") else None
        if end is not None and end <= self.now:
            self.report.warn(what, "ended before the import; left out")
            return None
        users = []
        for p in r.get("participants") or []:
            if p.get("type") == "user" and str(p.get("id")) in self.emails:
                users.append(self.emails[str(p["id"])])
            else:
                self.report.skip(
                    f"{what} participant {p.get('name') or p.get('id') or p.get('type')}",
                    f"{p.get('type')} participants are not imported",
                )
        if not users:
            self.report.skip(what, "none of its participants were imported")
            return None
        kind, length = r.get("type"), int(r.get("length") or 1)
        if kind == "hourly":
            rotation, seconds = "hourly", length * 3600
        elif kind in ("daily", "weekly"):
            days = length * (7 if kind == "weekly" else 1)
            rotation = kind if length == 1 else "custom"
            seconds = days * 86400
        else:
            self.report.skip(what, f"unknown rotation type {kind!r}")
            return None
        return LayerSpec(
            name=str(r.get("name") or ""),
            rotation=rotation,
            start=_time(r["startDate"]),
            users=users,
            shift_length=seconds if rotation in ("hourly", "custom") else None,
            restrictions=self.restrictions(r.get("timeRestriction"), what),
            end=end,
        )

    def restrictions(self, raw: dict[str, Any] | None, what: str) -> list[RestrictionSpec]:
        if not raw:
            return []
        if raw.get("type") == "time-of-day":
            x = raw.get("restriction") or {}
            return [RestrictionSpec(start=_hm(x["startHour"], x["startMin"]), end=_hm(x["endHour"], x["endMin"]))]
        if raw.get("type") == "weekday-and-time-of-day":
            out = []
            names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            for x in raw.get("restrictions") or []:
                first, last = names.index(x["startDay"]), names.index(x["endDay"])
                start, end = x["startHour"] * 60 + x["startMin"], x["endHour"] * 60 + x["endMin"]
                span = ((last - first) % 7) * 1440 + end - start
                if span <= 0:
                    span += 7 * 1440
                # One window per day it covers: Tocsin's windows are at most a day long.
                at, day = start, first
                while span > 0:
                    take = min(span, 1440 - at)
                    out.append(
                        RestrictionSpec(
                            days=[day],
                            start=_hm(at // 60, at % 60),
                            end=_hm(((at + take) % 1440) // 60, (at + take) % 60),
                        )
                    )
                    span -= take
                    at, day = 0, (day + 1) % 7
            return out
        self.report.skip(f"{what} time restriction", f"unknown type {raw.get('type')!r}; the rotation is unrestricted")
        return []

    def timeline(self, sid: str, what: str) -> list[SourceShift]:
        params = {"interval": DAYS, "intervalUnit": "days", "date": self.now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        body = self.source.get(f"/v2/schedules/{sid}/timeline", params).get("data") or {}
        out = []
        for rotation in (body.get("finalTimeline") or {}).get("rotations") or []:
            for p in rotation.get("periods") or []:
                who = p.get("recipient") or {}
                email = self.emails.get(str(who.get("id")))
                if email is None:
                    self.report.warn(
                        what, f"the timeline names {who.get('name') or who.get('id')}, who was not imported"
                    )
                    continue
                out.append(SourceShift(email, _time(p["startDate"]), _time(p["endDate"])))
        return out

    def policies(self) -> list[PolicySpec]:
        out = []
        for e in listing(self.source, "/v2/escalations"):
            what = f"escalation {e.get('name')!r}"
            by_delay: dict[int, list[TargetSpec]] = {}
            for rule in e.get("rules") or []:
                delay = rule.get("delay") or {}
                seconds = int(delay.get("timeAmount") or 0) * _UNITS.get(str(delay.get("timeUnit") or "minutes"), 60)
                if rule.get("condition", "if-not-acked") != "if-not-acked":
                    self.report.warn(what, f"condition {rule.get('condition')!r} is treated as if-not-acked")
                target = self.target(rule.get("recipient") or {}, what)
                if target:
                    by_delay.setdefault(seconds, []).append(target)
            if not by_delay:
                self.report.skip(what, "no rule could be imported")
                continue
            marks = sorted(by_delay)
            repeat = e.get("repeat") or {}
            wait = int(repeat.get("waitInterval") or 0) * 60
            steps = [
                StepSpec(targets=by_delay[m], delay=(marks[i + 1] - m) if i + 1 < len(marks) else wait)
                for i, m in enumerate(marks)
            ]
            count = int(repeat.get("count") or 0)
            if count > 9:
                self.report.warn(what, f"repeats {count} times; Tocsin repeats at most 9")
            out.append(
                PolicySpec(
                    name=e["name"],
                    description=e.get("description") or "",
                    team=self.teams.get(str((e.get("ownerTeam") or {}).get("id"))),
                    repeat=min(count, 9),
                    steps=steps,
                )
            )
        return out

    def target(self, recipient: dict[str, Any], what: str) -> TargetSpec | None:
        kind, rid = recipient.get("type"), str(recipient.get("id"))
        if kind == "user" and rid in self.emails:
            return TargetSpec(user=self.emails[rid])
        if kind == "schedule" and rid in self.schedules:
            return TargetSpec(schedule=self.schedules[rid])
        if kind == "team" and rid in self.teams:
            return TargetSpec(team=self.teams[rid])
        self.report.skip(f"{what} recipient {recipient.get('name') or rid}", f"{kind} was not imported")
        return None

    def services(self) -> list[ServiceSpec]:
        out = []
        for s in listing(self.source, "/v1/services"):
            out.append(
                ServiceSpec(
                    name=s["name"], description=s.get("description") or "", team=self.teams.get(str(s.get("teamId")))
                )
            )
        if out:
            self.report.warn(
                "services",
                "Opsgenie routes alerts by integration and team; "
                "set each service's escalation_policy and integrations in the file",
            )
        return out


def _hm(hour: int, minute: int) -> str:
    return f"{int(hour) % 24:02d}:{int(minute):02d}"


def import_opsgenie(source: Source, *, now: datetime) -> tuple[ConfigFile, dict[str, list[SourceShift]], Report]:
    run = _Importer(source, now.astimezone(UTC))
    users = run.users()
    teams = run.team_specs()
    schedules = run.schedule_specs()
    policies = run.policies()
    services = run.services()
    config = ConfigFile(users=users, teams=teams, schedules=schedules, escalation_policies=policies, services=services)
    return config, run.shifts, run.report
