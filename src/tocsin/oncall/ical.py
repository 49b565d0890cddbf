"""iCalendar (RFC 5545) feeds of on-call shifts, through the icalendar library."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from tocsin.oncall.calculator import Shift


def shift_uid(feed_key: str, shift: Shift, domain: str) -> str:
    """Stable per (feed, user, start): a calendar app updates the same event instead of adding a copy."""
    digest = hashlib.sha256(f"{feed_key}|{shift.user}|{shift.start.isoformat()}".encode()).hexdigest()[:32]
    return f"{digest}@{domain}"


def feed(
    name: str,
    entries: Iterable[tuple[str, Shift, str]],
    *,
    prodid: str,
    domain: str,
    stamp: datetime,
    url: str | None = None,
) -> bytes:
    """A calendar with one event per (feed key, shift, summary)."""
    cal = Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    if url:
        cal.add("url", url)
    for key, shift, summary in entries:
        event = Event()
        event.add("uid", shift_uid(key, shift, domain))
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", summary)
        event.add("sequence", 0)
        cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics
