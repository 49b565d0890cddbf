"""The incident page's War room card: the Open button (with CSRF) asks for the room once and the card shows where
it stands; an observer sees the card without the button."""

from __future__ import annotations

import re

from tests.api.conftest import declare, make_service
from tests.chat.conftest import Rooms
from tests.web.conftest import PASSWORD, password_hash  # noqa: F401  (hashed once per run)
from tocsin.users import service as users


def test_the_war_room_card_opens_a_room(rooms: Rooms, password_hash: str) -> None:  # noqa: F811
    r = rooms
    with r.db.unit_of_work() as s:
        for email, role in (("alice@example.com", "admin"), ("olga@example.com", "observer")):
            users.create_user(
                s,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                now=r.clock.now(),
                password_hash=password_hash,
            )
    inc = declare(r.api, make_service(r.api)["id"], "Checkout is down")
    web = r.api.client
    assert (
        web.post(
            "/login", data={"email": "alice@example.com", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )
    page = web.get(f"/incidents/{inc['number']}").text
    assert 'id="chat"' in page
    assert "No war room yet." in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert web.post(f"/incidents/{inc['number']}/chat-room", data={"csrf": "forged"}).status_code == 403
    opened = web.post(f"/incidents/{inc['number']}/chat-room", data={"csrf": csrf.group(1), "platform": "slack"})
    assert f"War room inc-{inc['number']}-checkout-is-down asked for on slack" in opened.text
    r.pump()
    page = web.get(f"/incidents/{inc['number']}").text
    assert f"inc-{inc['number']}-checkout-is-down" in page
    assert "· open" in page
    assert 'action="/incidents/' + str(inc["number"]) + '/chat-room"' not in page, "one room per platform"
    web.cookies.clear()
    assert (
        web.post("/login", data={"email": "olga@example.com", "password": PASSWORD}, follow_redirects=False).status_code
        == 303
    )
    assert 'id="chat"' in web.get(f"/incidents/{inc['number']}").text
