"""A fake Grafana OnCall public API: ``GET /api/v1/...`` with ``Authorization: <token>``, lists as ``{"count",
"next", "previous", "results"}``, and ``/schedules/{id}/final_shifts`` rendered by the fake's own reading of
OnCall's rules (rolling users turn per period on the shift's wall clock, the shift lasting ``duration`` from each
turn's start on the ``by_day`` days, the higher level winning, overrides on top). Any other call fails the test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.fakes._server import FakeServer, Reply, Request

TOKEN = "fake-oncall-token-0123456789"
_LISTS = {"users", "schedules", "on_call_shifts", "escalation_chains", "escalation_policies", "integrations"}
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_STEP = timedelta(minutes=15)


class FakeGrafanaOnCall:
    def __init__(self, data: dict[str, list[dict[str, Any]]], *, page_size: int = 2) -> None:
        self.data = data
        self.page_size = page_size
        self.unexpected: list[str] = []
        self.server = FakeServer(self._handle)

    def __enter__(self) -> FakeGrafanaOnCall:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def _page(self, path: str, items: list[dict[str, Any]], query: dict[str, str]) -> Reply:
        page_no = int(query.get("page", "1"))
        a = (page_no - 1) * self.page_size
        rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "page")
        more = a + self.page_size < len(items)
        following = f"{self.url}{path}?{rest}&page={page_no + 1}" if more else None
        return Reply.json(
            200, {"count": len(items), "next": following, "previous": None, "results": items[a : a + self.page_size]}
        )

    def _handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.headers.get("authorization") != TOKEN:
            return Reply.json(401, {"detail": "Invalid token."})
        bits = parts.path.strip("/").split("/")
        if request.method == "GET" and bits[:2] == ["api", "v1"] and len(bits) == 3 and bits[2] in _LISTS:
            return self._page(parts.path, copy.deepcopy(self.data[bits[2]]), query)
        if request.method == "GET" and len(bits) == 5 and bits[2] == "schedules" and bits[4] == "final_shifts":
            schedule = next((s for s in self.data["schedules"] if s["id"] == bits[3]), None)
            if schedule is not None:
                start = datetime.fromisoformat(query["start_date"]).replace(tzinfo=UTC)
                end = datetime.fromisoformat(query["end_date"]).replace(tzinfo=UTC)
                return self._page(parts.path, render(self.data, schedule, start, end), query)
        self.unexpected.append(f"{request.method} {request.path}")
        return Reply.json(404, {"detail": "Not found."})


def _start(shift: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(shift["start"]).replace(tzinfo=ZoneInfo(shift["time_zone"]))


def _who(shift: dict[str, Any], at: datetime, users: dict[str, str]) -> str | None:
    zone = ZoneInfo(shift["time_zone"])
    start = _start(shift)
    if at < start:
        return None
    if shift["type"] == "override":
        return users[shift["users"][0]] if at < start + timedelta(seconds=shift["duration"]) else None
    period = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}[shift["frequency"]] * shift.get("interval", 1)
    local, anchor = at.astimezone(zone).replace(tzinfo=None), start.replace(tzinfo=None)
    turn = int((local - anchor) / period)
    # The shift lasts ``duration`` from its start time, on each listed day of the turn.
    day_start = anchor.replace(year=local.year, month=local.month, day=local.day)
    if day_start > local:
        day_start -= timedelta(days=1)
    if shift.get("by_day") and _BYDAY[day_start.weekday()] not in shift["by_day"]:
        return None
    if shift["duration"] < period.total_seconds() and local >= day_start + timedelta(seconds=shift["duration"]):
        return None
    groups = shift["rolling_users"]
    return users[groups[turn % len(groups)][0]]


def render(data: dict[str, Any], schedule: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    users = {u["id"]: u["email"] for u in data["users"]}
    shifts = [s for s in data["on_call_shifts"] if s["id"] in schedule["shifts"]]
    overrides = [s for s in shifts if s["type"] == "override"]
    layers = sorted((s for s in shifts if s["type"] != "override"), key=lambda s: -s["level"])
    ids = {email: uid for uid, email in users.items()}
    out: list[dict[str, Any]] = []
    at = start
    while at < end:
        who = next((w for s in overrides + layers if (w := _who(s, at, users))), None)
        if who and out and out[-1]["user_email"] == who and out[-1]["shift_end"] == _iso(at):
            out[-1]["shift_end"] = _iso(at + _STEP)
        elif who:
            out.append(
                {
                    "user_pk": ids[who],
                    "user_email": who,
                    "user_username": who.split("@")[0],
                    "shift_start": _iso(at),
                    "shift_end": _iso(at + _STEP),
                }
            )
        at += _STEP
    return out


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
