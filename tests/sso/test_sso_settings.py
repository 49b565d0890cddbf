"""Single sign-on's settings are checked at start-up, and without them there is no button and no SSO route."""

from __future__ import annotations

import pytest

from tests.conftest import ApiHarness
from tocsin.settings import ConfigError, load_settings


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"oidc_issuer": "https://id.example.test"}, "TOCSIN_OIDC_CLIENT_ID"),
        ({"oidc_issuer": "id.example.test", "oidc_client_id": "c"}, "absolute http(s) URL"),
        ({"oidc_issuer": "https://id.example.test", "oidc_client_id": "c", "oidc_scopes": "email"}, "openid"),
        ({"oidc_group_roles": {"g": "owner"}}, "TOCSIN_OIDC_GROUP_ROLES"),
        ({"oidc_group_teams": {"g": {"team": "A", "role": "boss"}}}, "TOCSIN_OIDC_GROUP_TEAMS"),
        ({"oidc_group_teams": {"g": {"role": "member"}}}, "TOCSIN_OIDC_GROUP_TEAMS"),
    ],
)
def test_incomplete_or_wrong_settings_are_refused_at_start_up(overrides: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**overrides)
    assert words in str(refused.value)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_OIDC_ISSUER", "https://id.example.test/realms/ops")
    monkeypatch.setenv("TOCSIN_OIDC_CLIENT_ID", "tocsin")
    monkeypatch.setenv("TOCSIN_OIDC_CLIENT_SECRET", "a-client-secret-value")
    monkeypatch.setenv("TOCSIN_OIDC_GROUP_TEAMS", '{"sre": {"team": "SRE", "role": "manager"}, "dev": {"team": "Web"}}')
    monkeypatch.setenv("TOCSIN_OIDC_GROUP_ROLES", '{"admins": "admin"}')
    monkeypatch.setenv("TOCSIN_OIDC_ALLOWED_DOMAINS", "Example.com, @corp.example ,")
    settings = load_settings()
    assert settings.oidc_enabled
    assert settings.oidc_group_teams["sre"].team == "SRE"
    assert settings.oidc_group_teams["sre"].role == "manager"
    assert settings.oidc_group_teams["dev"].role == "member"
    assert settings.oidc_group_roles == {"admins": "admin"}
    assert settings.oidc_domains == {"example.com", "corp.example"}
    assert settings.oidc_client_secret == "a-client-secret-value"
    assert "a-client-secret-value" not in repr(settings)


def test_without_a_provider_there_is_no_button_and_no_route(api: ApiHarness) -> None:
    page = api.client.get("/login")
    assert page.status_code == 200
    assert "Sign in with" not in page.text
    assert api.client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert api.client.get("/login/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404
