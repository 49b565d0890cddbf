"""A fake PagerDuty REST API v2: ``GET`` with ``Authorization: Token token=…``, classic pagination (``offset``,
``limit``, ``more``, pages possibly shorter than asked), ``include[]``, and a schedule's ``final_schedule`` for
``since``/``until``. The final schedule is rendered here by the fake's own reading of PagerDuty's rules (layers
highest first, wall-clock turns in the schedule's zone, restrictions, overrides on top), independent of Tocsin's
calculator, so the import's check compares two separate computations. Any other call fails the test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.fakes._server import FakeServer, Reply, Request

TOKEN = "u+fakePagerDutyToken01"
_LISTS = {
    "/users": "users",
    "/teams": "teams",
    "/schedules": "schedules",
    "/escalation_policies": "escalation_policies",
    "/services": "services",
    "/maintenance_windows": "maintenance_windows",
}
_STEP = timedelta(minutes=15)


class FakePagerDuty:
    def __init__(self, data: dict[str, list[dict[str, Any]]], *, page_size: int = 2, token: str = TOKEN) -> None:
        self.data = data
        self.page_size = page_size
        self.token = token
        self.unexpected: list[str] = []
        self.hollow_page: str | None = None  # a list whose second page claims more but brings nothing
        self.server = FakeServer(self._handle)

    def __enter__(self) -> FakePagerDuty:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def _handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        path = parts.path
        if request.headers.get("authorization") != f"Token token={self.token}":
            return Reply.json(401, {"error": {"message": "Unauthenticated", "code": 2006}})
        if request.method != "GET":
            return self._unexpected(request)
        if path in _LISTS:
            return self._list(path, _LISTS[path], query)
        bits = path.strip("/").split("/")
        if len(bits) in (2, 3) and bits[0] == "schedules":
            schedule = next((s for s in self.data["schedules"] if s["id"] == bits[1]), None)
            if schedule is None:
                return Reply.json(404, {"error": {"message": "Not Found", "code": 2100}})
            since, until = _time(query["since"][0]), _time(query["until"][0])
            if len(bits) == 3 and bits[2] == "overrides":
                found = [
                    o for o in schedule.get("overrides", []) if _time(o["end"]) > since and _time(o["start"]) < until
                ]
                return Reply.json(200, {"overrides": found})
            if len(bits) == 2:
                body = {k: v for k, v in copy.deepcopy(schedule).items() if k != "overrides"}
                body["final_schedule"] = {
                    "name": "Final Schedule",
                    "rendered_schedule_entries": render(schedule, since, until),
                }
                return Reply.json(200, {"schedule": body})
        return self._unexpected(request)

    def _unexpected(self, request: Request) -> Reply:
        self.unexpected.append(f"{request.method} {request.path}")
        return Reply.json(404, {"error": {"message": "Not Found", "code": 2100}})

    def _list(self, path: str, key: str, query: dict[str, list[str]]) -> Reply:
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["25"])[0]), self.page_size)
        items = copy.deepcopy(self.data.get(key, []))
        includes = set(query.get("include[]", []))
        for item in items:
            for field in ("contact_methods", "notification_rules", "integrations"):
                if field in item and field not in includes:
                    # Without the include, PagerDuty sends references only.
                    item[field] = [{"id": x["id"], "type": x["type"] + "_reference"} for x in item[field]]
            item.pop("overrides", None)
            item.pop("schedule_layers", None) if key == "schedules" else None
        if self.hollow_page == path and offset > 0:
            return Reply.json(200, {key: [], "offset": offset, "limit": limit, "more": True, "total": None})
        page = items[offset : offset + limit]
        return Reply.json(
            200, {key: page, "offset": offset, "limit": limit, "more": offset + limit < len(items), "total": None}
        )


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _on_call(schedule: dict[str, Any], at: datetime) -> str | None:
    for o in reversed(schedule.get("overrides", [])):
        if _time(o["start"]) <= at < _time(o["end"]):
            return str(o["user"]["id"])
    zone = ZoneInfo(schedule["time_zone"] if schedule["time_zone"] != "US/Pacific-New" else "America/Los_Angeles")
    local = at.astimezone(zone).replace(tzinfo=None)
    for layer in schedule["schedule_layers"]:  # highest first
        if _time(layer["start"]) > at or (layer.get("end") and _time(layer["end"]) <= at):
            continue
        if layer["restrictions"] and not any(_inside(r, local) for r in layer["restrictions"]):
            continue
        anchor = _time(layer["rotation_virtual_start"]).astimezone(zone).replace(tzinfo=None)
        turn = int((local - anchor).total_seconds() // layer["rotation_turn_length_seconds"])
        users = layer["users"]
        return str(users[turn % len(users)]["user"]["id"])
    return None


def _inside(r: dict[str, Any], local: datetime) -> bool:
    h, m, _ = (int(x) for x in r["start_time_of_day"].split(":"))
    minutes = r["duration_seconds"] // 60
    if r["type"] == "daily_restriction":
        return (local.hour * 60 + local.minute - (h * 60 + m)) % 1440 < minutes
    week = local.weekday() * 1440 + local.hour * 60 + local.minute
    start = (r["start_day_of_week"] - 1) * 1440 + h * 60 + m
    return (week - start) % 10080 < minutes


def render(schedule: dict[str, Any], since: datetime, until: datetime) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    at = since
    while at < until:
        user = _on_call(schedule, at)
        nxt = min(at + _STEP, until)
        if entries and entries[-1]["user"]["id"] == user and entries[-1]["end"] == _iso(at):
            entries[-1]["end"] = _iso(nxt)
        elif user is not None:
            entries.append({"start": _iso(at), "end": _iso(nxt), "user": {"id": user, "type": "user_reference"}})
        at = nxt
    return entries


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
