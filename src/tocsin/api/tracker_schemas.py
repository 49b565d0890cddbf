"""JSON shapes of tracker connections and remote issues."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tocsin.trackers.models import RemoteIssue, TrackerConnection


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["jira", "github"]
    base_url: str = Field(
        min_length=1, max_length=500, description="Jira site (https://x.atlassian.net) or GitHub API root"
    )
    project: str = Field(min_length=1, max_length=200, description="Jira project key, or owner/repo")
    token: str = Field(min_length=1, max_length=2000, description="Jira API token or PAT; GitHub token")
    auth_scheme: Literal["basic", "bearer"] = Field(default="bearer", description="Jira: basic = email + API token")
    username: str | None = Field(default=None, max_length=320, description="the Jira account's email (basic)")
    issue_type: str = Field(default="Task", min_length=1, max_length=100)
    api_version: Literal["2", "3"] = "3"
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200, description="generated if absent")
    done_status: str = Field(default="Done", min_length=1, max_length=100)
    reopen_status: str = Field(default="To Do", min_length=1, max_length=100)
    enabled: bool = True


class ConnectionPatch(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    base_url: str | None = Field(default=None, min_length=1, max_length=500)
    project: str | None = Field(default=None, min_length=1, max_length=200)
    token: str | None = Field(default=None, min_length=1, max_length=2000)
    auth_scheme: Literal["basic", "bearer"] | None = None
    username: str | None = Field(default=None, max_length=320)
    issue_type: str | None = Field(default=None, min_length=1, max_length=100)
    api_version: Literal["2", "3"] | None = None
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200)
    done_status: str | None = Field(default=None, min_length=1, max_length=100)
    reopen_status: str | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None


class ConnectionOut(BaseModel):
    id: int
    name: str
    kind: str
    base_url: str
    project: str
    auth_scheme: str
    username: str | None
    issue_type: str
    api_version: str
    token_set: bool = Field(description="the token itself is never shown")
    webhook_secret: str = Field(description="to enter in the tracker's webhook settings")
    webhook_path: str = Field(description="where the tracker's webhook must point, below the public URL")
    done_status: str
    reopen_status: str
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: TrackerConnection) -> ConnectionOut:
        return cls(
            id=c.id,
            name=c.name,
            kind=c.kind,
            base_url=c.base_url,
            project=c.project,
            auth_scheme=c.auth_scheme,
            username=c.username,
            issue_type=c.issue_type,
            api_version=c.api_version,
            token_set=bool(c.token),
            webhook_secret=c.webhook_secret,
            webhook_path=f"/hooks/trackers/{c.id}/{c.kind}",
            done_status=c.done_status,
            reopen_status=c.reopen_status,
            enabled=c.enabled,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class RemoteIssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    local_ref: str
    connection_id: int
    title: str
    remote_key: str | None
    remote_url: str | None
    remote_status: str | None
    remote_state: str | None
    wanted_state: str
    status: str = Field(description="pending | synced | failed")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_synced_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, issue: RemoteIssue) -> RemoteIssueOut:
        return cls.model_validate(issue)
