"""The incident hooks: the composition registers every reaction paging depends on, every process loads it, and
an incomplete registry refuses to run rather than leave paging going."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tocsin.registry  # noqa: F401  (the composition under test)
from tocsin import wiring
from tocsin.alerts import service as alerts
from tocsin.desk import service as desk
from tocsin.drills import service as drills
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.incidents.hooks import HOOKS, Hooks, HooksMissing
from tocsin.response import impact, types
from tocsin.services import service as services


def test_the_composition_registers_every_reaction_paging_depends_on() -> None:
    assert HOOKS.sealed
    # Paging is armed only for types that page; then the type's tasks and checklists are added (ADR 0021).
    assert HOOKS.on_opened == [wiring.arm_paging, types.on_opened]
    # Status updates are queued before paging stops or starts over, as change_status always did.
    # Then the cost of downtime kept when impact ends, and the drill that ends with its incident (ADR 0025).
    assert HOOKS.on_status_change == [
        wiring.queue_status_updates,
        wiring.follow_status,
        impact.on_status_change,
        drills.on_status_change,
    ]
    assert HOOKS.types is types.TYPE_BOOK
    assert HOOKS.on_resolved_by_hand == [wiring.resolve_alerts]
    assert HOOKS.on_milestone_edited == [impact.on_milestone_edited]
    assert HOOKS.paging is escalation
    # History refuses a service's deletion; open incidents its archiving (ADR 0012).
    assert services.deletion_checks == [
        incidents.refuse_service_deletion,
        alerts.refuse_service_deletion,
        desk.refuse_service_deletion,
    ]
    assert services.archive_checks == [incidents.refuse_service_archive]
    assert services.integration_deletion_checks == [alerts.refuse_integration_deletion]


def test_installing_twice_registers_nothing_twice() -> None:
    wiring.install()
    assert len(HOOKS.on_status_change) == 4
    assert len(HOOKS.on_milestone_edited) == 1
    assert len(services.deletion_checks) == 3
    assert len(services.archive_checks) == 1
    assert len(services.integration_deletion_checks) == 1


def test_a_registry_nobody_sealed_refuses_to_change_incidents() -> None:
    hooks = Hooks()
    with pytest.raises(HooksMissing, match="not installed"):
        hooks.pager()
    with pytest.raises(HooksMissing, match="not installed"):
        hooks.ready()


def test_a_registry_that_cannot_stop_paging_cannot_be_sealed() -> None:
    hooks = Hooks()
    hooks.register(on_opened=[escalation.arm_opened])
    with pytest.raises(HooksMissing, match="on_status_change, paging"):
        hooks.seal()
    assert not hooks.sealed


def test_a_sealed_registry_takes_no_more_reactions() -> None:
    with pytest.raises(HooksMissing, match="sealed"):
        HOOKS.register(on_status_change=[escalation.follow_status])


@pytest.mark.parametrize("entry", ["tocsin.runtime", "tocsin.app", "tocsin.cli", "tocsin.registry"])
def test_every_entry_point_installs_the_hooks(entry: str) -> None:
    code = f"import {entry}; from tocsin.incidents.hooks import HOOKS; print(HOOKS.sealed)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_the_incident_services_alone_do_not_install_them() -> None:
    # Why the entry points must load tocsin.registry: nothing below it can register the upper domains.
    code = "import tocsin.incidents.service; from tocsin.incidents.hooks import HOOKS; print(HOOKS.sealed)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_incidents_of_a_type_that_does_not_page_are_not_armed(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime
    from typing import Any

    from tocsin.incidents.repository import OpenedIncident

    armed: list[Any] = []
    monkeypatch.setattr(escalation, "arm_opened", lambda session, opened, now: armed.append(list(opened)))
    paging = OpenedIncident(1, 1, 1, "high", type_id=None)
    quiet = OpenedIncident(2, 2, 1, "high", type_id=7, pages=False)
    wiring.arm_paging(None, [paging, quiet], datetime.now(UTC))  # type: ignore[arg-type]
    assert armed == [[paging]]
    wiring.arm_paging(None, [quiet], datetime.now(UTC))  # type: ignore[arg-type]
    assert armed == [[paging]], "nothing to arm: escalation is not called at all"
