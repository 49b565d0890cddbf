"""Sign-ins, failed sign-ins and sign-outs in the audit trail, changes made in the console, and the audit page."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Console
from tocsin.audit import service as audit
from tocsin.audit.models import AuditEntry
from tocsin.audit.repository import AuditFilter
from tocsin.users import service as users


def entries(console: Console, **flt: object) -> list[AuditEntry]:
    with console.db.reader() as s:
        rows, _ = audit.list_entries(s, AuditFilter(**flt), limit=100)  # type: ignore[arg-type]
    return rows


def test_failed_sign_ins_are_recorded_without_telling_the_visitor_which_part_was_wrong(console: Console) -> None:
    agent = {"User-Agent": "browser/1.0"}
    unknown = console.client.post("/login", data={"email": "who@example.com", "password": "x"}, headers=agent)
    wrong = console.client.post("/login", data={"email": "alice@example.com", "password": "x"}, headers=agent)
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong email or password" in unknown.text
    assert "Wrong email or password" in wrong.text
    failed = entries(console, action=audit.SIGN_IN_FAILED)
    assert [e.data["email"] for e in failed] == ["alice@example.com", "who@example.com"]
    assert {(e.channel, e.ip, e.user_agent, e.actor_user_id) for e in failed} == {
        ("web", "testclient", "browser/1.0", None)
    }


def test_sign_in_change_and_sign_out_name_the_person(console: Console) -> None:
    console.login()
    (signed_in,) = entries(console, action=audit.SIGN_IN)
    assert (signed_in.actor, signed_in.channel, signed_in.object_type) == ("Alice", "web", "user")
    alice = signed_in.actor_user_id
    assert alice is not None
    assert signed_in.object_id == str(alice)

    made = console.client.post("/me/tokens", data={"csrf": console.csrf("/me"), "name": "laptop"})
    assert made.status_code == 200
    (token,) = entries(console, action="api_token.created", channel="web")
    assert token.actor_user_id == alice
    assert token.data["after"]["token_hash"] == "***"
    assert token.data["after"]["name"] == "laptop"

    out = console.client.post("/logout", data={"csrf": console.csrf()}, follow_redirects=False)
    assert out.status_code == 303
    (signed_out,) = entries(console, action=audit.SIGN_OUT)
    assert signed_out.actor_user_id == alice
    with console.db.reader() as s:
        assert audit.verify_chain(s)[1] is None


def test_the_audit_page_is_for_admins_and_filters(console: Console) -> None:
    console.login("olga@example.com", PASSWORD)
    assert console.client.get("/audit").status_code == 403
    assert 'href="/audit"' not in console.client.get("/incidents").text
    console.login()
    page = console.client.get("/audit")
    assert page.status_code == 200
    assert 'href="/audit" aria-current="page"' in page.text
    assert "auth.sign_in" in page.text
    assert "Olga" in page.text
    filtered = console.client.get("/audit", params={"channel": "web", "object_type": "api_token"}).text
    assert "auth.sign_in" not in filtered
    assert "No entries match." in filtered
    bad = console.client.get("/audit", params={"since": "soon"})
    assert bad.status_code == 400
    assert "since" in bad.text
    export = console.client.get("/audit/export.jsonl", params={"channel": "web"})
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert [line.count('"auth.sign_in"') for line in export.text.splitlines()] == [1, 1]


def test_console_forms_record_their_changes_on_the_web_channel(console: Console) -> None:
    console.login()
    alice = entries(console, action=audit.SIGN_IN)[0].actor_user_id
    csrf = console.csrf("/services/new")
    made = console.client.post("/services/new", data={"csrf": csrf, "name": "ledger"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    (created,) = entries(console, action="service.created", channel="web")
    service_id = created.object_id
    edited = console.client.post(
        f"/services/{service_id}/edit", data={"csrf": csrf, "name": "ledger-api"}, follow_redirects=False
    )
    assert edited.status_code == 303, edited.text
    archived = console.client.post(f"/services/{service_id}/archive", data={"csrf": csrf, "confirm": "yes"})
    assert "Archived ledger-api" in archived.text
    with console.db.reader() as s:
        olga = users.get_user(s, "olga@example.com").id
    deactivated = console.client.post(f"/people/{olga}/deactivate", data={"csrf": csrf, "confirm": "yes"})
    assert "Deactivated olga@example.com" in deactivated.text

    renamed, archive = sorted(entries(console, action="service.updated", object_id=service_id), key=lambda e: e.id)
    (deactivation,) = entries(console, action="user.updated", object_id=str(olga))
    assert created.data["after"]["name"] == "ledger"
    assert (renamed.data["before"]["name"], renamed.data["after"]["name"]) == ("ledger", "ledger-api")
    assert archive.data["before"] == {"archived_at": None}
    assert archive.data["after"]["archived_at"] is not None
    assert deactivation.data["before"] == {"deactivated_at": None}
    assert deactivation.data["after"]["deactivated_at"] is not None
    for entry in (created, renamed, archive, deactivation):
        assert (entry.channel, entry.actor, entry.actor_user_id) == ("web", "Alice", alice)
        assert entry.ip == "testclient"
