from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType
from tocsin.db.encrypted import EncryptedText


class TrackerConnection(Base):
    """One Jira project or one GitHub repository that issues are created in."""

    __tablename__ = "tracker_connections"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # jira | github
    kind: Mapped[str] = mapped_column(String(16))
    # Jira: the site (https://example.atlassian.net); GitHub: the API root (https://api.github.com, or a GHES /api/v3).
    base_url: Mapped[str] = mapped_column(String(500))
    # Jira: the project key; GitHub: owner/repo.
    project: Mapped[str] = mapped_column(String(200))
    # Jira only: the issue type's name and the REST API version (2: plain text descriptions, 3: ADF).
    issue_type: Mapped[str] = mapped_column(String(100), default="Task")
    api_version: Mapped[str] = mapped_column(String(4), default="3")
    # basic (Jira Cloud: email + API token) | bearer (a personal access token; GitHub always).
    auth_scheme: Mapped[str] = mapped_column(String(16), default="bearer")
    username: Mapped[str | None] = mapped_column(String(320))
    # Encrypted at rest (ADR 0017).
    token: Mapped[str] = mapped_column(EncryptedText())
    webhook_secret: Mapped[str] = mapped_column(EncryptedText())
    # Jira transition targets (status names) for closing and reopening.
    done_status: Mapped[str] = mapped_column(String(100), default="Done")
    reopen_status: Mapped[str] = mapped_column(String(100), default="To Do")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RemoteIssue(Base):
    """A local object's issue in one tracker, and the durable work of keeping it in step: a row with a retry timer,
    lease and fence like a webhook delivery. ``remote_key`` is empty until the issue exists remotely;
    ``create_sent_at`` is set before the first create request goes, so that any later attempt searches the tracker
    for the idempotency label before creating (a timeout after sending may have created it)."""

    __tablename__ = "tracker_remote_issues"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_tracker_remote_issues_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # What the issue stands for locally, e.g. "action_item:42".
    local_ref: Mapped[str] = mapped_column(String(200), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("tracker_connections.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    remote_key: Mapped[str | None] = mapped_column(String(100))
    remote_url: Mapped[str | None] = mapped_column(String(1000))
    # The tracker's own status name (Jira) or state (GitHub), and what it means here: open | closed.
    remote_status: Mapped[str | None] = mapped_column(String(100))
    remote_state: Mapped[str | None] = mapped_column(String(16))
    # What the local side wants the remote state to be (close_remote / update_remote), and what was last pushed.
    wanted_state: Mapped[str] = mapped_column(String(16), default="open")
    pushed_state: Mapped[str] = mapped_column(String(16), default="open")
    # pending (work due) → synced | failed (refused for good, or retries spent)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    create_sent_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TrackerDelivery(Base):
    """An inbound webhook delivery already taken (X-GitHub-Delivery, X-Atlassian-Webhook-Identifier): a second
    one with the same id is a replay and is refused."""

    __tablename__ = "tracker_deliveries"
    __table_args__ = (UniqueConstraint("connection_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("tracker_connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(index=True)
