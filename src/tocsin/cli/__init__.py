"""The ``tocsin`` command. Each module below adds its own commands to the shared app."""

from __future__ import annotations

# Imported for their side effect: each registers its commands on the shared app.
from tocsin.cli import (  # noqa: F401
    admin,
    audit_cmds,
    chat,
    clocks,
    config_cmds,
    desk,
    drills,
    importers,
    incident_types,
    incidents,
    knowledge,
    learning,
    oncall,
    outbox,
    people,
    report,
    responders,
    routing,
    rules,
    secrets,
    server,
    silences,
    stakeholders,
    tasks,
    teams,
    trackers,
    webhooks,
    workflows,
)
from tocsin.cli._app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
