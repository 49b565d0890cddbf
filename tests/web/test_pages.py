"""The HTML console through the real app: sign-in, CSRF, roles, the incident list and page, safe rendering."""

from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import PASSWORD, Console
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.services import service as services


def test_pages_need_sign_in_and_wrong_password_is_refused(console: Console) -> None:
    r = console.client.get("/incidents?status=all", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fincidents%3Fstatus%3Dall"
    r = console.client.post("/login", data={"email": "alice@example.com", "password": "nope"})
    assert r.status_code == 401
    assert "Wrong email or password" in r.text
    r = console.client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD})
    assert r.status_code == 401
    assert "tocsin_session" not in r.headers.get("set-cookie", "")


def test_session_cookie_is_httponly_samesite_and_sign_out_ends_it(console: Console) -> None:
    r = console.client.post(
        "/login",
        data={"email": "alice@example.com", "password": PASSWORD, "next": "/incidents"},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    token = console.client.cookies["tocsin_session"]
    assert console.client.get("/incidents").status_code == 200
    r = console.client.post("/logout", data={"csrf": console.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    # The old cookie is dead on the server side too, not just deleted in this browser.
    console.client.cookies.set("tocsin_session", token)
    assert console.client.get("/incidents", follow_redirects=False).status_code == 303


def test_sessions_expire_when_idle(console: Console) -> None:
    console.login()
    assert console.client.get("/incidents", follow_redirects=False).status_code == 200
    console.clock.advance(timedelta(hours=13))
    assert console.client.get("/incidents", follow_redirects=False).status_code == 303


def test_next_parameter_cannot_redirect_off_site(console: Console) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = console.client.post(
            "/login",
            data={"email": "alice@example.com", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/incidents"


def test_every_form_post_needs_the_csrf_token(console: Console) -> None:
    console.login()
    console.trigger("disk full")
    for path, data in (
        ("/incidents/1", {"action": "acknowledge"}),
        ("/incidents/1", {"action": "acknowledge", "csrf": "forged"}),
        ("/incidents/bulk", {"action": "resolve", "incident": "1"}),
        ("/logout", {}),
    ):
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    assert console.status_of(1) == "triggered"


def test_list_shows_open_incidents_with_filters_and_partial_rows(console: Console) -> None:
    console.login()
    console.trigger("Disk 95% full on db1")
    console.trigger("Checkout latency high")
    console.client.post("/incidents/2", data={"action": "resolve", "csrf": console.csrf()})
    page = console.client.get("/incidents").text
    assert "Disk 95% full on db1" in page
    assert "Checkout latency high" not in page  # resolved: not in the default open view
    assert "Checkout latency high" in console.client.get("/incidents?status=resolved").text
    assert "Disk 95%" not in console.client.get("/incidents?status=all&q=latency").text
    rows = console.client.get("/incidents?status=all&partial=rows")
    assert rows.text.count("<tr") == 2
    assert "<html" not in rows.text


def test_empty_states_teach_the_next_step(db: Database, clock: FakeClock, console: Console) -> None:
    console.login()
    assert "tocsin event send --key" in console.client.get("/incidents").text
    with db.unit_of_work() as s:
        services.delete_service(s, services.get_service(s, "checkout-api"))
    assert "tocsin apply -f" in console.client.get("/incidents").text


def test_incident_page_actions_write_the_timeline_as_web(console: Console) -> None:
    console.login()
    console.trigger("Disk 95% full on db1")
    csrf = console.csrf("/incidents/1")
    r = console.client.post("/incidents/1", data={"action": "acknowledge", "csrf": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/incidents/1?notice=Acknowledged"
    console.client.post("/incidents/1", data={"action": "fields", "csrf": csrf, "priority": "P2", "severity": "SEV2"})
    console.client.post("/incidents/1", data={"action": "note", "csrf": csrf, "text": "Rolling back **now**"})
    console.client.post("/incidents/1", data={"action": "resolve", "csrf": csrf})
    with console.db.reader() as s:
        incident = incidents.get(s, "#1")
        entries = incidents.timeline(s, incident.id)
    assert incident.status == "resolved"
    assert incident.priority == "P2"
    assert incident.severity == "SEV2"
    web = [(e.kind, e.actor) for e in entries if e.source == "web"]
    assert web == [("acknowledged", "Alice"), ("updated", "Alice"), ("note", "Alice"), ("resolved", "Alice")]
    page = console.client.get("/incidents/1").text
    assert "Rolling back <strong>now</strong>" in page


def test_a_refused_action_explains_itself(console: Console) -> None:
    console.login()
    console.trigger("Disk 95% full on db1")
    csrf = console.csrf("/incidents/1")
    console.client.post("/incidents/1", data={"action": "resolve", "csrf": csrf})
    r = console.client.post("/incidents/1", data={"action": "acknowledge", "csrf": csrf})
    assert r.status_code == 200
    assert 'role="alert"' in r.text
    assert "resolved" in r.text


def test_bulk_acknowledge_skips_what_is_already_closed(console: Console) -> None:
    console.login()
    for n in range(3):
        console.trigger(f"alert {n}")
    csrf = console.csrf()
    console.client.post("/incidents/3", data={"action": "resolve", "csrf": csrf})
    with console.db.reader() as s:
        ids = [incidents.get(s, f"#{n}").id for n in (1, 2, 3)]
    r = console.client.post(
        "/incidents/bulk",
        data={"action": "acknowledge", "csrf": csrf, "incident": [str(i) for i in ids]},
        follow_redirects=False,
    )
    assert "2+acknowledged%2C+1+skipped" in r.headers["location"]
    assert [console.status_of(n) for n in (1, 2, 3)] == ["acknowledged", "acknowledged", "resolved"]


def test_observers_can_read_but_not_act(console: Console) -> None:
    console.trigger("Disk 95% full on db1")
    console.login("olga@example.com")
    page = console.client.get("/incidents/1")
    assert page.status_code == 200
    assert 'data-action="acknowledge"' not in page.text
    csrf = console.csrf("/incidents")  # the sign-out form still carries one
    r = console.client.post("/incidents/1", data={"action": "acknowledge", "csrf": csrf})
    assert r.status_code == 403
    assert console.status_of(1) == "triggered"


def test_untrusted_alert_fields_render_inert(console: Console) -> None:
    console.login()
    console.trigger(
        '<script>alert("x")</script><img src=x onerror=alert(1)>',
        links=[
            {"href": "javascript:alert(1)", "text": "runbook"},
            {"href": "data:text/html,<script>alert(1)</script>", "text": "data"},
            {"href": "https://runbooks.example/db", "text": "real runbook"},
        ],
    )
    csrf = console.csrf("/incidents/1")
    console.client.post(
        "/incidents/1", data={"action": "note", "csrf": csrf, "text": "<b onmouseover=alert(1)>x</b> [y](javascript:z)"}
    )
    for path in ("/incidents", "/incidents/1"):
        r = console.client.get(path)
        html = r.text
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert 'href="javascript:' not in html
        assert 'href="data:' not in html
        assert "onmouseover=" not in html.replace("onmouseover=alert(1)&gt;", "")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    assert 'href="https://runbooks.example/db"' in console.client.get("/incidents/1").text


def test_unknown_incident_is_a_404_page(console: Console) -> None:
    console.login()
    r = console.client.get("/incidents/999")
    assert r.status_code == 404
    assert "Incident #999 was not found" in r.text
