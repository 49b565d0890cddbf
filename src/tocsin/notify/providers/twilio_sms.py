"""Text messages through Twilio's REST API (``POST /2010-04-01/Accounts/{Sid}/Messages.json``).

The twilio library's client is pointed at ``base_url`` (Twilio itself, a regional edge, or a local double).
Twilio has no idempotency key for messages: a timeout after the request was written may mean the text went
out, and the outbox's retry may then send it twice; a duplicate page is the lesser harm than a missed one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.render.sms import render_sms
from tocsin.notify.retry import classify

STATUS_PATH = "/webhooks/twilio/sms/status"


# The library logs each request's URL and headers at INFO, several lines per page; the outbox's records suffice.
_HTTP_LOG = logging.getLogger(__name__ + ".http")
_HTTP_LOG.setLevel(logging.WARNING)


def twilio_client(account_sid: str, auth_token: str, base_url: str, *, timeout: float) -> Client:
    http = TwilioHttpClient(timeout=timeout, pool_connections=True, logger=_HTTP_LOG)
    client = Client(account_sid, auth_token, http_client=http)
    client.api.base_url = base_url.rstrip("/")
    return client


def call_twilio(create: Callable[[], Any]) -> SendResult:
    """Run one create call and classify what happened; the resource's sid becomes the provider reference."""
    try:
        resource = create()
    except TwilioRestException as exc:
        outcome = classify(exc.status)
        code = f" (Twilio error {exc.code})" if exc.code else ""
        error = f"HTTP {exc.status}{code}: {str(exc.msg)[:200]}"
        return SendResult("failed" if outcome == "delivered" else outcome, status_code=exc.status, error=error)
    except requests.Timeout as exc:
        return SendResult("retry", error=f"timed out: {type(exc).__name__}")
    except requests.RequestException as exc:
        return SendResult("retry", error=f"{type(exc).__name__}: {str(exc)[:200]}")
    except TwilioException as exc:
        return SendResult("failed", error=f"unexpected Twilio answer: {str(exc)[:200]}")
    sid = getattr(resource, "sid", None)
    return SendResult("delivered", provider_ref=str(sid) if sid else None, status_code=201)


class TwilioSmsProvider:
    contact_type = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = "https://api.twilio.com",
        public_url: str | None = None,
        timeout: float = 10,
    ) -> None:
        self._client = twilio_client(account_sid, auth_token, base_url, timeout=timeout)
        self._from = from_number
        self._public = public_url.rstrip("/") if public_url else None

    def send(self, message: OutboundMessage) -> SendResult:
        body = render_sms(message)
        extra: dict[str, Any] = {}
        if self._public and message.kind == "page":
            # Delivery receipts: a text the carrier could not deliver falls back to the next rule.
            extra["status_callback"] = f"{self._public}{STATUS_PATH}?notification={message.notification_id}"
        return call_twilio(
            lambda: self._client.messages.create(to=message.address, from_=self._from, body=body, **extra)
        )
