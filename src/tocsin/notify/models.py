from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, vocabulary
from tocsin.db.encrypted import CapabilityText, EncryptedText

CONTACT_TYPES = (
    "email",
    "webhook",
    "sms",
    "voice",
    "slack",
    "teams",
    "mattermost",
    "discord",
    "apprise",
    "ntfy",
    "webpush",
)
# Contact methods that post where more people than their owner read (a chat channel's incoming webhook, an ntfy
# topic, an Apprise target): messages about a private incident name it only by number there (ADR 0022). Email,
# SMS, voice and Slack (a member's direct messages) reach the person alone and keep the title.
CHANNEL_WIDE_TYPES = frozenset({"webhook", "teams", "mattermost", "discord", "apprise", "ntfy"})


class ContactMethod(Base):
    __tablename__ = "contact_methods"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    # Encrypted when it is a URL (a chat or ntfy webhook); phone numbers, emails and Slack ids stay searchable.
    address: Mapped[str] = mapped_column(CapabilityText())
    # Per-method signing secret (webhooks); None: unsigned.
    secret: Mapped[str | None] = mapped_column(EncryptedText())
    verified: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class NotificationRule(Base):
    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    urgency: Mapped[str] = mapped_column(String(8))
    contact_method_id: Mapped[int] = mapped_column(ForeignKey("contact_methods.id", ondelete="CASCADE"))
    delay_seconds: Mapped[int] = mapped_column(default=0)


class NotificationStatus(StrEnum):
    """Where a message of the outbox stands."""

    PENDING = "pending"
    # Claimed and marked before the provider call; past its lease it becomes ambiguous (ADR 0002).
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    AMBIGUOUS = "ambiguous"
    # Held back by the throttle and sent as part of a bundle.
    BUNDLED = "bundled"


class Notification(Base):
    """The outbox: one row per message to one contact method, with its own retry timer, lease and fence."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_incident", "incident_id"),
        Index("ix_notifications_contact_sent", "contact_method_id", "sent_at"),
        # On-call health (ADR 0031): a person's pages over a period.
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # (incident, step, cycle, user, contact method, rule): the database refuses a second identical page.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="page")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_method_id: Mapped[int] = mapped_column(ForeignKey("contact_methods.id", ondelete="CASCADE"))
    step_index: Mapped[int] = mapped_column(default=0)
    cycle: Mapped[int] = mapped_column(default=0)
    status: Mapped[NotificationStatus] = mapped_column(
        vocabulary(NotificationStatus, 16), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    # Set while a throttle holds the message back; held messages go out later as one bundle.
    held_since: Mapped[datetime | None]
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class UsedLinkToken(Base):
    """Signed one-click links are usable once: their nonce is recorded when used."""

    __tablename__ = "used_link_tokens"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime]
