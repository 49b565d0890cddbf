from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID


class OutboxMail(Base):
    """One email kept for one recipient: the full RFC 5322 message as it would have gone over SMTP.

    ``source`` says how it arrived: ``tocsin`` (a notification of this process, with its id) or ``smtp`` (handed to
    the local SMTP port). Mail with several recipients is kept once per recipient, as a mail server delivers it.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(320))
    # Lower-cased, so that "mail addressed to me" is one indexed equality.
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"), index=True)
