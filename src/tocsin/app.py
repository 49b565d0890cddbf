"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tocsin import __version__, web
from tocsin.api import docs_pages, errors, feeds, scim
from tocsin.api import oncall as oncall_api
from tocsin.api.body_limit import BodyLimitMiddleware
from tocsin.api.origin import OriginMiddleware
from tocsin.api.router import api_router
from tocsin.core.clock import Clock
from tocsin.db.session import Database
from tocsin.integrations.http import router as inbound_router
from tocsin.integrations.http_sources import router as sources_router
from tocsin.ops.metrics import LatencyMiddleware
from tocsin.ops.routes import router as ops_router
from tocsin.replies import router as replies_router
from tocsin.runtime import Runtime
from tocsin.settings import Settings, load_settings
from tocsin.web import statuspage_public
from tocsin.web.statuspage_public import CustomDomains


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    runtime = Runtime.build(settings, clock=clock, db=db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Start-up reads the database (the link key, a worker's earlier claims): never on the event loop.
        await run_in_threadpool(runtime.start)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.stop)

    app = FastAPI(
        title="Tocsin",
        version=__version__,
        summary="Incident management: alerts to incidents, on-call, escalation, response and learning.",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN with an inline script: docs_pages serves /docs.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    # (token id, address) pairs already recorded: a token's use from a new address is audited once.
    app.state.known_token_addresses = set()
    errors.install(app)
    scim.install(app)
    # Public status pages first: the busiest public routes are matched before the hundreds of others.
    app.include_router(statuspage_public.router)
    app.include_router(inbound_router)
    app.include_router(sources_router)
    app.include_router(api_router)
    app.include_router(oncall_api.router)
    app.include_router(feeds.router)
    app.include_router(ops_router)
    app.include_router(replies_router)
    app.include_router(scim.router)
    if settings.api_docs:
        docs_pages.install(app)
    web.install(app, runtime)
    app.add_middleware(OriginMiddleware)
    app.add_middleware(CustomDomains, runtime=runtime)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(LatencyMiddleware, metrics=runtime.metrics)
    return app
