"""/docs in a real browser: Swagger UI starts and lists the API with the page's strict Content-Security-Policy
in force, and nothing is fetched from another origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import Tab


def test_swagger_ui_renders_under_the_policy_from_this_origin_only(tab: Tab) -> None:
    requested: list[str] = []
    tab.page.on("request", lambda r: requested.append(r.url))
    tab.go("/docs")
    # Swagger UI fetches and lays out the whole OpenAPI document first: slow on a busy machine.
    tab.page.wait_for_selector(".opblock-summary-path", timeout=90_000)
    assert tab.page.locator(".opblock").count() > 40
    # Opening an operation renders its parameters and schemas (more of Swagger UI's code under the policy).
    # The click waits for the page to settle, which on a busy machine can take as long as the first layout.
    tab.page.locator(".opblock-summary").first.click(timeout=90_000)
    tab.page.wait_for_selector(".opblock-body", timeout=90_000)
    origin = urlsplit(tab.base).netloc
    foreign = [u for u in requested if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin]
    assert foreign == []
    assert [e for e in tab.console_errors if "Content Security Policy" in e] == []
    assert tab.console_errors == []
