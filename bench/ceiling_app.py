"""The ceiling: a FastAPI endpoint that validates a PagerDuty Events v2 body with Pydantic and stores nothing.

Served exactly like Tocsin (one uvicorn process), it shows what the framework alone costs on this machine.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class Payload(BaseModel):
    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1, max_length=255)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: dict[str, Any] | None = None


class Link(BaseModel):
    href: str
    text: str | None = None


class Image(BaseModel):
    src: str
    href: str | None = None
    alt: str | None = None


class PagerDutyEvent(BaseModel):
    routing_key: str = Field(min_length=1)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, max_length=255)
    payload: Payload | None = None
    client: str | None = None
    client_url: str | None = None
    links: list[Link] = []
    images: list[Image] = []


def create_app() -> FastAPI:
    app = FastAPI(title="ceiling")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v2/enqueue", status_code=202)
    async def enqueue(event: PagerDutyEvent) -> JSONResponse:
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key or "generated"},
            status_code=202,
        )

    return app
