"""The error tree. Each error carries the HTTP status a transport should answer with.

TocsinError (500)
├── InvalidInput (422)        a well-formed request asks for something impossible
│   └── BadRequest (400)      the request itself is malformed
├── PayloadTooLarge (413)
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)
├── Conflict (409)
│   └── InvalidTransition (409)
├── RateLimited (429)
└── Unavailable (503)         the request was not committed; the sender should retry
"""

from __future__ import annotations

from typing import Any


class TocsinError(Exception):
    status_code = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(TocsinError):
    status_code = 422
    title = "Invalid input"


class BadRequest(InvalidInput):
    status_code = 400
    title = "Bad request"


class PayloadTooLarge(TocsinError):
    status_code = 413
    title = "Payload too large"


class Unauthorized(TocsinError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(TocsinError):
    status_code = 403
    title = "Forbidden"


class NotFound(TocsinError):
    status_code = 404
    title = "Not found"


class Conflict(TocsinError):
    status_code = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid transition"


class RateLimited(TocsinError):
    status_code = 429
    title = "Too many requests"


class Unavailable(TocsinError):
    status_code = 503
    title = "Service unavailable"
