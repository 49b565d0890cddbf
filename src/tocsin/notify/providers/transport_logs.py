"""Outbound URLs stay out of the logs.

A webhook URL is a credential: whoever holds a Slack, Teams, Mattermost or Discord incoming-webhook URL, or any
URL with a token in its path or query, can post to it. Tocsin's own log lines never carry one, but the HTTP
libraries the providers use log what they request: httpx every request's URL at INFO, urllib3 the request line
(path and query) at DEBUG, slack_sdk's webhook client and Apprise whole URLs at DEBUG. Their records below
WARNING are therefore dropped, whatever level the loggers are later set to, and what they log at WARNING or
above goes out with every URL cut down to its scheme and host and every request path cut off.

Logging filters apply only to records of the logger they sit on, not to its children's, so each logger that
emits is named below; their parents are also held at WARNING so that a child created later stays quiet.
"""

from __future__ import annotations

import logging
import re

PARENTS = ("httpx", "httpcore", "urllib3", "slack_sdk", "apprise")
EMITTING = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "slack_sdk.webhook.client",
    "slack_sdk.web.base_client",
    "slack_sdk.web.client",
    "apprise",
)

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>[^\s'\"<>]*)")
# A request target on its own, as in urllib3's `"POST /path?query HTTP/1.1"` or a bare "/path" argument.
_PATH = re.compile(r"(?<![\w.:/])/[^\s'\"<>]*")


def redact(text: str) -> str:
    """``text`` with each URL reduced to scheme and host (``https://hooks.example/…``) and each path removed."""

    def shorten(match: re.Match[str]) -> str:
        scheme = match["scheme"].lower()
        if scheme not in ("http", "https"):
            # Apprise's URLs (tgram://<bot token>/…) carry secrets where a host would be.
            return f"{scheme}://…"
        host = re.split(r"[/?#]", match["rest"], maxsplit=1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…"

    return _PATH.sub("/…", _URL.sub(shorten, text))


class RedactTransportRecords(logging.Filter):
    """Drops an HTTP library's records below WARNING; strips URLs and paths from the others."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        try:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        except Exception:
            # A record that cannot be formatted cannot be cleaned either: dropping it beats failing the send.
            return False
        return True


FILTER = RedactTransportRecords()


def install() -> None:
    """Idempotent; called when a provider module is imported, before any request goes out."""
    for name in PARENTS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    for name in EMITTING:
        logger = logging.getLogger(name)
        if FILTER not in logger.filters:
            logger.addFilter(FILTER)
