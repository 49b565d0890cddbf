"""``tocsin rule``: event rules (route, re-prioritise, drop) and inhibit rules, as the API's PUT and DELETE
/api/v1/event-rules and /api/v1/inhibit-rules offer them, and with the same role (admins).

A rule comes from a YAML or JSON file with the API's fields, from options, or both (options win). Either way it is
read through the API's request schema, so a mistake is refused in the API's words."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
import yaml

from tocsin.alerts import routing_service as routing
from tocsin.api.rules import EventRuleIn, EventRuleOut, InhibitRuleIn, InhibitRuleOut
from tocsin.cli._app import (
    AS_USER_HELP,
    admin_user,
    app,
    console,
    database,
    now,
    print_json,
    reports_errors,
    table,
    text,
    validated,
)
from tocsin.cli._inputs import MATCH_HELP, document, matchers, shown
from tocsin.core.errors import InvalidInput

rule_app = typer.Typer(help="Event rules and inhibit rules", no_args_is_help=True)
app.add_typer(rule_app, name="rule")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]
Name = Annotated[str, typer.Argument(help="The rule's name")]
File = Annotated[
    Path | None, typer.Option("--file", help="The rule as YAML or JSON, with the API's fields (options override)")
]


def _from_file(path: Path | None, name: str) -> dict[str, Any]:
    data = document(path) if path is not None else {}
    if data.get("name", name) != name:
        raise InvalidInput(f"{path} names the rule {data['name']!r}, not {name!r}")
    return {**data, "name": name}


def _action(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"not an action: {text!r} (use KEY=VALUE, e.g. service=Payments, drop=true)")
    # A scalar as YAML reads it, so that drop=true is a boolean and priority=P1 stays text.
    return key.strip(), yaml.safe_load(raw) if raw.strip() else ""


def _matchers_shown(found: list[dict[str, Any]]) -> str:
    return shown(found, "(every event)")


@rule_app.command("list")
@reports_errors
def list_cmd(as_json: AsJson = False) -> None:
    """Event rules, in the order they are evaluated, then inhibit rules."""
    with database() as db, db.reader() as session:
        events = [EventRuleOut.of(r).model_dump() for r in routing.list_event_rules(session)]
        inhibits = [InhibitRuleOut.of(r).model_dump() for r in routing.list_inhibit_rules(session)]
    if as_json:
        print_json({"event_rules": events, "inhibit_rules": inhibits})
        return
    grid = table("Pos", "Event rule", "Enabled", "Matchers", "Actions", title="Event rules", nowrap=("Pos", "Enabled"))
    for r in events:
        # Values as they are typed with --action (drop=true, not Python's True).
        actions = ", ".join(f"{k}={orjson.dumps(v).decode().strip(chr(34))}" for k, v in r["actions"].items())
        grid.add_row(
            str(r["position"]),
            text(r["name"]),
            "yes" if r["enabled"] else "no",
            text(_matchers_shown(r["matchers"])),
            text(actions),
        )
    console.print(grid if events else "no event rules")
    inhibit = table("Inhibit rule", "Source", "Target", "Equal", title="Inhibit rules")
    for r in inhibits:
        inhibit.add_row(
            text(r["name"]),
            text(_matchers_shown(r["source"])),
            text(_matchers_shown(r["target"])),
            text(", ".join(r["equal"])),
        )
    console.print(inhibit if inhibits else "no inhibit rules")


@rule_app.command("set-event-rule")
@reports_errors
def set_event_rule(
    name: Name,
    file: File = None,
    match: Annotated[list[str] | None, typer.Option("--match", help=MATCH_HELP)] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action", help="KEY=VALUE (repeat): service, urgency, severity, priority, title, drop, suppress"
        ),
    ] = None,
    integration: Annotated[
        str | None, typer.Option("--integration", help="Only events of this integration (its key)")
    ] = None,
    position: Annotated[int | None, typer.Option("--position", help="Place in the evaluation order")] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="Whether it applies")] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Create or replace the event rule of this name."""
    data = _from_file(file, name)
    given: dict[str, Any] = {
        "matchers": matchers(match),
        "actions": dict(_action(a) for a in action) if action else None,
        "integration_key": integration,
        "position": position,
        "enabled": enabled,
    }
    body = validated(EventRuleIn, {**data, **{k: v for k, v in given.items() if v is not None}})
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row = routing.put_event_rule(
            session,
            name=body.name,
            matchers=body.matchers,
            actions=body.actions,
            integration_key=body.integration_key,
            position=body.position,
            enabled=body.enabled,
            now=now(),
        )
        out = EventRuleOut.of(row).model_dump()
    if as_json:
        print_json(out)
    else:
        console.print(f"event rule {text(out['name'])} saved at position {out['position']}")


@rule_app.command("delete-event-rule")
@reports_errors
def delete_event_rule(name: Name, as_user: AsUser = None) -> None:
    """Delete an event rule (rules keep no history)."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        routing.delete_event_rule(session, name, now=now())
    console.print(f"event rule {text(name)} deleted")


@rule_app.command("set-inhibit-rule")
@reports_errors
def set_inhibit_rule(
    name: Name,
    file: File = None,
    source: Annotated[list[str] | None, typer.Option("--source", help=f"Alerts that mute others. {MATCH_HELP}")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help=f"Alerts they mute. {MATCH_HELP}")] = None,
    equal: Annotated[
        list[str] | None, typer.Option("--equal", help="A label both must share (repeat), e.g. cluster")
    ] = None,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Create or replace the inhibit rule of this name: while a source alert is open, matching targets are quiet."""
    data = _from_file(file, name)
    given: dict[str, Any] = {"source": matchers(source), "target": matchers(target), "equal": equal or None}
    body = validated(InhibitRuleIn, {**data, **{k: v for k, v in given.items() if v is not None}})
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row = routing.put_inhibit_rule(
            session, name=body.name, source=body.source, target=body.target, equal=body.equal, now=now()
        )
        out = InhibitRuleOut.of(row).model_dump()
    if as_json:
        print_json(out)
    else:
        console.print(f"inhibit rule {text(out['name'])} saved")


@rule_app.command("delete-inhibit-rule")
@reports_errors
def delete_inhibit_rule(name: Name, as_user: AsUser = None) -> None:
    """Delete an inhibit rule."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        routing.delete_inhibit_rule(session, name, now=now())
    console.print(f"inhibit rule {text(name)} deleted")
