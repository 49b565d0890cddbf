"""The password reset email, sent at once through the email channel (an SMTP server, or the local outbox).

It is not a notification: no incident, no contact method, no retry (the person asks again). The subject of a
message without an incident is the start of its text, so the text opens with a fixed sentence longer than a
subject and the link comes after it: the link never shows in a subject line.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.auth import reset_links
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.users.models import User

_OPENING = (
    "Password reset for your Tocsin account. Someone, hopefully you, asked to choose a new password for this "
    "account. If that was not you, ignore this message: your password stays as it is and nothing else changes."
)


def send_reset_link(
    providers: ProviderRegistry,
    link_secret: bytes,
    *,
    user: User,
    base_url: str,
    now: datetime,
    valid_minutes: int,
) -> SendResult | None:
    """Make a reset link for ``user`` and mail it to their account's address; None when no email channel is
    configured."""
    provider = providers.get("email")
    if provider is None:
        return None
    token, nonce = reset_links.make(link_secret, user_id=user.id, now=now, lifetime=timedelta(minutes=valid_minutes))
    link = f"{base_url}/reset/{token}"
    text = f"{_OPENING} To choose one, open this link within {valid_minutes} minutes (it works once): {link}"
    return provider.send(
        OutboundMessage(
            notification_id=0,
            message_id=f"password-reset-{nonce}",
            kind="notice",
            contact_type="email",
            address=user.email,
            user_name=user.name,
            incident=None,
            text=text,
        )
    )
