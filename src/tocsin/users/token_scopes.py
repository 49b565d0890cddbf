"""What an API token's scope lets it do, on top of what its user's role allows.

``read-only``: reading only. ``incidents``: reading, and acting on incidents (the routes under /api/v1/incidents).
``admin``: everything the user's role allows (the scope every token made before scopes existed was given).
"""

from __future__ import annotations

from tocsin.users.models import TOKEN_SCOPES

READS = frozenset({"GET", "HEAD", "OPTIONS"})
INCIDENT_ROUTES = "/api/v1/incidents"


def refusal(scope: str, method: str, path: str) -> str | None:
    """Why a token of ``scope`` may not make this request, or None when it may."""
    if method.upper() in READS or scope == "admin":
        return None
    if scope == "incidents":
        if path == INCIDENT_ROUTES or path.startswith(INCIDENT_ROUTES + "/"):
            return None
        return "this token's scope is 'incidents': it can read, and act on incidents only"
    if scope == "read-only":
        return "this token's scope is 'read-only': it cannot change anything"
    return f"this token has an unknown scope {scope!r} (one of {', '.join(TOKEN_SCOPES)} expected)"
