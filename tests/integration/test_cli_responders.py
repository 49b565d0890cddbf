"""``tocsin incident role``, ``tocsin incident responder`` and ``tocsin user skills|experts`` against a migrated
database (SQLite and PostgreSQL): changes land with source "cli", refusals read like the API's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.integration.test_cli_incidents import World, cli, ok, open_with_alert, timeline, world  # noqa: F401
from tocsin.response import responders, roles, skills


def test_roles_are_listed_assigned_handed_over_and_released(world: World) -> None:  # noqa: F811
    with world.db.unit_of_work() as s:
        roles.seed_defaults(s, now=datetime.now(UTC))  # as every server start does
    opened = open_with_alert(world)
    ref = str(opened.number)
    as_ann = ("--as", "ann@example.com")
    ok(cli(world.db, "incident", "role", "assign", ref, "Incident Commander", "ann@example.com", *as_ann))
    handed = ok(cli(world.db, "incident", "role", "assign", ref, "Incident Commander", "bob@example.com", *as_ann))
    assert "Incident Commander on #" in handed.output
    assert "Bob" in handed.output
    listed = json.loads(ok(cli(world.db, "incident", "role", "list", ref, "--json")).output)
    assert listed["current"]["Incident Commander"] == "Bob"
    assert [(h["user"], h["ended_at"] is None) for h in listed["history"]] == [("Ann", False), ("Bob", True)]
    table = ok(cli(world.db, "incident", "role", "list", ref)).output
    assert "History" in table
    assert "Ann" in table
    ok(cli(world.db, "incident", "role", "release", ref, "Incident Commander", *as_ann))
    again = cli(world.db, "incident", "role", "release", ref, "Incident Commander", *as_ann)
    assert again.exit_code != 0
    assert "nobody holds Incident Commander" in again.output
    unknown = cli(world.db, "incident", "role", "assign", ref, "Wizard", "bob@example.com", *as_ann)
    assert unknown.exit_code != 0
    assert "no incident role 'Wizard'" in unknown.output
    observer = cli(
        world.db, "incident", "role", "assign", ref, "Scribe", "bob@example.com", "--as", "olive@example.com"
    )
    assert observer.exit_code != 0
    assert "observer" in observer.output
    with world.db.reader() as s:
        assert roles.current_holders(roles.history(s, opened.id)) == {}
    sources = {(e.kind, e.source) for e in timeline(world, opened.id)}
    assert ("role_assigned", "cli") in sources
    assert ("role_released", "cli") in sources


def test_responders_and_skills_from_the_command_line(world: World) -> None:  # noqa: F811
    opened = open_with_alert(world)
    ref = str(opened.number)
    as_ann = ("--as", "ann@example.com")
    ok(cli(world.db, "user", "skills", "bob@example.com", "--set", "postgres", "--set", "kafka", *as_ann))
    shown = json.loads(ok(cli(world.db, "user", "skills", "bob@example.com", "--json")).output)
    assert shown == {"user": "Bob", "skills": ["kafka", "postgres"]}
    bad = cli(world.db, "user", "skills", "bob@example.com", "--set", "Not OK", *as_ann)
    assert bad.exit_code != 0
    assert "not a lowercase slug" in bad.output
    experts = json.loads(ok(cli(world.db, "user", "experts", "postgres", "--json")).output)
    assert [e["name"] for e in experts] == ["Bob"]

    nobody = cli(world.db, "incident", "responder", "add", ref, "--skill", "cobol", *as_ann)
    assert nobody.exit_code != 0
    assert "nobody has skill 'cobol'" in nobody.output
    both = cli(world.db, "incident", "responder", "add", ref, "--skill", "kafka", "--user", "bob@example.com", *as_ann)
    assert both.exit_code != 0
    assert "exactly one" in both.output
    added = ok(cli(world.db, "incident", "responder", "add", ref, "--skill", "kafka", "-m", "broker lag", *as_ann))
    assert "Bob asked to join" in added.output
    (row,) = json.loads(ok(cli(world.db, "incident", "responder", "list", ref, "--json")).output)
    assert (row["user"], row["status"], row["via"], row["via_ref"]) == ("Bob", "requested", "skill", "kafka")
    ok(cli(world.db, "incident", "responder", "accept", ref, str(row["id"]), "--as", "bob@example.com"))
    with world.db.reader() as s:
        (done,) = responders.requests_on(s, opened.id)
        assert (done.status, done.answered_via) == ("accepted", "cli")
        assert responders.participants(s, opened.id) == {world.bob_id}
        assert skills.experts(s, "kafka", now=datetime.now(UTC))[0].load == 1
    twice = cli(world.db, "incident", "responder", "decline", ref, str(row["id"]), *as_ann)
    assert twice.exit_code != 0
    assert "accepted already" in twice.output
