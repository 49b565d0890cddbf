"""``tocsin incident declare --type``, ``tocsin incident type list|set`` and ``tocsin incident-type`` (ADR 0021)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.factories import make_service
from tests.integration.test_cli_incidents import cli, ok
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import roles, types
from tocsin.users import service as users


def seeded(db: Database) -> str:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        roles.seed_defaults(s, now=now)
        types.seed_defaults(s, now=now)
        service, _ = make_service(s, now, name="checkout")
        return service.name


def test_types_from_the_command_line(db: Database) -> None:
    service = seeded(db)
    listed = json.loads(ok(cli(db, "incident", "type", "list", "--json")).stdout)
    assert [t["name"] for t in listed] == ["Desktop sprint", "Standard", "Big bang", "Security (CyberSec)"]
    declared = json.loads(
        ok(
            cli(db, "incident", "declare", "--service", service, "--title", "all down", "--type", "Big bang", "--json")
        ).stdout
    )
    ref = f"#{declared['number']}"
    assert (declared["type"], declared["major"], declared["severity"]) == ("Big bang", True, "SEV1")
    with db.reader() as s:
        found = incidents.get(s, ref)
        assert (found.severity, found.major, incidents.type_of(s, found).name) == ("SEV1", True, "Big bang")  # type: ignore[union-attr]
    assert "is now of type Standard" in ok(cli(db, "incident", "type", "set", ref, "Standard")).stdout
    refused = cli(db, "incident", "type", "set", ref, "Nope")
    assert refused.exit_code != 0
    assert "unknown incident type 'Nope'" in refused.output
    bad = cli(db, "incident", "declare", "--service", service, "--title", "x", "--type", "Nope")
    assert bad.exit_code != 0
    with db.reader() as s:
        assert incidents.type_of(s, incidents.get(s, ref)).name == "Standard"  # type: ignore[union-attr]
        assert len(incidents.list_incidents(s, IncidentFilter())[0]) == 1
    vocabulary = json.loads(ok(cli(db, "incident-type", "list", "--json")).stdout)
    assert vocabulary["severities"] == ["SEV1", "SEV2", "SEV3", "SEV4", "SEV5"]
    assert "network" in vocabulary["categories"]
    assert cli(db, "incident-type", "delete", "Standard").exit_code != 0  # in use
    ok(cli(db, "incident-type", "delete", "Desktop sprint"))
    with db.reader() as s:
        assert "Desktop sprint" not in [t.name for t in types.list_types(s)]
