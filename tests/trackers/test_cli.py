"""``tocsin tracker``: add a connection (the token from the environment, never the command line), list it, see
remote issues, delete it; bad input refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.integration.test_cli_incidents import cli, ok
from tocsin.db.session import Database
from tocsin.trackers import service as trackers
from tocsin.users import service as users


def test_tracker_commands(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
    added = ok(
        cli(
            db,
            "tracker",
            "add",
            "ops",
            "github",
            "https://api.github.com",
            "acme/ops",
            "--as",
            "ann@example.com",
            "--json",
            TOCSIN_TRACKER_TOKEN="ghp_from_the_environment",
        )
    )
    made = json.loads(added.stdout)
    assert made["webhook_path"] == f"/hooks/trackers/{made['id']}/github"
    assert "ghp_from_the_environment" not in added.stdout
    listed = json.loads(ok(cli(db, "tracker", "list", "--json")).stdout)
    assert [c["project"] for c in listed] == ["acme/ops"]
    with db.unit_of_work() as s:
        trackers.request_issue(s, local_ref="action_item:7", connection=made["id"], title="T", body="", now=now)
    issues = json.loads(ok(cli(db, "tracker", "issues", "--json")).stdout)
    assert [(i["local_ref"], i["status"]) for i in issues] == [("action_item:7", "pending")]

    refused = cli(db, "tracker", "add", "bad", "jira", "https://x.example", "lower", "--as", "ann@example.com")
    assert refused.exit_code != 0
    assert "project" in refused.output
    ok(cli(db, "tracker", "delete", str(made["id"]), "--as", "ann@example.com"))
    assert json.loads(ok(cli(db, "tracker", "list", "--json")).stdout) == []
