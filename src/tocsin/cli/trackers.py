"""``tocsin tracker``: Jira and GitHub Issues connections, and the remote issues kept in sync with them."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tocsin.cli._app import (
    AS_USER_HELP,
    admin_user,
    app,
    console,
    database,
    now,
    print_json,
    reports_errors,
    table,
    text,
)
from tocsin.trackers import service as trackers
from tocsin.trackers.models import TrackerConnection

tracker_app = typer.Typer(help="Issue tracker connections (Jira, GitHub Issues)", no_args_is_help=True)
app.add_typer(tracker_app, name="tracker")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]


def _json(c: TrackerConnection) -> dict[str, object]:
    return {
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "base_url": c.base_url,
        "project": c.project,
        "auth_scheme": c.auth_scheme,
        "enabled": c.enabled,
        "webhook_path": f"/hooks/trackers/{c.id}/{c.kind}",
    }


@tracker_app.command("list")
@reports_errors
def list_cmd(as_json: AsJson = False) -> None:
    """Every tracker connection."""
    with database() as db, db.reader() as session:
        found = [_json(c) for c in trackers.list_connections(session)]
    if as_json:
        print_json(found)
        return
    grid = table("ID", "Name", "Kind", "Project", "URL", "Enabled", "Webhook path", nowrap=("ID", "Kind"))
    for c in found:
        grid.add_row(
            str(c["id"]),
            text(str(c["name"])),
            str(c["kind"]),
            text(str(c["project"])),
            text(str(c["base_url"])),
            "yes" if c["enabled"] else "no",
            str(c["webhook_path"]),
        )
    console.print(grid)


@tracker_app.command("add")
@reports_errors
def add_cmd(
    name: Annotated[str, typer.Argument(help="A name for people")],
    kind: Annotated[str, typer.Argument(help="jira or github")],
    base_url: Annotated[str, typer.Argument(help="Jira site URL, or the GitHub API root (https://api.github.com)")],
    project: Annotated[str, typer.Argument(help="Jira project key, or owner/repo")],
    username: Annotated[str | None, typer.Option("--email", help="Jira basic auth: the account's email")] = None,
    issue_type: Annotated[str, typer.Option("--issue-type", help="Jira issue type")] = "Task",
    api_version: Annotated[str, typer.Option("--api-version", help="Jira REST API version (2 or 3)")] = "3",
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Add a connection. The token is read from TOCSIN_TRACKER_TOKEN (never from the command line, which other
    users of the machine can see); the webhook secret to give the tracker is printed once here."""
    token = os.environ.get("TOCSIN_TRACKER_TOKEN", "")
    spec = trackers.ConnectionSpec(
        name=name,
        kind=kind,
        base_url=base_url,
        project=project,
        token=token,
        auth_scheme="basic" if username else "bearer",
        username=username,
        issue_type=issue_type,
        api_version=api_version,
    )
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        c = trackers.create_connection(session, spec, now=now())
        result = {**_json(c), "webhook_secret": c.webhook_secret}
    if as_json:
        print_json(result)
    else:
        console.print(
            f"Added tracker connection {result['id']}; webhook {result['webhook_path']}, "
            f"secret: {text(str(result['webhook_secret']))}"
        )


@tracker_app.command("delete")
@reports_errors
def delete_cmd(connection_id: Annotated[int, typer.Argument(help="Connection id")], as_user: AsUser = None) -> None:
    """Delete a connection and what is known of its remote issues (the issues stay in the tracker)."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        trackers.delete_connection(session, connection_id)
    console.print(f"Deleted tracker connection {connection_id}")


@tracker_app.command("issues")
@reports_errors
def issues_cmd(
    status: Annotated[str | None, typer.Option("--status", help="pending, synced or failed")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first")] = 20,
    as_json: AsJson = False,
) -> None:
    """Remote issues: where each stands, and the last error."""
    with database() as db, db.reader() as session:
        rows = [
            {
                "id": i.id,
                "local_ref": i.local_ref,
                "connection_id": i.connection_id,
                "remote_key": i.remote_key,
                "remote_url": i.remote_url,
                "remote_status": i.remote_status,
                "status": i.status,
                "attempts": i.attempts,
                "last_error": i.last_error,
            }
            for i in trackers.list_issues(session, status=status, limit=limit)
        ]
    if as_json:
        print_json(rows)
        return
    grid = table("ID", "Local", "Remote", "Remote status", "Sync", "Last error", nowrap=("ID", "Sync"))
    for r in rows:
        grid.add_row(
            str(r["id"]),
            text(str(r["local_ref"])),
            text(str(r["remote_key"] or "")),
            text(str(r["remote_status"] or "")),
            str(r["status"]),
            text(str(r["last_error"] or "")),
        )
    console.print(grid)
