"""Ids and numbers are ASCII digits only: "²" or "٣" wherever a number may come gets 4xx, never a 500.

``str.isdigit`` is true of superscripts and other scripts' digits; ``int("²")`` then raises, and ``int("٣")`` reads
3. Every route of the app is walked with such text in each path parameter, in the query string and in form fields.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.web.conftest import Console
from tests.web.test_event_loop import _routes
from tocsin.core.numbers import ascii_int, is_ascii_digits
from tocsin.users import service as users

NOT_ASCII = ["²", "٣"]
# Names the console and the API read numbers from; sent all at once to every route.
NUMERIC_FIELDS = [
    "id",
    "page",
    "limit",
    "offset",
    "before",
    "after",
    "cursor",
    "days",
    "delay",
    "position",
    "number",
    "incident",
    "user",
    "policy",
    "team",
    "service",
    "contact_method_id",
    "actor",
    "level",
    "step",
    "minutes",
    "hours",
    "count",
    "rotation",
    "layer",
    "schedule",
    "notification",
]
# Routes whose answer does not depend on the request (or that end the session the walk needs).
SKIPPED = {"/logout", "/live", "/live/pages", "/metrics"}


def walked(console: Console) -> list[tuple[str, str]]:
    found = []
    for route in _routes(console.client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute | Route) or route.path in SKIPPED or route.path.startswith("/static"):
            continue
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return found


@pytest.mark.parametrize("text", NOT_ASCII)
def test_no_route_answers_500_to_digits_that_are_not_ascii(console: Console, text: str) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        admin = users.get_user(s, "alice@example.com")
        _, token = users.create_token(s, admin, name="walk", now=console.clock.now())
    console.trigger("disk full")
    csrf = console.csrf()
    routes = walked(console)
    assert len(routes) > 100
    failures = []
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", text, path)
        query = {name: text for name in NUMERIC_FIELDS}
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
        try:
            if method == "GET":
                response = console.client.get(url, params=query, headers=headers, follow_redirects=False)
            elif path.startswith(("/api/", "/integrations/", "/v2/")):
                response = console.client.request(method, url, json=query, headers=headers, follow_redirects=False)
            else:
                form = {**query, "csrf": csrf}
                response = console.client.request(method, url, data=form, headers=headers, follow_redirects=False)
        except Exception as exc:  # the in-process client re-raises what the server did not handle
            failures.append(f"{method} {url} raised {type(exc).__name__}: {exc}")
            continue
        if response.status_code >= 500:
            failures.append(f"{method} {url} -> {response.status_code}: {response.text[:200]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("text", ["²", "٣", "\uff13", "1²", " 7", "-1", ""])
def test_only_ascii_digits_are_numbers(text: str) -> None:
    assert not is_ascii_digits(text)
    assert ascii_int(text) is None


def test_ascii_digits_and_ints_are_numbers() -> None:
    assert ascii_int("0042") == 42
    assert ascii_int(7) == 7
    assert ascii_int(True) is None
