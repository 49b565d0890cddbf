"""Which providers a process has, from its settings."""

from __future__ import annotations

from tocsin.core.clock import Clock
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.notify.providers.email import SmtpProvider
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.settings import Settings


def providers_from_settings(settings: Settings, clock: Clock) -> ProviderRegistry:
    registry = ProviderRegistry()
    allow = [a for a in settings.outbound_allowlist.split(",") if a.strip()]
    registry.register(WebhookProvider(None, guard=UrlGuard(allow), clock=clock))
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
    return registry
