"""The one small interface every paging channel implements, and the message it is given.

A provider turns an OutboundMessage into one request to one external system and reports what happened. It does
not retry (the outbox does), does not sleep, and never raises for an outcome it can classify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["delivered", "retry", "failed"]


@dataclass(frozen=True, slots=True)
class IncidentView:
    """What a message says about an incident (rendered by each channel in its own way)."""

    id: int
    number: int
    title: str
    status: str
    urgency: str
    severity: str
    priority: str
    service: str
    created_at: str
    url: str
    details: dict[str, Any] = field(default_factory=dict)
    # A drill's incident (ADR 0025): every channel puts ``DRILL`` first (``render.text.drill_mark``).
    drill: bool = False
    # More (label, URL) pairs a page carries, such as the incident's runbooks (``notify.page_links``).
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    notification_id: int
    # Stable across retries of the same notification (Standard Webhooks' webhook-id, email Message-ID seed).
    message_id: str
    kind: Literal["page", "test", "handoff", "bundle", "status", "verify", "notice", "responder"]
    contact_type: str
    address: str
    user_name: str
    incident: IncidentView | None
    # Signed one-click links (acknowledge, resolve) for channels without buttons.
    ack_url: str | None = None
    resolve_url: str | None = None
    # A request to join an incident: signed accept / decline links.
    accept_url: str | None = None
    decline_url: str | None = None
    text: str = ""
    secret: str | None = None
    # The provider's reference of the message a status update edits in place (a Slack message's channel and ts).
    update_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    provider_ref: str | None = None
    status_code: int | None = None
    retry_after: str | None = None
    error: str | None = None
    # The address no longer exists (a Web Push subscription answered 404 or 410): the contact method is disabled.
    gone: bool = False


class Provider(Protocol):
    contact_type: str

    def send(self, message: OutboundMessage) -> SendResult: ...


class ProviderRegistry:
    def __init__(self, providers: list[Provider] | None = None) -> None:
        self._by_type: dict[str, Provider] = {}
        for p in providers or []:
            self.register(p)

    def register(self, provider: Provider) -> None:
        self._by_type[provider.contact_type] = provider

    def get(self, contact_type: str) -> Provider | None:
        return self._by_type.get(contact_type)

    def types(self) -> list[str]:
        return sorted(self._by_type)
