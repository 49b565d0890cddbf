"""Targets, PASS/MISS verdicts, and the files a run leaves in bench/results/ (JSON per run, latest.json, README)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

START = "<!-- results:start -->"
END = "<!-- results:end -->"


@dataclass(frozen=True)
class Target:
    label: str
    benchmark: str
    path: str  # dotted path into the benchmark's figures
    op: str  # ">=" or "<"
    threshold: float
    unit: str

    def check(self, figures: dict[str, Any]) -> dict[str, Any]:
        value = lookup(figures, self.path)
        compare: Callable[[float, float], bool] = operator.ge if self.op == ">=" else operator.lt
        status = "n/a" if value is None else ("PASS" if compare(float(value), self.threshold) else "MISS")
        return {
            "label": self.label,
            "metric": self.path,
            "op": self.op,
            "threshold": self.threshold,
            "unit": self.unit,
            "value": value,
            "status": status,
        }


TARGETS: tuple[Target, ...] = (
    Target("PagerDuty events/s, SQLite", "ingest-sqlite", "events_per_s", ">=", 3000, "/s"),
    Target("PagerDuty events/s as % of ceiling, SQLite", "ingest-sqlite", "percent_of_ceiling", ">=", 45, "%"),
    Target("p99 at 1,000 events/s open loop, SQLite", "ingest-sqlite", "fixed_rate.p99_ms", "<", 50, "ms"),
    Target(
        "Alertmanager batches of 100, alerts/s, SQLite", "ingest-sqlite", "alertmanager_alerts_per_s", ">=", 20000, "/s"
    ),
    Target("Peak RSS of the server under load, SQLite", "ingest-sqlite", "peak_rss_mb", "<", 250, "MB"),
    Target("PagerDuty events/s, PostgreSQL", "ingest-postgres", "events_per_s", ">=", 3000, "/s"),
    Target("PagerDuty events/s as % of ceiling, PostgreSQL", "ingest-postgres", "percent_of_ceiling", ">=", 45, "%"),
    Target("p99 at 1,000 events/s open loop, PostgreSQL", "ingest-postgres", "fixed_rate.p99_ms", "<", 50, "ms"),
    Target(
        "Alertmanager batches of 100, alerts/s, PostgreSQL",
        "ingest-postgres",
        "alertmanager_alerts_per_s",
        ">=",
        20000,
        "/s",
    ),
    Target("Peak RSS of the server under load, PostgreSQL", "ingest-postgres", "peak_rss_mb", "<", 250, "MB"),
    Target(
        "War room median time to room, 200 at once, real Synapse", "chat-rooms", "median_time_to_room_s", "<", 2, "s"
    ),
    Target("Escalation fire lateness p99", "escalation", "fire_lateness_p99_s", "<", 1, "s"),
    Target("Escalation fire lateness max", "escalation", "fire_lateness_max_s", "<", 2, "s"),
    Target("Escalation fire lateness p99, large backlog", "escalation-backlog", "fire_lateness_p99_s", "<", 1, "s"),
    Target("Escalation fire lateness max, large backlog", "escalation-backlog", "fire_lateness_max_s", "<", 2, "s"),
    Target(
        "Event 2xx to first provider call p99 at 500 events/s, tocsin serve + tocsin worker",
        "event-to-page",
        "event_to_page_p99_ms",
        "<",
        500,
        "ms",
    ),
    Target("Webhook notifications/s", "notify-throughput", "messages_per_s", ">=", 500, "/s"),
    Target(
        "One status page update to 10,000 email subscribers (2,000 in --quick)",
        "statuspage-fanout",
        "fanout_seconds",
        "<",
        120,
        "s",
    ),
    Target(
        "Event 2xx to page p99 during that fan-out",
        "statuspage-fanout",
        "event_to_page_fanout_p99_ms",
        "<",
        500,
        "ms",
    ),
    Target("Ingest rate ratio, 200 rules, 50 silences, 20 inhibitions vs none", "noise-rules", "ratio", ">=", 0.8, ""),
    Target("Rule evaluation per alert, mean", "noise-rules", "evaluation.mean_us", "<", 100, "µs"),
    Target("Incident list p95, 100k incidents, SQLite", "web-sqlite", "list_p95_ms", "<", 150, "ms"),
    Target("Incident page p95, 1M alerts, SQLite", "web-sqlite", "incident_page_p95_ms", "<", 150, "ms"),
    Target(
        "Incident page p95, 20 roles and 20 tasks, 100k incidents, SQLite",
        "web-sqlite",
        "worked_incident_page_p95_ms",
        "<",
        150,
        "ms",
    ),
    Target("Incident list p95, 100k incidents, PostgreSQL", "web-postgres", "list_p95_ms", "<", 150, "ms"),
    Target("Incident page p95, 1M alerts, PostgreSQL", "web-postgres", "incident_page_p95_ms", "<", 150, "ms"),
    Target(
        "Incident page p95, 20 roles and 20 tasks, 100k incidents, PostgreSQL",
        "web-postgres",
        "worked_incident_page_p95_ms",
        "<",
        150,
        "ms",
    ),
)


def lookup(figures: dict[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        figures = results.get(target.benchmark)
        if isinstance(figures, dict) and "error" not in figures:
            rows.append({"benchmark": target.benchmark, **target.check(figures)})
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(run: dict[str, Any]) -> str:
    env = run["environment"]
    lines = [
        f"Run `{run['run_id']}` ({run['mode']} mode), {run['started_at']} to {run['finished_at']}, "
        f"commit `{env.get('commit', '?')}`.",
        f"Machine: {env['cpus']} CPUs, load average at start {env['loadavg_start']} and at end "
        f"{env['loadavg_end']}, Python {env['python']}"
        + (
            f", an empty Python loop {env['loop_ns_start']} ns an iteration at start and {env['loop_ns_end']} at end."
            if "loop_ns_start" in env
            else "."
        ),
        "",
        "| Target | Benchmark | Measured | Target | Verdict |",
        "| --- | --- | ---: | ---: | :---: |",
    ]
    for v in run["verdicts"]:
        lines.append(
            f"| {v['label']} | `{v['benchmark']}` | {_fmt(v['value'])} {v['unit']} | {v['op']} {_fmt(v['threshold'])} "
            f"{v['unit']} | {'✅ PASS' if v['status'] == 'PASS' else '❌ ' + v['status']} |"
        )
    lines += _comparisons(run["results"])
    lines += ["", "| Benchmark | Figures |", "| --- | --- |"]
    for name, figures in run["results"].items():
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in _flatten(figures).items())
        lines.append(f"| `{name}` | {shown} |")
    return "\n".join(lines)


def _comparisons(results: dict[str, Any]) -> list[str]:
    """The ratios asked for beside the targets: ingest against the ceiling, batches against Alertmanager."""
    lines: list[str] = []
    ceiling = lookup(results, "ceiling.requests_per_s")
    peer = lookup(results, "alertmanager-peer.alerts_per_s")
    for name in ("ingest-sqlite", "ingest-postgres"):
        events = lookup(results, f"{name}.events_per_s")
        alerts = lookup(results, f"{name}.alertmanager_alerts_per_s")
        if events is not None and ceiling:
            lines.append(
                f"- `{name}`: {_fmt(events)} events/s = {_fmt(100 * events / ceiling)} % of the ceiling "
                f"({_fmt(ceiling)} requests/s)."
            )
        if alerts is not None and peer:
            lines.append(
                f"- `{name}`: {_fmt(alerts)} alerts/s in batches of 100 = {alerts / peer:.3f} times Alertmanager "
                f"({_fmt(peer)} alerts/s)."
            )
    return ["", *lines] if lines else []


def _flatten(figures: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(figures, dict):
        return {prefix.rstrip("."): figures}
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def write(run: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(run["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{stamp}-{run['mode']}.json"
    text = json.dumps(run, indent=2, sort_keys=False) + "\n"
    path.write_text(text)
    (out / "latest.json").write_text(text)
    readme = out / "README.md"
    table = f"{START}\n{markdown(run)}\n{END}"
    if readme.exists() and START in readme.read_text() and END in readme.read_text():
        current = readme.read_text()
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        readme.write_text(before + table + after)
    else:
        readme.write_text(f"# Benchmark results\n\nWritten by `make bench` (`python -m bench.run`).\n\n{table}\n")
    return path
