"""The console's Trackers page: an admin adds a connection (the token never written back), sees its webhook
address, and deletes it; bad input is shown beside the form; an observer is refused."""

from __future__ import annotations

from tests.web.conftest import Console, console, password_hash  # noqa: F401  (the console harness)


def test_an_admin_keeps_tracker_connections(console: Console) -> None:  # noqa: F811
    console.login()
    csrf = console.csrf("/trackers")
    form = {
        "csrf": csrf,
        "name": "ops-jira",
        "kind": "jira",
        "base_url": "https://acme.atlassian.net",
        "project": "OPS",
        "username": "bot@example.org",
        "token": "a-very-secret-token-42",
        "issue_type": "Task",
        "api_version": "3",
    }
    made = console.client.post("/trackers/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = console.client.get("/trackers").text
    assert "ops-jira" in page
    assert "http://tocsin.test/hooks/trackers/1/jira" in page
    assert "a-very-secret-token-42" not in page

    refused = console.client.post("/trackers/new", data={**form, "name": "bad", "project": "lower"})
    assert refused.status_code == 422
    assert "project key" in refused.text
    assert 'value="bad"' in refused.text
    assert "a-very-secret-token-42" not in refused.text
    assert console.client.post("/trackers/new", data={**form, "csrf": "forged"}).status_code == 403

    deleted = console.client.post("/trackers/1/delete", data={"csrf": csrf}, follow_redirects=False)
    assert deleted.status_code == 303
    assert "ops-jira" not in console.client.get("/trackers").text

    console.client.cookies.clear()
    console.login("olga@example.com")
    assert console.client.get("/trackers").status_code == 403
