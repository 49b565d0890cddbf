"""``tocsin search`` (search everything), ``tocsin search-reindex``, ``tocsin incident summary``, ``tocsin incident
similar`` and ``tocsin runbook …`` (ADR 0030)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tocsin.access import service as access
from tocsin.cli._app import (
    acting_user,
    app,
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_user,
    settings,
    table,
)
from tocsin.cli._app import text as plain
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.core.errors import NotFound
from tocsin.incidents import visibility
from tocsin.knowledge import indexer, runbooks, search, similar, summary
from tocsin.knowledge.models import Runbook

runbook_app = typer.Typer(help="Runbooks: Markdown articles shown with the incidents they match", no_args_is_help=True)
app.add_typer(runbook_app, name="runbook")


@app.command("search")
@reports_errors
def search_cmd(
    query: Annotated[str, typer.Argument(help="Words to find (incidents, alerts, notes, runbooks …)")],
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this kind (repeatable)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 20,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Search what Tocsin knows, as --as EMAIL sees it (else TOCSIN_CLI_USER, else the first admin)."""
    see_all = settings().teams_see_all
    with database() as db, db.reader() as session:
        viewer = access.viewer_of(session, acting_user(session, as_user))
        found = search.search(session, query, viewer, see_all=see_all, kinds=kind or (), limit=limit)
    if as_json:
        print_json([{"kind": r.kind, "title": r.title, "url": r.url, "snippet": r.snippet} for r in found])
        return
    if not found:
        console.print("nothing found")
        return
    out = table("Kind", "Title", "Where", "Changed")
    for r in found:
        out.add_row(r.label, plain(r.title), plain(r.url), format_time(r.changed_at))
    console.print(out)


@app.command("search-reindex")
@reports_errors
def reindex_cmd(
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this kind (repeatable)")] = None,
) -> None:
    """Rebuild the search index from the data (after a restore, or to pick up a new kind of document)."""
    with database() as db, db.unit_of_work() as session:
        done = indexer.reindex(session, kind or ())
    for k, n in sorted(done.items()):
        console.print(f"{k}: {n} documents")


@incident_app.command("summary")
@reports_errors
def incident_summary(ref: Ref, as_user: AsUser = None, as_json: AsJson = False) -> None:
    """A catch-up summary: what happened, where it stands, who holds which role, the last update, open tasks."""
    see_all = settings().teams_see_all
    with database() as db, db.reader() as session:
        viewer = access.viewer_of(session, acting_user(session, as_user))
        found = visibility.get_visible(session, ref, viewer, see_all=see_all)
        s = summary.catch_up(session, found)
    if as_json:
        print_json({k: v for k, v in s.__dict__.items()})
        return
    console.print(plain(s.text))


@incident_app.command("similar")
@reports_errors
def incident_similar(ref: Ref, as_user: AsUser = None, as_json: AsJson = False) -> None:
    """Similar past incidents, with why each is similar and how it was resolved."""
    see_all = settings().teams_see_all
    with database() as db, db.reader() as session:
        viewer = access.viewer_of(session, acting_user(session, as_user))
        found = visibility.get_visible(session, ref, viewer, see_all=see_all)
        rows = similar.similar_incidents(session, found, viewer, see_all=see_all)
    if as_json:
        print_json(
            [{"number": s.number, "title": s.title, "reasons": s.reasons, "resolution": s.resolution} for s in rows]
        )
        return
    if not rows:
        console.print("no similar incident")
    for s in rows:
        console.print(f"#{s.number} {plain(s.title)} — {plain(', '.join(s.reasons))}")
        if s.resolution:
            console.print(f"    resolved: {plain(s.resolution)}")


@runbook_app.command("list")
@reports_errors
def runbook_list(as_json: AsJson = False) -> None:
    """Every runbook, with its version."""
    with database() as db, db.reader() as session:
        rows = [(b.slug, b.title, b.version, b.updated_at) for b in runbooks.list_runbooks(session)]
    if as_json:
        print_json([{"slug": s, "title": t, "version": v, "updated_at": u} for s, t, v, u in rows])
        return
    out = table("Slug", "Title", "Version", "Updated")
    for s, t, v, u in rows:
        out.add_row(plain(s), plain(t), str(v), format_time(u))
    console.print(out)


@runbook_app.command("save")
@reports_errors
def runbook_save(
    title: Annotated[str, typer.Argument(help="The runbook's title")],
    file: Annotated[Path, typer.Option("--file", help="The Markdown text", exists=True, dir_okay=False)],
    slug: Annotated[str | None, typer.Option("--slug", help="Its name in URLs (default: from the title)")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="A service it applies to (repeatable)")] = None,
    incident_type: Annotated[list[str] | None, typer.Option("--type", help="An incident type (repeatable)")] = None,
    as_user: AsUser = None,
) -> None:
    """Create a runbook, or save a new version of the one with this slug."""
    body = file.read_text(encoding="utf-8")
    spec = runbooks.RunbookSpec(title=title, body=body, slug=slug, services=service or [], types=incident_type or [])
    with database() as db, db.unit_of_work() as session:
        user = responder_user(session, as_user)
        key = runbooks.slugify(slug or title)
        try:
            book: Runbook | None = runbooks.get(session, key)
        except NotFound:
            book = None
        if book is None:
            book = runbooks.create(session, spec, user_id=user.id, now=now())
        else:
            spec.matchers = list(book.matchers)
            book = runbooks.update(session, book, spec, user_id=user.id, now=now(), base_version=None)
        done = (book.slug, book.version)
    console.print(f"runbook {plain(done[0])} saved (version {done[1]})")
