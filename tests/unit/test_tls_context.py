"""The shared TLS context of outbound clients still verifies certificates and host names, and honours
SSL_CERT_FILE only when the client trusts the environment."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import certifi
import pytest

from tocsin.core import tls


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    tls.client_context.cache_clear()
    yield
    tls.client_context.cache_clear()


def test_the_context_verifies_and_is_built_once() -> None:
    context = tls.client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert tls.client_context() is context
    assert tls.client_context(trust_env=False) is not context


def test_ssl_cert_file_is_honoured_only_when_trusting_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    # A bundle of one certificate: the context built from it knows exactly that one.
    with open(certifi.where()) as bundle:
        first = bundle.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    path = f"{tmp_path}/one.pem"
    with open(path, "w") as out:
        out.write(first)
    monkeypatch.setenv("SSL_CERT_FILE", path)
    assert len(tls.client_context().get_ca_certs()) == 1
    assert len(tls.client_context(trust_env=False).get_ca_certs()) > 1
