"""Flat exports of a metrics report (pure): one CSV row per group or bucket, durations in seconds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from tocsin.analytics.metrics import DURATIONS

COLUMNS = (
    "count",
    *(f"{m}_{s}" for m in DURATIONS for s in ("median", "p90", "mean")),
    "escalations_per_incident",
    "reopened",
    "auto_resolved_share",
    "downtime_cost",
)


def flat(figures: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"count": figures["count"]}
    for m in DURATIONS:
        for s in ("median", "p90", "mean"):
            row[f"{m}_{s}"] = figures[m][s]
    row["escalations_per_incident"] = figures["escalations"]["per_incident"]
    row["reopened"] = figures["reopened"]
    row["auto_resolved_share"] = figures["auto_resolved"]["share"]
    row["downtime_cost"] = figures["downtime_cost"]
    return row


def rows(report: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The report's groups when it has them, else its buckets, else the whole period."""
    if report.get("groups") is not None:
        for g in report["groups"]:
            yield {"group": report["by"], "key": g["key"], "label": g["label"], **flat(g)}
    elif report.get("trend") is not None:
        for b in report["trend"]:
            yield {"group": report["bucket"], "key": b["start"], "label": b["start"][:10], **flat(b)}
    else:
        yield {"group": "all", "key": "all", "label": "all", **flat(report["overall"])}


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=("group", "key", "label", *COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
