"""/docs: the API's interactive documentation, with every file it loads served by this process.

Swagger UI's script and stylesheet come from the installed ``fastapi-offline`` package (no CDN), and the
script that starts it is a static file of ours, so the page's Content-Security-Policy allows scripts from this
origin only and no inline script at all. ReDoc is not offered: it injects its styles inline, which the policy
refuses.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
VENDOR_PATH = "/docs/assets"
INIT_SCRIPT = Path(__file__).parent / "static" / "swagger-init.js"

# Swagger UI draws its icons from data: URIs and fetches only the OpenAPI document, from this origin.
DOCS_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def vendor_directory() -> Path:
    """Where the installed package keeps Swagger UI's files."""
    return Path(str(files("fastapi_offline") / "static"))


def _page(title: str, openapi_url: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="{VENDOR_PATH}/swagger-ui.css">
<link rel="icon" href="{VENDOR_PATH}/favicon.png">
<script src="{VENDOR_PATH}/swagger-ui-bundle.js" defer></script>
<script src="{DOCS_PATH}/swagger-init.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve /docs and its files; the app must have been created with ``docs_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"
    page = _page(app.title, openapi_url)
    headers = {"Content-Security-Policy": DOCS_POLICY}
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_PATH)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @router.get(f"{DOCS_PATH}/swagger-init.js")
    async def init_script() -> FileResponse:
        return FileResponse(INIT_SCRIPT, media_type="text/javascript", headers=headers)

    app.include_router(router)
    app.mount(VENDOR_PATH, StaticFiles(directory=vendor_directory()), name="docs-assets")
