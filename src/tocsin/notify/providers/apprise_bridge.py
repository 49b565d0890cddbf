"""The long tail of channels (Telegram, Pushover, Gotify, Matrix …) through Apprise, an optional extra
(``pip install 'tocsin[apprise]'``). The contact method's address is an Apprise URL.

Apprise opens its own connections, so the SSRF guard can only check the host named in the URL before the send
(a host name that resolves differently a moment later is not caught); services addressed by a token rather than
a host (``tgram://<bot token>/<chat>``) have nothing to check. Apprise reports success or failure only, with no
status or message id, so a failure is retried by the outbox and the provider reference stays empty.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from tocsin.core.errors import Forbidden, Unavailable
from tocsin.notify.providers import transport_logs
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.render.text import render_text, summary_line
from tocsin.notify.ssrf import UrlGuard

# This module sends to URLs that are credentials: keep the HTTP libraries from logging them.
transport_logs.install()

# A host worth checking names a machine: it has a dot or a colon (an IP literal or a domain), or is localhost.
_HOST_LIKE = re.compile(r"^(localhost|.*[.:].*)$", re.IGNORECASE)


def apprise_available() -> bool:
    return importlib.util.find_spec("apprise") is not None


class AppriseProvider:
    contact_type = "apprise"

    def __init__(self, *, guard: UrlGuard) -> None:
        self._guard = guard

    def _check_host(self, plugin: Any) -> SendResult | None:
        host = getattr(plugin, "host", None)
        if not isinstance(host, str) or not _HOST_LIKE.match(host):
            return None
        secure = bool(getattr(plugin, "secure", False))
        port = getattr(plugin, "port", None) or (443 if secure else 80)
        try:
            self._guard.resolve(f"{'https' if secure else 'http'}://{host}:{port}/")
        except Forbidden as exc:
            return SendResult("failed", error=exc.detail)
        except Unavailable as exc:
            return SendResult("retry", error=exc.detail)
        return None

    def send(self, message: OutboundMessage) -> SendResult:
        # Imported here: Apprise loads its plugins on first use, and a process without the extra never needs it.
        import apprise

        plugin = apprise.Apprise.instantiate(message.address)
        if plugin is None:
            return SendResult("failed", error="not a URL Apprise understands")
        refused = self._check_host(plugin)
        if refused is not None:
            return refused
        sender = apprise.Apprise()
        sender.add(plugin)
        title = summary_line(message.incident) if message.incident else "Tocsin"
        if sender.notify(body=render_text(message), title=title):
            return SendResult("delivered")
        return SendResult("retry", error="Apprise reported a failed delivery")
