"""What ``begin_send_batch`` hands the engine for each row it marked ``sending``: the message a provider is given,
and the engine's hold on the row, in typed fields (the provider never sees the hold)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tocsin.notify.providers.base import OutboundMessage


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
