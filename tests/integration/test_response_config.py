"""The response vocabulary in `tocsin apply` / `tocsin export` (ADR 0021): roles, checklist templates, severities,
categories and incident types round-trip, and what a type names must exist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.incidents import taxonomy
from tocsin.response import roles, types

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

CONFIG = """
teams:
  - name: secops
incident_roles:
  - {name: Liaison, description: Talks to the vendor, instructions: Open a ticket with them., position: 9}
checklist_templates:
  - name: vendor
    items: [Open a ticket, {title: Escalate at the vendor, due_minutes: 30}]
severities:
  - {name: SEV0, description: Existential, position: 0}
incident_categories:
  - {name: facilities, description: Power and cooling}
incident_types:
  - name: Vendor outage
    severity: SEV0
    required_roles: [Liaison, Incident Commander]
    checklists: [vendor]
    private: true
    private_team: secops
    pages: false
    conference_url: https://meet.example.com/vendor-{number}
    update_cadence_minutes: 60
    playbook: vendor-outage
"""


def seeded(db: Database) -> None:
    with db.unit_of_work() as s:
        roles.seed_defaults(s, now=NOW)
        types.seed_defaults(s, now=NOW)


def test_apply_then_export_then_apply_changes_nothing(db: Database) -> None:
    seeded(db)
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    actions = {(c.kind, c.key): c.action for c in plan.changes}
    assert actions[("incident_role", "Liaison")] == "create"
    assert actions[("checklist_template", "vendor")] == "create"
    assert actions[("severity", "SEV0")] == "create"
    assert actions[("incident_category", "facilities")] == "create"
    assert actions[("incident_type", "Vendor outage")] == "create"
    with db.reader() as s:
        kind = types.get_type(s, "Vendor outage")
        assert (kind.required_roles, kind.checklists, kind.pages, kind.severity) == (
            ["Liaison", "Incident Commander"],
            ["vendor"],
            False,
            "SEV0",
        )
        assert kind.private_team_id is not None
        exported = export_config(s, now=NOW)
    names = sorted(t.name for t in exported.incident_types)
    assert names == ["Big bang", "Desktop sprint", "Security (CyberSec)", "Standard", "Vendor outage"]
    assert "Forensics" in [t.name for t in exported.checklist_templates]
    assert [s.name for s in exported.severities][:2] == ["SEV0", "SEV1"]
    vendor = next(t for t in exported.incident_types if t.name == "Vendor outage")
    assert (vendor.private_team, vendor.conference_url) == ("secops", "https://meet.example.com/vendor-{number}")
    text = document.to_yaml(exported)
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(text), now=NOW)
    assert not again.changed, [c.line() for c in again.changes if c.action != "unchanged"]
    response_kinds = {"incident_role", "checklist_template", "severity", "incident_category", "incident_type"}
    assert {c.kind for c in again.changes} >= response_kinds

    # A change shows as an update naming the field.
    with db.unit_of_work() as s:
        changed = apply_config(s, document.parse(CONFIG.replace("pages: false", "pages: true")), now=NOW)
    update = changed.find("incident_type", "Vendor outage")
    assert update is not None
    assert update.action == "update"
    assert update.fields == ("pages",)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "required_roles: [Liaison, Incident Commander]",
            "required_roles: [Wizard]",
            "incident_types[0]: unknown incident role(s) 'Wizard'",
        ),
        ("checklists: [vendor]", "checklists: [nope]", "incident_types[0]: unknown checklist template(s) 'nope'"),
        ("    severity: SEV0", "    severity: SEV9", "incident_types[0]: severity must be one of SEV0, SEV1"),
        ("private_team: secops", "private_team: ghosts", "incident_types[0]: no team 'ghosts'"),
        (
            "conference_url: https://meet.example.com/vendor-{number}",
            "conference_url: meet",
            "incident_types[0]: the conference bridge",
        ),
    ],
)
def test_unknown_references_are_clear_errors_with_the_path(db: Database, old: str, new: str, message: str) -> None:
    seeded(db)
    assert old in CONFIG
    # One transaction, as `tocsin apply` runs it: the error rolls back what came before it in the file.
    with pytest.raises(InvalidInput) as err, db.unit_of_work() as s:
        apply_config(s, document.parse(CONFIG.replace(old, new)), now=NOW)
    assert message in err.value.detail
    with db.reader() as s:
        assert "Vendor outage" not in [t.name for t in types.list_types(s)]
        assert "SEV0" not in [x.name for x in taxonomy.stored_severities(s)]


def test_a_bad_phase_model_is_refused_with_its_place(db: Database) -> None:
    with pytest.raises(InvalidInput) as err:
        document.parse(CONFIG.replace("pages: false", "pages: false\n    phase_model: itil"))
    assert any("incident_types[0].phase_model" in e for e in err.value.errors)
