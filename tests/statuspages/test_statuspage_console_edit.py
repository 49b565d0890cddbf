"""Editing a status page in the console, one form at a time: settings, groups, components, maintenances and
subscribers. Each form needs CSRF and an admin; each refusal comes back as a readable error on the page."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)
from tocsin.statuspages import service as statuspages


def _setup(console: Console) -> tuple[str, str]:  # noqa: F811
    with console.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="shop", name="Shop", now=console.clock.now())
        page_id = page.id
    console.login()
    base = f"/status-pages/{page_id}"
    return base, console.csrf(base)


def _post(console: Console, url: str, data: dict[str, object]) -> str:  # noqa: F811
    answer = console.client.post(url, data=data)
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def _page(console: Console) -> statuspages.StatusPage:  # noqa: F811
    with console.db.reader() as s:
        return statuspages.get_page(s, statuspages.list_pages(s)[0].id)


def test_page_settings(console: Console) -> None:  # noqa: F811
    base, csrf = _setup(console)
    settings = {
        "csrf": csrf,
        "name": "Shop status",
        "slug": "shop-status",
        "visibility": "internal",
        "automation": "propose",
        "logo_url": "https://example.com/logo.png",
        "brand_color": "#112233",
        "text_color": "#FFFFFF",
        "time_zone": "Europe/Paris",
        "custom_domain": "Status.Example.com",
        "footer_links": "Home | https://example.com\n\nTerms | https://example.com/terms",
        "anyone_may_publish": "1",
    }
    html = _post(console, f"{base}/settings", settings)
    assert "Settings saved" in html
    page = _page(console)
    assert (page.name, page.slug, page.visibility, page.automation) == (
        "Shop status",
        "shop-status",
        "internal",
        "propose",
    )
    assert (page.brand_color, page.text_color, page.time_zone) == ("#112233", "#ffffff", "Europe/Paris")
    assert page.custom_domain == "status.example.com"
    assert page.footer_links == [
        {"label": "Home", "url": "https://example.com"},
        {"label": "Terms", "url": "https://example.com/terms"},
    ]
    assert page.anyone_may_publish is True

    for field, value, message in (
        ("time_zone", "Mars/Olympus", "unknown time zone"),
        ("brand_color", "red", "#rrggbb"),
        ("slug", "Not A Slug", "slug: lowercase"),
        ("footer_links", "no bar here", "footer links, line 1"),
        ("custom_domain", "not a host", "is not a host name"),
        ("visibility", "secret", "visibility must be one of"),
    ):
        refused = _post(console, f"{base}/settings", {**settings, field: value})
        assert message in refused, field
    assert _page(console).time_zone == "Europe/Paris", "a refused form changes nothing"
    del settings["anyone_may_publish"]
    _post(console, f"{base}/settings", settings)
    assert _page(console).anyone_may_publish is False, "an unticked box turns it off"
    assert console.client.post(f"{base}/settings", data={**settings, "csrf": "forged"}).status_code == 403
    console.login("olga@example.com")
    assert console.client.post(f"{base}/settings", data={**settings, "csrf": console.csrf(base)}).status_code == 403


def test_groups_and_components(console: Console) -> None:  # noqa: F811
    base, csrf = _setup(console)
    assert "Group added" in _post(console, f"{base}/groups", {"csrf": csrf, "name": "Backend", "position": "2"})
    _post(console, f"{base}/groups", {"csrf": csrf, "name": "Frontend", "position": "1"})
    with console.db.reader() as s:
        page = statuspages.get_page(s, "shop")
        backend, frontend = sorted(statuspages.groups(s, page), key=lambda g: g.name)
    html = _post(console, f"{base}/groups/{backend.id}", {"csrf": csrf, "name": "Back end", "position": "0"})
    assert "Group saved" in html
    assert "Back end" in html
    assert "needs a name" in _post(console, f"{base}/groups/{backend.id}", {"csrf": csrf, "name": " ", "position": "0"})
    assert "a whole number" in _post(
        console, f"{base}/groups/{backend.id}", {"csrf": csrf, "name": "x", "position": "x"}
    )
    assert "not found" in _post(console, f"{base}/groups/999999", {"csrf": csrf, "name": "x", "position": "0"})
    with console.db.reader() as s:
        assert [g.name for g in statuspages.groups(s, statuspages.get_page(s, "shop"))] == ["Back end", "Frontend"]

    _post(console, f"{base}/components", {"csrf": csrf, "name": "API"})
    with console.db.reader() as s:
        (component,) = statuspages.components(s, statuspages.get_page(s, "shop"))
    edit = {
        "csrf": csrf,
        "name": "Public API",
        "description": "REST",
        "group_id": str(backend.id),
        "position": "3",
        "services": "checkout-api",
        "status": "degraded_performance",
    }
    assert "Component saved" in _post(console, f"{base}/components/{component.id}", edit)
    with console.db.reader() as s:
        (component,) = statuspages.components(s, statuspages.get_page(s, "shop"))
        history = statuspages.history(s, [component.id], console.clock.now() - timedelta(days=1))[component.id]
    assert (component.name, component.group_id, component.position) == ("Public API", backend.id, 3)
    assert len(component.service_ids) == 1
    assert component.status == "degraded_performance"
    assert [h.status for h in history] == ["operational", "degraded_performance"], "the change is kept"
    assert "no service" in _post(console, f"{base}/components/{component.id}", {**edit, "services": "nope"})
    assert "status must be one of" in _post(console, f"{base}/components/{component.id}", {**edit, "status": "bad"})
    assert "not found" in _post(console, f"{base}/components/{component.id}", {**edit, "group_id": "999999"})

    assert "ungrouped" in _post(console, f"{base}/groups/{backend.id}/delete", {"csrf": csrf})
    with console.db.reader() as s:
        (component,) = statuspages.components(s, statuspages.get_page(s, "shop"))
    assert component.group_id is None
    assert "Component deleted" in _post(console, f"{base}/components/{component.id}/delete", {"csrf": csrf})
    with console.db.reader() as s:
        assert statuspages.components(s, statuspages.get_page(s, "shop")) == []
    console.login("olga@example.com")
    observer = console.client.post(f"{base}/groups/{frontend.id}/delete", data={"csrf": console.csrf(base)})
    assert observer.status_code == 403


def test_maintenances_move_and_cancel(console: Console) -> None:  # noqa: F811
    base, csrf = _setup(console)
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        page = statuspages.get_page(s, "shop")
        one = statuspages.schedule_maintenance(
            s, page, name="DB upgrade", scheduled_for=now + timedelta(hours=1),
            scheduled_until=now + timedelta(hours=2), now=now,
        )  # fmt: skip
        two = statuspages.schedule_maintenance(
            s, page, name="Network", scheduled_for=now + timedelta(hours=3),
            scheduled_until=now + timedelta(hours=4), now=now,
        )  # fmt: skip
        one_id, two_id = one.id, two.id
    later = (now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    html = _post(
        console,
        f"{base}/maintenances/{one_id}",
        {"csrf": csrf, "name": "DB upgrade v2", "scheduled_until": later, "status": "in_progress", "body": "Started"},
    )
    assert "Maintenance saved" in html
    with console.db.reader() as s:
        row = statuspages.get_maintenance(s, statuspages.get_page(s, "shop"), one_id)
        bodies = [u.body for u in statuspages.maintenance_updates_of(s, [one_id])[one_id]]
    assert (row.name, row.status) == ("DB upgrade v2", "in_progress")
    assert "Started" in bodies
    back = _post(
        console, f"{base}/maintenances/{one_id}", {"csrf": csrf, "name": "DB upgrade v2", "status": "scheduled"}
    )
    assert "cannot go back" in back
    for status in ("verifying", "completed"):
        _post(console, f"{base}/maintenances/{one_id}", {"csrf": csrf, "name": "DB upgrade v2", "status": status})
    assert "is completed" in _post(console, f"{base}/maintenances/{one_id}", {"csrf": csrf, "name": "x"})
    assert "only a scheduled one" in _post(console, f"{base}/maintenances/{one_id}/cancel", {"csrf": csrf})

    assert "Maintenance cancelled" in _post(console, f"{base}/maintenances/{two_id}/cancel", {"csrf": csrf})
    with console.db.reader() as s:
        row = statuspages.get_maintenance(s, statuspages.get_page(s, "shop"), two_id)
        bodies = [u.body for u in statuspages.maintenance_updates_of(s, [two_id])[two_id]]
    assert row.status == "completed"
    assert row.started_at is None
    assert "This maintenance has been cancelled." in bodies
    bad = _post(console, f"{base}/maintenances/{two_id}", {"csrf": csrf, "name": "x", "scheduled_for": "soon"})
    assert "not a date" in bad or "is completed" in bad


def test_subscribers(console: Console) -> None:  # noqa: F811
    base, csrf = _setup(console)
    with console.db.unit_of_work() as s:
        page = statuspages.get_page(s, "shop")
        statuspages.subscribe_email(s, page, "waiting@example.com", now=console.clock.now())
    html = _post(console, f"{base}/subscribers/webhook", {"csrf": csrf, "url": "https://hooks.example.com/in"})
    assert "Webhook subscriber added" in html
    secret = re.search(r"<code>(whsec_[^<]+)</code>", html)
    assert secret, "the signing secret is shown once"
    again = console.client.get(base).text
    assert secret.group(1) not in again
    assert "whsec_" not in again
    assert "waiting for confirmation" in again
    assert "https://hooks.example.com/in" in again
    assert "already" in _post(
        console, f"{base}/subscribers/webhook", {"csrf": csrf, "url": "https://hooks.example.com/in"}
    )
    assert "http(s) URL" in _post(console, f"{base}/subscribers/webhook", {"csrf": csrf, "url": "ftp://x"})
    with console.db.reader() as s:
        rows = {r.address: r.id for r in statuspages.list_subscribers(s, statuspages.get_page(s, "shop"))}
    assert "Subscriber removed" in _post(
        console, f"{base}/subscribers/{rows['waiting@example.com']}/delete", {"csrf": csrf}
    )
    assert "not found" in _post(console, f"{base}/subscribers/{rows['waiting@example.com']}/delete", {"csrf": csrf})
    with console.db.reader() as s:
        assert [r.address for r in statuspages.list_subscribers(s, statuspages.get_page(s, "shop"))] == [
            "https://hooks.example.com/in"
        ]
    console.login("olga@example.com")
    observer = console.client.post(
        f"{base}/subscribers/{rows['https://hooks.example.com/in']}/delete", data={"csrf": console.csrf(base)}
    )
    assert observer.status_code == 403
