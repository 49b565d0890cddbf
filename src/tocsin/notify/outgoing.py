"""What ``begin_send_batch`` hands the engine for each row it marked ``sending``: the message a provider is given
(built here), and the engine's hold on the row, in typed fields (the provider never sees the hold)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from tocsin.notify.providers.base import IncidentView, OutboundMessage

if TYPE_CHECKING:
    from tocsin.incidents.models import Incident
    from tocsin.incidents.repository import LockedIncident
    from tocsin.notify.repository import OutboxRow, Recipient


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message marked ``sending`` and the engine's hold on its row.

    The provider call may start only before ``lease_until``: past it the row may have been declared ambiguous and
    handed to another worker. ``fence`` is the row's fencing token when it was marked: an outcome or a hand-back
    counts only while the row still carries it. Nothing more goes to ``contact_method_id`` while a call to it runs.
    """

    message: OutboundMessage
    contact_method_id: int
    fence: int
    lease_until: datetime

    @property
    def notification_id(self) -> int:
        return self.message.notification_id


def incident_view(incident: Incident | LockedIncident, service_name: str, base_url: str) -> IncidentView:
    """How a channel shows an incident: its facts and the console link (which is by number, like the pages)."""
    return IncidentView(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        status=incident.status,
        urgency=incident.urgency,
        severity=incident.severity,
        priority=incident.priority,
        service=service_name,
        created_at=incident.created_at.isoformat(),
        url=f"{base_url}/incidents/{incident.number}",
        drill=incident.drill,
    )


def private_title(number: int) -> str:
    """How a private incident is named where a whole channel reads (ADR 0022)."""
    return f"Private incident #{number}"


def redacted(view: IncidentView, text: str, title: str) -> tuple[IncidentView, str]:
    """A private incident's message for a channel-wide destination: its title (also where the text repeats it)
    replaced by its number."""
    shown = private_title(view.number)
    clean = text.replace(title, shown) if title.strip() else text
    return replace(view, title=shown, details={}), clean


def message_for(
    row: OutboxRow,
    recipient: Recipient,
    *,
    incident: IncidentView | None,
    text: str,
    ack_url: str | None = None,
    resolve_url: str | None = None,
    accept_url: str | None = None,
    decline_url: str | None = None,
) -> OutboundMessage:
    """The message a provider is given for a row marked ``sending``."""
    return OutboundMessage(
        notification_id=row.id,
        message_id=f"msg_{row.id}",
        kind=row.kind,  # type: ignore[arg-type]
        # Verification codes always go by text message, also for a number that is called.
        contact_type="sms" if row.kind == "verify" else recipient.type,
        address=recipient.address,
        user_name=recipient.user_name,
        incident=incident,
        ack_url=ack_url,
        resolve_url=resolve_url,
        accept_url=accept_url,
        decline_url=decline_url,
        text=text,
        secret=recipient.secret,
        update_ref=row.payload.get("ref") if row.kind == "status" else None,
    )
