"""JSON shapes of users, teams and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "responder", "observer"]
TeamRole = Literal["manager", "member"]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    role: Role = "responder"
    timezone: str = Field(default="UTC", min_length=1, max_length=64)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=320, description="admins only")
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    role: Role | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    timezone: str
    created_at: datetime
    deactivated_at: datetime | None


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)


class TeamPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: TeamRole = "member"


class MemberOut(BaseModel):
    id: int
    email: str
    name: str
    role: str


class TeamOut(BaseModel):
    id: int
    name: str
    description: str
    members: list[MemberOut]
    created_at: datetime


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    user: str | None = Field(default=None, description="user id or email (admins only); yourself when absent")
    scope: Literal["read-only", "incidents", "admin"] = Field(
        default="admin",
        description="read-only: reads only; incidents: reads and incident actions; admin: all the user's role allows",
    )
    expires_at: datetime | None = Field(
        default=None, description="when the token stops working (with a time zone); never when absent"
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str = Field(description="the first characters of the token, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scope: str
    expires_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the bearer token itself; shown only this once")
