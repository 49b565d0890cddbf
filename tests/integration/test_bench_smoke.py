"""The benchmark harness works end to end at tiny sizes: real servers, real load, a report with sane figures.

Speed is not asserted here (that is what ``make bench`` reports); only that each piece measured something real.
The cheapest benchmarks run here; the PostgreSQL, Alertmanager and worker ones share their machinery and run in
``make bench``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The benchmarks run real servers at full speed: never beside a drill (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_drill_at_a_time")

ROOT = Path(__file__).resolve().parents[2]


def run_bench(out: Path, only: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--only", only, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = [p for p in out.glob("*-smoke.json")]
    assert len(runs) == 1
    latest: dict[str, Any] = json.loads((out / "latest.json").read_text())
    assert latest == json.loads(runs[0].read_text())
    readme = (out / "README.md").read_text()
    assert "<!-- results:start -->" in readme
    assert latest["mode"] == "smoke"
    assert len(latest["environment"]["loadavg_start"]) == 3
    assert latest["environment"]["loop_ns_start"] > 0
    assert latest["environment"]["loop_ns_end"] > 0
    return latest


@pytest.mark.slow
def test_engine_benchmarks_measure_real_pages(tmp_path: Path) -> None:
    run = run_bench(tmp_path, "escalation,event-to-page")
    results = run["results"]

    esc = results["escalation"]
    assert esc["fired"] == esc["due_in_window"] > 0
    assert esc["paged"] == esc["fired"]
    assert esc["fired_early"] == 0
    assert 0 < esc["fire_lateness_p50_s"] <= esc["fire_lateness_p99_s"] <= esc["fire_lateness_max_s"]

    page = results["event-to-page"]
    assert page["events_accepted"] == page["events_sent"] > 0
    assert page["pages_matched"] == page["events_accepted"]
    assert page["pages_missing"] == 0
    assert page["signatures_valid"] == page["signatures_checked"] > 0
    assert 0 < page["event_to_page_p50_ms"] <= page["event_to_page_p99_ms"]
    assert page["server_peak_rss_mb"] > 20
    # The engine ran in its own process, and both processes' work is counted.
    assert page["processes"] == "tocsin serve + tocsin worker"
    assert page["tocsin-worker_cpu_ms_per_event"] > 0
    assert page["tocsin-serve_cpu_ms_per_event"] > 0

    benchmarks = {v["benchmark"] for v in run["verdicts"]}
    assert benchmarks == {"escalation", "event-to-page"}
    assert all(v["status"] in ("PASS", "MISS") for v in run["verdicts"])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_ingest_benchmarks_compare_with_the_ceiling(tmp_path: Path) -> None:
    results = run_bench(tmp_path, "ceiling,ingest-sqlite")["results"]

    assert results["ceiling"]["requests_per_s"] > 0
    assert results["ceiling"]["failed"] == 0
    ingest = results["ingest-sqlite"]
    assert ingest["events_per_s"] > 0
    assert ingest["events_failed"] == 0
    assert ingest["mean_commit_batch"] >= 1
    assert ingest["alertmanager_batches_failed"] == 0
    assert ingest["fixed_rate"]["ok"] == ingest["fixed_rate"]["sent"] > 0
    assert 0 < ingest["fixed_rate"]["p50_ms"] <= ingest["fixed_rate"]["p99_ms"]
    assert ingest["stored_covers_accepted"] is True
    assert ingest["stored_alerts"] >= ingest["accepted"] > 0
    assert ingest["percent_of_ceiling"] == pytest.approx(
        100 * ingest["events_per_s"] / results["ceiling"]["requests_per_s"], abs=0.1
    )
    assert 20 < ingest["peak_rss_mb"] < 4096


@pytest.mark.slow
def test_console_page_benchmark_signs_in_and_times_every_page(tmp_path: Path) -> None:
    run = run_bench(tmp_path, "web-sqlite")
    web = run["results"]["web-sqlite"]
    assert web["incidents"] == 200
    assert web["alerts"] == 2_000
    assert 0 < web["open_incidents"] < web["incidents"]
    for name in ("list_open", "list_all", "list_search", "incident_typical", "incident_many_alerts", "live_rows"):
        page = web["pages"][name]
        assert 0 < page["p50_ms"] <= page["p95_ms"] <= page["max_ms"], name
    assert web["list_p95_ms"] == max(web["pages"][n]["p95_ms"] for n in ("list_open", "list_all"))
    assert web["search_p95_ms"] == web["pages"]["list_search"]["p95_ms"]
    assert {v["benchmark"] for v in run["verdicts"]} == {"web-sqlite"}


@pytest.mark.slow
def test_noise_benchmark_compares_with_and_without_rules(tmp_path: Path) -> None:
    run = run_bench(tmp_path, "noise-rules")
    noise = run["results"]["noise-rules"]
    assert noise["rule_free_events_per_s"] > 0
    assert noise["with_rules_events_per_s"] > 0
    assert abs(noise["ratio"] - noise["with_rules_events_per_s"] / noise["rule_free_events_per_s"]) < 0.01
    assert noise["evaluation"]["rules"] == 200
    assert 0 < noise["evaluation"]["p50_us"] <= noise["evaluation"]["p99_us"]
    assert {v["benchmark"] for v in run["verdicts"]} == {"noise-rules"}
