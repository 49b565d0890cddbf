"""HTML pages: the responder's console and the one-click action pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tocsin.runtime import Runtime

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, runtime: Runtime) -> None:
    from tocsin.web import (
        ack_pages,
        admin_pages,
        auth,
        auth_pages,
        incident_pages,
        live,
        noise_pages,
        oncall_pages,
        people_pages,
        policy_pages,
        service_pages,
    )

    auth.install(app)
    app.state.change_feed = live.ChangeFeed(runtime)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth_pages,
        incident_pages,
        service_pages,
        oncall_pages,
        policy_pages,
        people_pages,
        noise_pages,
        admin_pages,
        live,
        ack_pages,
    ):
        app.include_router(module.router)
