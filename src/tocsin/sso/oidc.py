"""The relying party's side of OpenID Connect: discovery, the authorization request with PKCE (S256), the code
exchange and the ID token's checks (signature against the provider's JWKS, issuer, audience, expiry, nonce).

Authlib builds the OAuth parameters and the PKCE challenge; joserfc (Authlib's JOSE library) verifies the ID
token. The provider's discovery document and key set are cached per process; an unknown key id re-reads the key
set once (the provider rotated its keys).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    MissingKeyError,
)
from joserfc.jwk import KeySet

from tocsin.core.errors import TocsinError
from tocsin.settings import Settings

# Discovery and keys are read again after this long (a provider's keys rotate on a scale of days).
CACHE_SECONDS = 3600.0
# Clock difference tolerated between the provider and this server when checking exp and iat.
LEEWAY_SECONDS = 60
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_MAX_DOCUMENT = 512 * 1024


class SignInRefused(TocsinError):
    """The sign-in cannot go on because of what the browser or the provider sent (400)."""

    status_code = 400
    title = "Bad request"


class ProviderUnavailable(TocsinError):
    """The identity provider could not be reached or answered something unusable (502)."""

    status_code = 502
    title = "Bad gateway"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def new_secret() -> str:
    """A state, nonce or PKCE verifier: 43 URL-safe characters (256 bits)."""
    return secrets.token_urlsafe(32)


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OpenID Connect is not configured")
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._client_secret = settings.oidc_client_secret or None
        self.scopes = " ".join(settings.oidc_scopes.split())
        self.redirect_uri = settings.base_url + "/login/oidc/callback"
        self._timeout = settings.oidc_timeout_seconds
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    # --- provider documents -------------------------------------------------------------------------------------

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._timeout, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the identity provider could not be reached for its {what} ({exc})") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"the identity provider answered {response.status_code} for its {what}")
        if len(response.content) > _MAX_DOCUMENT:
            raise ProviderUnavailable(f"the identity provider's {what} is too large")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(f"the identity provider's {what} is not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"the identity provider's {what} is not a JSON object")
        return body

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        doc = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
        fields = {}
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise ProviderUnavailable(f"the identity provider's discovery document has no usable {name}")
            fields[name] = value
        if not _same_issuer(fields["issuer"], self.issuer):
            raise ProviderUnavailable(
                f"the identity provider calls itself {fields['issuer']!r}, not the configured issuer {self.issuer!r}"
            )
        found = ProviderMetadata(**fields)
        with self._lock:
            self._metadata = (time.monotonic(), found)
        return found

    def _key_set(self, *, fresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._keys
        if not fresh and cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        doc = self._get_json(self.metadata().jwks_uri, "signing keys")
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable(f"the identity provider's signing keys cannot be read ({exc})") from None
        with self._lock:
            self._keys = (time.monotonic(), keys)
        return keys

    # --- the flow -----------------------------------------------------------------------------------------------

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        return str(
            prepare_grant_uri(
                self.metadata().authorization_endpoint,
                client_id=self.client_id,
                response_type="code",
                redirect_uri=self.redirect_uri,
                scope=self.scopes,
                state=state,
                nonce=nonce,
                code_challenge=create_s256_code_challenge(code_verifier),
                code_challenge_method="S256",
            )
        )

    def exchange(self, code: str, code_verifier: str) -> str:
        """The ID token the provider gives for the authorization code (refused codes: SignInRefused)."""
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=self.redirect_uri,
            code_verifier=code_verifier,
            client_id=self.client_id,
        )
        auth = (self.client_id, self._client_secret) if self._client_secret else None
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        try:
            response = httpx.post(
                self.metadata().token_endpoint, content=body, headers=headers, auth=auth, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"the identity provider could not be reached to redeem the code ({exc})"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"the identity provider answered {response.status_code} without a token")
        if response.status_code != 200 or "error" in answer:
            error = str(answer.get("error") or response.status_code)[:100]
            if response.status_code in (400, 401) and error in ("invalid_grant", "invalid_request"):
                raise SignInRefused(
                    f"the identity provider refused the authorization code ({error}): it was already used, expired "
                    "or made for another sign-in; sign in again"
                )
            raise ProviderUnavailable(f"the identity provider refused to issue a token ({error})")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise ProviderUnavailable("the identity provider's token answer has no ID token (is 'openid' a scope?)")
        return id_token

    def verify_id_token(self, id_token: str, *, nonce: str, now: datetime) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce are right."""
        try:
            token = _decode(id_token, self._key_set())
        except _UnknownKey:
            try:
                token = _decode(id_token, self._key_set(fresh=True))
            except _UnknownKey:
                raise SignInRefused("the ID token is not signed with any of the identity provider's keys") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise SignInRefused("the ID token has expired; sign in again") from None
        except MissingClaimError as exc:
            raise SignInRefused(f"the ID token lacks the {exc.description or exc.error} claim") from None
        except InvalidClaimError as exc:
            raise SignInRefused(f"the ID token's claim is not right: {exc.description or exc.error}") from None
        except JoseError as exc:
            raise SignInRefused(f"the ID token is not valid ({exc.error})") from None
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not _same_issuer(issuer, self.issuer):
            raise SignInRefused(f"the ID token was issued by {issuer!r}, not by the configured provider")
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise SignInRefused("the ID token was issued for another client")
        return claims


class _UnknownKey(Exception):
    pass


def _decode(id_token: str, keys: KeySet) -> jwt.Token:
    try:
        return jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (MissingKeyError, InvalidKeyIdError):
        raise _UnknownKey from None
    except BadSignatureError:
        raise SignInRefused("the ID token's signature is not the identity provider's") from None
    except JoseError as exc:
        raise SignInRefused(f"the ID token cannot be read ({exc.error})") from None
    except ValueError as exc:
        raise SignInRefused(f"the ID token cannot be read ({exc})") from None
