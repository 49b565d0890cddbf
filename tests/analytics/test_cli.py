"""``tocsin report``: the data set's figures from the command line, JSON and CSV; a bad group-by refused."""

from __future__ import annotations

import json

from tests.analytics.conftest import SINCE, UNTIL, DataSet
from tests.integration.test_cli_incidents import cli, ok
from tocsin.db.session import Database


def test_report_mtta_by_service(db: Database, data: DataSet) -> None:
    period = ("--since", SINCE.isoformat(), "--until", UNTIL.isoformat())
    body = json.loads(ok(cli(db, "report", "mtta", *period, "--by", "service", "--json")).stdout)
    assert body["overall"]["mtta"]["median"] == 600.0
    assert {g["label"]: g["count"] for g in body["groups"]} == {"api": 2, "db": 2}
    csv = ok(cli(db, "report", "mttr", *period, "--by", "severity", "--csv")).stdout
    assert csv.splitlines()[0].startswith("group,key,label,count,")
    assert "10 min" in ok(cli(db, "report", "mtta", *period)).stdout
    refused = cli(db, "report", "mtta", "--by", "colour")
    assert refused.exit_code != 0
    assert "unknown group-by field" in refused.output
    health = json.loads(ok(cli(db, "report", "health", "--team", "Core", *period, "--json")).stdout)
    assert [p["name"] for p in health["people"]] == ["Alice", "Bob"]
