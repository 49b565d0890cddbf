"""One import: read the source, map it, check the next 14 days of on-call against the source's own view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tocsin.config.schema import ConfigFile
from tocsin.importers import check, grafana_oncall, opsgenie, pagerduty
from tocsin.importers.check import SourceShift
from tocsin.importers.source import Report, Source

Importer = Callable[..., tuple[ConfigFile, dict[str, list[SourceShift]], Report]]
SOURCES: dict[str, Importer] = {
    "pagerduty": pagerduty.import_pagerduty,
    "opsgenie": opsgenie.import_opsgenie,
    "grafana-oncall": grafana_oncall.import_grafana_oncall,
}


@dataclass
class Imported:
    config: ConfigFile
    report: Report


def run_import(kind: str, source: Source, *, now: datetime) -> Imported:
    config, shifts, report = SOURCES[kind](source, now=now)
    for schedule in config.schedules:
        report.differences.extend(check.differences(schedule, shifts.get(schedule.name, []), now))
    return Imported(config, report)
