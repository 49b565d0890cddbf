"""Playbooks, workflows and remediation actions as configuration: applied, unchanged when applied again, exported
and applied back, and refused with the path of the fault (nothing written)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.response import roles
from tocsin.workflows import actions
from tocsin.workflows import service as workflows

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SECRET = "whsec_QUNUSU9OIFNFQ1JFVCBPRiBUSElSVFktVFdPIEJZVEVT"

FILE = f"""
users:
  - {{email: ann@example.com, name: Ann}}
remediation_actions:
  - name: Restart checkout
    url: https://automation.example.com/jobs/restart
    headers: {{content-type: application/json}}
    body: '{{"incident": "{{{{incident.number}}}}", "service": "{{{{incident.service}}}}"}}'
    secret: {SECRET}
    callback_minutes: 30
    approval: true
playbooks:
  - name: Big bang
    guidance: "# All hands"
    match: [{{field: severity, op: "=", value: SEV1}}]
    steps:
      - {{title: Open a bridge}}
      - {{title: Restart, automatic: true, step: {{kind: action, action: Restart checkout}}}}
workflows:
  - name: SEV1 commander
    trigger: {{event: declared}}
    conditions: [{{field: labels.env, op: "=~", value: "prod|live"}}]
    steps:
      - {{kind: assign_role, role: Incident Commander, user: ann@example.com}}
      - {{kind: wait, minutes: 15}}
      - {{kind: notify, role: Incident Commander, message: "Still on {{{{incident.title}}}}?", once: true}}
"""


def apply(db: Database, text: str) -> list[tuple[str, str, str]]:
    with db.unit_of_work() as s:
        roles.seed_defaults(s, now=NOW)
        plan = apply_config(s, document.parse(text), now=NOW)
    return [(c.kind, c.key, c.action) for c in plan.changes if c.kind in ("remediation action", "playbook", "workflow")]


def test_applied_then_unchanged_then_exported_and_applied_back(db: Database) -> None:
    assert apply(db, FILE) == [
        ("remediation action", "Restart checkout", "create"),
        ("playbook", "Big bang", "create"),
        ("workflow", "SEV1 commander", "create"),
    ]
    assert {a for _, _, a in apply(db, FILE)} == {"unchanged"}
    with db.reader() as s:
        exported = document.to_yaml(export_config(s, now=NOW))
        assert actions.get_action(s, "Restart checkout").secret == SECRET
        assert workflows.get_workflow(s, "SEV1 commander").version == 1
    assert SECRET not in exported, "an action's secret is never exported"
    assert {a for _, _, a in apply(db, exported)} == {"unchanged"}
    with db.reader() as s:
        assert actions.get_action(s, "Restart checkout").secret == SECRET, "applying without a secret keeps it"
    changed = apply(db, FILE.replace("minutes: 15", "minutes: 20"))
    assert ("workflow", "SEV1 commander", "update") in changed
    with db.reader() as s:
        assert workflows.get_workflow(s, "SEV1 commander").version == 2


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            "role: Incident Commander, user",
            "role: Wizard, user",
            "workflows[0]: steps.0.role: no incident role 'Wizard'",
        ),
        ("field: labels.env", "field: colour", "workflows[0]: conditions.0: unknown field 'colour'"),
        ("action: Restart checkout}", "action: Reboot}", "playbooks[0]: steps.1.step.action: no remediation action"),
        ("{{incident.service}}", "{{incident.password}}", "remediation_actions[0]: body: unknown field"),
        ("kind: wait, minutes: 15", "kind: wait, minutes: 0", "workflows[0]: steps.1.minutes"),
        (
            "trigger: {event: declared}",
            "trigger: {event: declared, colour: red}",
            "workflows[0]: trigger: unknown field",
        ),
    ],
)
def test_a_bad_definition_is_refused_with_its_path_and_nothing_is_written(
    db: Database, old: str, new: str, path: str
) -> None:
    assert old in FILE
    with pytest.raises(InvalidInput) as caught:
        apply(db, FILE.replace(old, new))
    assert caught.value.detail.startswith(path), caught.value.detail
    with db.reader() as s:
        assert workflows.list_workflows(s) == []
        assert actions.list_actions(s) == []


CHANNELS = """
workflow_channels:
  - {name: ops, provider: slack, address: "#incidents"}
  - {name: support, provider: teams, address: "https://chat.example.com/workflows/hook-credential"}
workflows:
  - name: Tell the rooms
    trigger: {event: declared}
    steps:
      - {kind: notify, channel: ops, message: "{{incident.title}}"}
      - {kind: notify, channel: support, message: "{{incident.title}}"}
"""


def test_chat_channels_applied_exported_without_their_webhook_url_and_refused_with_their_path(db: Database) -> None:
    from tocsin.workflows import channels

    def changes(text: str) -> list[tuple[str, str, str]]:
        with db.unit_of_work() as s:
            plan = apply_config(s, document.parse(text), now=NOW)
        return [(c.kind, c.key, c.action) for c in plan.changes if c.kind in ("workflow channel", "workflow")]

    assert changes(CHANNELS) == [
        ("workflow channel", "ops", "create"),
        ("workflow channel", "support", "create"),
        ("workflow", "Tell the rooms", "create"),
    ]
    with db.reader() as s:
        exported = document.to_yaml(export_config(s, now=NOW))
    assert "hook-credential" not in exported, "a webhook URL is a credential: never exported"
    assert "#incidents" in exported
    assert {a for _, _, a in changes(exported)} == {"unchanged"}
    with db.reader() as s:
        assert channels.get_channel(s, "support").address.endswith("/hook-credential"), "kept when left out"
    for old, new, path in (
        ("provider: slack", "provider: irc", "workflow_channels[0]: provider: unknown chat provider 'irc'"),
        ("channel: support", "channel: lobby", "workflows[0]: steps.1.channel: no chat channel 'lobby'"),
    ):
        with pytest.raises(InvalidInput) as caught:
            changes(CHANNELS.replace(old, new))
        assert caught.value.detail.startswith(path), caught.value.detail
