"""The problem+json answers every /api/v1 route may give, described for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.errors import PROBLEM


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[str] = Field(default_factory=list, description="one line per invalid field, when there are several")


_WHEN = {
    400: "The request is malformed (an unreadable cursor, a reference of the wrong shape).",
    401: "No valid bearer token in the Authorization header.",
    403: "The token's user lacks the role this needs.",
    404: "Something the request names does not exist.",
    409: "The request conflicts with the current state (a duplicate name, an impossible status change).",
    422: "A field is invalid; the detail names it.",
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {PROBLEM: {"schema": Problem.model_json_schema()}}}
    for status, text in _WHEN.items()
}

# Routes that send messages people ask for (verification codes, tests) answer 429 past their hourly limits.
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many such messages: the detail says which limit, Retry-After in how many seconds to retry.",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": {PROBLEM: {"schema": Problem.model_json_schema()}},
    }
}
