"""``tocsin report METRIC`` (count, mttd, mtta, mttm, mttr, first-update, downtime, escalations, reopened,
auto-resolved) over a period, by a group, and ``tocsin report health``: what the analytics pages show."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.analytics import export, metrics, periods
from tocsin.analytics import health as health_report
from tocsin.analytics import service as analytics
from tocsin.analytics.format import duration
from tocsin.cli._app import app, console, database, fail, now, print_json, reports_errors, table, text
from tocsin.cli.incidents import AsJson

report_app = typer.Typer(help="Response metrics and on-call health over a period", no_args_is_help=True)
app.add_typer(report_app, name="report")

Since = Annotated[str, typer.Option("--since", help="30d, 12h, 2w or an ISO 8601 date")]
Until = Annotated[str | None, typer.Option("--until", help="End of the period (default now)")]
By = Annotated[str | None, typer.Option("--by", help="service, team, type, severity, priority or category")]
AsCsv = Annotated[bool, typer.Option("--csv", help="Print CSV")]

_NAMES = {"first-update": "first_update", "auto-resolved": "auto_resolved"}


def _cell(name: str, figures: dict[str, Any]) -> list[str]:
    value = figures[name]
    if name == "count" or name == "reopened":
        return [str(value)]
    if name == "escalations":
        return [str(value["total"]), "" if value["per_incident"] is None else f"{value['per_incident']:.2f}"]
    if name == "auto_resolved":
        return [str(value["auto"]), "" if value["share"] is None else f"{value['share']:.0%}"]
    return [str(value["count"]), duration(value["median"]), duration(value["p90"]), duration(value["mean"])]


def _headers(name: str) -> tuple[str, ...]:
    if name in ("count", "reopened"):
        return (name,)
    if name == "escalations":
        return ("escalations", "per incident")
    if name == "auto_resolved":
        return ("auto-resolved", "share")
    return ("incidents", "median", "p90", "mean")


def _run(name: str, since: str, until: str | None, by: str | None, as_json: bool, as_csv: bool) -> None:
    metric = _NAMES.get(name, name)
    if metric not in metrics.METRICS:
        raise fail(f"unknown metric {name!r} (one of {', '.join(metrics.METRICS)})")
    p = periods.period(since, until, now=now())
    group = periods.group_by(by)
    with database() as db, db.reader() as session:
        body = metrics.report(session, p, by=group, with_trend=group is None, now=now())
    if as_json:
        print_json(body)
        return
    if as_csv:
        typer.echo(export.to_csv(body), nl=False)
        return
    console.print(metrics.DEFINITIONS[metric if metric in metrics.DEFINITIONS else "count"])
    grid = table(group or "period", *_headers(metric), title=f"{name} {p.since:%Y-%m-%d} → {p.until:%Y-%m-%d}")
    grid.add_row("all", *_cell(metric, body["overall"]))
    for g in body.get("groups", []):
        grid.add_row(text(g["label"]), *_cell(metric, g))
    console.print(grid)


def _command(name: str) -> None:
    @report_app.command(name, help=f"{name} over a period, by a group")
    @reports_errors
    def command(
        since: Since = "30d", until: Until = None, by: By = None, as_json: AsJson = False, as_csv: AsCsv = False
    ) -> None:
        _run(name, since, until, by, as_json, as_csv)


for _name in (
    "count",
    "mttd",
    "mtta",
    "mttm",
    "mttr",
    "first-update",
    "downtime",
    "escalations",
    "reopened",
    "auto-resolved",
):
    _command(_name)


@report_app.command("health")
@reports_errors
def health(
    team: Annotated[str | None, typer.Option("--team", help="Team name or id (default: everyone)")] = None,
    since: Since = "30d",
    until: Until = None,
    as_json: AsJson = False,
) -> None:
    """On-call health: hours on call, pages, interruptions by band of each person's day, broken nights."""
    p = periods.period(since, until, now=now())
    with database() as db, db.reader() as session:
        people = analytics.team_member_ids(session, team) if team else analytics.active_people(session)
        body = health_report.report(session, people, p)
    if as_json:
        print_json(body)
        return
    grid = table("person", "hours", "pages", "business", "off", "sleep", "nights", "streak", "warning")
    for h in body["people"]:
        i = h["interruptions"]
        grid.add_row(
            text(h["name"]),
            f"{h['hours_on_call']:.0f}",
            str(h["pages"]),
            str(i["business"]),
            str(i["off"]),
            str(i["sleep"]),
            str(h["sleep_nights"]),
            str(h["longest_streak"]),
            text("; ".join(h["warnings"])),
        )
    console.print(grid)
