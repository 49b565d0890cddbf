"""Named chat channels that workflow ``notify`` steps post to, through the chat providers Tocsin pages through:
a Slack channel (posted with the bot token, ``chat.postMessage``) or an incoming webhook (Microsoft Teams
Workflows, Mattermost and other Slack-compatible webhooks, Discord), the webhook URL passing the SSRF guard.

A post to a channel is an external step (``runner``): its step row, unique per run step, is recorded before the
call and the outcome after it, so a post is never sent twice for the same run step; a worker that dies during the
call leaves it ``ambiguous``, never posted again blindly. A post the provider refused for now (rate limit, 5xx)
is tried again later, a few times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents.models import Incident
from tocsin.notify.outgoing import private_title
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.workflows import repository as repo
from tocsin.workflows.models import WorkflowChannel

# The chat providers a channel may use; Slack posts with the bot token, the others to a webhook URL.
PROVIDERS: Final = ("slack", "teams", "mattermost", "discord")
WEBHOOK_PROVIDERS: Final = frozenset({"teams", "mattermost", "discord"})
# A Slack channel: its id (C…, G… for a private one) or its #name.
_SLACK_CHANNEL = re.compile(r"^(?:[CG][A-Z0-9]{6,20}|#[a-z0-9][a-z0-9._-]{0,79})$")
# Posts refused for now (rate limited, the service down) are tried again this many times in all.
MAX_ATTEMPTS: Final = 4


def check_channel(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The cleaned definition, or InvalidInput naming the path of the fault."""
    allowed = {"provider", "address", "description"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise _bad(f"{', '.join(unknown)}: unknown field(s) (allowed: {', '.join(sorted(allowed))})")
    provider = spec.get("provider")
    if provider not in PROVIDERS:
        raise _bad(f"provider: unknown chat provider {provider!r} (use one of {', '.join(PROVIDERS)})")
    address = spec.get("address")
    if not isinstance(address, str) or not address.strip() or len(address) > 2000:
        raise _bad("address: required, at most 2000 characters")
    address = address.strip()
    if provider == "slack" and not _SLACK_CHANNEL.match(address):
        raise _bad("address: a Slack channel id (C…, G…) or #name")
    if provider in WEBHOOK_PROVIDERS and not address.startswith(("https://", "http://")):
        raise _bad(f"address: the {provider} incoming webhook URL")
    description = spec.get("description") or ""
    if not isinstance(description, str) or len(description) > 2000:
        raise _bad("description: text, at most 2000 characters")
    return {"provider": provider, "address": address, "description": description}


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, errors=[message])


def list_channels(session: Session) -> list[WorkflowChannel]:
    return repo.channels(session)


def get_channel(session: Session, ref: int | str) -> WorkflowChannel:
    found = repo.channel(session, int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref)
    if found is None:
        raise NotFound(f"workflow channel {ref} not found")
    return found


def save_channel(session: Session, name: str, spec: Mapping[str, Any], *, now: datetime) -> WorkflowChannel:
    clean_name = name.strip()
    if not clean_name or len(clean_name) > 200:
        raise _bad("name: 1 to 200 characters")
    clean = check_channel(spec)
    found = repo.channel(session, clean_name)
    if found is None:
        found = WorkflowChannel(name=clean_name, created_at=now)
        session.add(found)
    for key, value in clean.items():
        setattr(found, key, value)
    found.updated_at = now
    session.flush()
    return found


def delete_channel(session: Session, ref: int | str) -> None:
    session.delete(get_channel(session, ref))
    session.flush()


def shown_address(channel: WorkflowChannel) -> str:
    """A channel's address as people see it: a webhook URL is a credential, so only its origin."""
    if channel.provider not in WEBHOOK_PROVIDERS:
        return channel.address
    scheme, _, rest = channel.address.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


# --- posting ----------------------------------------------------------------------------------------------------


def text_for(incident: Incident, rendered: str, url: str) -> str:
    """What the channel reads: the rendered message and the incident's link; a private incident is named only by
    its number there, without the message (ADR 0022), since a whole channel reads it."""
    if incident.private:
        return f"{private_title(incident.number)}: a workflow update, to read in Tocsin {url}"
    return f"{rendered}\n{url}" if url else rendered


def message(channel: WorkflowChannel, text: str, message_id: str) -> OutboundMessage:
    return OutboundMessage(
        notification_id=0,
        message_id=message_id,
        kind="notice",
        contact_type=channel.provider,
        address=channel.address,
        user_name=channel.name,
        incident=None,
        text=text,
    )


def post(providers: ProviderRegistry | None, outgoing: OutboundMessage) -> SendResult:
    provider = providers.get(outgoing.contact_type) if providers is not None else None
    if provider is None:
        hint = " (set TOCSIN_SLACK_BOT_TOKEN)" if outgoing.contact_type == "slack" else ""
        return SendResult("failed", error=f"no {outgoing.contact_type} provider in this process{hint}")
    return provider.send(outgoing)
