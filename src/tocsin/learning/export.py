"""A postmortem as a document: Markdown (to paste anywhere), HTML (standalone, no external asset) and PDF, rendered
from that HTML by WeasyPrint (ADR 0029). The five whys and the curated timeline are written out from their
structured content; the action items from the rows they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import Session

from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.learning import repository as repo
from tocsin.learning.models import ActionItem, Postmortem, PostmortemSection
from tocsin.learning.templates import FIVE_WHYS, TIMELINE
from tocsin.users import service as users

FORMATS: Final = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True, slots=True)
class Document:
    incident: Incident
    postmortem: Postmortem
    sections: list[PostmortemSection]
    items: list[ActionItem]
    names: dict[int, str]


def document(session: Session, postmortem: Postmortem) -> Document:
    incident = incidents.get(session, postmortem.incident_id)
    items = repo.action_items_of(session, [incident.id])
    ids = [i for i in [postmortem.owner_user_id, *postmortem.reviewer_ids, *(x.owner_user_id for x in items)] if i]
    return Document(incident, postmortem, repo.sections(session, postmortem.id), items, users.names_of(session, ids))


def _item_line(item: ActionItem, names: dict[int, str]) -> str:
    owner = names.get(item.owner_user_id, "no owner") if item.owner_user_id else "no owner"
    due = f"due {item.due_at:%Y-%m-%d}" if item.due_at else "no due date"
    return f"[{item.status.replace('_', ' ')}] {item.title} ({item.kind}, {item.priority}; {owner}; {due})"


def markdown(doc: Document) -> str:
    pm, incident = doc.postmortem, doc.incident
    lines = [
        f"# Postmortem: incident #{incident.number} — {incident.title}",
        "",
        f"Status: {pm.status.replace('_', ' ')} · Owner: {doc.names.get(pm.owner_user_id or 0, 'none')}"
        + (f" · Due: {pm.due_at:%Y-%m-%d}" if pm.due_at else ""),
        "",
    ]
    for section in doc.sections:
        lines += [f"## {section.title}", ""]
        if section.key == TIMELINE and section.data:
            lines += [
                f"- {p['at'][:16].replace('T', ' ')} — {p['message']}" + (f" _({p['note']})_" if p.get("note") else "")
                for p in section.data
            ]
            lines.append("")
        if section.key == FIVE_WHYS and section.data:
            for n, step in enumerate(section.data, 1):
                lines += [f"{n}. **Why?** {step['why']}", f"   **Because** {step['answer'] or '…'}"]
            lines.append("")
        if section.key == "action_items" and doc.items:
            lines += [f"- {_item_line(i, doc.names)}" for i in doc.items]
            lines.append("")
        if section.body.strip():
            lines += [section.body.strip(), ""]
    return "\n".join(lines)


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True)
_HTML = _ENV.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Postmortem: incident #{{ incident.number }} {{ incident.title }}</title>
<style>
body { font-family: sans-serif; max-width: 50em; margin: 2em auto; line-height: 1.4; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.5em; }
.body { white-space: pre-wrap; } .meta { color: #555; } .note { color: #555; font-style: italic; }
</style></head><body>
<h1>Postmortem: incident #{{ incident.number }} — {{ incident.title }}</h1>
<p class="meta">Status: {{ pm.status.replace('_', ' ') }} · Owner: {{ owner }}{% if pm.due_at %} · Due: {{
 pm.due_at.strftime('%Y-%m-%d') }}{% endif %}</p>
{% for s in sections %}
<section id="{{ s.key }}"><h2>{{ s.title }}</h2>
{% if s.key == timeline_key and s.data %}<ul>{% for p in s.data %}<li>{{ p.at[:16].replace('T', ' ') }} — {{
 p.message }}{% if p.note %} <span class="note">({{ p.note }})</span>{% endif %}</li>{% endfor %}</ul>{% endif %}
{% if s.key == whys_key and s.data %}<ol>{% for w in s.data %}<li><strong>Why?</strong> {{ w.why }}<br>
<strong>Because</strong> {{ w.answer or '…' }}</li>{% endfor %}</ol>{% endif %}
{% if s.key == 'action_items' and items %}<ul>{% for line in items %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if s.body.strip() %}<div class="body">{{ s.body.strip() }}</div>{% endif %}
</section>
{% endfor %}
</body></html>
"""
)


def html(doc: Document) -> str:
    context: dict[str, Any] = {
        "incident": doc.incident,
        "pm": doc.postmortem,
        "owner": doc.names.get(doc.postmortem.owner_user_id or 0, "none"),
        "sections": doc.sections,
        "items": [_item_line(i, doc.names) for i in doc.items],
        "timeline_key": TIMELINE,
        "whys_key": FIVE_WHYS,
    }
    return _HTML.render(**context)


def pdf(doc: Document) -> bytes:
    # Imported here: the renderer loads Pango at import, which only the export needs.
    from weasyprint import HTML

    rendered: bytes = HTML(string=html(doc)).write_pdf()
    return rendered


def render(session: Session, postmortem: Postmortem, fmt: str) -> bytes:
    doc = document(session, postmortem)
    if fmt == "md":
        return markdown(doc).encode()
    if fmt == "html":
        return html(doc).encode()
    return pdf(doc)


def filename(incident: Incident, fmt: str, *, now: datetime) -> str:
    return f"postmortem-{incident.number}-{now:%Y%m%d}.{fmt}"


# What a customer-facing page shows of a published postmortem: what happened, its impact, why and how it was fixed,
# and what was learned. The curated timeline, the five whys, the team's self-assessment and the action items (with
# their owners) stay inside the organisation.
PUBLIC_SECTIONS: Final = ("summary", "impact", "root_cause", "resolution", "lessons")


def public_markdown(session: Session, postmortem: Postmortem) -> str:
    """The public part of a postmortem as Markdown, section by section; empty sections are left out."""
    parts = [
        f"## {s.title}\n\n{s.body.strip()}"
        for s in repo.sections(session, postmortem.id)
        if s.key in PUBLIC_SECTIONS and s.body.strip()
    ]
    return "\n\n".join(parts)
