"""Postmortem templates and rules in ``tocsin apply`` and ``export`` (ADR 0029): created, then unchanged, exported
back; a bad template refused with its place in the file."""

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
from tocsin.learning import service as postmortems
from tocsin.learning import templates
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CONFIG = """
postmortem_templates:
  - name: short
    description: For small incidents
    sections:
      - {key: summary, title: Summary}
      - {key: lessons, title: Lessons, hint: What we learned}
postmortem_rules:
  - {min_severity: SEV1, template: short}
  - {min_severity: SEV2}
"""


def test_apply_templates_and_rules_then_nothing_to_change(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    made = {(c.kind, c.key, c.action) for c in plan.changes if c.kind.startswith("postmortem")}
    assert made == {("postmortem template", "short", "create"), ("postmortem rules", "rules", "update")}
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(CONFIG), now=NOW)
    assert {c.action for c in again.changes if c.kind.startswith("postmortem")} == {"unchanged"}
    with db.reader() as s:
        assert [x.key for x in templates.sections_of(s, "short")] == ["summary", "lessons"]
        assert [(r.min_severity, r.template) for r in postmortems.rules(s)] == [
            ("SEV1", "short"),
            ("SEV2", "blameless"),
        ]
        exported = export_config(s, now=NOW)
    assert [t.name for t in exported.postmortem_templates] == ["short"]
    assert exported.postmortem_rules is not None
    assert [r.template for r in exported.postmortem_rules] == ["short", "blameless"]


def test_a_bad_template_is_refused_with_its_place(db: Database) -> None:
    bad = CONFIG.replace("{key: lessons", "{key: Lessons!")
    with db.unit_of_work() as s, pytest.raises(InvalidInput, match=r"postmortem_templates\[0\]"):
        apply_config(s, document.parse(bad), now=NOW)


def test_postmortems_and_items_from_the_command_line(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        service, _ = make_service(s, now, name="checkout")
        incident = incidents.declare(
            s, service_id=service.id, title="Slow search", actor=Actor("Ann", "cli", None), now=now, severity="SEV3"
        )
        ref = f"#{incident.number}"
    started = json.loads(ok(cli(db, "incident", "postmortem", "start", ref, "--json")).stdout)
    assert started["status"] == "draft"
    shown = json.loads(ok(cli(db, "incident", "postmortem", "show", ref, "--json")).stdout)
    assert "Slow search" in shown["sections"][0]["body"]
    added = json.loads(ok(cli(db, "action-items", "add", ref, "Add an index", "--json")).stdout)
    assert "no due date" in added["warnings"]
    listed = json.loads(ok(cli(db, "action-items", "list", "--json")).stdout)
    assert [i["title"] for i in listed] == ["Add an index"]
    exported = ok(cli(db, "incident", "postmortem", "export", ref, "--format", "md"))
    assert "## Summary" in exported.stdout
    ok(cli(db, "incident", "postmortem", "move", ref, "in_review"))
    refused = cli(db, "incident", "postmortem", "move", ref, "published")
    assert refused.exit_code != 0
