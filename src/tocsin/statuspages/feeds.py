"""Atom and RSS feeds of a page's history, one entry per update (incidents and maintenance): pure, no I/O.

Built with ElementTree, so every text is escaped; update bodies go in as plain text (the Markdown source): Atom
content of type text, RSS descriptions (HTML by convention) escaped once more, so no reader renders markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Entry:
    key: str  # unique and stable: "update-12", "maintenance-update-3"
    title: str  # the incident's name and the update's status
    body: str
    link: str
    at: datetime


def atom(*, title: str, page_url: str, feed_url: str, updated: datetime, entries: Sequence[Entry]) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"{feed_url}")
    _sub(feed, "title", f"{title} status history")
    _sub(feed, "updated", updated.isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=page_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=feed_url)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _sub(author, "name", title)
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _sub(entry, "id", f"{page_url}#{e.key}")
        _sub(entry, "title", e.title)
        _sub(entry, "updated", e.at.isoformat())
        _sub(entry, "published", e.at.isoformat())
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=e.link)
        content = _sub(entry, "content", e.body)
        content.set("type", "text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def rss(*, title: str, page_url: str, feed_url: str, updated: datetime, entries: Sequence[Entry]) -> bytes:
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    ET.SubElement(channel, "title").text = f"{title} status history"
    ET.SubElement(channel, "link").text = page_url
    ET.SubElement(channel, "description").text = f"Incidents and maintenance of {title}"
    ET.SubElement(channel, "lastBuildDate").text = format_datetime(updated)
    for e in entries:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = e.title
        ET.SubElement(item, "link").text = e.link
        ET.SubElement(item, "guid", isPermaLink="false").text = f"{page_url}#{e.key}"
        ET.SubElement(item, "pubDate").text = format_datetime(e.at)
        # RSS descriptions are read as HTML: the text escaped, so that it shows as written and runs nothing.
        ET.SubElement(item, "description").text = html.escape(e.body)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = text
    return element
