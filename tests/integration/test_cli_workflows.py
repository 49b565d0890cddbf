"""``tocsin workflow list|run|runs|simulate`` (ADR 0027): the host's view of workflows, and starting one by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.factories import make_service
from tests.integration.test_cli_incidents import cli, ok
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.users import service as users
from tocsin.workflows import service as workflows

NOTE = {"kind": "stakeholder_update", "message": "Looking into {{incident.title}}"}


def test_workflows_from_the_command_line(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        service, _ = make_service(s, now, name="checkout")
        sev1 = [{"field": "severity", "op": "=", "value": "SEV1"}]
        spec = {"trigger": {"event": "declared"}, "conditions": sev1, "steps": [NOTE]}
        workflows.save_workflow(s, "SEV1 note", spec, now=now)
        incident = incidents.declare(
            s, service_id=service.id, title="Slow search", actor=Actor("Ann", "cli", None), now=now, severity="SEV3"
        )
        ref = f"#{incident.number}"
    listed = json.loads(ok(cli(db, "workflow", "list", "--json")).stdout)
    assert listed == [{"name": "SEV1 note", "enabled": True, "trigger": "declared", "steps": 1, "version": 1}]
    simulated = json.loads(ok(cli(db, "workflow", "simulate", ref, "--json")).stdout)
    (mine,) = [i for i in simulated if i["name"] == "SEV1 note"]
    assert mine["would_run"] is False, "a SEV3 does not meet the condition"
    assert json.loads(ok(cli(db, "workflow", "runs", ref, "--json")).stdout) == []
    assert "started on" in ok(cli(db, "workflow", "run", ref, "SEV1 note")).stdout
    (run,) = json.loads(ok(cli(db, "workflow", "runs", ref, "--json")).stdout)
    assert (run["workflow"], run["trigger"], run["steps"]) == ("SEV1 note", "manual", 1)
    refused = cli(db, "workflow", "run", ref, "no such workflow")
    assert refused.exit_code != 0
    assert "no such workflow" in refused.output
    assert len(json.loads(ok(cli(db, "workflow", "runs", ref, "--json")).stdout)) == 1
