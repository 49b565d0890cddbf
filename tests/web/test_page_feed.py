"""``/live/pages``: a person's own delivered pages of the last minutes, for the console's browser notifications."""

from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.users import service as users


def _page(console: Console, email: str, incident_id: int, *, status: str, minutes_ago: int, key: str) -> int:
    now = console.clock.now()
    with console.db.unit_of_work() as s:
        user = users.get_user(s, email)
        [cm] = contacts.contact_methods(s, user.id) or [
            contacts.add_contact_method(s, user_id=user.id, name="mail", type="email", address=email, now=now)
        ]
        row = Notification(
            idempotency_key=key,
            kind="page",
            incident_id=incident_id,
            user_id=user.id,
            contact_method_id=cm.id,
            status=status,
            created_at=now - timedelta(minutes=minutes_ago),
            sent_at=now - timedelta(minutes=minutes_ago) if status == "sent" else None,
            payload={},
        )
        s.add(row)
        s.flush()
        return row.id


def test_only_my_recently_delivered_pages_are_listed(console: Console) -> None:
    console.trigger("Disk 95% full on db1")
    with console.db.reader() as s:
        incident = incidents.get(s, "#1")
    mine = _page(console, "alice@example.com", incident.id, status="sent", minutes_ago=1, key="a")
    _page(console, "alice@example.com", incident.id, status="sent", minutes_ago=20, key="old")
    _page(console, "alice@example.com", incident.id, status="pending", minutes_ago=0, key="later")
    _page(console, "olga@example.com", incident.id, status="sent", minutes_ago=0, key="olga")

    assert console.client.get("/live/pages", follow_redirects=False).status_code == 303
    console.login()
    r = console.client.get("/live/pages")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.json() == {
        "pages": [
            {
                "id": mine,
                "number": 1,
                "title": "Disk 95% full on db1",
                "status": "triggered",
                "urgency": "high",
                "channel": "email",
                "url": "/incidents/1",
            }
        ]
    }


def test_every_console_page_offers_to_turn_notifications_on(console: Console) -> None:
    console.login()
    for path in ("/incidents", "/outbox", "/me"):
        page = console.client.get(path)
        assert 'id="notify-enable" hidden>Enable browser notifications</button>' in page.text, path
