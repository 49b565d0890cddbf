"""The playbooks, workflows, remediation actions and chat channels of the configuration file (ADR 0027).

Actions and channels first (steps name them), then playbooks and workflows, each checked by the workflows package:
a fault is refused with its path in the file (``workflows[2]: steps.1.role: no incident role 'Wizard'``). An
action's secret is never exported; an action applied without one keeps the stored secret. A channel's webhook URL
is a credential too: not exported, and kept when a channel is applied without an address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile
from tocsin.core.errors import TocsinError
from tocsin.workflows import actions, channels
from tocsin.workflows import service as workflows
from tocsin.workflows.models import RemediationAction


@contextmanager
def _at(path: str) -> Iterator[None]:
    try:
        yield
    except TocsinError as exc:
        raise type(exc)(f"{path}: {exc.detail}", errors=[f"{path}: {e}" for e in exc.errors or [exc.detail]]) from None


def _record(changes: list[Change], kind: str, key: str, before: Any, after: Any) -> bool:
    if before is None:
        changes.append(Change(kind, key, "create"))
        return True
    if before == after:
        changes.append(Change(kind, key, "unchanged"))
        return False
    changes.append(Change(kind, key, "update"))
    return True


def _note(changes: list[Change], kind: str, key: str, exists: bool, changed: bool) -> None:
    changes.append(Change(kind, key, "update" if exists and changed else "unchanged" if exists else "create"))


def _action_spec(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": row.description,
        "kind": row.kind,
        "timeout_seconds": row.timeout_seconds,
        "callback_minutes": row.callback_minutes,
        "allowed_roles": list(row.allowed_roles),
        "approval": row.approval,
    }
    if row.kind == "script":
        out["command"] = list(row.command)
    else:
        out.update(method=row.method, url=row.url, headers=dict(row.headers), body=row.body_template)
    return out


def apply_workflows(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    stored_actions = {a.name: a for a in actions.list_actions(session)}
    for i, a in enumerate(config.remediation_actions):
        path = f"remediation_actions[{i}]"
        spec = a.model_dump(exclude={"name"}, exclude_none=True)
        old = stored_actions.get(a.name)
        if "secret" not in spec and old is not None and old.secret:
            spec["secret"] = old.secret
        with _at(path):
            clean = actions.check_action(spec)
        before = None if old is None else {**_action_spec(old), "secret": old.secret}
        after = {**_action_spec(RemediationAction(name=a.name, **clean)), "secret": clean["secret"]}
        if _record(changes, "remediation action", a.name, before, after):
            with _at(path):
                actions.save_action(session, a.name, spec, now=now)
    stored_channels = {c.name: c for c in channels.list_channels(session)}
    for i, ch in enumerate(config.workflow_channels):
        path = f"workflow_channels[{i}]"
        spec = ch.model_dump(exclude={"name"}, exclude_none=True)
        old_channel = stored_channels.get(ch.name)
        if "address" not in spec and old_channel is not None:
            spec["address"] = old_channel.address
        with _at(path):
            clean = channels.check_channel(spec)
        before = (
            None
            if old_channel is None
            else {
                "provider": old_channel.provider,
                "address": old_channel.address,
                "description": old_channel.description,
            }
        )
        if _record(changes, "workflow channel", ch.name, before, clean):
            with _at(path):
                channels.save_channel(session, ch.name, spec, now=now)
    for i, p in enumerate(config.playbooks):
        path = f"playbooks[{i}]"
        with _at(path):
            exists, changed = workflows.playbook_changes(session, p.name, p.model_dump(exclude={"name"}))
        _note(changes, "playbook", p.name, exists, changed)
        if changed:
            with _at(path):
                workflows.save_playbook(session, p.name, p.model_dump(exclude={"name"}), now=now)
    for i, w in enumerate(config.workflows):
        path = f"workflows[{i}]"
        spec = w.model_dump(exclude={"name"})
        with _at(path):
            exists, changed = workflows.workflow_changes(session, w.name, spec)
        _note(changes, "workflow", w.name, exists, changed)
        if changed:
            with _at(path):
                workflows.save_workflow(session, w.name, spec, now=now)
    return changes


def export_workflows(session: Session, config: ConfigFile) -> ConfigFile:
    data = config.model_dump(mode="json", exclude_none=True)
    data.update(
        {
            "remediation_actions": [{"name": a.name, **_action_spec(a)} for a in actions.list_actions(session)],
            "workflow_channels": [
                {
                    "name": c.name,
                    "provider": c.provider,
                    "description": c.description,
                    **({} if c.provider in channels.WEBHOOK_PROVIDERS else {"address": c.address}),
                }
                for c in channels.list_channels(session)
            ],
            "playbooks": [
                {"name": p.name, "guidance": p.guidance, "match": p.match, "steps": workflows.masked(p.steps)}
                for p in workflows.list_playbooks(session)
            ],
            "workflows": [
                {
                    "name": w.name,
                    "description": w.description,
                    "enabled": w.enabled,
                    "trigger": w.trigger,
                    "conditions": w.conditions,
                    "steps": workflows.masked(w.steps),
                }
                for w in workflows.list_workflows(session)
            ],
        }
    )
    return ConfigFile.model_validate(data)
