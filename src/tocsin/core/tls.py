"""The TLS context of outbound HTTP clients, built once per process.

Building one loads the whole CA bundle (about 15 ms): a client made per provider, per request or per test paid it
each time. A context is safe to share between threads and clients."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def client_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """What httpx would build for ``verify=True`` (with ``trust_env``: SSL_CERT_FILE and SSL_CERT_DIR honoured)."""
    return httpx.create_ssl_context(trust_env=trust_env)
