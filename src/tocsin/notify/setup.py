"""Which providers a process has, from its settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.notify.providers.apprise_bridge import AppriseProvider, apprise_available
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.notify.providers.chat_webhooks import discord_provider, mattermost_provider, teams_provider
from tocsin.notify.providers.email import SmtpProvider
from tocsin.notify.providers.local_outbox import LocalOutboxProvider
from tocsin.notify.providers.ntfy import NtfyProvider
from tocsin.notify.providers.slack import SlackProvider
from tocsin.notify.providers.twilio_sms import TwilioSmsProvider
from tocsin.notify.providers.twilio_voice import TwilioVoiceProvider
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.providers.webpush import WebPushProvider
from tocsin.notify.push_keys import VapidKeys, vapid_keys
from tocsin.notify.ssrf import UrlGuard
from tocsin.settings import Settings


def providers_from_settings(settings: Settings, clock: Clock, db: Database | None = None) -> ProviderRegistry:
    """Every channel the settings configure; with ``db`` and no SMTP server, email is kept in the local outbox
    (unless ``TOCSIN_LOCAL_OUTBOX=false``)."""
    registry = ProviderRegistry()
    allow = [a for a in settings.outbound_allowlist.split(",") if a.strip()]
    guard = UrlGuard(allow)
    # As many connections to one receiver as there can be calls in flight: fewer would open and drop the extra
    # ones (with a warning each) whenever a batch goes to one host.
    registry.register(WebhookProvider(guard=guard, clock=clock, pool_size=settings.notify_senders))
    for make in (teams_provider, mattermost_provider, discord_provider):
        registry.register(make(guard))
    registry.register(NtfyProvider(guard=guard))
    if db is not None:
        registry.register(WebPushProvider(guard=guard, keys=_vapid_loader(db), subject=vapid_subject(settings)))
    if apprise_available():
        registry.register(AppriseProvider(guard=guard))
    if settings.smtp_host:
        registry.register(
            SmtpProvider(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
            )
        )
    elif db is not None and settings.local_outbox:
        registry.register(LocalOutboxProvider(db, clock, settings.smtp_from))
    sid, token, sender = settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from
    if sid and token and sender:
        registry.register(
            TwilioSmsProvider(
                account_sid=sid,
                auth_token=token,
                from_number=sender,
                base_url=settings.twilio_base_url,
                public_url=settings.base_url,
            )
        )
        registry.register(
            TwilioVoiceProvider(
                account_sid=sid,
                auth_token=token,
                from_number=sender,
                public_url=settings.base_url,
                base_url=settings.twilio_base_url,
            )
        )
    if settings.slack_bot_token:
        registry.register(SlackProvider(settings.slack_bot_token, base_url=settings.slack_base_url))
    return registry


def vapid_subject(settings: Settings) -> str:
    """The VAPID ``sub`` claim, how a push service reaches the operator: the sender address of the installation's
    mail, unless that is a local address and the public URL is https (some push services refuse local ones)."""
    address = settings.smtp_from.rsplit("<", 1)[-1].strip(" >")
    local = address.rpartition("@")[2].lower() in ("", "localhost", "localhost.localdomain")
    if local and settings.base_url.startswith("https://"):
        return settings.base_url
    return "mailto:" + address


def _vapid_loader(db: Database) -> Callable[[], VapidKeys]:
    """The installation's VAPID keys, read (or created) once, when the first push goes out."""

    @cache
    def load() -> VapidKeys:
        with db.unit_of_work() as session:
            return vapid_keys(session)

    return load
