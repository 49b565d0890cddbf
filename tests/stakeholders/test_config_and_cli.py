"""Stakeholder groups in ``tocsin apply`` and ``export`` (created, then unchanged, exported back to the same file;
a bad group refused with its place in the file), and ``tocsin incident update`` / ``updates`` on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.factories import make_service
from tests.integration.test_cli_incidents import cli, ok
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.stakeholders import service as stakeholders
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CONFIG = """
users:
  - {email: cto@example.com, name: CTO, role: responder}
services:
  - name: checkout-api
stakeholder_groups:
  - name: Leadership
    description: The people who ask first
    users: [cto@example.com]
    emails: [board@example.org]
    services: [checkout-api]
    min_severity: SEV2
  - name: Security
    emails: [sec@example.org]
    private_ok: true
"""


def test_apply_creates_groups_then_finds_nothing_to_change(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    made = {(c.kind, c.key, c.action) for c in plan.changes if c.kind == "stakeholder group"}
    assert made == {("stakeholder group", "Leadership", "create"), ("stakeholder group", "Security", "create")}
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(CONFIG), now=NOW)
    assert {c.action for c in again.changes if c.kind == "stakeholder group"} == {"unchanged"}
    with db.reader() as s:
        spec = stakeholders.as_spec(s, stakeholders.get_group(s, "Leadership"))
        assert spec["users"] == ["cto@example.com"]
        assert spec["services"] == ["checkout-api"]
        assert spec["min_severity"] == "SEV2"
        exported = export_config(s, now=NOW)
    assert [g.name for g in exported.stakeholder_groups] == ["Leadership", "Security"]
    assert exported.stakeholder_groups[1].private_ok is True
    with db.unit_of_work() as s:
        round_trip = apply_config(s, document.parse(document.to_yaml(exported)), now=NOW)
    assert {c.action for c in round_trip.changes if c.kind == "stakeholder group"} == {"unchanged"}
    changed = CONFIG.replace("min_severity: SEV2", "min_severity: SEV1")
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(changed), now=NOW)
    (leadership,) = [c for c in plan.changes if c.key == "Leadership"]
    assert (leadership.action, leadership.fields) == ("update", ("min_severity",))


def test_a_bad_group_is_refused_with_its_place(db: Database) -> None:
    bad = CONFIG.replace("services: [checkout-api]", "services: [nowhere]")
    with pytest.raises(InvalidInput) as refused, db.unit_of_work() as s:
        apply_config(s, document.parse(bad), now=NOW)
    assert "stakeholder_groups[0]" in refused.value.detail
    assert "nowhere" in refused.value.detail
    with db.reader() as s:
        assert stakeholders.list_groups(s) == []


def test_updates_from_the_command_line(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        service, _ = make_service(s, now, name="checkout")
        stakeholders.create_group(s, stakeholders.GroupSpec(name="Everyone", emails=["all@example.com"]), now=now)
        incident = incidents.declare(
            s, service_id=service.id, title="Slow search", actor=Actor("Ann", "cli", None), now=now, severity="SEV3"
        )
        ref = f"#{incident.number}"
    sent = ok(cli(db, "incident", "update", ref, "--template", "{{incident.title}}: looking", "--json"))
    done = json.loads(sent.stdout)
    assert done["body"] == "Slow search: looking"
    assert done["groups"] == ["Everyone"]
    assert "to Everyone" in ok(cli(db, "incident", "update", ref, "Fixed soon", "--group", "Everyone")).stdout
    listed = json.loads(ok(cli(db, "incident", "updates", ref, "--json")).stdout)
    assert [u["body"] for u in listed["items"]] == ["Slow search: looking", "Fixed soon"]
    refused = cli(db, "incident", "update", ref, "--template", "{{incident.nope}}")
    assert refused.exit_code != 0
    assert "unknown field" in refused.output
    unknown = cli(db, "incident", "update", ref, "hi", "--group", "Nobody")
    assert unknown.exit_code != 0
    assert "Nobody" in unknown.output
