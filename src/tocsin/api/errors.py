"""Errors as RFC 9457 problem+json."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tocsin.core.errors import TocsinError

PROBLEM = "application/problem+json"

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, *, retry_after: str | None = None, **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after:
        headers["Retry-After"] = retry_after
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(TocsinError)
    async def _tocsin(_: Request, exc: TocsinError) -> JSONResponse:
        retry_after = exc.extra.get("retry_after")
        return problem(
            exc.status_code,
            exc.title,
            exc.detail,
            retry_after=str(retry_after) if retry_after else None,
            errors=exc.errors,
            # What a conflict carries for the client to act on (a stale section save: the text saved meanwhile).
            **{k: v for k, v in exc.extra.items() if k != "retry_after"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [f"{_field(e['loc'])}: {e['msg']}" for e in exc.errors()]
        return problem(422, "Invalid input", "; ".join(errors), errors=errors)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # SQLite stores 64-bit integers: a larger id or number in a request cannot name anything.
        return problem(422, "Invalid input", f"a number in the request is out of range ({exc})")

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the request carried (a number past 64 bits, a NUL byte in text).
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        return problem(422, "Invalid input", f"a value in the request cannot be stored: {reason}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))
