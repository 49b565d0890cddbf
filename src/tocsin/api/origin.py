"""Sets the audit origin of each request to the API and the console: channel, address and user agent.

The authentication of the request (``api/deps.py``, ``web/auth.py``) fills in who it is. The inbound endpoints
(``/v2/…``, ``/integrations/…``, ``/heartbeat/…``) are passed straight through: they change no audited row, and the
ingest path pays nothing for the audit trail.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tocsin.api.body_limit import SELF_LIMITED
from tocsin.audit.origin import Origin, acting


class OriginMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(SELF_LIMITED):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        agent = next((v for k, v in scope.get("headers", ()) if k == b"user-agent"), b"")
        origin = Origin(
            channel="api" if path.startswith("/api/") else "web",
            ip=client[0] if client else "",
            user_agent=agent.decode("latin-1")[:255],
        )
        with acting(origin):
            await self.app(scope, receive, send)
