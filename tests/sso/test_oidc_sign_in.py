"""OpenID Connect sign-in end to end against a real provider, on SQLite and PostgreSQL: the button, PKCE and the
provider's form, a just-in-time account with its role and teams from the groups claim, the groups followed at
every sign-in (hand-made memberships left alone), and team scoping applied to the account like to any other."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.sso.conftest import Sso, person
from tocsin.sso import service as sso_service
from tocsin.teams import service as teams
from tocsin.users import service as users


def test_the_login_page_offers_the_provider_next_to_the_password_form(sso: Sso) -> None:
    page = httpx.get(f"{sso.url}/login?next=/services", timeout=10)
    assert page.status_code == 200
    assert 'action="/login"' in page.text
    assert "Sign in with Example ID" in page.text
    assert 'href="/login/oidc?next=/services"' in page.text


def test_the_authorization_request_carries_pkce_state_and_nonce(sso: Sso) -> None:
    browser = sso.browser()
    query = parse_qs(urlsplit(sso.to_provider(browser)).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["tocsin-console"]
    assert query["redirect_uri"] == [f"{sso.url}/login/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert query["state"][0] != query["nonce"][0]
    assert browser.cookies.get("tocsin_oidc_state") == query["state"][0]


def test_first_sign_in_creates_the_account_with_role_and_teams_from_the_groups(sso: Sso) -> None:
    browser = sso.browser()
    done = sso.sign_in(
        "sub-ada", person("Ada@Example.com", groups=["grp-a-leads", "grp-a", "unmapped"], name="Ada L"), browser=browser
    )
    assert done.response.status_code == 303, done.response.text
    assert done.response.headers["location"] == "/incidents"
    assert "tocsin_session" in browser.cookies
    page = browser.get(f"{sso.url}/incidents")
    assert page.status_code == 200
    assert "Ada L" in page.text
    user = sso.user("ada@example.com")
    assert (user.name, user.role) == ("Ada L", "responder")
    assert sso.teams_of("ada@example.com") == {"team-a": "manager"}
    with sso.db.reader() as s:
        assert sso_service.is_managed(s, user.id)


def test_every_sign_in_follows_the_groups_and_leaves_hand_made_memberships(sso: Sso) -> None:
    assert sso.sign_in("sub-bo", person("bo@example.com", groups=["grp-a", "grp-ghost"])).response.status_code == 303
    # A group mapped to a team that does not exist gives nothing.
    assert sso.teams_of("bo@example.com") == {"team-a": "member"}
    with sso.db.unit_of_work() as s:
        ops = teams.create_team(s, name="ops", now=sso.clock.now())
        teams.set_member(s, ops, users.get_user(s, "bo@example.com"), "manager")
    # Moved from team A to team B and made an admin at the provider.
    again = sso.sign_in("sub-bo", person("bo@example.com", groups=["grp-b", "grp-admins"]))
    assert again.response.status_code == 303, again.response.text
    assert sso.teams_of("bo@example.com") == {"team-b": "member", "ops": "manager"}
    assert sso.user("bo@example.com").role == "admin"
    # No mapped group left: the mapped teams go, the default role applies, the hand-made team stays.
    assert sso.sign_in("sub-bo", person("bo@example.com", groups=[])).response.status_code == 303
    assert sso.teams_of("bo@example.com") == {"ops": "manager"}
    assert sso.user("bo@example.com").role == "observer"
    assert sso.user_count() == 2


def test_an_existing_account_with_the_verified_email_is_linked_not_duplicated(sso: Sso) -> None:
    with sso.db.unit_of_work() as s:
        users.create_user(s, email="cy@example.com", name="Cy by hand", role="observer", now=sso.clock.now())
    done = sso.sign_in("sub-cy", person("cy@example.com", groups=["grp-b"]))
    assert done.response.status_code == 303, done.response.text
    assert sso.user_count() == 2
    user = sso.user("cy@example.com")
    assert (user.name, user.role) == ("Cy by hand", "responder")
    assert sso.teams_of("cy@example.com") == {"team-b": "member"}


def _private_incident(sso: Sso, team: str, title: str) -> int:
    admin = sso.admin()
    service = httpx.post(f"{sso.url}/api/v1/services", json={"name": f"svc-{team}"}, headers=admin, timeout=10)
    assert service.status_code == 201, service.text
    body = {"service_id": service.json()["id"], "title": title, "private": True, "private_team": team}
    incident = httpx.post(f"{sso.url}/api/v1/incidents", json=body, headers=admin, timeout=10)
    assert incident.status_code == 201, incident.text
    return int(incident.json()["number"])


def test_an_sso_responder_of_team_a_cannot_see_team_bs_private_incident(sso: Sso) -> None:
    ours = _private_incident(sso, "team-a", "outage of team a")
    theirs = _private_incident(sso, "team-b", "outage of team b")
    browser = sso.browser()
    assert (
        sso.sign_in("sub-dee", person("dee@example.com", groups=["grp-a"]), browser=browser).response.status_code == 303
    )
    assert sso.user("dee@example.com").role == "responder"
    assert browser.get(f"{sso.url}/incidents/{ours}").status_code == 200
    hidden = browser.get(f"{sso.url}/incidents/{theirs}")
    assert hidden.status_code == 404
    assert "outage of team b" not in hidden.text
    listing = browser.get(f"{sso.url}/incidents?status=all").text
    assert "outage of team a" in listing
    assert "outage of team b" not in listing
