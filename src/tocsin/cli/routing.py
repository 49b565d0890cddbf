"""``tocsin route test`` (what would happen to an event) and ``tocsin noise`` (the noise report)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from tocsin.alerts import noise_report
from tocsin.api.rules import simulate_payload
from tocsin.cli._app import app, console, database, fail, now, print_json, reports_errors, table, text
from tocsin.core.clock import utc

route_app = typer.Typer(help="Test routing and noise rules", no_args_is_help=True)
app.add_typer(route_app, name="route")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _when(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise fail(f"not a date and time: {value!r} (use ISO 8601, e.g. 2026-11-02T09:00:00Z)") from None


def _verdict(e: dict[str, Any]) -> str:
    if e["outcome"] == "silenced":
        return f"silenced by silence #{e['silenced_by']}"
    if e["outcome"] == "inhibited":
        by = e["inhibited_by"] or {}
        return f"inhibited by alert {by.get('alert_id')} ({by.get('rule')})"
    if e["outcome"] == "grouped":
        return f"grouped into #{e['grouped_into']} by {e['grouped_by']}"
    if e["outcome"] == "created":
        return "pages " + (", ".join(e["would_page"]) or "nobody (no escalation policy or no one on call)")
    return str(e["outcome"])


@route_app.command("test")
@reports_errors
def route_test(
    payload: Annotated[Path, typer.Argument(metavar="PAYLOAD.json", help="An event as a sender would post it")],
    integration: Annotated[
        str | None, typer.Option("--integration", help="Integration key (default: the payload's routing_key)")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="Evaluate at this time (ISO 8601; default: now)")] = None,
    as_json: AsJson = False,
) -> None:
    """Say which rule matches, where the alert goes, whether it is grouped, silenced or inhibited, and who is
    paged. Nothing is stored."""
    try:
        data = orjson.loads(payload.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read {payload}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise fail(f"{payload} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"{payload} must hold a JSON object")
    when = _when(at, now())
    with database() as db, db.reader() as session:
        events = simulate_payload(session, data, integration, when)
    if as_json:
        print_json({"at": when.isoformat(), "events": events})
        return
    grid = table("Dedup key", "Rule", "Service", "Priority", "Outcome", nowrap=("Priority",))
    for e in events:
        grid.add_row(
            text(e["dedup_key"]),
            text(e["rule"] or "-"),
            text(e["service"]),
            text(e["priority"] or "-"),
            text(_verdict(e)),
        )
    console.print(grid)


@app.command("noise")
@reports_errors
def noise(
    since: Annotated[str | None, typer.Option(help="Start (ISO 8601; default: 7 days ago)")] = None,
    until: Annotated[str | None, typer.Option(help="End (ISO 8601; default: now)")] = None,
    as_json: AsJson = False,
) -> None:
    """Events → alerts → incidents → pages per service, and what kept the rest quiet."""
    end = _when(until, now() + timedelta(seconds=1))
    start = _when(since, end - timedelta(days=7))
    with database() as db, db.reader() as session:
        body = noise_report.report(session, since=start, until=end)
    if as_json:
        print_json(body)
        return
    grid = table("Service", "Events", "Alerts", "Incidents", "Pages", *noise_report.REASON_NAMES)
    for row in [*body["services"], {"service": "total", **body["totals"]}]:
        grid.add_row(
            text(row["service"]),
            *(str(row[k]) for k in ("events", "alerts", "incidents", "pages")),
            *(str(row["suppressed"][r]) for r in noise_report.REASON_NAMES),
        )
    console.print(grid)
    noisy = table("Service", "Alert", "Alerts", "Events", title="Noisiest alerts")
    for n in body["noisiest"]:
        noisy.add_row(text(n["service"]), text(n["alert"]), str(n["alerts"]), str(n["events"]))
    console.print(noisy)
    closed = body["closed_without_note"]
    console.print(
        f"Acknowledged and resolved without a note: {closed['without_note']} of "
        f"{closed['acknowledged_and_resolved']} ({closed['share']:.0%})"
    )
