"""A fake Opsgenie REST API: ``GET`` with ``Authorization: GenieKey …``, ``{"data": [...], "paging": {"next": URL}}``
lists, ``/v2/schedules?expand=rotation`` and ``/v2/schedules/{id}/timeline`` whose final timeline the fake renders by
its own reading of Opsgenie's rules (every overlapping rotation on call at once; daily and weekly turns on the
schedule's wall clock, hourly ones in elapsed time; time-of-day and weekday restrictions). Any other call fails
the test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.fakes._server import FakeServer, Reply, Request

KEY = "0c8f1f2e-0000-4000-8000-fakegeniekey"
_LISTS = {
    "/v2/users": "users",
    "/v2/teams": "teams",
    "/v2/schedules": "schedules",
    "/v2/escalations": "escalations",
    "/v1/services": "services",
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STEP = timedelta(minutes=15)


class FakeOpsgenie:
    def __init__(self, data: dict[str, list[dict[str, Any]]], *, page_size: int = 2) -> None:
        self.data = data
        self.page_size = page_size
        self.unexpected: list[str] = []
        self.server = FakeServer(self._handle)

    def __enter__(self) -> FakeOpsgenie:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def _handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.headers.get("authorization") != f"GenieKey {KEY}":
            return Reply.json(401, {"message": "Could not authenticate", "took": 0.001, "requestId": "r-1"})
        if request.method == "GET" and parts.path in _LISTS:
            key = _LISTS[parts.path]
            items = copy.deepcopy(self.data[key])
            for s in items if key == "schedules" else []:
                s.pop("overrides", None)
            if key == "schedules" and query.get("expand") != "rotation":
                for s in items:
                    s.pop("rotations", None)
            if key == "users" and query.get("expand") != "contact":
                for u in items:
                    u.pop("userContacts", None)
            offset = int(query.get("offset", "0"))
            page = items[offset : offset + self.page_size]
            body: dict[str, Any] = {"data": page, "took": 0.01, "requestId": "r-2"}
            if offset + self.page_size < len(items):
                rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "offset")
                body["paging"] = {"next": f"{self.url}{parts.path}?{rest}&offset={offset + self.page_size}"}
            return Reply.json(200, body)
        bits = parts.path.strip("/").split("/")
        if request.method == "GET" and len(bits) == 4 and bits[:2] == ["v2", "schedules"] and bits[3] == "overrides":
            schedule = next((s for s in self.data["schedules"] if s["id"] == bits[2]), None)
            if schedule is not None:
                return Reply.json(200, {"data": schedule.get("overrides", []), "took": 0.01, "requestId": "r-3"})
        if request.method == "GET" and len(bits) == 4 and bits[:2] == ["v2", "schedules"] and bits[3] == "timeline":
            schedule = next((s for s in self.data["schedules"] if s["id"] == bits[2]), None)
            if schedule is not None and query.get("intervalUnit") == "days":
                start = _time(query["date"])
                end = start + timedelta(days=int(query["interval"]))
                return Reply.json(200, {"data": {"finalTimeline": {"rotations": timeline(schedule, start, end)}}})
        self.unexpected.append(f"{request.method} {request.path}")
        return Reply.json(404, {"message": "Not found"})


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _who(schedule: dict[str, Any], r: dict[str, Any], at: datetime) -> str | None:
    zone = ZoneInfo(schedule["timezone"])
    start = _time(r["startDate"])
    if at < start or (r.get("endDate") and _time(r["endDate"]) <= at):
        return None
    local = at.astimezone(zone)
    restriction = r.get("timeRestriction")
    if restriction:
        minute = local.hour * 60 + local.minute
        if restriction["type"] == "time-of-day":
            x = restriction["restriction"]
            a, b = x["startHour"] * 60 + x["startMin"], x["endHour"] * 60 + x["endMin"]
            if not (minute - a) % 1440 < (b - a) % 1440:
                return None
        else:
            week = local.weekday() * 1440 + minute
            ok = False
            for x in restriction["restrictions"]:
                a = _DAYS.index(x["startDay"]) * 1440 + x["startHour"] * 60 + x["startMin"]
                b = _DAYS.index(x["endDay"]) * 1440 + x["endHour"] * 60 + x["endMin"]
                ok = ok or (week - a) % 10080 < ((b - a) % 10080 or 10080)
            if not ok:
                return None
    if r["type"] == "hourly":
        turn = int((at - start) / timedelta(hours=r["length"]))
    else:
        days = r["length"] * (7 if r["type"] == "weekly" else 1)
        naive = local.replace(tzinfo=None) - start.astimezone(zone).replace(tzinfo=None)
        turn = int(naive / timedelta(days=days))
    users = r["participants"]
    p = users[turn % len(users)]
    return p["id"] if p["type"] == "user" else None


def timeline(schedule: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    out = []
    for r in schedule["rotations"]:
        periods: list[dict[str, Any]] = []
        at = start
        while at < end:
            who = _who(schedule, r, at)
            for o in schedule.get("overrides", []):
                # An override takes the place of whoever the rotations it covers (all when none listed) have on call.
                if (
                    who
                    and _time(o["startDate"]) <= at < _time(o["endDate"])
                    and (not o["rotations"] or r["id"] in o["rotations"])
                ):
                    who = o["user"]["id"]
            if who and periods and periods[-1]["recipient"]["id"] == who and periods[-1]["endDate"] == _iso(at):
                periods[-1]["endDate"] = _iso(at + _STEP)
            elif who:
                periods.append(
                    {
                        "startDate": _iso(at),
                        "endDate": _iso(at + _STEP),
                        "type": "default",
                        "recipient": {"id": who, "type": "user"},
                    }
                )
            at += _STEP
        out.append({"id": r["id"], "name": r["name"], "order": 1, "periods": periods})
    return out


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
