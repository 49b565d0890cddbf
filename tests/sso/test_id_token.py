"""The ID token's signature is checked against the real provider's published keys: a token signed with another
key, under the provider's key id or an unknown one, unsigned or HMAC-signed with a guessable secret, is refused
before any of its claims is read; a genuine token's claims are checked one by one."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from tests.sso.conftest import CLIENT_ID, Provider, Wsgi, run_provider
from tocsin.core.clock import FakeClock
from tocsin.settings import load_settings
from tocsin.sso.oidc import OidcClient, ProviderUnavailable, SignInRefused


def _client(issuer: str) -> OidcClient:
    return OidcClient(load_settings(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, public_url="http://tocsin.test"))


def _claims(provider: Provider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": "sub-1",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": "the-nonce",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _provider_kid(provider: Provider) -> str:
    keys = httpx.get(f"{provider.issuer}/jwks", timeout=10).json()["keys"]
    return str(keys[0]["kid"])


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_tokens_not_signed_by_the_provider_are_refused(provider: Provider, real_clock: FakeClock) -> None:
    client = _client(provider.issuer)
    claims = _claims(provider)
    kid = _provider_kid(provider)
    impostor = RSAKey.generate_key(2048, parameters={"kid": kid})
    forged = jwt.encode({"alg": "RS256", "kid": kid}, claims, impostor)
    with pytest.raises(SignInRefused, match="signature is not the identity provider's"):
        client.verify_id_token(forged, nonce="the-nonce", now=real_clock.now())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "not-the-providers"})
    unknown = jwt.encode({"alg": "RS256", "kid": "not-the-providers"}, claims, stranger)
    with pytest.raises(SignInRefused, match="not signed with any of the identity provider's keys"):
        client.verify_id_token(unknown, nonce="the-nonce", now=real_clock.now())
    secret = OctKey.import_key(CLIENT_ID.encode() * 4)
    hmac_signed = jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
    for token in (hmac_signed, _unsigned(claims), "not.a.token", ""):
        with pytest.raises(SignInRefused):
            client.verify_id_token(token, nonce="the-nonce", now=real_clock.now())


def test_discovery_must_name_the_configured_issuer(provider: Provider) -> None:
    def renamed(app: Wsgi) -> Wsgi:
        # The provider names itself after the host it is asked as: its discovery document then names another issuer.
        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            environ["HTTP_HOST"] = f"id.example.test:{environ['SERVER_PORT']}"
            return app(environ, start_response)

        return wsgi

    with run_provider(renamed) as other, pytest.raises(ProviderUnavailable, match="not the configured issuer"):
        _client(other.issuer).metadata()
    assert _client(provider.issuer + "/").metadata().issuer == provider.issuer
