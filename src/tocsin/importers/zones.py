"""Time zone names a source may still hold after the zone database dropped them."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.importers.source import Report

# Removed from the zone database (2020b) but still stored by sources for accounts created before.
RETIRED = {"US/Pacific-New": "America/Los_Angeles"}


def zone(name: str | None, what: str, report: Report) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    if name in RETIRED:
        report.warn(what, f"time zone {name!r} no longer exists; using {RETIRED[name]!r}, which it was an alias of")
        return RETIRED[name]
    report.warn(what, f"unknown time zone {name!r}; using UTC")
    return "UTC"
