"""Paging calls through Twilio (``POST /2010-04-01/Accounts/{Sid}/Calls.json``).

Twilio fetches the call's TwiML from ``/webhooks/twilio/voice`` (so the callee hears the incident as it is
when they pick up) and posts the key pressed back there. Answering machines are detected, and they and the
status callback's unanswered calls are tried again.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.providers.twilio_sms import call_twilio, twilio_client
from tocsin.notify.render.voice import spoken_result

VOICE_PATH = "/webhooks/twilio/voice"
STATUS_PATH = "/webhooks/twilio/voice/status"
# Ring long enough for someone asleep, short enough not to reach voicemail on most carriers.
RING_SECONDS = 30


class TwilioVoiceProvider:
    contact_type = "voice"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        public_url: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10,
    ) -> None:
        self._client = twilio_client(account_sid, auth_token, base_url, timeout=timeout)
        self._from = from_number
        self._public = public_url.rstrip("/")

    def send(self, message: OutboundMessage) -> SendResult:
        if message.incident is None:
            # A test call or a shift reminder: read the text, nothing to press.
            twiml = spoken_result(message.text or "This is a test call from Tocsin.")
            return call_twilio(
                lambda: self._client.calls.create(
                    to=message.address, from_=self._from, twiml=twiml, timeout=RING_SECONDS
                )
            )
        fields: dict[str, object] = {"incident": message.incident.id, "notification": message.notification_id}
        if message.kind == "responder":
            fields["responder"] = 1
        query = urlencode(fields)
        url = f"{self._public}{VOICE_PATH}?{query}"
        status = f"{self._public}{STATUS_PATH}?{urlencode({'notification': message.notification_id})}"
        return call_twilio(
            lambda: self._client.calls.create(
                to=message.address,
                from_=self._from,
                url=url,
                method="POST",
                status_callback=status,
                status_callback_method="POST",
                status_callback_event=["completed"],
                timeout=RING_SECONDS,
                # A voicemail that picks up is not a person: the call is placed again rather than counted.
                machine_detection="Enable",
            )
        )
