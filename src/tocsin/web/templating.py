"""One Jinja2 environment for every page, the security headers every page carries, and safe-rendering filters.

Alert fields are untrusted: autoescaping is on everywhere, links from payloads pass ``safe_url`` (http, https and
mailto only), and notes written in Markdown are rendered with raw HTML disabled and then cleaned by nh3.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nh3
import orjson
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from tocsin.core.json_depth import clip_depth

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'; worker-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

_SAFE_SCHEMES = {"http", "https", "mailto"}
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def safe_url(value: object) -> str | None:
    """The URL if it is absolute http(s) or mailto, else None: ``javascript:`` and ``data:`` never become links."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return None
    return text if scheme in _SAFE_SCHEMES else None


def markdown(text: str) -> Markup:
    html = _markdown.render(text or "")
    clean = nh3.clean(html, url_schemes=_SAFE_SCHEMES, link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 — sanitised by nh3 just above


def linkify(text: str) -> Markup:
    """Plain text made inert, with its absolute http(s) URLs as links (the rest of the text stays text)."""
    parts: list[str] = []
    last = 0
    for match in _LINK.finditer(text or ""):
        url = match.group(0).rstrip(".,;:!?)")
        end = match.start() + len(url)
        parts.append(str(escape(text[last : match.start()])))
        parts.append(f'<a href="{escape(url)}" rel="noopener noreferrer nofollow">{escape(url)}</a>')
        last = end
    parts.append(str(escape((text or "")[last:])))
    return Markup("".join(parts))  # noqa: S704 — every piece escaped just above


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    return duration((now or datetime.now(UTC)) - value)


def duration(spent: timedelta) -> str:
    """A span as people read it on a page: 45s, 12m, 3h 20m, 2d 4h."""
    seconds = int(spent.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def pretty(value: object) -> str:
    """Indented JSON as plain text; autoescaping then makes it inert."""
    return orjson.dumps(clip_depth(value), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode()


def utc(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else ""


env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["safe_url"] = safe_url
env.filters["markdown"] = markdown
env.filters["linkify"] = linkify
env.filters["ago"] = ago
env.filters["duration"] = duration
env.filters["utc"] = utc
env.filters["pretty"] = pretty


def render(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
