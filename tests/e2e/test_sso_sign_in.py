"""Single sign-on in a real browser, on SQLite and PostgreSQL: the button on the sign-in page, the real provider's
authorization form, and back in the console as the account the provider's claims made."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.sso.conftest import PROVIDER_WARNINGS, person, run_provider, run_tocsin
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.teams import service as teams
from tocsin.users import service as users

pytestmark = [pytest.mark.slow, *(pytest.mark.filterwarnings(spec) for spec in PROVIDER_WARNINGS)]


def test_sign_in_with_the_provider_from_the_sign_in_page(browser: Any, db: Database) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    with run_provider() as provider, run_tocsin(db, clock, provider.issuer) as (url, _):
        provider.set_user("sub-pia", person("pia@example.com", groups=["grp-a", "grp-a-leads"], name="Pia Provider"))
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{url}/incidents")
            expect(page).to_have_url(f"{url}/login?next=%2Fincidents")
            page.get_by_role("link", name="Sign in with Example ID").click()
            page.wait_for_url(f"{provider.issuer}/oauth2/authorize?**")
            page.locator('input[name="sub"]').fill("sub-pia")
            page.get_by_role("button", name="Authorize").click()
            page.wait_for_url(f"{url}/incidents")
            expect(page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()
            expect(page.get_by_text("Pia Provider").first).to_be_visible()
        finally:
            context.close()
    with db.reader() as s:
        pia = users.get_user(s, "pia@example.com")
        assert pia.role == "responder"
        team = teams.get_team(s, "team-a")
        assert [(u.email, role) for u, role in teams.members(s, team)] == [("pia@example.com", "manager")]
