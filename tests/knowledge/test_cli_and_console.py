"""The knowledge base from the command line and in the console (ADR 0030): `tocsin search`, `tocsin incident
summary|similar`, `tocsin runbook save|list`; the search page, the incident page's Knowledge card and the runbook
pages with their history."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.factories import make_service
from tests.integration.test_cli_incidents import cli, ok
from tests.web.conftest import Console, console, password_hash  # noqa: F401 (fixtures)
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.knowledge import indexer
from tocsin.users import service as users


def test_search_summary_similar_and_runbooks_from_the_command_line(db: Database, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    actor = Actor("Ann", "cli", None)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        service, _ = make_service(s, now, name="checkout")
        old = incidents.declare(s, service_id=service.id, title="Disk full on orders-db", actor=actor, now=now)
        incidents.resolve(s, old.id, actor=actor, now=now, message="Grew the volume")
        new = incidents.declare(s, service_id=service.id, title="orders-db disk full again", actor=actor, now=now)
        old_ref, new_ref = f"#{old.number}", f"#{new.number}"
    with db.unit_of_work() as s:
        indexer.reindex(s)
    found = json.loads(ok(cli(db, "search", "disk", "--json")).stdout)
    assert {r["title"] for r in found} == {f"{old_ref} Disk full on orders-db", f"{new_ref} orders-db disk full again"}
    assert "nothing found" in ok(cli(db, "search", "zebra")).stdout
    assert cli(db, "search", "   ").exit_code != 0
    similar = json.loads(ok(cli(db, "incident", "similar", new_ref, "--json")).stdout)
    assert similar[0]["number"] == old.number
    assert similar[0]["resolution"] == "Grew the volume"
    summary = ok(cli(db, "incident", "summary", old_ref)).stdout
    assert "Disk full on orders-db" in summary
    assert "resolved" in summary
    text = tmp_path / "disk.md"
    text.write_text("# Disk full\n\nGrow the volume.", encoding="utf-8")
    assert (
        "version 1" in ok(cli(db, "runbook", "save", "Disk full", "--file", str(text), "--service", "checkout")).stdout
    )
    assert "version 2" in ok(cli(db, "runbook", "save", "Disk full", "--file", str(text))).stdout
    listed = json.loads(ok(cli(db, "runbook", "list", "--json")).stdout)
    assert [(r["slug"], r["version"]) for r in listed] == [("disk-full", 2)]


def test_the_console_search_page_card_and_runbooks(console: Console) -> None:  # noqa: F811
    console.login()
    csrf = console.csrf()
    r = console.client.post(
        "/runbooks",
        data={
            "csrf": csrf,
            "title": "Checkout API down",
            "body": "## Steps\n\n1. **Restart** <script>x</script>",
            "services": "checkout-api",
            "types": "",
            "matchers": "[]",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = console.client.get("/runbooks/checkout-api-down").text
    assert "<strong>Restart</strong>" in page
    assert "<script>x" not in page
    bad = console.client.post(
        "/runbooks", data={"csrf": csrf, "title": "x", "matchers": "{not json"}, follow_redirects=False
    )
    assert bad.status_code == 422
    assert "matchers" in bad.text
    console.trigger("Checkout API returns 502")
    with console.db.unit_of_work() as s:
        indexer.reindex(s)
    incident = console.client.get("/incidents/1").text
    card = incident[incident.index('id="knowledge"') :]
    assert "Checkout API down" in card[: card.index("</section>")]
    results = console.client.get("/search", params={"q": "502"}).text
    assert re.search(r"#1 Checkout API returns 502", results)
    assert console.client.get("/search", params={"q": "x" * 300}).status_code == 422
    # Edit from the runbook's page: version 2, both versions in the history.
    r = console.client.post(
        "/runbooks",
        data={
            "csrf": csrf,
            "id": "checkout-api-down",
            "base_version": "1",
            "title": "Checkout API down",
            "body": "Restart it",
            "services": "checkout-api",
            "matchers": "[]",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    history = console.client.get("/runbooks/checkout-api-down").text
    assert "/runbooks/checkout-api-down/versions/1" in history
    assert "/runbooks/checkout-api-down/versions/2" in history
    stale = console.client.post(
        "/runbooks",
        data={
            "csrf": csrf,
            "id": "checkout-api-down",
            "base_version": "1",
            "title": "Checkout API down",
            "body": "mine",
            "matchers": "[]",
        },
        follow_redirects=False,
    )
    assert stale.status_code == 409
